/**
 * Classification metrics: confusion matrix, accuracy, per-class precision / recall / F1 /
 * support with macro and weighted averages (scikit-learn's `classification_report` with
 * `zero_division=0`), and plain-text tables of both.
 *
 * Conventions: `confusion[t][p]` counts samples of true class t predicted as p (rows = truth,
 * columns = prediction, as sklearn's `confusion_matrix`). A metric whose denominator is zero
 * (a class never predicted, or absent from the truth) is 0.
 */

/** Per-class scores. */
export interface ClassScores {
  name: string;
  precision: number;
  recall: number;
  f1: number;
  /** Samples of this class in the truth (row sum). */
  support: number;
  /** Samples predicted as this class (column sum). */
  predicted: number;
}

/** Averages over classes. */
export interface AverageScores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** What `classificationReport` returns. */
export interface ClassificationReport {
  classNames: string[];
  /** confusion[true][pred]. */
  confusion: number[][];
  total: number;
  correct: number;
  /** correct / total (0 when total is 0). */
  accuracy: number;
  perClass: ClassScores[];
  /** Unweighted mean over classes (sklearn's macro avg: every class counts, also absent ones). */
  macro: AverageScores;
  /** Mean weighted by support (sklearn's weighted avg). */
  weighted: AverageScores;
}

/**
 * The k x k confusion matrix of integer labels.
 * @throws RangeError when the arrays differ in length or hold a label outside 0..k-1.
 */
export function confusionMatrix(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, k: number): number[][] {
  if (yTrue.length !== yPred.length) throw new RangeError(`confusionMatrix: ${yTrue.length} true labels but ${yPred.length} predictions`);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`confusionMatrix: class count must be a positive integer, got ${k}`);
  const cm = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i]!;
    const p = yPred[i]!;
    if (!(Number.isInteger(t) && t >= 0 && t < k)) throw new RangeError(`confusionMatrix: true label ${t} at ${i} is outside 0..${k - 1}`);
    if (!(Number.isInteger(p) && p >= 0 && p < k)) throw new RangeError(`confusionMatrix: prediction ${p} at ${i} is outside 0..${k - 1}`);
    cm[t]![p]!++;
  }
  return cm;
}

const safeDiv = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/**
 * Scores from a confusion matrix (rows truth, columns prediction).
 * @throws RangeError when the matrix is not square, or the names do not match its size.
 */
export function reportFromConfusion(confusion: readonly (readonly number[])[], classNames?: readonly string[]): ClassificationReport {
  const k = confusion.length;
  if (k === 0 || confusion.some((r) => r.length !== k)) throw new RangeError('reportFromConfusion: the confusion matrix must be square and non-empty');
  const names = classNames ? [...classNames] : Array.from({ length: k }, (_, i) => `class_${i}`);
  if (names.length !== k) throw new RangeError(`reportFromConfusion: ${names.length} class names for a ${k}x${k} matrix`);
  const cm = confusion.map((r) => [...r]);
  let total = 0;
  let correct = 0;
  const perClass: ClassScores[] = [];
  for (let c = 0; c < k; c++) {
    const tp = cm[c]![c]!;
    let support = 0;
    let predicted = 0;
    for (let j = 0; j < k; j++) {
      support += cm[c]![j]!;
      predicted += cm[j]![c]!;
    }
    total += support;
    correct += tp;
    const precision = safeDiv(tp, predicted);
    const recall = safeDiv(tp, support);
    const f1 = safeDiv(2 * precision * recall, precision + recall);
    perClass.push({ name: names[c]!, precision, recall, f1, support, predicted });
  }
  const avg = (w: (s: ClassScores) => number): AverageScores => {
    let ws = 0;
    const acc = { precision: 0, recall: 0, f1: 0 };
    for (const s of perClass) {
      const wt = w(s);
      ws += wt;
      acc.precision += wt * s.precision;
      acc.recall += wt * s.recall;
      acc.f1 += wt * s.f1;
    }
    return { precision: safeDiv(acc.precision, ws), recall: safeDiv(acc.recall, ws), f1: safeDiv(acc.f1, ws), support: total };
  };
  return { classNames: names, confusion: cm, total, correct, accuracy: safeDiv(correct, total), perClass, macro: avg(() => 1), weighted: avg((s) => s.support) };
}

/** `reportFromConfusion(confusionMatrix(yTrue, yPred, names.length), names)`. */
export function classificationReport(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, classNames: readonly string[]): ClassificationReport {
  return reportFromConfusion(confusionMatrix(yTrue, yPred, classNames.length), classNames);
}

/** Aligns a table of strings: first column left, others right, two spaces apart. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, j) => (widths[j] = Math.max(widths[j] ?? 0, c.length)));
  return rows.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  ').trimEnd()).join('\n');
}

/**
 * sklearn-style text report:
 * ```
 *               precision  recall  f1-score  support
 * angry            0.5000  0.6667    0.5714        3
 * ...
 * accuracy                           0.6000       10
 * macro avg        ...
 * weighted avg     ...
 * ```
 */
export function formatReport(r: ClassificationReport, digits = 4): string {
  const f = (x: number) => x.toFixed(digits);
  const rows: string[][] = [['', 'precision', 'recall', 'f1-score', 'support']];
  for (const s of r.perClass) rows.push([s.name, f(s.precision), f(s.recall), f(s.f1), String(s.support)]);
  rows.push(['', '', '', '', '']);
  rows.push(['accuracy', '', '', f(r.accuracy), String(r.total)]);
  rows.push(['macro avg', f(r.macro.precision), f(r.macro.recall), f(r.macro.f1), String(r.total)]);
  rows.push(['weighted avg', f(r.weighted.precision), f(r.weighted.recall), f(r.weighted.f1), String(r.total)]);
  return formatTable(rows);
}

/** The confusion matrix as a text table (rows: true class, columns: predicted class). */
export function formatConfusion(r: Pick<ClassificationReport, 'classNames' | 'confusion'>): string {
  const rows: string[][] = [['true \\ pred', ...r.classNames]];
  r.confusion.forEach((row, i) => rows.push([r.classNames[i]!, ...row.map(String)]));
  return formatTable(rows);
}

/** Index of the largest value (the first one on ties), as torch.max / argmax. */
export function argmaxRow(v: ArrayLike<number>, start = 0, length = v.length - start): number {
  let best = 0;
  let bv = -Infinity;
  for (let j = 0; j < length; j++) {
    const x = v[start + j]!;
    if (x > bv || (Number.isNaN(x) && !Number.isNaN(bv))) {
      bv = x;
      best = j;
      if (Number.isNaN(x)) break;
    }
  }
  return best;
}

/** Row-wise softmax of an (n, k) row-major array, in float64 (max-subtracted). */
export function softmaxRows(logits: ArrayLike<number>, k: number): Float64Array {
  const n = logits.length / k;
  if (!Number.isInteger(n)) throw new RangeError(`softmaxRows: ${logits.length} values is not a multiple of ${k}`);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let j = 0; j < k; j++) m = Math.max(m, logits[i * k + j]!);
    let s = 0;
    for (let j = 0; j < k; j++) {
      const e = Math.exp(logits[i * k + j]! - m);
      out[i * k + j] = e;
      s += e;
    }
    for (let j = 0; j < k; j++) out[i * k + j]! /= s;
  }
  return out;
}
