/**
 * Colour images for the face detector: PNG/JPEG bytes -> 8-bit RGB (pngjs and jpeg-js, pure JS,
 * the decoders the rest of the project uses; Node only, as pngjs needs Node's zlib and streams).
 * Alpha is dropped, as PIL's convert('RGB'); pngjs scales 16-bit PNG samples to 8 bits. The
 * image types and `toRgb` live in ./pixels.ts (no decoder, browser-safe) and are re-exported.
 */
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { toRgb, type RgbImage } from './pixels.js';

export { toRgb, type RgbImage, type PixelImage } from './pixels.js';

const { PNG } = pngjs;

/** Thrown for bytes that are not a decodable PNG/JPEG; the message names the file. */
export class ImageDecodeError extends Error {
  constructor(readonly file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'ImageDecodeError';
  }
}

/**
 * Decodes PNG or JPEG bytes (told apart by their magic bytes) to 8-bit RGB at native size.
 * @param file used in error messages only.
 * @throws ImageDecodeError naming `file` when the bytes are neither format or are corrupt.
 */
export function decodeImage(bytes: Uint8Array, file: string): RgbImage {
  const isPng = bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  if (isPng) {
    let png: { width: number; height: number; data: Uint8Array };
    try {
      const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      png = PNG.sync.read(buf);
    } catch (e) {
      throw new ImageDecodeError(file, `cannot decode PNG: ${(e as Error).message}`, { cause: e });
    }
    return toRgb({ width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) });
  }
  if (isJpeg) {
    let img: { width: number; height: number; data: Uint8Array };
    try {
      img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: 100, maxMemoryUsageInMB: 1024 });
    } catch (e) {
      throw new ImageDecodeError(file, `cannot decode JPEG: ${(e as Error).message}`, { cause: e });
    }
    if (!(img.width > 0 && img.height > 0) || img.data.length !== img.width * img.height * 3) {
      throw new ImageDecodeError(file, `cannot decode JPEG: got ${img.data.length} bytes for ${img.width}x${img.height} RGB`);
    }
    return { width: img.width, height: img.height, data: img.data };
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new ImageDecodeError(file, `not a PNG or JPEG image (${bytes.length} bytes, first bytes: ${head || 'none'})`);
}
