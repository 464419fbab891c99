/**
 * ImageFolder reader: `<root>/<split>/<class>/**\/*.png|jpg|jpeg` (torchvision layout) decoded to
 * grayscale uint8 at native size, labelled with FER2013 ids by folder NAME (angry 0, disgust 1,
 * fear 2, happy 3, sad 4, surprise 5, neutral 6, plus aliases, see labels.ts), never by the
 * folder's position in sorted order (which would give neutral=4, sad=5, surprise=6).
 */
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { checkIndex, type GrayDataset, type GrayImage } from './dataset.js';
import { DataError, type SkippedInput } from './errors.js';
import { decodeImageToGray } from './image_decode.js';
import { fileKind, readImageFile } from './read_file.js';
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
  /**
   * Custom classes (fine-tuning on other labels): a folder's label is its name's index in this
   * list (case-insensitive) instead of a FER2013 id.
   */
  classNames?: readonly string[];
  /**
   * Follow symbolic links whose target lies outside `root` (default false: such links are skipped
   * and listed in `skippedLinks`). Links inside `root` are always followed, once per folder.
   */
  followLinksOutsideRoot?: boolean;
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
    /**
     * Entries not walked, with the reason: a link back to a folder already walked (a loop, or a
     * second path into another class folder), a link leading outside `root`, a broken link, a
     * device, FIFO or socket.
     */
    readonly skippedLinks: readonly SkippedInput[] = [],
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

/** State of one folder walk: where it may go and which folders it has entered. */
interface Walk {
  /** realpath of the data root. */
  rootReal: string;
  outside: boolean;
  /** Folders entered, by device and inode, with the path they were first reached by. */
  seen: Map<string, string>;
  skipped: SkippedInput[];
  /** The folder paths are reported relative to. */
  root: string;
}

const idOf = (st: Stats) => `${st.dev}:${st.ino}`;

/**
 * Follows a symbolic link for the walk: its target's stats, or null (recorded in `w.skipped`)
 * when it is broken or leads outside the root without `followLinksOutsideRoot`.
 */
async function followLink(p: string, w: Walk): Promise<Stats | null> {
  const rel = path.relative(w.root, p) || '.';
  let st: Stats;
  let real: string;
  try {
    st = await fsp.stat(p);
    real = await fsp.realpath(p);
  } catch (e) {
    w.skipped.push({ file: p, reason: `broken link (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); skipped` });
    return null;
  }
  if (!w.outside && real !== w.rootReal && !real.startsWith(w.rootReal + path.sep)) {
    w.skipped.push({ file: p, reason: `link '${rel}' leads outside the data root (to ${real}); skipped (pass followLinksOutsideRoot to follow it)` });
    return null;
  }
  return st;
}

/**
 * Marks folder `p` (stats `st`) as entered; false (recorded in `w.skipped`) when it was entered
 * before: a link loop, or a second way into the same folder, e.g. a link to '..'.
 */
function enter(p: string, st: Stats, w: Walk): boolean {
  const id = idOf(st);
  const first = w.seen.get(id);
  if (first !== undefined) {
    w.skipped.push({ file: p, reason: `'${path.relative(w.root, p)}' is the folder '${first}' again (a link loop, or a link into a folder already walked); skipped` });
    return false;
  }
  w.seen.set(id, path.relative(w.root, p) || '.');
  return true;
}

/**
 * All regular files under `dir` (recursively, following torchvision's os.walk), sorted at each
 * level. Each folder is entered once, symbolic links are followed only inside the root (unless
 * asked), devices, FIFOs and sockets are skipped.
 */
async function listFiles(dir: string, w: Walk): Promise<string[]> {
  const out: string[] = [];
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => byName(a.name, b.name));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    let st: Stats | null = null;
    if (e.isSymbolicLink()) {
      st = await followLink(p, w);
      if (!st) continue;
    } else if (e.isDirectory()) {
      st = await fsp.stat(p);
    }
    if (st ? st.isDirectory() : e.isDirectory()) {
      if (enter(p, st!, w)) out.push(...(await listFiles(p, w)));
    } else if (st ? st.isFile() : e.isFile()) {
      out.push(p);
    } else if (st || !e.isFile()) {
      if (!e.name.startsWith('.')) w.skipped.push({ file: p, reason: `${st ? fileKind(st) : 'not a regular file'}; only regular files are read` });
    }
  }
  return out;
}

/**
 * Loads `<root>/<split>/<class>/...` images. Symbolic links are followed inside `root` (outside
 * only with `followLinksOutsideRoot`), each folder is walked once (a link loop or a link to '..'
 * is skipped, not walked again under another class), and only regular files are read; what was
 * not walked is listed in `skippedLinks`.
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
  let walk: Walk;
  try {
    top = await fsp.readdir(dir, { withFileTypes: true });
    walk = { rootReal: await fsp.realpath(root), outside: opts.followLinksOutsideRoot ?? false, seen: new Map(), skipped: [], root };
    enter(root, await fsp.stat(root), walk);
    if (dir !== root) enter(dir, await fsp.stat(dir), walk);
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
    let st: Stats | null = null;
    if (e.isSymbolicLink()) {
      st = await followLink(path.join(dir, e.name), walk);
      if (!st) continue;
    } else if (e.isDirectory()) {
      st = await fsp.stat(path.join(dir, e.name));
    }
    if (!st?.isDirectory()) {
      ignored++;
      continue;
    }
    const custom = opts.classNames;
    const id = custom ? custom.findIndex((n) => n.toLowerCase() === e.name.toLowerCase()) : emotionIdFromName(e.name);
    if (id < 0 && custom) {
      if (onUnknown === 'skip') {
        skippedClasses.push(e.name);
        continue;
      }
      throw new DataError(path.join(dir, e.name), undefined, `class folder '${e.name}' is not one of the classes ${custom.join(', ')}`);
    }
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
    if (prev !== undefined) throw new DataError(dir, undefined, `class folders '${prev}' and '${e.name}' both mean ${custom ? custom[id] : EMOTIONS[id]} (id ${id}); merge or remove one`);
    // A class folder reached a second way (a link to another class folder) would relabel it.
    if (!enter(path.join(dir, e.name), st, walk)) continue;
    seen.set(id, e.name);
    classDirs.push({ folder: e.name, id });
  }
  if (classDirs.length === 0) {
    const links = walk.skipped.length ? `; skipped: ${walk.skipped.map((x) => x.reason).join('; ')}` : '';
    throw new DataError(dir, undefined, `no class folders found (expected sub-folders named ${EMOTIONS.join(', ')})${links}`);
  }
  classDirs.sort((a, b) => a.id - b.id);

  const files: Array<{ file: string; id: number }> = [];
  for (const c of classDirs) {
    for (const f of await listFiles(path.join(dir, c.folder), walk)) {
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
        decoded[k] = decodeImageToGray(await readImageFile(file), file);
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
  return new ImageFolderData(dir, images, Int32Array.from(labels), paths, classes, skippedClasses, skipped.length, skipped, ignored, walk.skipped);
}
