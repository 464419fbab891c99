/**
 * FER2013's byte-identical duplicates (`fer2013_duplicates.csv` beside the data in
 * ../shared/data/fer2013: `group,row,emotion,Usage,source_path,group_size,group_labels_agree`, one
 * line per row that belongs to a group of identical images). 288 PrivateTest and 280 PublicTest
 * rows have an identical copy in Training, so a model can score them by memory: the leak-free
 * accuracy leaves them out. Rows are 0-based data rows of fer2013.csv, as the CSV loader's ids
 * (`row N`).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** The duplicates file next to a FER2013 CSV (`fer2013_duplicates.csv` in the same folder), or null. */
export function findDuplicatesFile(dataFile: string): string | null {
  const f = path.join(path.dirname(dataFile), 'fer2013_duplicates.csv');
  return existsSync(f) ? f : null;
}

/**
 * The data rows of `usage` that have a byte-identical copy among the Training rows.
 * @throws Error naming the file when it is not a duplicates CSV (header, row or group fields).
 */
export async function rowsDuplicatedInTraining(file: string, usage: string): Promise<Set<number>> {
  const text = await readFile(file, 'utf8');
  const lines = text.split('\n');
  const header = lines[0]?.trim().split(',') ?? [];
  const ig = header.indexOf('group');
  const ir = header.indexOf('row');
  const iu = header.indexOf('Usage');
  if (ig < 0 || ir < 0 || iu < 0) throw new Error(`${file}: not a duplicates file (expected a header with group,row,Usage; got '${lines[0]?.slice(0, 80)}')`);
  const groups = new Map<number, { rows: number[]; training: boolean }>();
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (!l) continue;
    const f = l.split(',');
    const g = Number(f[ig]);
    const r = Number(f[ir]);
    if (!Number.isInteger(g) || !Number.isInteger(r) || r < 0) throw new Error(`${file}: line ${i + 1}: bad group or row ('${l.slice(0, 80)}')`);
    const e = groups.get(g) ?? { rows: [], training: false };
    if (f[iu] === usage) e.rows.push(r);
    if (f[iu] === 'Training') e.training = true;
    groups.set(g, e);
  }
  const out = new Set<number>();
  for (const e of groups.values()) if (e.training) for (const r of e.rows) out.add(r);
  return out;
}

/** Accuracy over the samples whose id (`row N`) is not in `exclude`. */
export function leakFreeAccuracy(ids: readonly string[], labels: Int32Array, predictions: Int32Array, exclude: Set<number>): { count: number; correct: number; accuracy: number; excluded: number } {
  let count = 0;
  let correct = 0;
  let excluded = 0;
  ids.forEach((id, i) => {
    if (labels[i]! < 0) return;
    const m = /^row (\d+)$/.exec(id);
    if (m && exclude.has(Number(m[1]))) {
      excluded++;
      return;
    }
    count++;
    if (predictions[i] === labels[i]) correct++;
  });
  return { count, correct, accuracy: count ? correct / count : NaN, excluded };
}
