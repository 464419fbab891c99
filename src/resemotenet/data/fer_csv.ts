/**
 * FER2013 CSV reader: the canonical Kaggle layout `emotion,pixels,Usage` (header row, one image a
 * line, `pixels` = 2304 space-separated integers 0..255 of a 48x48 grayscale image, row-major),
 * plain or gzip-compressed (detected from the file's first bytes, not its name).
 *
 * The file is streamed (fs stream -> zlib gunzip -> a line splitter), so the 300 MB text of the
 * full 35,887-row file is never held at once; pixels go straight into one Uint8Array of N*2304
 * bytes. Lines are split on bytes, not with node:readline, so that a line longer than
 * `maxLineBytes` is refused as soon as it is seen instead of being buffered into a string that
 * exceeds V8's limit (an uncatchable crash with a 600 MB line).
 * Format reference: /work/shared/data/README.md ("CSV format").
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { checkIndex, type GrayDataset, type GrayImage } from './dataset.js';
import { DataError, type SkippedInput } from './errors.js';
import { NUM_CLASSES, USAGES, usageCode, type Usage } from './labels.js';

/** Side of a FER2013 image in pixels (48). */
export const FER_SIDE = 48;
/** Pixels per FER2013 image (48 * 48 = 2304). */
export const FER_PIXELS = FER_SIDE * FER_SIDE;

export interface Fer2013CsvOptions {
  /** Keep only rows with this Usage (or these). Default: all three. */
  usage?: Usage | readonly Usage[];
  /**
   * Keep only these 0-based data rows (the header is not a data row). Reading stops right after the
   * largest one, so asking for early rows of a big file is fast. Rows not asked for are not parsed
   * (and so not validated).
   */
  rows?: Iterable<number>;
  /** Stop after this many rows have been kept. */
  limit?: number;
  /**
   * What to do with a bad row (wrong field count, label not 0..6, unknown Usage, pixel count not
   * 2304, pixel value not an integer 0..255): 'error' (default) throws a DataError
   * `file:line: reason`; 'skip' drops the row and counts it in `skippedCount`.
   * Rows filtered out by `usage` are checked for label and Usage only, not for pixels.
   */
  onBadRow?: 'error' | 'skip';
  /** With onBadRow 'skip': how many skipped rows to describe in `skipped` (default 100). */
  maxSkippedReports?: number;
  /**
   * Longest line accepted, in bytes, line break excluded (default {@link FER_MAX_LINE_BYTES},
   * 1 MiB; a FER2013 row is about 8,400 bytes). A longer line is a DataError naming its line.
   */
  maxLineBytes?: number;
}

/** Default longest CSV line, in bytes (1 MiB, over 100x a FER2013 row). */
export const FER_MAX_LINE_BYTES = 1 << 20;

/**
 * FER2013 rows held compactly: `pixels` is N*2304 bytes (image i at [i*2304, (i+1)*2304)),
 * `labels` the ids 0..6, `usage` the codes of USAGES (0 Training, 1 PublicTest, 2 PrivateTest),
 * `rows` the 0-based data row of each sample in the source file.
 */
export class Fer2013Data implements GrayDataset {
  constructor(
    /** The CSV file the rows came from (as passed to the reader). */
    readonly file: string,
    readonly pixels: Uint8Array,
    readonly labels: Int32Array,
    readonly usage: Uint8Array,
    readonly rows: Int32Array,
    /** Bad rows dropped (onBadRow 'skip'). */
    readonly skippedCount = 0,
    /** The first `maxSkippedReports` dropped rows, with file, line and reason. */
    readonly skipped: readonly SkippedInput[] = [],
    /** Data rows scanned before the reader stopped (all of them unless `rows` / `limit` stopped it early). */
    readonly rowsScanned = labels.length,
  ) {
    const n = labels.length;
    if (pixels.length !== n * FER_PIXELS || usage.length !== n || rows.length !== n) {
      throw new RangeError(`Fer2013Data (src/resemotenet/data/fer_csv.ts): inconsistent sizes: ${pixels.length} pixel bytes, ${n} labels, ${usage.length} usage codes, ${rows.length} rows`);
    }
  }
  get length(): number {
    return this.labels.length;
  }
  /** Image `i` as a 48x48 view into `pixels` (no copy). */
  image(i: number): GrayImage {
    checkIndex('Fer2013Data.image', i, this.length);
    return { width: FER_SIDE, height: FER_SIDE, data: this.pixels.subarray(i * FER_PIXELS, (i + 1) * FER_PIXELS) };
  }
  /** A new Fer2013Data with the samples `indices` (pixels copied). */
  select(indices: ArrayLike<number>): Fer2013Data {
    const m = indices.length;
    const px = new Uint8Array(m * FER_PIXELS);
    const lab = new Int32Array(m);
    const use = new Uint8Array(m);
    const rows = new Int32Array(m);
    for (let k = 0; k < m; k++) {
      const i = indices[k]!;
      checkIndex('Fer2013Data.select', i, this.length);
      px.set(this.pixels.subarray(i * FER_PIXELS, (i + 1) * FER_PIXELS), k * FER_PIXELS);
      lab[k] = this.labels[i]!;
      use[k] = this.usage[i]!;
      rows[k] = this.rows[i]!;
    }
    return new Fer2013Data(this.file, px, lab, use, rows);
  }
  /** The samples whose Usage is `u` (copied), in file order. */
  byUsage(u: Usage): Fer2013Data {
    const code = usageCode(u);
    if (code < 0) throw new RangeError(`Fer2013Data.byUsage: unknown Usage '${String(u)}' (expected ${USAGES.join(', ')})`);
    const idx: number[] = [];
    for (let i = 0; i < this.length; i++) if (this.usage[i] === code) idx.push(i);
    return this.select(idx);
  }
}

const HEADER_NAMES = ['emotion', 'pixels', 'usage'] as const;

/** Reads the first bytes: gzip magic 1f 8b? Also gives the gzip ISIZE (for a capacity guess). */
async function probe(file: string): Promise<{ gzip: boolean; size: number; textSize: number }> {
  let fh: import('node:fs/promises').FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (e) {
    throw new DataError(file, undefined, `cannot open FER2013 CSV: ${(e as Error).message}`, { cause: e });
  }
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(2);
    await fh.read(head, 0, 2, 0);
    const gzip = size >= 18 && head[0] === 0x1f && head[1] === 0x8b;
    let textSize = size;
    if (gzip) {
      const tail = Buffer.alloc(4);
      await fh.read(tail, 0, 4, size - 4);
      textSize = tail.readUInt32LE(0); // ISIZE: uncompressed size mod 2^32 (only a guess here)
      if (textSize < size) textSize = size * 3;
    }
    return { gzip, size, textSize };
  } finally {
    await fh.close();
  }
}

/**
 * Streams a FER2013 CSV (.csv or .csv.gz) into a Fer2013Data.
 *
 * @param file path to the CSV; gzip is detected from the magic bytes 1f 8b.
 * @returns the kept rows in file order, with `skippedCount` / `skipped` for onBadRow 'skip'.
 * @throws DataError `file:line: reason` for an unreadable file, a bad header, a line longer than
 *   `maxLineBytes`, and (onBadRow 'error') any bad row; `file: reason` (no line: the stream as a
 *   whole is bad) for a truncated or corrupt gzip stream, CRC mismatch included. Lines are 1-based
 *   with the header on line 1, so data row r is on line r + 2 when there are no blank lines
 *   (blank lines are ignored). Line breaks are LF, CRLF or a lone CR.
 */
export async function loadFer2013Csv(file: string, opts: Fer2013CsvOptions = {}): Promise<Fer2013Data> {
  const onBad = opts.onBadRow ?? 'error';
  if (onBad !== 'error' && onBad !== 'skip') throw new RangeError(`loadFer2013Csv: onBadRow must be 'error' or 'skip', got '${String(onBad)}'`);
  const maxReports = opts.maxSkippedReports ?? 100;
  const wantUsage = new Uint8Array(USAGES.length);
  const usageList: readonly string[] = opts.usage === undefined ? USAGES : typeof opts.usage === 'string' ? [opts.usage] : opts.usage;
  for (const u of usageList) {
    const c = usageCode(u);
    if (c < 0) throw new RangeError(`loadFer2013Csv: unknown usage filter '${u}' (expected ${USAGES.join(', ')})`);
    wantUsage[c] = 1;
  }
  let wantRows: Set<number> | null = null;
  let maxRow = Infinity;
  if (opts.rows !== undefined) {
    wantRows = new Set();
    maxRow = -1;
    for (const r of opts.rows) {
      if (!Number.isInteger(r) || r < 0) throw new RangeError(`loadFer2013Csv: rows must be non-negative integers, got ${r}`);
      wantRows.add(r);
      if (r > maxRow) maxRow = r;
    }
  }
  const limit = opts.limit ?? Infinity;
  if (!(limit >= 0)) throw new RangeError(`loadFer2013Csv: limit must be >= 0, got ${limit}`);
  const maxLine = opts.maxLineBytes ?? FER_MAX_LINE_BYTES;
  if (!(Number.isInteger(maxLine) && maxLine > 0)) throw new RangeError(`loadFer2013Csv: maxLineBytes must be a positive integer, got ${maxLine}`);

  const { gzip, textSize } = await probe(file);
  // Capacity guess: a FER2013 line averages ~8,390 characters; grow by 1.5x when short.
  let cap = Math.max(16, Math.ceil(textSize / 8000));
  if (wantRows) cap = Math.min(cap, wantRows.size);
  if (Number.isFinite(limit)) cap = Math.min(cap, limit);
  cap = Math.max(cap, 1);
  let pixels = new Uint8Array(cap * FER_PIXELS);
  let labels = new Int32Array(cap);
  let usage = new Uint8Array(cap);
  let rowIds = new Int32Array(cap);
  let n = 0;
  const grow = () => {
    const c2 = Math.ceil(cap * 1.5) + 16;
    const p2 = new Uint8Array(c2 * FER_PIXELS);
    p2.set(pixels);
    pixels = p2;
    const l2 = new Int32Array(c2);
    l2.set(labels);
    labels = l2;
    const u2 = new Uint8Array(c2);
    u2.set(usage);
    usage = u2;
    const r2 = new Int32Array(c2);
    r2.set(rowIds);
    rowIds = r2;
    cap = c2;
  };

  let skippedCount = 0;
  const skipped: SkippedInput[] = [];
  let failure: Error | null = null;
  let done = false;
  let lineNo = 0;
  let dataRow = 0;
  let colEmotion = -1, colPixels = -1, colUsage = -1;
  let sawHeader = false;

  const src = createReadStream(file, { highWaterMark: 1 << 20 });
  const gunzip = gzip ? createGunzip({ chunkSize: 1 << 20 }) : null;
  let readError: Error | null = null;
  src.on('error', (e) => {
    readError ??= e;
    gunzip?.destroy(e); // a pipe does not forward errors: without this the loop below would wait forever
  });
  const input: Readable = gunzip ? src.pipe(gunzip) : src;

  const stop = () => {
    done = true;
  };

  /** Handles one bad row: returns normally when skipping, otherwise records the failure. */
  const bad = (reason: string) => {
    if (onBad === 'skip') {
      skippedCount++;
      if (skipped.length < maxReports) skipped.push({ file, line: lineNo, reason });
      return;
    }
    failure = new DataError(file, lineNo, reason);
    stop();
  };

  /** [start, end) of a field with surrounding spaces and one pair of double quotes removed. */
  const trimField = (line: string, s: number, e: number): [number, number] => {
    while (s < e && line.charCodeAt(s) <= 32) s++;
    while (e > s && line.charCodeAt(e - 1) <= 32) e--;
    if (e - s >= 2 && line.charCodeAt(s) === 34 && line.charCodeAt(e - 1) === 34) {
      s++;
      e--;
    }
    return [s, e];
  };

  const onLine = (line: string) => {
    if (done) return;
    lineNo++;
    if (!sawHeader) {
      if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
      if (line.trim() === '') return;
      const names = line.split(',').map((s) => s.trim().replace(/^"(.*)"$/, '$1').toLowerCase());
      colEmotion = names.indexOf('emotion');
      colPixels = names.indexOf('pixels');
      colUsage = names.indexOf('usage');
      if (names.length !== 3 || colEmotion < 0 || colPixels < 0 || colUsage < 0) {
        failure = new DataError(file, lineNo, `expected the header 'emotion,pixels,Usage' (any order), got '${line.slice(0, 80)}'`);
        stop();
        return;
      }
      sawHeader = true;
      return;
    }
    // Blank lines (e.g. a trailing newline pair) are not rows.
    if (line.length === 0 || (line.length < 8 && line.trim() === '')) return;
    if (n >= limit) {
      stop();
      return;
    }
    const row = dataRow++;
    if (!wantRows || wantRows.has(row)) onRow(line, row);
    if (row >= maxRow) stop();
  };

  /** Parses data row `row` (0-based) and keeps it when it passes the filters. */
  const onRow = (line: string, row: number) => {
    const c1 = line.indexOf(',');
    const c2 = c1 < 0 ? -1 : line.indexOf(',', c1 + 1);
    if (c2 < 0 || line.indexOf(',', c2 + 1) >= 0) {
      const nf = line.split(',').length;
      bad(`malformed row (data row ${row}): expected 3 comma-separated fields emotion,pixels,Usage, got ${nf}`);
      return;
    }
    const bounds: Array<[number, number]> = [trimField(line, 0, c1), trimField(line, c1 + 1, c2), trimField(line, c2 + 1, line.length)];
    const [es, ee] = bounds[colEmotion]!;
    const [us, ue] = bounds[colUsage]!;
    const [ps, pe] = bounds[colPixels]!;

    const emotionText = line.slice(es, ee);
    const label = /^\d{1,3}$/.test(emotionText) ? Number(emotionText) : -1;
    if (label < 0 || label >= NUM_CLASSES) {
      bad(`unknown emotion label '${emotionText.slice(0, 20)}' (data row ${row}; expected an integer 0..${NUM_CLASSES - 1})`);
      return;
    }
    const usageText = line.slice(us, ue);
    const u = usageCode(usageText);
    if (u < 0) {
      bad(`unknown Usage '${usageText.slice(0, 30)}' (data row ${row}; expected ${USAGES.join(', ')})`);
      return;
    }
    if (!wantUsage[u]) return;

    if (n === cap) grow();
    const base = n * FER_PIXELS;
    let count = 0;
    let v = -1;
    let neg = false;
    // One pass over the characters; a virtual space at `pe` flushes the last value.
    for (let p = ps; p <= pe; p++) {
      const c = p < pe ? line.charCodeAt(p) : 32;
      if (c >= 48 && c <= 57) {
        v = v < 0 ? c - 48 : Math.min(v * 10 + (c - 48), 1e9);
      } else if (c === 32 || c === 9) {
        if (v >= 0) {
          if (neg || v > 255) {
            bad(`pixel ${count} (0-based) has value ${neg ? '-' : ''}${v >= 1e9 ? '>=1e9' : v}, outside 0..255 (data row ${row})`);
            return;
          }
          if (count < FER_PIXELS) pixels[base + count] = v;
          count++;
          v = -1;
        } else if (neg) {
          bad(`stray '-' in pixels after value ${count} (data row ${row})`);
          return;
        }
        neg = false;
      } else if (c === 45 && v < 0 && !neg) {
        neg = true;
      } else {
        bad(`invalid character '${String.fromCharCode(c)}' in pixels at character ${p - ps + 1} (data row ${row}; expected space-separated integers 0..255)`);
        return;
      }
    }
    if (count !== FER_PIXELS) {
      bad(`expected ${FER_PIXELS} pixel values (48x48), got ${count} (data row ${row})`);
      return;
    }
    labels[n] = label;
    usage[n] = u;
    rowIds[n] = row;
    n++;
    if (n >= limit) stop();
  };

  /** Hands one line (bytes, line break excluded) to onLine; a lone CR also ends a line. */
  const emit = (line: string) => {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.indexOf('\r') < 0) return onLine(line);
    for (const part of line.split('\r')) if (!done) onLine(part);
  };
  const tooLong = () => {
    failure = new DataError(file, lineNo + 1, `line longer than ${maxLine} bytes (a FER2013 row is about 8,400; maxLineBytes raises the limit): not a FER2013 CSV, or corrupt`);
    stop();
  };
  let pending: Buffer[] = [];
  let pendingLen = 0;
  try {
    read: for await (const chunk of input as AsyncIterable<Buffer>) {
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        const end = nl < 0 ? chunk.length : nl;
        if (pendingLen + (end - start) > maxLine) {
          tooLong();
          break read;
        }
        if (nl < 0) {
          if (end > start) {
            pending.push(chunk.subarray(start));
            pendingLen += end - start;
          }
          break;
        }
        let line: string;
        if (pendingLen) {
          pending.push(chunk.subarray(start, nl));
          line = Buffer.concat(pending).toString('utf8');
          pending = [];
          pendingLen = 0;
        } else {
          line = chunk.toString('utf8', start, nl);
        }
        emit(line);
        if (done) break read;
        start = nl + 1;
      }
    }
    if (!done && pendingLen) emit(Buffer.concat(pending).toString('utf8'));
  } catch (e) {
    const err = e as Error;
    if (!failure) {
      failure =
        readError !== null || !gzip
          ? new DataError(file, lineNo + 1, `read error: ${err.message} (after ${dataRow} data rows)`, { cause: err })
          : new DataError(file, undefined, `corrupt or truncated gzip stream: ${err.message} (after line ${lineNo}, ${dataRow} data rows; the file's data cannot be trusted)`, { cause: err });
    }
  } finally {
    done = true;
    src.destroy();
    gunzip?.destroy();
  }
  if (failure) throw failure;
  if (!sawHeader) throw new DataError(file, lineNo || 1, "empty file: expected the header 'emotion,pixels,Usage'");

  if (n !== cap) {
    // Trim: a view when little is wasted (no 80 MB copy for the full file), else a compact copy.
    pixels = n >= cap * 0.9 ? pixels.subarray(0, n * FER_PIXELS) : pixels.slice(0, n * FER_PIXELS);
    labels = labels.slice(0, n);
    usage = usage.slice(0, n);
    rowIds = rowIds.slice(0, n);
  }
  return new Fer2013Data(file, pixels, labels, usage, rowIds, skippedCount, skipped, dataRow);
}
