/**
 * Pixel buffers of the face detector, with no decoder attached (so a browser bundle can use them):
 * an 8-bit RGB image type, and the conversion of any 1/3/4-channel pixel buffer (a browser's
 * ImageData is RGBA) to RGB. Alpha is dropped, as PIL's convert('RGB'). PNG/JPEG decoding lives
 * in ./image.ts (Node: pngjs and jpeg-js), which re-exports these.
 */

/** An 8-bit RGB image, row-major from the top-left, `data.length === 3 * width * height`. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** Pixels with 1 (grey), 3 (RGB) or 4 (RGBA, e.g. a browser's ImageData) 8-bit channels. */
export interface PixelImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Uint8ClampedArray;
}

/**
 * Any 1/3/4-channel image as RGB (channels from data.length / (width * height); the same object
 * when it already is RGB). Grey is copied to R, G and B; alpha is dropped.
 * @throws RangeError for non-positive or non-integer sizes, or a data length that is not 1, 3 or 4
 * bytes per pixel.
 */
export function toRgb(img: PixelImage): RgbImage {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`toRgb (src/facedetect/pixels.ts): width and height must be positive integers, got ${width}x${height}`);
  }
  const n = width * height;
  const c = data.length / n;
  if (c !== 1 && c !== 3 && c !== 4) {
    throw new RangeError(`toRgb: ${data.length} bytes for a ${width}x${height} image is not 1, 3 or 4 channels per pixel`);
  }
  if (c === 3 && data instanceof Uint8Array) return img as RgbImage;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) out[3 * i + k] = data[c === 1 ? i : c * i + k]!;
  }
  return { width, height, data: out };
}
