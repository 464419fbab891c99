/**
 * The ResEmoteNet transform: Pillow-exact bilinear resize (tests/fixtures/resize.json, made by
 * tests/fixtures/gen_resize.py with Pillow 9.4.0 + torch float32), PIL luma, ToTensor/Normalize
 * tables, the whole pipeline, and hand-worked values on a real FER2013 sample image.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeImageToGray, IMAGENET_MEAN, IMAGENET_STD, ImageTransform, normalizeTable, resEmoteNetTransform, resizeBilinear, rgbToL } from '../../src/resemotenet/data/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const DATA = path.resolve(repoRoot, '../shared/data');
const IMG = path.join(DATA, 'fer2013-sample/train/angry/Training_1021836.png');
const HAVE_DATA = fs.existsSync(IMG);
const CI = process.env.CI === 'true';
if (!HAVE_DATA && !CI) console.warn(`[data_transform.test] ${IMG} not found: shared-data tests skipped (they fail under CI=true)`);
const itData = HAVE_DATA || CI ? it : it.skip;

interface Fixture {
  resize: Array<{ name: string; inW: number; inH: number; outW: number; outH: number; input: number[]; output: number[] }>;
  luma: { rgb: number[]; L: number[] };
  normalizeLut: number[][];
  pipeline: Array<{ inW: number; inH: number; outW: number; outH: number; flip: boolean; input: number[]; output: number[] }>;
}
const fx = JSON.parse(fs.readFileSync(path.join(repoRoot, 'tests/fixtures/resize.json'), 'utf8')) as Fixture;

describe('against Pillow / torch (tests/fixtures/resize.json)', () => {
  for (const c of fx.resize) {
    it(`resizeBilinear ${c.name} equals PIL resize(BILINEAR) exactly`, () => {
      const out = resizeBilinear({ width: c.inW, height: c.inH, data: Uint8Array.from(c.input) }, c.outW, c.outH);
      expect([out.width, out.height]).toEqual([c.outW, c.outH]);
      expect(Array.from(out.data)).toEqual(c.output);
    });
  }
  it("rgbToL equals PIL convert('L') on 96 colours", () => {
    const { rgb, L } = fx.luma;
    expect(L.length).toBe(96);
    expect(L.map((_, i) => rgbToL(rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!))).toEqual(L);
  });
  it('ToTensor + Normalize tables equal torch float32 for all 256 values and 3 channels', () => {
    for (let c = 0; c < 3; c++) expect(Array.from(normalizeTable(IMAGENET_MEAN[c]!, IMAGENET_STD[c]!))).toEqual(fx.normalizeLut[c]);
  });
  it('the whole pipeline (Resize, Grayscale(3), flip, ToTensor, Normalize) equals torchvision-on-PIL bit for bit', () => {
    for (const p of fx.pipeline) {
      const tf = new ImageTransform(resEmoteNetTransform(true, { size: [p.outH, p.outW] }));
      const out = tf.apply({ width: p.inW, height: p.inH, data: Uint8Array.from(p.input) }, p.flip);
      expect(tf.shape).toEqual([3, p.outH, p.outW]);
      expect(Array.from(out)).toEqual(p.output);
    }
  });
});

describe('hand-worked values', () => {
  it('48 -> 64 taps: output column 1 mixes input 0 and 1 with weights 3/8 and 5/8, column 0 and 63 copy the edge', () => {
    // centre of output x is (x + 0.5) * 48/64: x=0 -> 0.375, taps [0,1) weight 1; x=1 -> 1.125, taps
    // 0,1 with triangle weights 1-|0.5-1.125|=0.375 and 1-|1.5-1.125|=0.625; x=63 -> 47.625, tap 47 only.
    const row = new Uint8Array(48);
    row[0] = 100;
    row[1] = 200;
    row[47] = 77;
    const out = resizeBilinear({ width: 48, height: 1, data: row }, 64, 1).data;
    expect(out[0]).toBe(100);
    expect(out[1]).toBe(163); // 0.375*100 + 0.625*200 = 162.5 -> rounds half up to 163
    expect(out[63]).toBe(77);
  });

  itData('shared data is present', () => {
    expect(HAVE_DATA, `missing ${IMG}: the shared data (../shared/data from the repo root) is required under CI`).toBe(true);
  });

  itData('a FER2013 sample image: resized, grey to 3 channels, normalised (and flipped)', () => {
    const img = decodeImageToGray(fs.readFileSync(IMG), IMG);
    // input corner: row 0 starts 211 215, row 1 starts 206 209; row 0 ends with 213 (x = 47)
    expect([img.data[0], img.data[1], img.data[48], img.data[49], img.data[47]]).toEqual([211, 215, 206, 209, 213]);
    const tf = new ImageTransform(resEmoteNetTransform(false));
    expect(tf.shape).toEqual([3, 64, 64]);
    const out = tf.apply(img, false);
    expect(out.length).toBe(3 * 64 * 64);
    // resized grey values (horizontal pass first, each pass rounded):
    //  (0,0) = 211
    //  (0,1) = 0.375*211 + 0.625*215 = 213.5 -> 214
    //  (1,0) = 0.375*211 + 0.625*206 = 207.875 -> 208
    //  (1,1): row 0 -> 214, row 1: 0.375*206 + 0.625*209 = 207.875 -> 208; then 0.375*214 + 0.625*208 = 210.25 -> 210
    //  (0,63) = 213
    // normalised: (v/255 - mean[c]) / std[c]
    const n = (v: number, c: number) => (v / 255 - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!;
    expect(n(211, 0)).toBeCloseTo(1.495419, 5); // (0.827451 - 0.485) / 0.229
    expect(out[0]).toBeCloseTo(1.495419, 5);
    expect(out[1]).toBeCloseTo(1.546793, 5); // (214/255 - 0.485) / 0.229
    expect(out[64]).toBeCloseTo(1.444045, 5); // (208/255 - 0.485) / 0.229
    expect(out[65]).toBeCloseTo(1.478294, 5); // (210/255 - 0.485) / 0.229
    expect(out[63]).toBeCloseTo(1.529673, 5); // (213/255 - 0.485) / 0.229
    expect(out[4096]).toBeCloseTo(1.658263, 5); // channel 1: (211/255 - 0.456) / 0.224
    expect(out[8192 + 1]).toBeCloseTo(1.925403, 5); // channel 2: (214/255 - 0.406) / 0.225
    // Grayscale(3): every channel is the same grey value
    for (const k of [0, 1, 100, 4095]) {
      const grey = [0, 1, 2].map((c) => (out[c * 4096 + k]! * IMAGENET_STD[c]! + IMAGENET_MEAN[c]!) * 255);
      expect(grey[1]).toBeCloseTo(grey[0]!, 3);
      expect(grey[2]).toBeCloseTo(grey[0]!, 3);
      expect(Math.abs(grey[0]! - Math.round(grey[0]!))).toBeLessThan(1e-3);
    }
    // flipped: column x takes column 63 - x
    const f = tf.apply(img, true);
    expect(f[63]).toBe(out[0]);
    expect(f[62]).toBe(out[1]);
    expect(f[0]).toBe(out[63]);
    for (let c = 0; c < 3; c++) for (let y = 0; y < 64; y += 9) for (let x = 0; x < 64; x++) expect(f[c * 4096 + y * 64 + x]).toBe(out[c * 4096 + y * 64 + 63 - x]);
  });
});

describe('options', () => {
  it('ResEmoteNet presets and explicit variants', () => {
    expect(resEmoteNetTransform(true)).toEqual({ size: [64, 64], channels: 3, flipProb: 0.5, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    expect(resEmoteNetTransform(false).flipProb).toBe(0);
    // 48x48, one channel, mean 0.5 / std 0.5: no resize, v -> (v/255 - 0.5) / 0.5
    const tf = new ImageTransform({ size: [48, 48], channels: 1, flipProb: 0, mean: [0.5], std: [0.5] });
    const img = { width: 48, height: 48, data: new Uint8Array(48 * 48).fill(51) };
    img.data[5] = 255;
    const out = tf.apply(img, false);
    expect(out.length).toBe(2304);
    expect(out[0]).toBeCloseTo(-0.6, 6); // 51/255 = 0.2
    expect(out[5]).toBe(1);
    // writes at an offset into a batch buffer
    const buf = new Float32Array(2304 * 2);
    tf.apply(img, true, buf, 2304);
    expect(buf[0]).toBe(0);
    expect(buf[2304 + 47 - 5]).toBe(1);
  });
  it('rejects bad options with messages naming the field', () => {
    const base = resEmoteNetTransform(true);
    expect(() => new ImageTransform({ ...base, size: [0, 64] })).toThrow(/transforms\.ts\): size must be \[height, width\] positive integers/);
    expect(() => new ImageTransform({ ...base, channels: 2 as 3 })).toThrow(/channels must be 1 or 3/);
    expect(() => new ImageTransform({ ...base, flipProb: 1.5 })).toThrow(/flipProb must be in \[0, 1\]/);
    expect(() => new ImageTransform({ ...base, mean: [0.5, 0.5] })).toThrow(/mean needs 3 values/);
    expect(() => new ImageTransform({ ...base, std: [0.2, 0, 0.2] })).toThrow(/std must be > 0/);
    expect(() => new ImageTransform(base).apply({ width: 48, height: 48, data: new Uint8Array(2303) }, false)).toThrow(/image data has 2303 bytes, expected 48x48/);
    expect(() => new ImageTransform(base).apply({ width: 64, height: 64, data: new Uint8Array(4096) }, false, new Float32Array(10))).toThrow(/no room for 12288/);
  });
});
