/**
 * Reading an input file safely: only a regular file is read, never a device (`/dev/zero` would be
 * read forever), a FIFO (opening one blocks until a writer comes) or a directory; and never more
 * than a size limit. Used for images (ImageFolder, predict).
 */
import { constants, promises as fsp, type Stats } from 'node:fs';
import { DataError } from './errors.js';

/** Largest image file read (256 MiB; a 100-megapixel RGB PNG is about 300 MB only uncompressed). */
export const MAX_IMAGE_FILE_BYTES = 256 << 20;

/** What a non-regular file is, for the error message. */
export function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The bytes of `file`, which must be a regular file (a symbolic link to one is fine) of at most
 * `maxBytes` bytes. The file is opened non-blocking (so a FIFO cannot hang the open) and checked
 * with fstat on the open descriptor, so it cannot be swapped between the check and the read.
 * @param what the noun for messages ('image', 'file').
 * @throws DataError `file: cannot read image: <reason>` when it cannot be opened, is not a
 *   regular file (a directory, device, FIFO, socket), or is larger than `maxBytes`.
 */
export async function readRegularFile(file: string, opts: { maxBytes?: number; what?: string } = {}): Promise<Buffer> {
  const what = opts.what ?? 'file';
  const max = opts.maxBytes ?? MAX_IMAGE_FILE_BYTES;
  const fail = (reason: string, cause?: unknown): never => {
    throw new DataError(file, undefined, `cannot read ${what}: ${reason}`, cause === undefined ? undefined : { cause });
  };
  let fh: import('node:fs/promises').FileHandle;
  try {
    fh = await fsp.open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    return fail((e as Error).message, e);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) fail(`${fileKind(st)}, not a regular file`);
    if (st.size > max) fail(`${st.size} bytes, more than the ${max}-byte limit`);
    // Read to the end, however the size changes meanwhile, but never past the limit.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      // one byte past the limit is enough to see that the file is too big
      const room = max + 1 - total;
      const buf = Buffer.allocUnsafe(Math.min(room, Math.max(st.size - total, 65536), 1 << 26));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      chunks.push(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total > max) fail(`more than the ${max}-byte limit (the file grew while reading)`);
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  } catch (e) {
    if (e instanceof DataError) throw e;
    return fail((e as Error).message, e);
  } finally {
    await fh.close();
  }
}

/** {@link readRegularFile} for images: `file: cannot read image: ...`, at most {@link MAX_IMAGE_FILE_BYTES}. */
export function readImageFile(file: string, maxBytes = MAX_IMAGE_FILE_BYTES): Promise<Buffer> {
  return readRegularFile(file, { maxBytes, what: 'image' });
}
