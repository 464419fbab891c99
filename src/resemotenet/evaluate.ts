/**
 * Evaluation: run a model over a dataset split in eval mode (no dropout, BatchNorm running
 * statistics, no horizontal flips) and compute loss, accuracy, per-class precision / recall /
 * F1 and the confusion matrix; write them as JSON, text and SVG.
 *
 * Label spaces: datasets carry FER2013 ids (0 angry ... 6 neutral); a model's outputs follow its
 * own `class_names`, which need not be FER2013's order (an imported official checkpoint may list
 * happy, surprise, sad, anger, ...). `labelMapFor` maps each FER2013 id to the model output with
 * the same emotion (by name, aliases such as anger/angry and happiness/happy accepted), so
 * metrics are always computed in the model's class order.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Device } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { no_grad } from '../tensor/grad_mode.js';
import type { Module } from '../nn/module.js';
import { DataLoader } from './data/loader.js';
import { tensor } from '../tensor/ops/creation.js';
import type { TransformOptions } from './data/transforms.js';
import type { GrayDataset } from './data/dataset.js';
import { emotionIdFromName, EMOTIONS } from './data/labels.js';
import { argmaxRow, classificationReport, formatConfusion, formatReport, type ClassificationReport } from './metrics.js';
import { confusionMatrixSvg, trainingCurvesSvg, type CurvePoint } from './plot.js';
import { loadCheckpoint, toJson, writeTextAtomic, type ModelConfig } from './checkpoint.js';
import { loadSplit, resolveDataSource, type SplitData } from './datasets.js';
import { findDuplicatesFile, leakFreeAccuracy, rowsDuplicatedInTraining } from './duplicates.js';
import { evalTransformFor } from './face_emotions.js';

/**
 * For each FER2013 id 0..6, the index of the model output for that emotion, or -1 when the
 * model has no such class (those samples are left out of the metrics).
 */
export function labelMapFor(classNames: readonly string[]): Int32Array {
  const map = new Int32Array(EMOTIONS.length).fill(-1);
  classNames.forEach((n, j) => {
    const id = emotionIdFromName(n);
    if (id >= 0 && map[id] === -1) map[id] = j;
  });
  return map;
}

/** The eval-mode transform of a model config (resize to image_size, 3 channels, its mean/std, no flip). */
export const evalTransform: (cfg: Pick<ModelConfig, 'image_size' | 'mean' | 'std'>) => TransformOptions = evalTransformFor;

export interface EvaluateOptions {
  device: Device;
  transform: TransformOptions;
  classNames: readonly string[];
  /** Batch size (default 64). */
  batchSize?: number;
  /** FER2013 id -> model output index (default: `labelMapFor(classNames)`). */
  labelMap?: Int32Array;
  /** Called after each batch with (samples done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Checked after each batch; returning true aborts with an {@link EvalAborted} error. */
  shouldAbort?: () => boolean;
  /**
   * Test-time augmentation: 'flip' also runs each image mirrored and averages the two softmax
   * distributions (the result's logits are then the log of the averaged probabilities). Default 'none'.
   */
  tta?: Tta;
}

/** Test-time augmentation of evaluate / predict: none, or the mean over the image and its mirror. */
export type Tta = 'none' | 'flip';

/** Mirrors a batch of [n, c, h, w] float32 images left-right (a copy). */
export function flipHorizontal(images: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(images.length);
  for (let r = 0; r < n * c * h; r++) {
    const o = r * w;
    for (let x = 0; x < w; x++) out[o + x] = images[o + w - 1 - x]!;
  }
  return out;
}

/** log of the mean of the softmax distributions of logits rows a and b (k classes each). */
export function meanSoftmaxLog(a: Float32Array, b: Float32Array, k: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < a.length / k; r++) {
    let ma = -Infinity;
    let mb = -Infinity;
    for (let j = 0; j < k; j++) {
      ma = Math.max(ma, a[r * k + j]!);
      mb = Math.max(mb, b[r * k + j]!);
    }
    let sa = 0;
    let sb = 0;
    for (let j = 0; j < k; j++) {
      sa += Math.exp(a[r * k + j]! - ma);
      sb += Math.exp(b[r * k + j]! - mb);
    }
    for (let j = 0; j < k; j++) out[r * k + j] = Math.log((Math.exp(a[r * k + j]! - ma) / sa + Math.exp(b[r * k + j]! - mb) / sb) / 2);
  }
  return out;
}

/** Thrown when `shouldAbort` asked to stop an evaluation. */
export class EvalAborted extends Error {
  override readonly name = 'EvalAborted';
}

/** What {@link evaluateModel} returns. */
export interface EvalResult {
  /** Samples scored (those whose label maps to a model class). */
  count: number;
  /** Samples left out because the model has no output for their label. */
  skipped: number;
  /** Mean cross-entropy over the scored samples (natural log). */
  loss: number;
  accuracy: number;
  report: ClassificationReport;
  /** Logits, count x numClasses row-major, in dataset order (all samples, scored or not). */
  logits: Float32Array;
  /** Model-space labels per sample (-1 when unmapped). */
  labels: Int32Array;
  predictions: Int32Array;
  seconds: number;
}

/**
 * Runs `model` (put in eval mode; its mode is restored afterwards) over `dataset` without
 * recording gradients, each batch inside tidy() so memory stays flat, and scores it.
 */
export async function evaluateModel(model: Module<[Tensor], Tensor>, dataset: GrayDataset, o: EvaluateOptions): Promise<EvalResult> {
  const t0 = performance.now();
  const k = o.classNames.length;
  const map = o.labelMap ?? labelMapFor(o.classNames);
  const loader = new DataLoader(dataset, { batchSize: o.batchSize ?? 64, transform: { ...o.transform, flipProb: 0 }, shuffle: false, prefetch: 1 });
  const n = dataset.length;
  const logits = new Float32Array(n * k);
  const labels = new Int32Array(n);
  const predictions = new Int32Array(n);
  const wasTraining = model.training;
  model.eval();
  let done = 0;
  try {
    for await (const b of loader) {
      const run = async (images: Float32Array): Promise<Float32Array> => {
        const out = tidy(() => no_grad(() => model.call(tensor(images, { shape: b.shape, device: o.device }))));
        try {
          if (out.shape[1] !== k) throw new Error(`evaluate: the model gives ${out.shape[1]} outputs but ${k} class names were given`);
          return (await out.data()) as Float32Array;
        } finally {
          out.dispose();
        }
      };
      let data = await run(b.images);
      if (o.tta === 'flip') data = meanSoftmaxLog(data, await run(flipHorizontal(b.images, ...b.shape)), k);
      logits.set(data, done * k);
      for (let m = 0; m < b.size; m++) {
        const lab = b.labels[m]!;
        labels[done + m] = lab >= 0 && lab < map.length ? map[lab]! : -1;
        predictions[done + m] = argmaxRow(data, m * k, k);
      }
      done += b.size;
      o.onProgress?.(done, n);
      if (o.shouldAbort) {
        await new Promise<void>((resolve) => setImmediate(resolve)); // deliver pending signals (see train.ts)
        if (o.shouldAbort()) throw new EvalAborted('evaluation aborted');
      }
    }
  } finally {
    model.train(wasTraining);
  }
  let lossSum = 0;
  const yt: number[] = [];
  const yp: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = labels[i]!;
    if (t < 0) continue;
    yt.push(t);
    yp.push(predictions[i]!);
    let m = -Infinity;
    for (let j = 0; j < k; j++) m = Math.max(m, logits[i * k + j]!);
    let s = 0;
    for (let j = 0; j < k; j++) s += Math.exp(logits[i * k + j]! - m);
    lossSum += m + Math.log(s) - logits[i * k + t]!;
  }
  const report = classificationReport(yt, yp, o.classNames);
  return {
    count: yt.length,
    skipped: n - yt.length,
    loss: yt.length ? lossSum / yt.length : NaN,
    accuracy: report.accuracy,
    report,
    logits,
    labels,
    predictions,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The text block printed by `resemotenet eval`. */
export function formatEvalResult(r: EvalResult, title: string): string {
  const lines = [
    title,
    `samples ${r.count}${r.skipped ? ` (${r.skipped} left out: their emotion is not among the model's classes)` : ''}, accuracy ${(r.accuracy * 100).toFixed(2)}%, loss ${r.loss.toFixed(4)}, ${r.seconds.toFixed(1)} s`,
    '',
    formatReport(r.report),
    '',
    'confusion matrix (rows: true class, columns: predicted class)',
    formatConfusion(r.report),
  ];
  return lines.join('\n');
}

/**
 * Writes `eval_<split>.json` (metrics, confusion matrix, per-sample predictions) and
 * `confusion_<split>.svg` into `dir`; returns their paths.
 */
export async function writeEvalOutputs(dir: string, split: string, r: EvalResult, extra: { ids?: string[]; checkpoint?: string; origin?: string; leakFree?: LeakFree | null; tta?: Tta } = {}): Promise<{ json: string; svg: string }> {
  await mkdir(dir, { recursive: true });
  const safe = split.replace(/[^A-Za-z0-9_.-]+/g, '_');
  const json = path.join(dir, `eval_${safe}.json`);
  const svg = path.join(dir, `confusion_${safe}.svg`);
  const k = r.report.classNames.length;
  const samples = Array.from({ length: r.labels.length }, (_, i) => ({
    id: extra.ids?.[i] ?? String(i),
    label: r.labels[i]! >= 0 ? r.report.classNames[r.labels[i]!] : null,
    prediction: r.report.classNames[r.predictions[i]!],
    logits: Array.from(r.logits.subarray(i * k, (i + 1) * k), (v) => Number(v.toPrecision(6))),
  }));
  const body = {
    split,
    origin: extra.origin,
    checkpoint: extra.checkpoint,
    count: r.count,
    skipped: r.skipped,
    tta: extra.tta ?? 'none',
    accuracy: r.accuracy,
    leak_free: extra.leakFree ?? undefined,
    loss: r.loss,
    class_names: r.report.classNames,
    per_class: r.report.perClass,
    macro: r.report.macro,
    weighted: r.report.weighted,
    confusion: r.report.confusion,
    seconds: r.seconds,
    samples,
  };
  await writeTextAtomic(json, toJson(body) + '\n');
  const title = `ResEmoteNet on ${split}: accuracy ${(r.accuracy * 100).toFixed(2)}% (${r.count} images)`;
  await writeTextAtomic(svg, confusionMatrixSvg(r.report.confusion, r.report.classNames, { title }));
  return { json, svg };
}

/** Reads a training log (log.jsonl) into curve points. @throws Error naming the file when unreadable. */
export async function readTrainingLog(file: string): Promise<CurvePoint[]> {
  const text = await readFile(file, 'utf8');
  const pts: CurvePoint[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      pts.push(JSON.parse(line) as CurvePoint);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not JSON: ${(e as Error).message}`);
    }
  });
  return pts;
}

/**
 * Writes the training curves of a run (from `<run>/log.jsonl`, or a given .jsonl) to `out`
 * (default `<run>/curves.svg`); returns the SVG path.
 */
export async function writeCurves(runOrLog: string, out?: string): Promise<string> {
  const log = runOrLog.endsWith('.jsonl') ? runOrLog : path.join(runOrLog, 'log.jsonl');
  if (!existsSync(log)) throw new Error(`${log}: no training log (written by \`resemotenet train\` into its --out folder)`);
  const pts = await readTrainingLog(log);
  const dest = out ?? path.join(path.dirname(log), 'curves.svg');
  await writeTextAtomic(dest, trainingCurvesSvg(pts, { title: `ResEmoteNet training (${pts.length} epochs)` }));
  return dest;
}

/** Options of {@link runEvaluation} (the `eval` command). */
export interface RunEvalOptions {
  checkpoint: string;
  /** Data path (else RESEMOTENET_DATA). */
  data?: string | null;
  /** Split: PrivateTest (default), PublicTest, Training, or an ImageFolder split folder. */
  split?: string;
  device: Device;
  batchSize?: number;
  limit?: number;
  seed?: number;
  /** Where to write the outputs (default: the checkpoint's folder; none for the shipped weights). */
  out?: string;
  /** FER2013 duplicates list for the leak-free accuracy (default: fer2013_duplicates.csv beside a CSV; false: none). */
  duplicates?: string | false;
  /** Test-time augmentation (default 'none'). */
  tta?: Tta;
  /** Names for a bare .safetensors; a sidecar's own names win unless overrideClassNames. */
  classNames?: string[];
  overrideClassNames?: boolean;
  onProgress?: (done: number, total: number) => void;
  log?: (s: string) => void;
}

/** The accuracy on the split's images that have no byte-identical copy in Training (FER2013 CSV). */
export interface LeakFree {
  count: number;
  correct: number;
  accuracy: number;
  /** Images left out (an identical copy is in Training). */
  excluded: number;
  /** The duplicates list used. */
  file: string;
}

/** Loads a checkpoint and a split, evaluates, writes the outputs (and the training curves when a log is next to the checkpoint). */
export async function runEvaluation(o: RunEvalOptions): Promise<{ result: EvalResult; split: SplitData; files: string[]; text: string; leakFree: LeakFree | null }> {
  const log = o.log ?? (() => {});
  const src = resolveDataSource(o.data);
  const ck = await loadCheckpoint(o.checkpoint, { device: o.device, classNames: o.classNames, overrideClassNames: o.overrideClassNames, warn: log });
  const cfg = ck.sidecar.config;
  // A model with classes other than FER2013's emotions reads an ImageFolder labelled by its own class names.
  const custom = src.kind === 'folder' && !cfg.class_names.every((n) => emotionIdFromName(n) >= 0);
  const split = await loadSplit(src, o.split ?? 'PrivateTest', { limit: o.limit, seed: o.seed ?? 0, classNames: custom ? cfg.class_names : undefined });
  log(`evaluating ${ck.file} on ${split.origin}: ${split.dataset.length} images, device ${o.device}`);
  const labelMap = custom ? Int32Array.from(cfg.class_names, (_, i) => i) : undefined;
  const result = await evaluateModel(ck.model, split.dataset, { device: o.device, transform: evalTransform(cfg), classNames: cfg.class_names, labelMap, batchSize: o.batchSize, onProgress: o.onProgress, tta: o.tta });
  let leakFree: LeakFree | null = null;
  const dupFile = o.duplicates === false ? null : (o.duplicates ?? (src.kind === 'csv' ? findDuplicatesFile(src.file) : null));
  if (dupFile && src.kind === 'csv' && split.name !== 'Training') {
    const rows = await rowsDuplicatedInTraining(dupFile, split.name);
    leakFree = { ...leakFreeAccuracy(split.ids, result.labels, result.predictions, rows), file: dupFile };
  }
  const files: string[] = [];
  const dir = o.out ?? (ck.pretrained ? null : path.dirname(ck.file));
  if (dir) {
    // a TTA score gets its own files (eval_<split>_tta-flip.json), next to the plain one
    const tag = o.tta && o.tta !== 'none' ? `${split.name}_tta-${o.tta}` : split.name;
    const w = await writeEvalOutputs(dir, tag, result, { ids: split.ids, checkpoint: ck.file, origin: split.origin, leakFree, tta: o.tta ?? 'none' });
    files.push(w.json, w.svg);
    const logFile = path.join(path.dirname(ck.file), 'log.jsonl');
    if (existsSync(logFile)) files.push(await writeCurves(logFile, path.join(dir, 'curves.svg')));
  }
  let text = formatEvalResult(result, `${ck.pretrained ? 'the shipped weights' : ck.file} on ${split.name}: ${split.origin}${o.tta && o.tta !== 'none' ? ` (test-time augmentation: ${o.tta})` : ''}`);
  if (leakFree) {
    text += `

leak-free: accuracy ${(leakFree.accuracy * 100).toFixed(2)}% on the ${leakFree.count} images without a byte-identical copy in Training (${leakFree.excluded} left out; ${path.basename(leakFree.file)})`;
  }
  return { result, split, files, text, leakFree };
}
