/** Dataset summaries for the CLI: class counts, per-Usage tables, plain-text formatting. */
import type { GrayDataset } from './dataset.js';
import { EMOTIONS, NUM_CLASSES, USAGES } from './labels.js';

/**
 * Count of each label 0..numClasses-1 (length numClasses).
 * @throws RangeError naming the position of a label outside 0..numClasses-1.
 */
export function classCounts(labels: ArrayLike<number>, numClasses = NUM_CLASSES): number[] {
  const c = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!(l >= 0 && l < numClasses && Number.isInteger(l))) throw new RangeError(`classCounts (src/resemotenet/data/summary.ts): label ${l} at position ${i} is outside 0..${numClasses - 1}`);
    c[l]!++;
  }
  return c;
}

/** A titled row of class counts. */
export interface CountRow {
  name: string;
  counts: number[];
  total: number;
}

/** Summary of a dataset: one row overall, plus one row per Usage when `usage` codes are given. */
export interface DatasetSummary {
  classes: readonly string[];
  rows: CountRow[];
}

/**
 * Class counts of a dataset. With a FER2013 `usage` array (codes of USAGES, e.g. Fer2013Data.usage)
 * gives one row per Usage present and an 'all' row, as in /work/shared/data/README.md.
 */
export function summarize(ds: Pick<GrayDataset, 'labels'> & { usage?: Uint8Array }, name = 'all'): DatasetSummary {
  const rows: CountRow[] = [];
  if (ds.usage) {
    for (let u = 0; u < USAGES.length; u++) {
      const lab: number[] = [];
      for (let i = 0; i < ds.labels.length; i++) if (ds.usage[i] === u) lab.push(ds.labels[i]!);
      if (lab.length === 0) continue;
      const counts = classCounts(lab);
      rows.push({ name: USAGES[u]!, counts, total: lab.length });
    }
  }
  const counts = classCounts(ds.labels);
  rows.push({ name, counts, total: ds.labels.length });
  return { classes: EMOTIONS, rows };
}

/**
 * Fixed-width text table, e.g.
 * ```
 *               angry disgust  fear happy   sad surprise neutral total
 * Training       3995     436  4097  7215  4830     3171    4965 28709
 * ```
 * plus a percentage line under the last row.
 */
export function formatSummary(s: DatasetSummary): string {
  const head = ['', ...s.classes.map((c, i) => `${c}(${i})`), 'total'];
  const body = s.rows.map((r) => [r.name, ...r.counts.map(String), String(r.total)]);
  const last = s.rows[s.rows.length - 1];
  if (last && last.total > 0) body.push(['%', ...last.counts.map((c) => ((100 * c) / last.total).toFixed(1)), '100.0']);
  const table = [head, ...body];
  const widths = head.map((_, j) => Math.max(...table.map((r) => r[j]!.length)));
  return table.map((r) => r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!))).join('  ')).join('\n');
}
