/**
 * The ResEmoteNet input pipeline (torchvision, as in the official training script):
 *
 *   Resize((64, 64)) -> Grayscale(num_output_channels=3) -> RandomHorizontalFlip(0.5) [train]
 *   -> ToTensor() (/255) -> Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
 *
 * on 8-bit grayscale inputs, giving float32 (3, 64, 64) CHW.
 *
 * Resize on a PIL image is Pillow's `resize(size, BILINEAR)`, reproduced exactly here
 * (`resizeBilinear`): a separable triangle filter whose support is scaled by max(1, in/out)
 * (plain bilinear with half-pixel centres when upscaling, antialiased when downscaling), weights
 * normalised then rounded to 22-bit fixed point, horizontal pass first, each pass rounded and
 * clipped to uint8. Checked against Pillow 9.4.0 in tests/fixtures/resize.json
 * (tests/fixtures/gen_resize.py).
 *
 * ToTensor + Normalize use float32 steps as torch does: fround(fround(fround(v / 255) - m) / s)
 * with m, s the float32 mean/std; since the input is uint8 these are 256-entry tables per channel.
 *
 * Difference from torchvision for colour inputs: torchvision resizes the RGB image and then takes
 * luma; this pipeline takes luma first (images are stored grey). For grey inputs (all of FER2013)
 * the two are identical; for colour, the uint8 rounding order can differ by 1 grey level.
 */
import type { GrayImage } from './dataset.js';

/** ImageNet statistics used by ResEmoteNet's Normalize. */
export const IMAGENET_MEAN: readonly number[] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly number[] = [0.229, 0.224, 0.225];

/** The explicit pipeline settings (every field required; see `resEmoteNetTransform`). */
export interface TransformOptions {
  /** Output [height, width] in pixels, as torchvision Resize((h, w)). ResEmoteNet: [64, 64]. */
  size: readonly [number, number];
  /** Grayscale(num_output_channels): 1, or 3 (grey copied to each channel). ResEmoteNet: 3. */
  channels: 1 | 3;
  /** RandomHorizontalFlip probability p in [0, 1]; 0 for evaluation. ResEmoteNet train: 0.5. */
  flipProb: number;
  /** Normalize mean per output channel (or one value for all), in ToTensor units (0..1). */
  mean: readonly number[];
  /** Normalize std per output channel (or one value for all), > 0. */
  std: readonly number[];
}

/**
 * The ResEmoteNet settings: size [64, 64], 3 channels, ImageNet mean/std, flip p = 0.5 when
 * `train` else 0. `overrides` replace single fields (e.g. `{ size: [48, 48] }` for a small variant).
 */
export function resEmoteNetTransform(train: boolean, overrides: Partial<TransformOptions> = {}): TransformOptions {
  return { size: [64, 64], channels: 3, flipProb: train ? 0.5 : 0, mean: IMAGENET_MEAN, std: IMAGENET_STD, ...overrides };
}

// ---------------------------------------------------------------------------------------------
// Pillow-exact bilinear resize (uint8, one channel)

const PRECISION_BITS = 32 - 8 - 2; // Pillow's 8-bit-per-channel fixed point

interface Coeffs {
  /** Taps per output sample (max). */
  ksize: number;
  /** [first input index, tap count] per output sample. */
  bounds: Int32Array;
  /** Fixed-point weights, ksize per output sample. */
  kk: Int32Array;
}

const coeffCache = new Map<string, Coeffs>();

function bilinearFilter(x: number): number {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter (support 1). */
function coeffs(inSize: number, outSize: number): Coeffs {
  const key = `${inSize}>${outSize}`;
  const hit = coeffCache.get(key);
  if (hit) return hit;
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = 1 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const v = bilinearFilter((x + xmin - center + 0.5) * ss);
      w[x] = v;
      ww += v;
    }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax ? (ww !== 0 ? w[x]! / ww : w[x]!) : 0;
      kk[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  const c = { ksize, bounds, kk };
  coeffCache.set(key, c);
  return c;
}

function clip8(ss: number): number {
  if (ss >= 1 << PRECISION_BITS << 8) return 255;
  if (ss <= 0) return 0;
  return ss >> PRECISION_BITS;
}

/** One horizontal pass: (h, inW) -> (h, outW). */
function passH(src: Uint8Array, inW: number, h: number, outW: number, dst: Uint8Array): void {
  const { ksize, bounds, kk } = coeffs(inW, outW);
  for (let y = 0; y < h; y++) {
    const row = y * inW;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = bounds[xx * 2]!;
      const xmax = bounds[xx * 2 + 1]!;
      const k = xx * ksize;
      let ss = 1 << (PRECISION_BITS - 1);
      for (let x = 0; x < xmax; x++) ss += src[row + xmin + x]! * kk[k + x]!;
      dst[y * outW + xx] = clip8(ss);
    }
  }
}

/** One vertical pass: (inH, w) -> (outH, w). */
function passV(src: Uint8Array, w: number, inH: number, outH: number, dst: Uint8Array): void {
  const { ksize, bounds, kk } = coeffs(inH, outH);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[yy * 2]!;
    const ymax = bounds[yy * 2 + 1]!;
    const k = yy * ksize;
    for (let x = 0; x < w; x++) {
      let ss = 1 << (PRECISION_BITS - 1);
      for (let y = 0; y < ymax; y++) ss += src[(ymin + y) * w + x]! * kk[k + y]!;
      dst[yy * w + x] = clip8(ss);
    }
  }
}

/**
 * Resizes an 8-bit grey image to outW x outH exactly as Pillow's `Image.resize((outW, outH),
 * Image.BILINEAR)` (no reducing_gap, full-image box). Same size -> a copy.
 * @throws RangeError for non-positive or non-integer sizes, or data of the wrong length.
 */
export function resizeBilinear(img: GrayImage, outW: number, outH: number): GrayImage {
  const { width: inW, height: inH, data } = img;
  for (const [name, v] of [['outW', outW], ['outH', outH], ['width', inW], ['height', inH]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`resizeBilinear (src/resemotenet/data/transforms.ts): ${name} must be a positive integer, got ${v}`);
  }
  if (data.length !== inW * inH) throw new RangeError(`resizeBilinear: image data has ${data.length} bytes, expected ${inW}x${inH} = ${inW * inH}`);
  let cur = data;
  let w = inW;
  if (outW !== inW) {
    const t = new Uint8Array(outW * inH);
    passH(cur, inW, inH, outW, t);
    cur = t;
    w = outW;
  }
  if (outH !== inH) {
    const t = new Uint8Array(w * outH);
    passV(cur, w, inH, outH, t);
    cur = t;
  }
  return { width: outW, height: outH, data: cur === data ? data.slice() : cur };
}

// ---------------------------------------------------------------------------------------------

/**
 * ToTensor + Normalize for uint8 input as a table: entry v is
 * fround(fround(fround(v / 255) - fround(mean)) / fround(std)), torch's float32 arithmetic.
 */
export function normalizeTable(mean: number, std: number): Float32Array {
  const m = Math.fround(mean);
  const s = Math.fround(std);
  const t = new Float32Array(256);
  for (let v = 0; v < 256; v++) t[v] = Math.fround(Math.fround(Math.fround(v / 255) - m) / s);
  return t;
}

/**
 * One random geometric change of a training image (as torchvision's RandomAffine, without
 * shear): rotate by `angle` degrees (counter-clockwise) and zoom by `scale` about the centre, then
 * shift by (`tx`, `ty`) fractions of the output width and height.
 */
export interface AffineParams {
  angle: number;
  scale: number;
  tx: number;
  ty: number;
}

/**
 * Resamples `img` into an outW x outH grey image under `a` (see AffineParams), bilinear with the
 * border pixels repeated outside the image. Source and output cover the same field of view when
 * a is the identity, so a 48x48 face maps onto 64x64 as a plain (non-Pillow) bilinear upscale.
 * Training only: evaluation uses the Pillow-exact resizeBilinear.
 */
export function affineResample(img: GrayImage, outW: number, outH: number, a: AffineParams): Uint8Array {
  const { width: inW, height: inH, data } = img;
  const dst = new Uint8Array(outW * outH);
  const rad = (a.angle * Math.PI) / 180;
  const c = Math.cos(rad) / a.scale;
  const s = Math.sin(rad) / a.scale;
  for (let y = 0; y < outH; y++) {
    const v = (y + 0.5) / outH - 0.5 - a.ty;
    for (let x = 0; x < outW; x++) {
      const u = (x + 0.5) / outW - 0.5 - a.tx;
      // inverse map: rotate by -angle and unzoom (image y grows downwards, so +angle turns counter-clockwise on screen)
      const su = c * u - s * v;
      const sv = s * u + c * v;
      let sx = (su + 0.5) * inW - 0.5;
      let sy = (sv + 0.5) * inH - 0.5;
      sx = sx < 0 ? 0 : sx > inW - 1 ? inW - 1 : sx;
      sy = sy < 0 ? 0 : sy > inH - 1 ? inH - 1 : sy;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = x0 + 1 < inW ? x0 + 1 : x0;
      const y1 = y0 + 1 < inH ? y0 + 1 : y0;
      const fx = sx - x0;
      const fy = sy - y0;
      const top = data[y0 * inW + x0]! * (1 - fx) + data[y0 * inW + x1]! * fx;
      const bot = data[y1 * inW + x0]! * (1 - fx) + data[y1 * inW + x1]! * fx;
      dst[y * outW + x] = Math.round(top * (1 - fy) + bot * fy);
    }
  }
  return dst;
}

/**
 * A compiled pipeline: validates the options once and keeps the normalisation tables.
 * `apply(img, flip)` returns float32 CHW of shape `shape` = [channels, size[0], size[1]].
 */
export class ImageTransform {
  readonly options: Readonly<TransformOptions>;
  /** Output shape [C, H, W]. */
  readonly shape: readonly [number, number, number];
  /** Elements per output sample (C * H * W). */
  readonly numel: number;
  private readonly tables: Float32Array[];

  /** @throws RangeError naming the bad field (size, channels, flipProb, mean/std length or std <= 0). */
  constructor(opts: TransformOptions) {
    const where = 'ImageTransform (src/resemotenet/data/transforms.ts)';
    const [h, w] = opts.size;
    if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) throw new RangeError(`${where}: size must be [height, width] positive integers, got [${opts.size.join(', ')}]`);
    if (opts.channels !== 1 && opts.channels !== 3) throw new RangeError(`${where}: channels must be 1 or 3, got ${String(opts.channels)}`);
    if (!(opts.flipProb >= 0 && opts.flipProb <= 1)) throw new RangeError(`${where}: flipProb must be in [0, 1], got ${opts.flipProb}`);
    const c = opts.channels;
    for (const [name, arr] of [['mean', opts.mean], ['std', opts.std]] as const) {
      if (arr.length !== c && arr.length !== 1) throw new RangeError(`${where}: ${name} needs ${c} values (one per channel) or 1, got ${arr.length}`);
      if (!arr.every(Number.isFinite)) throw new RangeError(`${where}: ${name} must be finite numbers, got [${arr.join(', ')}]`);
    }
    if (!opts.std.every((s) => s > 0)) throw new RangeError(`${where}: std must be > 0, got [${opts.std.join(', ')}]`);
    this.options = { ...opts, size: [h, w], mean: [...opts.mean], std: [...opts.std] };
    this.shape = [c, h, w];
    this.numel = c * h * w;
    this.tables = [];
    for (let ch = 0; ch < c; ch++) this.tables.push(normalizeTable(opts.mean[opts.mean.length === 1 ? 0 : ch]!, opts.std[opts.std.length === 1 ? 0 : ch]!));
  }

  /**
   * Runs the pipeline on one grey image (any size). `flip` says whether RandomHorizontalFlip fired
   * (the caller draws it, see DataLoader); it is honoured even when flipProb is 0.
   * Writes `numel` floats to `out` at `offset` (allocated when omitted) and returns `out`.
   * `affine` (training augmentation, drawn by the caller) replaces the resize by
   * {@link affineResample}; the flip comes after it.
   */
  apply(img: GrayImage, flip: boolean, out?: Float32Array, offset = 0, affine?: AffineParams): Float32Array {
    const [c, h, w] = this.shape;
    const dst = out ?? new Float32Array(this.numel);
    if (offset < 0 || offset + this.numel > dst.length) throw new RangeError(`ImageTransform.apply: output of ${dst.length} floats has no room for ${this.numel} at offset ${offset}`);
    const px = affine ? affineResample(img, w, h, affine) : img.width === w && img.height === h ? img.data : resizeBilinear(img, w, h).data;
    if (px.length !== w * h) throw new RangeError(`ImageTransform.apply: image data has ${px.length} bytes, expected ${img.width}x${img.height}`);
    const hw = h * w;
    for (let ch = 0; ch < c; ch++) {
      const t = this.tables[ch]!;
      const base = offset + ch * hw;
      for (let y = 0; y < h; y++) {
        const row = y * w;
        const o = base + row;
        if (flip) for (let x = 0; x < w; x++) dst[o + x] = t[px[row + w - 1 - x]!]!;
        else for (let x = 0; x < w; x++) dst[o + x] = t[px[row + x]!]!;
      }
    }
    return dst;
  }
}
