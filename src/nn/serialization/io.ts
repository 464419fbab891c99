/**
 * Byte-level plumbing shared by the checkpoint readers and writers: random-access byte sources
 * (a file read through a file handle, or bytes already in memory), an atomic file writer, CRC-32,
 * and the error type every loader throws.
 */
import type { FileHandle } from 'node:fs/promises';
import * as node from './node.js';

/**
 * The error every checkpoint reader and writer throws for bad input: a truncated or corrupt file,
 * an unsupported feature, a refused pickle global. `file` is the path (or `<memory>`), `key` the
 * tensor or entry the problem is about, when there is one.
 */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(
    message: string,
    readonly file?: string,
    readonly key?: string,
  ) {
    super(message);
  }
}

/** Random access to the bytes of a checkpoint. Every read is bounds-checked. */
export interface ByteSource {
  /** The file path, or a label such as `<memory>` for in-memory bytes; used in error messages. */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Reads exactly `length` bytes starting at byte `position`, into `into` (which must hold at
   * least `length` bytes) or into a fresh, 8-byte aligned array.
   * @throws CheckpointError when the range runs past the end of the source.
   */
  read(position: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  /** Releases the file handle (a no-op for memory). Idempotent. */
  close(): Promise<void>;
}

/** The largest single `FileHandle.read`/`write` we issue (Node caps one call below 2 GiB). */
const IO_CHUNK = 1 << 30;

function checkRange(src: ByteSource, position: number, length: number): void {
  if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || position < 0 || length < 0) {
    throw new CheckpointError(`${src.name}: invalid read of ${length} bytes at ${position}`, src.name);
  }
  if (position + length > src.size) {
    throw new CheckpointError(
      `${src.name}: unexpected end of file: needed bytes ${position}..${position + length} but the file has ${src.size} bytes (truncated?)`,
      src.name,
    );
  }
}

function alloc(length: number, into?: Uint8Array): Uint8Array {
  if (!into) return new Uint8Array(new ArrayBuffer(length));
  if (into.length < length) throw new RangeError(`read: destination holds ${into.length} bytes, need ${length}`);
  return into.length === length ? into : into.subarray(0, length);
}

/** A file read through one open file handle (no whole-file copy). */
export class FileSource implements ByteSource {
  private fh: FileHandle | null;
  private constructor(
    readonly name: string,
    fh: FileHandle,
    readonly size: number,
  ) {
    this.fh = fh;
  }

  /**
   * Opens `path` for reading.
   * @throws the `fs` error (ENOENT, EACCES, EISDIR...) when it cannot be opened as a regular file.
   */
  static async open(path: string): Promise<FileSource> {
    const fh = await node.fsp().open(path, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new CheckpointError(`${path}: not a regular file`, path);
      return new FileSource(path, fh, st.size);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  async read(position: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    checkRange(this, position, length);
    if (!this.fh) throw new CheckpointError(`${this.name}: read after close`, this.name);
    const out = alloc(length, into);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(out, done, Math.min(length - done, IO_CHUNK), position + done);
      if (bytesRead === 0) throw new CheckpointError(`${this.name}: file shrank while reading (at byte ${position + done})`, this.name);
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
  }
}

/** Bytes already in memory (used by the `*_bytes` loaders and the tests). */
export class MemorySource implements ByteSource {
  readonly size: number;
  constructor(
    private readonly bytes: Uint8Array,
    readonly name = '<memory>',
  ) {
    this.size = bytes.length;
  }
  async read(position: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    checkRange(this, position, length);
    const out = alloc(length, into);
    out.set(this.bytes.subarray(position, position + length));
    return out;
  }
  async close(): Promise<void> {}
}

/** Writes all of `bytes` at the handle's current position (looping over partial writes). */
export async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, Math.min(bytes.length - done, IO_CHUNK));
    if (bytesWritten <= 0) throw new Error(`write: no progress writing ${bytes.length} bytes`);
    done += bytesWritten;
  }
}

/**
 * Writes a file atomically: `write` fills a temporary file created in the same directory as
 * `path` (so the final rename stays on one file system), which is then fsynced, closed and
 * renamed over `path`; the directory is fsynced afterwards where the platform allows it. A crash
 * or an exception leaves either the old file or the new one, never a half-written one; on an
 * exception the temporary file is removed and the exception rethrown.
 */
export async function writeFileAtomic(path: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  const { dirname, join, basename } = node.path();
  const { open, rename, unlink } = node.fsp();
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${node.crypto().randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  let closed = false;
  try {
    await write(fh);
    await fh.sync();
    await fh.close();
    closed = true;
    await rename(tmp, path);
  } catch (e) {
    if (!closed) await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  // Persist the rename itself. Not every platform lets a directory be opened or fsynced
  // (Windows, some network file systems); the data is already durable, so ignore that.
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* best effort */
  }
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3, the zip checksum) of `bytes`, continuing from `crc`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let native: ((d: Uint8Array, v?: number) => number) | undefined;
  try {
    native = (node.zlib() as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
  } catch {
    native = undefined; // no Node zlib (browser): use the table below
  }
  if (typeof native === 'function') return native(bytes, crc) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Whether this machine stores numbers little-endian (every platform Node ships on, in practice). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Sets an own enumerable property, safely for any key: plain assignment of a key named
 * `__proto__` (which a hostile file can contain) would replace the object's prototype instead.
 */
export function setProp(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
