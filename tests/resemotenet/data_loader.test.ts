/**
 * DataLoader: coverage per epoch, seeded order and flips, exact resume, prefetch, tensors, and a
 * real epoch over the shared fer2013-sample train split.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  DataLoader,
  epochPermutation,
  flipUniform,
  ImageTransform,
  loadImageFolder,
  resEmoteNetTransform,
  type Batch,
  type GrayDataset,
  type GrayImage,
  type LoaderState,
  type TransformOptions,
} from '../../src/resemotenet/data/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SAMPLE = path.join(path.resolve(repoRoot, '../shared/data'), 'fer2013-sample');
const HAVE_DATA = fs.existsSync(path.join(SAMPLE, 'index.csv'));
const CI = process.env.CI === 'true';
if (!HAVE_DATA && !CI) console.warn(`[data_loader.test] ${SAMPLE} not found: shared-data tests skipped (they fail under CI=true)`);
const itData = HAVE_DATA || CI ? it : it.skip;

/** n images of 4x4; pixel (y, x) of image i is (10 i + 4 y + x) % 256, label i % 7. */
function synthetic(n: number): GrayDataset {
  const imgs: GrayImage[] = [];
  for (let i = 0; i < n; i++) imgs.push({ width: 4, height: 4, data: Uint8Array.from({ length: 16 }, (_, k) => (10 * i + k) % 256) });
  return { length: n, labels: Int32Array.from({ length: n }, (_, i) => i % 7), image: (i) => imgs[i]! };
}
/** Identity-ish transform: 4x4 (no resize), 1 channel, v/255. */
const tiny = (flipProb = 0.5): TransformOptions => ({ size: [4, 4], channels: 1, flipProb, mean: [0], std: [1] });

async function collect(loader: DataLoader, max = Infinity): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader) {
    out.push(b);
    if (out.length >= max) break;
  }
  return out;
}
const sameBatch = (a: Batch, b: Batch) => {
  expect(Array.from(a.indices)).toEqual(Array.from(b.indices));
  expect(Array.from(a.flips)).toEqual(Array.from(b.flips));
  expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
  expect(Buffer.from(a.images.buffer).equals(Buffer.from(b.images.buffer))).toBe(true);
  expect([a.epoch, a.batchIndex]).toEqual([b.epoch, b.batchIndex]);
};

describe('order', () => {
  it('epochPermutation is a seeded permutation, different per epoch and seed', () => {
    const p = epochPermutation(1000, 7, 0);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(epochPermutation(1000, 7, 0))).toEqual(Array.from(p));
    expect(Array.from(epochPermutation(1000, 7, 1))).not.toEqual(Array.from(p));
    expect(Array.from(epochPermutation(1000, 8, 0))).not.toEqual(Array.from(p));
    expect(Array.from(epochPermutation(1000, 2 ** 40 + 7, 0))).not.toEqual(Array.from(p)); // high seed word counts
    let fixed = 0;
    for (let i = 0; i < 1000; i++) if (p[i] === i) fixed++;
    expect(fixed).toBeLessThan(10); // ~1 expected for a uniform shuffle
    expect(Array.from(epochPermutation(1, 0, 0))).toEqual([0]);
    expect(epochPermutation(0, 0, 0).length).toBe(0);
  });

  it('every index exactly once per epoch; the last batch is short unless dropLast', async () => {
    const ds = synthetic(23);
    const loader = new DataLoader(ds, { batchSize: 5, transform: tiny(), seed: 3 });
    expect(loader.numBatches).toBe(5);
    for (let epoch = 0; epoch < 3; epoch++) {
      expect(loader.epoch).toBe(epoch);
      const batches = await collect(loader);
      expect(batches.map((b) => b.size)).toEqual([5, 5, 5, 5, 3]);
      expect(batches.map((b) => b.shape)).toEqual([...Array(4).fill([5, 1, 4, 4]), [3, 1, 4, 4]]);
      const seen = batches.flatMap((b) => Array.from(b.indices));
      expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, i) => i));
      expect(seen).not.toEqual(Array.from({ length: 23 }, (_, i) => i)); // shuffled
      for (const b of batches) {
        expect(b.epoch).toBe(epoch);
        for (let m = 0; m < b.size; m++) {
          const idx = b.indices[m]!;
          expect(b.labels[m]).toBe(idx % 7);
          // pixel (0,0) is (10 idx) % 256 unflipped, (10 idx + 3) % 256 flipped, over 255
          expect(b.images[m * 16]).toBe(Math.fround(((10 * idx + (b.flips[m] ? 3 : 0)) % 256) / 255));
        }
      }
    }
    expect(loader.epoch).toBe(3);
    const dl = new DataLoader(ds, { batchSize: 5, transform: tiny(), seed: 3, dropLast: true });
    const b2 = await collect(dl);
    expect(b2.map((b) => b.size)).toEqual([5, 5, 5, 5]);
    expect(new Set(b2.flatMap((b) => Array.from(b.indices))).size).toBe(20);
  });

  it('shuffle off + flipProb 0 gives dataset order without flips', async () => {
    const loader = new DataLoader(synthetic(10), { batchSize: 4, transform: tiny(0), shuffle: false });
    const b = await collect(loader);
    expect(b.flatMap((x) => Array.from(x.indices))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(b.every((x) => x.flips.every((f) => f === 0))).toBe(true);
  });
});

describe('flips', () => {
  it('same seed -> same order and flips; flips depend on (seed, epoch, index) only', async () => {
    const ds = synthetic(40);
    const a = await collect(new DataLoader(ds, { batchSize: 8, transform: tiny(), seed: 11 }));
    const b = await collect(new DataLoader(ds, { batchSize: 8, transform: tiny(), seed: 11 }));
    a.forEach((x, k) => sameBatch(x, b[k]!));
    const flipsBy = (bs: Batch[]) => {
      const m = new Map<number, number>();
      for (const x of bs) x.indices.forEach((idx, j) => m.set(idx, x.flips[j]!));
      return [...m.entries()].sort((p, q) => p[0] - q[0]).map((e) => e[1]);
    };
    const c = await collect(new DataLoader(ds, { batchSize: 3, transform: tiny(), seed: 11 }));
    expect(flipsBy(c)).toEqual(flipsBy(a)); // a different batch size does not change the flips
    const d = await collect(new DataLoader(ds, { batchSize: 8, transform: tiny(), seed: 12 }));
    expect(flipsBy(d)).not.toEqual(flipsBy(a));
    const f = flipsBy(a);
    expect(f).toEqual(Array.from({ length: 40 }, (_, i) => (flipUniform(11, 0, i) < 0.5 ? 1 : 0)));
  });

  it('flip rate follows flipProb', () => {
    let n = 0;
    for (let i = 0; i < 4000; i++) if (flipUniform(5, 2, i) < 0.5) n++;
    expect(n / 4000).toBeGreaterThan(0.47);
    expect(n / 4000).toBeLessThan(0.53);
    const none = new DataLoader(synthetic(50), { batchSize: 50, transform: tiny(0), seed: 5 }).batchAt(0, 0);
    expect(none.flips.every((v) => v === 0)).toBe(true);
    const all = new DataLoader(synthetic(50), { batchSize: 50, transform: tiny(1), seed: 5 }).batchAt(0, 0);
    expect(all.flips.every((v) => v === 1)).toBe(true);
  });
});

describe('resume', () => {
  it('a saved state (JSON) reproduces the same next batches, mid-epoch and at an epoch boundary', async () => {
    const ds = synthetic(37);
    const opts = { batchSize: 6, transform: tiny(), seed: 99 };
    const a = new DataLoader(ds, opts);
    await collect(a); // epoch 0 (7 batches)
    expect(a.state()).toMatchObject({ epoch: 1, batchIndex: 0 });
    let saved = '';
    const seen: Batch[] = [];
    for await (const b of a) {
      seen.push(b);
      if (b.batchIndex === 2) saved = JSON.stringify(a.state());
    }
    expect(JSON.parse(saved)).toEqual({ version: 1, seed: 99, epoch: 1, batchIndex: 3, datasetLength: 37, batchSize: 6, dropLast: false, shuffle: true, flipProb: 0.5 });
    const b = new DataLoader(ds, opts);
    b.loadState(JSON.parse(saved) as LoaderState);
    const rest = await collect(b);
    expect(rest.map((x) => x.batchIndex)).toEqual([3, 4, 5, 6]);
    rest.forEach((x, k) => sameBatch(x, seen[3 + k]!));
    // both continue identically into epoch 2
    const na = await collect(a, 1);
    const nb = await collect(b, 1);
    sameBatch(na[0]!, nb[0]!);
    expect(na[0]!.epoch).toBe(2);

    // a state taken in the body of the last batch points at the next epoch
    const c = new DataLoader(ds, opts);
    let last: LoaderState | null = null;
    for await (const x of c) if (x.batchIndex === 6) last = c.state();
    expect(last).toMatchObject({ epoch: 1, batchIndex: 0 });

    // breaking out keeps the position
    const d = new DataLoader(ds, opts);
    await collect(d, 2);
    expect(d.state()).toMatchObject({ epoch: 0, batchIndex: 2 });
    expect((await collect(d, 1))[0]!.batchIndex).toBe(2);
  });

  it('refuses a state from a different setup, and concurrent iteration', async () => {
    const ds = synthetic(20);
    const a = new DataLoader(ds, { batchSize: 4, transform: tiny(), seed: 1 });
    const s = a.state();
    expect(() => new DataLoader(synthetic(21), { batchSize: 4, transform: tiny() }).loadState(s)).toThrow(/saved datasetLength 20 differs from this loader's 21/);
    expect(() => new DataLoader(ds, { batchSize: 5, transform: tiny() }).loadState(s)).toThrow(/saved batchSize 4 differs/);
    expect(() => new DataLoader(ds, { batchSize: 4, transform: tiny(0) }).loadState(s)).toThrow(/saved flipProb 0.5 differs/);
    expect(() => a.loadState({ ...s, batchIndex: 9 })).toThrow(/batchIndex 9 out of range 0\.\.5/);
    const it1 = a[Symbol.asyncIterator]();
    await it1.next();
    await expect(a[Symbol.asyncIterator]().next()).rejects.toThrow(/already being iterated/);
    expect(() => a.loadState(s)).toThrow(/cannot restore while the loader is being iterated/);
    await it1.return(undefined);
    expect(() => a.loadState(s)).not.toThrow();
    expect(() => new DataLoader(ds, { batchSize: 0, transform: tiny() })).toThrow(/loader\.ts\): batchSize must be a positive integer/);
    expect(() => new DataLoader(ds, { batchSize: 2, transform: tiny(), seed: -1 })).toThrow(/seed must be a non-negative safe integer/);
  });
});

describe('prefetch and tensors', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('batch k+1 is built while the consumer awaits on batch k', async () => {
    const loader = new DataLoader(synthetic(30), { batchSize: 5, transform: tiny(), seed: 2, prefetch: 1 });
    const builtAtStart: number[] = [];
    const builtAfterWait: number[] = [];
    for await (const b of loader) {
      builtAtStart.push(loader.stats.built);
      await sleep(5); // stands for awaiting the GPU
      builtAfterWait.push(loader.stats.built);
      expect(b.size).toBe(5);
    }
    // in the body of batch k, batch k+1 (if any) is ready after the wait
    expect(builtAfterWait).toEqual([2, 3, 4, 5, 6, 6]);
    expect(builtAtStart.every((v, k) => v >= k + 1)).toBe(true);
    const lazy = new DataLoader(synthetic(30), { batchSize: 5, transform: tiny(), seed: 2, prefetch: 0 });
    const lazyBuilt: number[] = [];
    for await (const _ of lazy) {
      await sleep(2);
      lazyBuilt.push(lazy.stats.built);
    }
    expect(lazyBuilt).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('an error while building a batch reaches the consumer', async () => {
    const ds = synthetic(8);
    const broken: GrayDataset = { ...ds, length: 8, labels: ds.labels, image: (i) => (i === 5 ? { width: 4, height: 4, data: new Uint8Array(3) } : ds.image(i)) };
    const loader = new DataLoader(broken, { batchSize: 8, transform: tiny(), shuffle: false });
    await expect(collect(loader)).rejects.toThrow(/image data has 3 bytes, expected 4x4/);
  });

  it('toTensors gives [B, 3, 64, 64] float32 images and int32 labels', async () => {
    const ds = synthetic(6);
    const loader = new DataLoader(ds, { batchSize: 4, transform: new ImageTransform(resEmoteNetTransform(true)), seed: 0 });
    const [b] = await collect(loader, 1);
    expect(b!.images.length).toBe(4 * 3 * 64 * 64);
    const { images, labels } = b!.toTensors('cpu');
    expect(images.shape).toEqual([4, 3, 64, 64]);
    expect(images.dtype).toBe('float32');
    expect(labels.shape).toEqual([4]);
    expect(labels.dtype).toBe('int32');
    expect(Array.from(labels.dataSync())).toEqual(Array.from(b!.labels));
    expect(images.dataSync()[12288 + 5]).toBe(b!.images[12288 + 5]);
    images.dispose();
    labels.dispose();
  });
});

describe('on the shared fer2013-sample', () => {
  itData('shared data is present', () => {
    expect(HAVE_DATA, `missing ${SAMPLE}: the shared data (../shared/data from the repo root) is required under CI`).toBe(true);
  });

  itData('one training epoch over 350 images: coverage, labels, ~half flipped', async () => {
    const train = await loadImageFolder(SAMPLE, { split: 'train' });
    const loader = new DataLoader(train, { batchSize: 64, transform: resEmoteNetTransform(true), seed: 2024 });
    const t0 = performance.now();
    const batches = await collect(loader);
    const ms = performance.now() - t0;
    console.log(`[data_loader.test] 350-image epoch at 64x64: ${ms.toFixed(0)} ms, build ${loader.stats.buildMs.toFixed(0)} ms`);
    expect(batches.map((b) => b.size)).toEqual([64, 64, 64, 64, 64, 30]);
    const idx = batches.flatMap((b) => Array.from(b.indices));
    expect(new Set(idx).size).toBe(350);
    for (const b of batches) b.indices.forEach((i, m) => expect(b.labels[m]).toBe(train.labels[i]));
    const flips = batches.reduce((s, b) => s + b.flips.reduce((p, q) => p + q, 0), 0);
    expect(flips).toBeGreaterThan(140);
    expect(flips).toBeLessThan(210);
    // a sample's tensor equals the transform applied directly
    const b0 = batches[0]!;
    const direct = loader.transform.apply(train.image(b0.indices[1]!), b0.flips[1] === 1);
    expect(Buffer.from(b0.images.buffer, 12288 * 4, 12288 * 4).equals(Buffer.from(direct.buffer))).toBe(true);
  });
});
