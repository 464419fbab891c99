/**
 * Training augmentation: the affine warp (hand-worked cases), its per-sample Philox draws
 * (deterministic, in range, independent of batching), and the loader's resume checks.
 */
import { describe, expect, it } from 'vitest';
import { affineFor, affineResample, DataLoader, type GrayDataset, type GrayImage } from '../../src/resemotenet/data/index.js';

/** 5x5 image with pixel (y, x) = 10 y + x. */
const ramp: GrayImage = { width: 5, height: 5, data: Uint8Array.from({ length: 25 }, (_, k) => 10 * Math.floor(k / 5) + (k % 5)) };
const at = (d: Uint8Array, w: number, x: number, y: number) => d[y * w + x]!;

describe('affineResample', () => {
  it('the identity copies the image exactly', () => {
    expect(Array.from(affineResample(ramp, 5, 5, { angle: 0, scale: 1, tx: 0, ty: 0 }))).toEqual(Array.from(ramp.data));
  });

  it('a 90-degree turn permutes the pixels: output (x, y) reads source (4 - y, x) (the inverse map turns by -90)', () => {
    const out = affineResample(ramp, 5, 5, { angle: 90, scale: 1, tx: 0, ty: 0 });
    for (let y = 0; y < 5; y++) for (let x = 0; x < 5; x++) expect(at(out, 5, x, y), `(${x}, ${y})`).toBe(at(ramp.data, 5, 4 - y, x));
  });

  it('a shift of 1/5 of the side moves the image one pixel right and repeats the border', () => {
    const out = affineResample(ramp, 5, 5, { angle: 0, scale: 1, tx: 0.2, ty: 0 });
    for (let y = 0; y < 5; y++) {
      expect(at(out, 5, 0, y)).toBe(at(ramp.data, 5, 0, y));
      for (let x = 1; x < 5; x++) expect(at(out, 5, x, y)).toBe(at(ramp.data, 5, x - 1, y));
    }
  });

  it('zoom 2 about the centre samples between pixels (bilinear, rounded)', () => {
    const out = affineResample(ramp, 5, 5, { angle: 0, scale: 2, tx: 0, ty: 0 });
    // output x maps to source (x + 0.5) / 2 + 1.25 - 0.5 = x / 2 + 1: x = 1 -> 1.5 (mean of columns 1 and 2)
    expect(at(out, 5, 2, 2)).toBe(22);
    expect([21, 22]).toContain(at(out, 5, 1, 2)); // 21.5 up to the last bit of (x + 0.5) / 5
    expect(at(out, 5, 2, 1)).toBe(Math.round((12 + 22) / 2));
  });
});

describe('affineFor (per-sample Philox draws)', () => {
  const a = { rotation: 15, scale: 0.15, translate: 0.1 };
  it('is a pure function of (seed, epoch, index) and stays in range', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const p = affineFor(7, 3, i, a)!;
      expect(affineFor(7, 3, i, a)).toEqual(p);
      expect(Math.abs(p.angle)).toBeLessThanOrEqual(15);
      expect(Math.abs(p.scale - 1)).toBeLessThanOrEqual(0.15);
      expect(Math.abs(p.tx)).toBeLessThanOrEqual(0.1);
      expect(Math.abs(p.ty)).toBeLessThanOrEqual(0.1);
      seen.add(Math.round(p.angle));
    }
    expect(seen.size).toBeGreaterThan(25); // spread over the whole range (31 integer angles)
    expect(affineFor(7, 4, 0, a)).not.toEqual(affineFor(7, 3, 0, a));
    expect(affineFor(8, 3, 0, a)).not.toEqual(affineFor(7, 3, 0, a));
  });
  it('null when every range is 0 or augmentation is off', () => {
    expect(affineFor(1, 0, 0, { rotation: 0, scale: 0, translate: 0 })).toBeNull();
    expect(affineFor(1, 0, 0, null)).toBeNull();
  });
});

describe('DataLoader with augment', () => {
  const imgs: GrayImage[] = Array.from({ length: 10 }, (_, i) => ({ width: 8, height: 8, data: Uint8Array.from({ length: 64 }, (_, k) => (i * 25 + k * 3) % 256) }));
  const ds: GrayDataset = { length: 10, labels: Int32Array.from({ length: 10 }, (_, i) => i % 7), image: (i) => imgs[i]! };
  const tf = { size: [8, 8] as [number, number], channels: 1 as const, flipProb: 0, mean: [0], std: [1] };
  const augment = { rotation: 30, scale: 0.2, translate: 0.2 };

  it("a sample's augmented pixels do not depend on the batch size, and equal affineResample of its draw", () => {
    const l4 = new DataLoader(ds, { batchSize: 4, transform: tf, seed: 5, augment });
    const l10 = new DataLoader(ds, { batchSize: 10, transform: tf, seed: 5, augment });
    const b10 = l10.batchAt(0, 0);
    const b4 = l4.batchAt(0, 1);
    for (let m = 0; m < 4; m++) {
      const idx = b4.indices[m]!;
      const j = Array.from(b10.indices).indexOf(idx);
      expect(Array.from(b4.images.subarray(m * 64, m * 64 + 64))).toEqual(Array.from(b10.images.subarray(j * 64, j * 64 + 64)));
      const want = affineResample(imgs[idx]!, 8, 8, affineFor(5, 0, idx, augment)!);
      expect(Array.from(b4.images.subarray(m * 64, m * 64 + 64), (v) => Math.round(v * 255))).toEqual(Array.from(want));
    }
    const plain = new DataLoader(ds, { batchSize: 10, transform: tf, seed: 5 }).batchAt(0, 0);
    expect(Array.from(plain.images)).not.toEqual(Array.from(b10.images));
  });

  it('state() carries the ranges; a loader with other ranges refuses it', () => {
    const l = new DataLoader(ds, { batchSize: 4, transform: tf, seed: 5, augment });
    const st = JSON.parse(JSON.stringify(l.state()));
    expect(st.augment).toEqual(augment);
    expect(() => new DataLoader(ds, { batchSize: 4, transform: tf, seed: 5 }).loadState(st)).toThrow(/augment/);
    expect(() => new DataLoader(ds, { batchSize: 4, transform: tf, seed: 5, augment: { ...augment, rotation: 10 } }).loadState(st)).toThrow(/augment/);
    expect(() => new DataLoader(ds, { batchSize: 4, transform: tf, seed: 5, augment }).loadState(st)).not.toThrow();
  });

  it('rejects ranges out of bounds', () => {
    expect(() => new DataLoader(ds, { batchSize: 4, transform: tf, augment: { rotation: 200, scale: 0, translate: 0 } })).toThrow(/augment.rotation/);
    expect(() => new DataLoader(ds, { batchSize: 4, transform: tf, augment: { rotation: 0, scale: -1, translate: 0 } })).toThrow(/augment.scale/);
  });
});
