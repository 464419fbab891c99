/**
 * ImageFolder reader: `<root>/<split>/<class>/**\/*.png|jpg|jpeg` (torchvision layout) decoded to
 * grayscale uint8 at native size, labelled with FER2013 ids by folder NAME (angry 0, disgust 1,
 * fear 2, happy 3, sad 4, surprise 5, neutral 6, plus aliases, see labels.ts), never by the
 * folder's position in sorted order (which would give neutral=4, sad=5, surprise=6).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { checkIndex, type GrayDataset, type GrayImage } from './dataset.js';
import { DataError, type SkippedInput } from './errors.js';
import { decodeImageToGray } from './image_decode.js';
import { acceptedClassNames, emotionIdFromName, EMOTIONS } from './labels.js';

export interface ImageFolderOptions {
  /** Sub-folder of `root` holding the class folders (e.g. 'train', 'test'). Default: root itself. */
  split?: string;
  /** A class folder whose name is not a known emotion: 'error' (default) or 'skip' (listed in `skippedClasses`). */
  onUnknownClass?: 'error' | 'skip';
  /** An image that cannot be read or decoded: 'error' (default) or 'skip' (counted in `skippedCount`). */
  onBadImage?: 'error' | 'skip';
  /** File extensions taken as images, case-insensitive. Default ['.png', '.jpg', '.jpeg']. */
  extensions?: readonly string[];
  /** Files read concurrently (default 32). */
  concurrency?: number;
}

/** One class folder that was used. */
export interface ClassFolder {
  /** Folder name as on disk. */
  folder: string;
  /** FER2013 id. */
  id: number;
  /** Images loaded from it. */
  count: number;
}

/** Decoded ImageFolder samples (in memory), ordered by FER2013 id, then by path. */
export class ImageFolderData implements GrayDataset {
  constructor(
    /** The folder that holds the class folders (`root/split`). */
    readonly dir: string,
    readonly images: readonly GrayImage[],
    readonly labels: Int32Array,
    /** Path of each sample relative to the `root` passed in, with '/' separators (e.g. 'train/angry/x.png'). */
    readonly paths: readonly string[],
    readonly classes: readonly ClassFolder[],
    /** Class folders skipped with onUnknownClass 'skip'. */
    readonly skippedClasses: readonly string[] = [],
    /** Images skipped with onBadImage 'skip' (count). */
    readonly skippedCount = 0,
    /** The skipped images with reasons. */
    readonly skipped: readonly SkippedInput[] = [],
    /** Files with other extensions, and entries that are not folders at the class level. */
    readonly ignoredFiles = 0,
  ) {}
  get length(): number {
    return this.labels.length;
  }
  image(i: number): GrayImage {
    checkIndex('ImageFolderData.image', i, this.length);
    return this.images[i]!;
  }
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** All files under `dir` (recursively, following torchvision's os.walk), sorted at each level. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => byName(a.name, b.name));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      const st = await fsp.stat(p).catch(() => null);
      isDir = !!st?.isDirectory();
      isFile = !!st?.isFile();
    }
    if (isDir) out.push(...(await listFiles(p)));
    else if (isFile) out.push(p);
  }
  return out;
}

/**
 * Loads `<root>/<split>/<class>/...` images.
 * @throws DataError naming the folder for a missing folder, no class folders, an unknown class
 *   folder name (onUnknownClass 'error'), or two folders meaning the same class; naming the file
 *   for an unreadable/undecodable image (onBadImage 'error').
 */
export async function loadImageFolder(root: string, opts: ImageFolderOptions = {}): Promise<ImageFolderData> {
  const dir = opts.split === undefined ? root : path.join(root, opts.split);
  const onUnknown = opts.onUnknownClass ?? 'error';
  const onBad = opts.onBadImage ?? 'error';
  const exts = (opts.extensions ?? ['.png', '.jpg', '.jpeg']).map((e) => e.toLowerCase());
  const concurrency = Math.max(1, opts.concurrency ?? 32);

  let top: import('node:fs').Dirent[];
  try {
    top = await fsp.readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new DataError(dir, undefined, `cannot read image folder: ${(e as Error).message}`, { cause: e });
  }
  top.sort((a, b) => byName(a.name, b.name));
  const classDirs: Array<{ folder: string; id: number }> = [];
  const skippedClasses: string[] = [];
  let ignored = 0;
  const seen = new Map<number, string>();
  for (const e of top) {
    if (e.name.startsWith('.')) continue;
    let isDir = e.isDirectory();
    if (e.isSymbolicLink()) isDir = !!(await fsp.stat(path.join(dir, e.name)).catch(() => null))?.isDirectory();
    if (!isDir) {
      ignored++;
      continue;
    }
    const id = emotionIdFromName(e.name);
    if (id < 0) {
      if (onUnknown === 'skip') {
        skippedClasses.push(e.name);
        continue;
      }
      throw new DataError(
        path.join(dir, e.name),
        undefined,
        `unknown class folder '${e.name}': expected one of ${EMOTIONS.join(', ')} (FER2013 ids 0..6) or an alias (${acceptedClassNames().join(', ')}), case-insensitive; pass onUnknownClass: 'skip' to ignore it`,
      );
    }
    const prev = seen.get(id);
    if (prev !== undefined) throw new DataError(dir, undefined, `class folders '${prev}' and '${e.name}' both mean ${EMOTIONS[id]} (id ${id}); merge or remove one`);
    seen.set(id, e.name);
    classDirs.push({ folder: e.name, id });
  }
  if (classDirs.length === 0) throw new DataError(dir, undefined, `no class folders found (expected sub-folders named ${EMOTIONS.join(', ')})`);
  classDirs.sort((a, b) => a.id - b.id);

  const files: Array<{ file: string; id: number }> = [];
  for (const c of classDirs) {
    for (const f of await listFiles(path.join(dir, c.folder))) {
      if (path.basename(f).startsWith('.') || !exts.includes(path.extname(f).toLowerCase())) {
        ignored++;
        continue;
      }
      files.push({ file: f, id: c.id });
    }
  }

  const decoded: Array<GrayImage | null> = new Array(files.length).fill(null);
  const skipped: SkippedInput[] = [];
  let failure: DataError | null = null;
  let next = 0;
  const worker = async () => {
    while (failure === null && next < files.length) {
      const k = next++;
      const { file } = files[k]!;
      try {
        let bytes: Buffer;
        try {
          bytes = await fsp.readFile(file);
        } catch (e) {
          throw new DataError(file, undefined, `cannot read image: ${(e as Error).message}`, { cause: e });
        }
        decoded[k] = decodeImageToGray(bytes, file);
      } catch (e) {
        const err = e instanceof DataError ? e : new DataError(file, undefined, `cannot decode image: ${(e as Error).message}`, { cause: e });
        if (onBad === 'skip') skipped.push({ file, reason: err.reason });
        else failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  if (failure) throw failure;

  const images: GrayImage[] = [];
  const labels: number[] = [];
  const paths: string[] = [];
  const counts = new Map<number, number>();
  for (let k = 0; k < files.length; k++) {
    const img = decoded[k];
    if (!img) continue;
    images.push(img);
    labels.push(files[k]!.id);
    paths.push(path.relative(root, files[k]!.file).split(path.sep).join('/'));
    counts.set(files[k]!.id, (counts.get(files[k]!.id) ?? 0) + 1);
  }
  skipped.sort((a, b) => byName(a.file, b.file));
  const classes = classDirs.map((c) => ({ ...c, count: counts.get(c.id) ?? 0 }));
  return new ImageFolderData(dir, images, Int32Array.from(labels), paths, classes, skippedClasses, skipped.length, skipped, ignored);
}
