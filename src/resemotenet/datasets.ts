/**
 * Where the training / evaluation data comes from: a FER2013 CSV (`fer2013.csv` or
 * `fer2013.csv.gz`, or a folder holding one) or an ImageFolder root (`<root>/<split>/<class>/*`),
 * given by `--data` or the `RESEMOTENET_DATA` environment variable, and how the FER2013 split
 * names (Training, PublicTest, PrivateTest) map onto each.
 */
import { existsSync, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { loadFer2013Csv, type Fer2013Data } from './data/fer_csv.js';
import { loadImageFolder, ImageFolderData } from './data/image_folder.js';
import { SubsetDataset, type GrayDataset } from './data/dataset.js';
import { epochPermutation } from './data/loader.js';
import { USAGES, type Usage } from './data/labels.js';

/** The environment variable read when `--data` is not given. */
export const DATA_ENV = 'RESEMOTENET_DATA';

/** The Kaggle competition that distributes FER2013. */
export const FER2013_KAGGLE_URL = 'https://www.kaggle.com/competitions/challenges-in-representation-learning-facial-expression-recognition-challenge/data';

/** The help printed when no data is given (or the path does not exist); the CLI exits with status 2. */
export function missingDataMessage(problem?: string): string {
  return [
    problem ?? `error: no data: pass --data <path> or set ${DATA_ENV}.`,
    '',
    'ResEmoteNet trains and evaluates on FER2013 (35,887 grey 48x48 faces, 7 emotions).',
    'Get it from Kaggle, competition "challenges-in-representation-learning-facial-expression-recognition-challenge":',
    `  ${FER2013_KAGGLE_URL}`,
    '  (sign in, accept the competition rules, download the data and extract the file fer2013.csv;',
    '   `kaggle competitions download -c challenges-in-representation-learning-facial-expression-recognition-challenge` does the same)',
    '',
    'Then point at it with either of:',
    '  resemotenet train --data /path/to/fer2013.csv   (eval takes --data too)',
    `  export ${DATA_ENV}=/path/to/fer2013.csv`,
    'fer2013.csv.gz (gzip) is read as is, and so is a folder that holds fer2013.csv or fer2013.csv.gz.',
    'An ImageFolder root also works: <root>/train/<emotion>/*.png|jpg and <root>/test/<emotion>/*.png|jpg',
    '(emotion folders angry, disgust, fear, happy, sad, surprise, neutral).',
  ].join('\n');
}

/** No data given, or the given path does not exist. `message` is the full help text. */
export class MissingDataError extends Error {
  override readonly name = 'MissingDataError';
}

/** A resolved data source. */
export type DataSource = { kind: 'csv'; file: string } | { kind: 'folder'; root: string };

/**
 * The data path from an explicit option, else from RESEMOTENET_DATA, resolved to a source.
 * @throws MissingDataError (with the help text) when neither is set or the path does not exist.
 */
export function resolveDataSource(option?: string | null, env: NodeJS.ProcessEnv = process.env): DataSource {
  const given = option ?? (env[DATA_ENV] ? env[DATA_ENV] : undefined);
  if (!given) throw new MissingDataError(missingDataMessage());
  const p = path.resolve(given);
  if (!existsSync(p)) {
    const from = option ? '--data' : DATA_ENV;
    throw new MissingDataError(missingDataMessage(`error: ${from} points at ${p}, which does not exist.`));
  }
  const st = statSync(p);
  if (st.isFile()) return { kind: 'csv', file: p };
  for (const name of ['fer2013.csv', 'fer2013.csv.gz', 'fer2013/fer2013.csv', 'fer2013/fer2013.csv.gz']) {
    const f = path.join(p, name);
    if (existsSync(f) && statSync(f).isFile()) return { kind: 'csv', file: f };
  }
  return { kind: 'folder', root: p };
}

/** A human-readable description of a source. */
export function describeSource(src: DataSource): string {
  return src.kind === 'csv' ? `FER2013 CSV ${src.file}` : `ImageFolder ${src.root}`;
}

/** A loaded split. */
export interface SplitData {
  /** The split name as asked for. */
  name: string;
  dataset: GrayDataset;
  /** Where it came from, e.g. "fer2013.csv Usage=PublicTest" or "test/ (PrivateTest_* files)". */
  origin: string;
  /** Per-sample identifiers for reports: CSV row numbers or ImageFolder paths. */
  ids: string[];
  /** Inputs skipped as unreadable or malformed (with `skipBad`), and the first of them. */
  skippedCount?: number;
  skippedExample?: string;
}

const FOLDER_ALIASES: Record<Usage, string[]> = {
  Training: ['train', 'training', 'Training'],
  PublicTest: ['val', 'valid', 'validation', 'PublicTest', 'publictest'],
  PrivateTest: ['PrivateTest', 'privatetest'],
};

function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}

/**
 * `n` samples of `ds` chosen by a seeded permutation (kept in dataset order), or `ds` when n is
 * undefined or not smaller. Used for ImageFolders, whose samples are ordered by class.
 */
export function seededSubset(ds: GrayDataset, n: number | undefined, seed: number): { dataset: GrayDataset; indices: Int32Array | null } {
  if (n === undefined || n >= ds.length) return { dataset: ds, indices: null };
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`limit must be a positive integer, got ${n}`);
  const perm = epochPermutation(ds.length, seed, 0x5eed);
  const idx = Int32Array.from(perm.subarray(0, n)).sort();
  return { dataset: new SubsetDataset(ds, idx), indices: idx };
}

/**
 * Loads split `name` of a source, keeping at most `limit` samples.
 *
 * FER2013 CSV: `name` is a Usage (Training, PublicTest, PrivateTest); `limit` keeps the first
 * rows of that Usage in file order (the rows are in id order, classes mixed), and reading stops
 * there.
 *
 * ImageFolder: Training is the folder train/ (or training/); PublicTest is val/ (valid/,
 * validation/) when present, else the `PublicTest_*` files of test/ (the Kaggle re-packaging
 * keeps the Usage in the file names); PrivateTest is the `PrivateTest_*` files of test/ when
 * there are any, else all of test/; any other name is taken as a folder under the root ('.' for
 * the root itself). `limit` keeps a seeded (by `seed`) sample, since the folders are ordered by
 * class.
 * @throws DataError / Error naming the folder when a split cannot be found.
 */
export async function loadSplit(src: DataSource, name: string, opts: { limit?: number; seed?: number; classNames?: readonly string[]; skipBad?: boolean } = {}): Promise<SplitData> {
  const limit = opts.limit;
  if (opts.classNames && src.kind === 'csv') throw new RangeError(`${src.file}: custom classes (${opts.classNames.join(', ')}) need an ImageFolder (one folder per class), not the FER2013 CSV`);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  if (src.kind === 'csv') {
    const usage = canonicalUsage(name);
    if (!usage) throw new RangeError(`split '${name}' is not a FER2013 Usage (expected ${USAGES.join(', ')})`);
    const d = await loadFer2013Csv(src.file, { usage, limit, onBadRow: opts.skipBad ? 'skip' : 'error' });
    if (d.length === 0) throw new RangeError(`${src.file}: no rows with Usage=${usage}`);
    const first = d.skipped[0];
    return {
      name: usage,
      dataset: d,
      origin: `${src.file} (Usage ${usage}${limit ? `, first ${d.length}` : ''})`,
      ids: Array.from(d.rows, (r) => `row ${r}`),
      skippedCount: d.skippedCount,
      skippedExample: first ? `${first.file}${first.line ? `:${first.line}` : ''}: ${first.reason}` : undefined,
    };
  }
  const { folder, prefix } = folderFor(src.root, name);
  const data = await loadImageFolder(src.root, { split: folder === '.' ? undefined : folder, classNames: opts.classNames, onBadImage: opts.skipBad ? 'skip' : 'error' });
  let ds: GrayDataset = data;
  let ids = [...data.paths];
  const notes: string[] = [];
  if (prefix) {
    const keep: number[] = [];
    data.paths.forEach((p, i) => {
      if (path.posix.basename(p).startsWith(prefix)) keep.push(i);
    });
    ds = new SubsetDataset(data, keep);
    ids = keep.map((i) => data.paths[i]!);
    notes.push(`${prefix}_* files`);
  }
  const sub = seededSubset(ds, limit, opts.seed ?? 0);
  if (sub.indices) {
    ids = Array.from(sub.indices, (i) => ids[i]!);
    notes.push(`seeded sample of ${sub.dataset.length}`);
  }
  const origin = `${path.join(src.root, folder)}${notes.length ? ` (${notes.join(', ')})` : ''}`;
  const firstBad = data.skipped[0];
  return { name, dataset: sub.dataset, origin, ids, skippedCount: data.skippedCount, skippedExample: firstBad ? `${firstBad.file}: ${firstBad.reason}` : undefined };
}

/** Whether split `name` can be found in `src` (see loadSplit's rules), without reading it. */
export function hasSplit(src: DataSource, name: string): boolean {
  if (src.kind === 'csv') return true;
  try {
    folderFor(src.root, name);
    return true;
  } catch {
    return false;
  }
}

/**
 * The class folder names of an ImageFolder split, sorted (for `--classes auto`).
 * @throws RangeError for the FER2013 CSV; Error when the split folder cannot be found.
 */
export function splitClassNames(src: DataSource, name: string): string[] {
  if (src.kind === 'csv') throw new RangeError(`${src.file}: --classes auto needs an ImageFolder (one folder per class)`);
  const { folder } = folderFor(src.root, name);
  const dir = path.join(src.root, folder);
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.') && isDir(path.join(dir, n)))
    .sort();
}

/** A FER2013 Usage from its name, case-insensitive; also train / val / test for the CSV. */
function canonicalUsage(name: string): Usage | null {
  const map: Record<string, Usage> = { training: 'Training', train: 'Training', publictest: 'PublicTest', val: 'PublicTest', validation: 'PublicTest', privatetest: 'PrivateTest', test: 'PrivateTest' };
  return map[name.toLowerCase()] ?? null;
}

/** Which folder (and file-name prefix) of an ImageFolder root holds split `name`. */
function folderFor(root: string, name: string): { folder: string; prefix: string | null } {
  // A folder that exists under that very name always wins ('train', 'test', 'val', custom names, '.').
  if (name === '.' || isDir(path.join(root, name))) return { folder: name, prefix: null };
  const usage = (USAGES as readonly string[]).find((u) => u.toLowerCase() === name.toLowerCase()) as Usage | undefined;
  if (!usage) throw new Error(`${root}: no split folder '${name}' (expected a sub-folder of class folders, or one of ${USAGES.join(', ')})`);
  const hasPrefixed = (dir: string, prefix: string): boolean => {
    if (!isDir(dir)) return false;
    for (const c of readdirSync(dir)) {
      const cd = path.join(dir, c);
      if (isDir(cd) && readdirSync(cd).some((f) => f.startsWith(prefix))) return true;
    }
    return false;
  };
  for (const f of FOLDER_ALIASES[usage]) if (isDir(path.join(root, f))) return { folder: f, prefix: null };
  if (usage === 'Training') throw new Error(`${root}: no training folder (looked for ${FOLDER_ALIASES.Training.join('/, ')}/)`);
  for (const t of ['test', 'Test']) {
    if (hasPrefixed(path.join(root, t), usage)) return { folder: t, prefix: usage };
  }
  if (usage === 'PublicTest') throw new Error(`${root}: no validation split: expected a val/ (valid/, validation/) folder, or PublicTest_* files in test/`);
  for (const t of ['test', 'Test']) if (isDir(path.join(root, t))) return { folder: t, prefix: null };
  throw new Error(`${root}: no test split: expected a test/ (or PrivateTest/) folder`);
}

/** `ImageFolderData` / `Fer2013Data` type guards for callers that want the extra fields. */
export const isImageFolderData = (d: GrayDataset): d is ImageFolderData => d instanceof ImageFolderData;
export type { Fer2013Data };
