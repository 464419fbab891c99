/**
 * PNG / JPEG bytes -> 8-bit grayscale at native size, as PIL's `Image.open(f).convert('L')`.
 *
 * PNG goes through `pngjs`, JPEG through `jpeg-js` (both pure JS). The format is taken from the
 * magic bytes, not the file name. Colour is reduced with PIL's ITU-R 601-2 luma in 16-bit fixed
 * point, L = (19595 R + 38470 G + 7471 B + 32768) >> 16, i.e. R*299/1000 + G*587/1000 +
 * B*114/1000 rounded to nearest (Pillow's rgb2l; checked against Pillow 9.4.0 in
 * tests/fixtures/resize.json). Grey inputs (R = G = B) come back unchanged. Alpha is ignored, as
 * PIL's convert('L') does.
 *
 * Bit depths: 1/2/4-bit PNG samples are scaled to 0..255 (x255, x85, x17, as PIL). 16-bit samples
 * keep their high byte (v >> 8), which is what PIL does for 16-bit RGB(A) PNGs; for 16-bit
 * grayscale PIL would instead clip the value to 255 (mode I -> L), which is not useful, so this
 * reader deliberately differs there. A tRNS chunk of a grey/RGB PNG is ignored (pngjs would paint
 * the keyed colour black; PIL keeps it).
 *
 * JPEG: jpeg-js's IDCT and YCbCr->RGB differ from libjpeg-turbo (Pillow) by about +-1 grey level
 * on some pixels; /work/shared/data/README.md documents the same for the FER2013 JPEGs.
 */
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import type { GrayImage } from './dataset.js';
import { DataError } from './errors.js';
import { lumaL } from './luma.js';

const { PNG } = pngjs;

/** PIL's RGB -> L (./luma.ts `lumaL`, under its earlier name). */
export const rgbToL = lumaL;

/**
 * Largest image decoded, in megapixels (both formats). A 30000x30000 PNG of 875 KB would
 * otherwise take 46 s and 5.85 GB to decode; the PNG's size is read from its IHDR header before
 * any decoding, the JPEG's by jpeg-js (`maxResolutionInMP`).
 */
export const MAX_IMAGE_MEGAPIXELS = 100;

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** 'png' | 'jpeg' | null from the first bytes. */
export function sniffImageFormat(buf: Uint8Array): 'png' | 'jpeg' | null {
  if (buf.length >= 8 && PNG_SIG.every((b, i) => buf[i] === b)) return 'png';
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  return null;
}

/** The PNG without its tRNS chunk (only called for grey / RGB colour types). */
function dropTrns(buf: Buffer): Buffer {
  const parts: Buffer[] = [buf.subarray(0, 8)];
  let p = 8;
  let dropped = false;
  while (p + 12 <= buf.length) {
    const len = buf.readUInt32BE(p);
    const end = p + 12 + len;
    if (end > buf.length) break;
    const type = buf.toString('latin1', p + 4, p + 8);
    if (type === 'tRNS') dropped = true;
    else parts.push(buf.subarray(p, end));
    p = end;
    if (type === 'IEND') break;
  }
  if (!dropped) return buf;
  if (p < buf.length) parts.push(buf.subarray(p));
  return Buffer.concat(parts);
}

function decodePng(buf: Buffer, file: string): GrayImage {
  if (buf.length < 33 || buf.toString('latin1', 12, 16) !== 'IHDR') throw new DataError(file, undefined, 'cannot decode PNG: missing IHDR chunk (truncated or not a PNG)');
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  if (width === 0 || height === 0) throw new DataError(file, undefined, `cannot decode PNG: IHDR gives a size of ${width}x${height}`);
  if (width * height > MAX_IMAGE_MEGAPIXELS * 1e6) {
    throw new DataError(file, undefined, `PNG of ${width}x${height} pixels (${((width * height) / 1e6).toFixed(1)} megapixels) exceeds the ${MAX_IMAGE_MEGAPIXELS}-megapixel limit; not decoded`);
  }
  const depth = buf[24]!;
  const colorType = buf[25]!;
  const src = colorType === 0 || colorType === 2 ? dropTrns(buf) : buf;
  let png: { width: number; height: number; data: Buffer | Uint16Array };
  try {
    png = PNG.sync.read(src, { skipRescale: depth === 16 });
  } catch (e) {
    throw new DataError(file, undefined, `cannot decode PNG (bit depth ${depth}, colour type ${colorType}): ${(e as Error).message}`, { cause: e });
  }
  const n = width * height;
  if (png.width !== width || png.height !== height) throw new DataError(file, undefined, `cannot decode PNG: decoded ${png.width}x${png.height}, IHDR says ${width}x${height}`);
  const rgba = png.data;
  if (rgba.length < n * 4) throw new DataError(file, undefined, `cannot decode PNG: ${rgba.length} samples for ${width}x${height} RGBA`);
  const out = new Uint8Array(n);
  const shift = depth === 16 ? 8 : 0;
  const grey = colorType === 0 || colorType === 4;
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    out[i] = grey ? rgba[j]! >>> shift : rgbToL(rgba[j]! >>> shift, rgba[j + 1]! >>> shift, rgba[j + 2]! >>> shift);
  }
  return { width, height, data: out };
}

function decodeJpeg(buf: Uint8Array, file: string): GrayImage {
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_IMAGE_MEGAPIXELS, maxMemoryUsageInMB: 1024 });
  } catch (e) {
    throw new DataError(file, undefined, `cannot decode JPEG: ${(e as Error).message}`, { cause: e });
  }
  const { width, height, data } = img;
  const n = width * height;
  if (!(n > 0) || data.length !== n * 3) throw new DataError(file, undefined, `cannot decode JPEG: got ${data.length} bytes for ${width}x${height} RGB`);
  const out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = rgbToL(data[j]!, data[j + 1]!, data[j + 2]!);
  return { width, height, data: out };
}

/**
 * Decodes PNG or JPEG bytes to grayscale uint8 at native size.
 * @param file used only in error messages.
 * @throws DataError `file: cannot decode ...` when the bytes are neither format or are corrupt, or
 *   when the image is larger than {@link MAX_IMAGE_MEGAPIXELS} (checked from the header first).
 */
export function decodeImageToGray(bytes: Uint8Array, file: string): GrayImage {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fmt = sniffImageFormat(buf);
  if (fmt === 'png') return decodePng(buf, file);
  if (fmt === 'jpeg') return decodeJpeg(buf, file);
  const head = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new DataError(file, undefined, `not a PNG or JPEG image (${buf.length} bytes, first bytes: ${head || 'none'})`);
}
