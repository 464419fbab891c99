/**
 * The detector's input: the image padded with black to a centred square (letterbox, so faces keep
 * their shape), resized to size x size by bilinear interpolation with half-pixel centres, scaled
 * to [-1, 1] and laid out CHW. This is what TensorFlow.js computes with
 * `tf.pad` + `tf.image.resizeBilinear(x, [size, size], false, true)` + `x / 127.5 - 1`
 * (scripts/blazeface/reference.ts runs exactly that): source coordinate
 * (out + 0.5) * S / size - 0.5, the two neighbours clamped to the padded square, black outside
 * the image. No antialiasing, as MediaPipe and tfjs.
 */
import type { RgbImage } from './pixels.js';

/** How the square input maps back to the image: image = input * scale - pad. */
export interface LetterboxTransform {
  /** Image pixels per input pixel (S / size, S = max(width, height)). */
  scale: number;
  /** Black columns left of the image in the padded square (floor((S - width) / 2)). */
  padX: number;
  /** Black rows above the image in the padded square (floor((S - height) / 2)). */
  padY: number;
}

/** The geometry of the letterbox of a width x height image into size x size. */
export function letterboxTransform(width: number, height: number, size: number): LetterboxTransform {
  const s = Math.max(width, height);
  return { scale: s / size, padX: Math.floor((s - width) / 2), padY: Math.floor((s - height) / 2) };
}

/** A point of the size x size input (in input pixels, continuous) in image pixels. */
export function toImagePoint(t: LetterboxTransform, x: number, y: number): [number, number] {
  return [x * t.scale - t.padX, y * t.scale - t.padY];
}

/** Source taps (clamped) and weight of the second, per output index, for one axis. */
function taps(size: number, squareSide: number, pad: number, extent: number): { i0: Int32Array; i1: Int32Array; f: Float64Array } {
  const i0 = new Int32Array(size);
  const i1 = new Int32Array(size);
  const f = new Float64Array(size);
  const ratio = squareSide / size;
  for (let o = 0; o < size; o++) {
    const src = ratio * (o + 0.5) - 0.5;
    const lo = Math.max(0, Math.floor(src));
    const hi = Math.min(squareSide - 1, Math.ceil(src));
    f[o] = src - lo;
    // Positions in the image; -1 marks a padded (black) sample.
    const a = lo - pad;
    const b = hi - pad;
    i0[o] = a >= 0 && a < extent ? a : -1;
    i1[o] = b >= 0 && b < extent ? b : -1;
  }
  return { i0, i1, f };
}

/**
 * Letterboxes `img` into a (3, size, size) float32 CHW array in [-1, 1] (v / 127.5 - 1).
 * Returns the data and the transform back to image pixels.
 * @throws RangeError for a size that is not a positive integer or an image whose data is not RGB.
 */
export function letterbox(img: RgbImage, size: number, out?: Float32Array, offset = 0): { input: Float32Array; transform: LetterboxTransform } {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`letterbox (src/facedetect/letterbox.ts): size must be a positive integer, got ${size}`);
  const { width: w, height: h, data } = img;
  if (data.length !== 3 * w * h) throw new RangeError(`letterbox: image data has ${data.length} bytes, expected 3 x ${w} x ${h}`);
  const t = letterboxTransform(w, h, size);
  const side = Math.max(w, h);
  const xs = taps(size, side, t.padX, w);
  const ys = taps(size, side, t.padY, h);
  const plane = size * size;
  const dst = out ?? new Float32Array(3 * plane);
  if (offset < 0 || offset + 3 * plane > dst.length) throw new RangeError(`letterbox: output of ${dst.length} floats has no room for ${3 * plane} at offset ${offset}`);
  const px = (x: number, y: number, c: number) => (x < 0 || y < 0 ? 0 : data[3 * (y * w + x) + c]!);
  for (let oy = 0; oy < size; oy++) {
    const y0 = ys.i0[oy]!;
    const y1 = ys.i1[oy]!;
    const fy = ys.f[oy]!;
    for (let ox = 0; ox < size; ox++) {
      const x0 = xs.i0[ox]!;
      const x1 = xs.i1[ox]!;
      const fx = xs.f[ox]!;
      for (let c = 0; c < 3; c++) {
        const tl = px(x0, y0, c);
        const tr = px(x1, y0, c);
        const bl = px(x0, y1, c);
        const br = px(x1, y1, c);
        // tfjs's order: along x on both rows, then along y.
        const top = tl + (tr - tl) * fx;
        const bot = bl + (br - bl) * fx;
        const v = Math.fround(top + (bot - top) * fy);
        dst[offset + c * plane + oy * size + ox] = Math.fround(v / 127.5) - 1;
      }
    }
  }
  return { input: dst, transform: t };
}
