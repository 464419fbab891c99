/**
 * A seeded, shuffling, prefetching batch loader (torch.utils.data.DataLoader for in-memory grey
 * datasets), yielding float32 NCHW images ready for `tensor()`.
 *
 * Randomness is counter-based (Philox4x32-10, src/tensor/philox.ts) keyed by the seed, so every
 * decision is a pure function of (seed, epoch, index) and resuming needs only (seed, epoch,
 * batchIndex):
 *  - epoch order: Fisher-Yates, step t (i = n-1-t, swap with j = floor(u * (i + 1)), u = word / 2^32)
 *    uses word t & 3 of Philox block (counter0 = t >> 2, counter1 = 2 * epoch);
 *  - flip of dataset sample i in an epoch: u = (word >>> 8) / 2^24 (as torch.rand) from word i & 3
 *    of block (i >> 2, 2 * epoch + 1); flipped when u < flipProb. Flips depend on the sample, not
 *    on its position, so batch size does not change them.
 * The numbers differ from torch's (different generator); the statistics are the same.
 *
 * Prefetch: batch k+1 (decode-free CPU work: resize, flip, normalise) is built in a setImmediate
 * task that runs as soon as the consumer of batch k yields the event loop, e.g. while it awaits
 * the GPU. `stats.waitMs` shows how long the consumer still had to wait.
 */
import { philox4x32, philox4x32_10, uniformFromBits } from '../../tensor/philox.js';
import { tensor } from '../../tensor/ops/creation.js';
import type { Device } from '../../tensor/device.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { GrayDataset } from './dataset.js';
import { ImageTransform, type AffineParams, type TransformOptions } from './transforms.js';

/**
 * Random affine augmentation ranges (torchvision RandomAffine-like): each sample gets an angle
 * uniform in [-rotation, rotation] degrees, a zoom uniform in [1 - scale, 1 + scale] and shifts
 * uniform in [-translate, translate] of the image size, horizontally and vertically.
 */
export interface AugmentOptions {
  rotation: number;
  scale: number;
  translate: number;
}

export interface DataLoaderOptions {
  /** Samples per batch (>= 1). */
  batchSize: number;
  /** Pipeline settings (e.g. `resEmoteNetTransform(true)`) or a compiled ImageTransform. */
  transform: TransformOptions | ImageTransform;
  /** Reshuffle every epoch (default true). false: dataset order. */
  shuffle?: boolean;
  /** Seed of the order and flips: a non-negative safe integer (default 0). */
  seed?: number;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Batches built ahead of the one being consumed (default 1; 0 builds each batch on request). */
  prefetch?: number;
  /** Random affine augmentation (default none). */
  augment?: AugmentOptions | null;
}

/**
 * Everything needed to resume exactly: the next batch is batch `batchIndex` of epoch `epoch`.
 * The other fields are checked on restore (a different dataset size or batching would give a
 * different order). Plain JSON.
 */
export interface LoaderState {
  version: 1;
  seed: number;
  epoch: number;
  batchIndex: number;
  datasetLength: number;
  batchSize: number;
  dropLast: boolean;
  shuffle: boolean;
  flipProb: number;
  /** Absent or null: no affine augmentation. */
  augment?: AugmentOptions | null;
}

/** One batch. `images` is [size, C, H, W] float32 row-major; `labels` int32 FER2013 ids. */
export interface Batch {
  images: Float32Array;
  labels: Int32Array;
  /** Dataset index of each sample. */
  indices: Int32Array;
  /** 1 where the sample was horizontally flipped. */
  flips: Uint8Array;
  /** Samples in this batch (batchSize, or fewer for the last one). */
  size: number;
  /** [size, C, H, W]. */
  shape: [number, number, number, number];
  epoch: number;
  batchIndex: number;
  /** `tensor(images, { shape })` (float32) and int32 labels on `device` (default device if omitted). */
  toTensors(device?: Device): { images: Tensor; labels: Tensor };
}

/** Loader timing counters (milliseconds are wall time on the main thread). */
export interface LoaderStats {
  /** Batches built (including prefetched ones never consumed). */
  built: number;
  /** Time spent building batches. */
  buildMs: number;
  /** Time the consumer waited for a batch that was not ready yet. */
  waitMs: number;
}

const TWO32 = 4294967296;

function checkSeed(where: string, seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`${where}: seed must be a non-negative safe integer, got ${seed}`);
}

/** The permutation of 0..n-1 for `epoch` under `seed` (see the module comment). */
export function epochPermutation(n: number, seed: number, epoch: number): Int32Array {
  checkSeed('epochPermutation', seed);
  const k0 = seed % TWO32;
  const k1 = Math.floor(seed / TWO32);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const words = new Uint32Array(4);
  const c1 = (2 * epoch) >>> 0;
  for (let t = 0; t < n - 1; t++) {
    if ((t & 3) === 0) philox4x32(t >>> 2, c1, k0, k1, words);
    const i = n - 1 - t;
    const j = Math.floor((words[t & 3]! / TWO32) * (i + 1));
    const tmp = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = tmp;
  }
  return perm;
}

/** The uniform [0, 1) number that decides the flip of sample `index` in `epoch` under `seed`. */
export function flipUniform(seed: number, epoch: number, index: number): number {
  const words = new Uint32Array(4);
  philox4x32(index >>> 2, (2 * epoch + 1) >>> 0, seed % TWO32, Math.floor(seed / TWO32), words);
  return uniformFromBits(words[index & 3]!);
}

/**
 * The affine parameters of sample `index` in `epoch` under `seed`: four uniforms from Philox block
 * (index, 2 * epoch + 1, 1, 0) (the flips use counter word 2 = 0, so the streams never meet),
 * mapped to [-1, 1) and scaled by the ranges. Null when every range is 0.
 */
export function affineFor(seed: number, epoch: number, index: number, a: AugmentOptions | null | undefined): AffineParams | null {
  if (!a || (a.rotation === 0 && a.scale === 0 && a.translate === 0)) return null;
  const words = new Uint32Array(4);
  philox4x32_10(index >>> 0, (2 * epoch + 1) >>> 0, 1, 0, seed % TWO32, Math.floor(seed / TWO32), words);
  const sym = (k: number) => 2 * uniformFromBits(words[k]!) - 1;
  return { angle: sym(0) * a.rotation, scale: 1 + sym(1) * a.scale, tx: sym(2) * a.translate, ty: sym(3) * a.translate };
}

/**
 * DataLoader over a GrayDataset. Iterate with `for await (const b of loader)`: one pass yields
 * the remaining batches of the current epoch and then moves to the next epoch; `state()` taken
 * inside the loop body points at the batch after the current one.
 */
export class DataLoader {
  readonly dataset: GrayDataset;
  readonly transform: ImageTransform;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly prefetch: number;
  readonly augment: AugmentOptions | null;
  readonly stats: LoaderStats = { built: 0, buildMs: 0, waitMs: 0 };
  private seed: number;
  private epochNo = 0;
  private nextBatch = 0;
  private iterating = false;
  private permCache: { seed: number; epoch: number; perm: Int32Array } | null = null;

  /** @throws RangeError for a bad batchSize, seed or prefetch (and the transform's own checks). */
  constructor(dataset: GrayDataset, opts: DataLoaderOptions) {
    const where = 'DataLoader (src/resemotenet/data/loader.ts)';
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new RangeError(`${where}: batchSize must be a positive integer, got ${opts.batchSize}`);
    const seed = opts.seed ?? 0;
    checkSeed(where, seed);
    const prefetch = opts.prefetch ?? 1;
    if (!Number.isInteger(prefetch) || prefetch < 0) throw new RangeError(`${where}: prefetch must be an integer >= 0, got ${prefetch}`);
    this.dataset = dataset;
    this.transform = opts.transform instanceof ImageTransform ? opts.transform : new ImageTransform(opts.transform);
    this.batchSize = opts.batchSize;
    this.shuffle = opts.shuffle ?? true;
    this.dropLast = opts.dropLast ?? false;
    this.prefetch = prefetch;
    this.seed = seed;
    const a = opts.augment ?? null;
    if (a) {
      for (const [k, max] of [['rotation', 180], ['scale', 0.9], ['translate', 0.5]] as const) {
        const v = a[k];
        if (!(typeof v === 'number' && v >= 0 && v <= max)) throw new RangeError(`${where}: augment.${k} must be a number in [0, ${max}], got ${String(v)}`);
      }
    }
    this.augment = a ? { rotation: a.rotation, scale: a.scale, translate: a.translate } : null;
  }

  /** Batches per epoch: floor(n / B) with dropLast, else ceil(n / B). */
  get numBatches(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }
  /** The epoch the next batch belongs to. */
  get epoch(): number {
    return this.epochNo;
  }
  /** Index (within its epoch) of the next batch. */
  get batchIndex(): number {
    return this.nextBatch;
  }

  /** Dataset indices in the order epoch `epoch` visits them (identity when shuffle is off). */
  order(epoch: number): Int32Array {
    const n = this.dataset.length;
    if (!this.shuffle) return Int32Array.from({ length: n }, (_, i) => i);
    const c = this.permCache;
    if (c && c.seed === this.seed && c.epoch === epoch && c.perm.length === n) return c.perm;
    const perm = epochPermutation(n, this.seed, epoch);
    this.permCache = { seed: this.seed, epoch, perm };
    return perm;
  }

  /** Whether dataset sample `index` is flipped in `epoch`. */
  flipped(epoch: number, index: number): boolean {
    const p = this.transform.options.flipProb;
    return p > 0 && flipUniform(this.seed, epoch, index) < p;
  }

  /** Builds batch `k` of `epoch` now (pure: the same arguments give the same batch). */
  batchAt(epoch: number, k: number): Batch {
    const nb = this.numBatches;
    if (!Number.isInteger(k) || k < 0 || k >= nb) throw new RangeError(`DataLoader.batchAt: batch ${k} out of range (epoch has ${nb} batches)`);
    const t0 = performance.now();
    const order = this.order(epoch);
    const start = k * this.batchSize;
    const size = Math.min(this.batchSize, order.length - start);
    const tf = this.transform;
    const numel = tf.numel;
    const images = new Float32Array(size * numel);
    const labels = new Int32Array(size);
    const indices = new Int32Array(size);
    const flips = new Uint8Array(size);
    for (let m = 0; m < size; m++) {
      const idx = order[start + m]!;
      const flip = this.flipped(epoch, idx);
      tf.apply(this.dataset.image(idx), flip, images, m * numel, affineFor(this.seed, epoch, idx, this.augment) ?? undefined);
      labels[m] = this.dataset.labels[idx]!;
      indices[m] = idx;
      flips[m] = flip ? 1 : 0;
    }
    const shape: [number, number, number, number] = [size, tf.shape[0], tf.shape[1], tf.shape[2]];
    this.stats.built++;
    this.stats.buildMs += performance.now() - t0;
    return {
      images,
      labels,
      indices,
      flips,
      size,
      shape,
      epoch,
      batchIndex: k,
      toTensors(device?: Device) {
        return { images: tensor(images, { shape, device }), labels: tensor(labels, { dtype: 'int32', device }) };
      },
    };
  }

  /** The resume point (plain JSON). */
  state(): LoaderState {
    return {
      version: 1,
      seed: this.seed,
      epoch: this.epochNo,
      batchIndex: this.nextBatch,
      datasetLength: this.dataset.length,
      batchSize: this.batchSize,
      dropLast: this.dropLast,
      shuffle: this.shuffle,
      flipProb: this.transform.options.flipProb,
      ...(this.augment ? { augment: { ...this.augment } } : {}),
    };
  }

  /**
   * Resumes from `state()`: the next batch will be batch `batchIndex` of epoch `epoch`, identical
   * to what the saving loader would have yielded.
   * @throws Error when iterating, or when the dataset size / batching / flipProb differ.
   */
  loadState(s: LoaderState): void {
    const where = 'DataLoader.loadState (src/resemotenet/data/loader.ts)';
    if (this.iterating) throw new Error(`${where}: cannot restore while the loader is being iterated`);
    if (s.version !== 1) throw new Error(`${where}: unknown state version ${String(s.version)}`);
    const mine = this.state();
    for (const key of ['datasetLength', 'batchSize', 'dropLast', 'shuffle', 'flipProb'] as const) {
      if (s[key] !== mine[key]) throw new Error(`${where}: saved ${key} ${String(s[key])} differs from this loader's ${String(mine[key])}; the batches would not match`);
    }
    if (JSON.stringify(s.augment ?? null) !== JSON.stringify(mine.augment ?? null)) throw new Error(`${where}: saved augment ${JSON.stringify(s.augment ?? null)} differs from this loader's ${JSON.stringify(mine.augment ?? null)}; the batches would not match`);
    checkSeed(where, s.seed);
    if (!Number.isInteger(s.epoch) || s.epoch < 0) throw new RangeError(`${where}: bad epoch ${s.epoch}`);
    if (!Number.isInteger(s.batchIndex) || s.batchIndex < 0 || s.batchIndex > this.numBatches) throw new RangeError(`${where}: batchIndex ${s.batchIndex} out of range 0..${this.numBatches}`);
    this.seed = s.seed;
    this.epochNo = s.epoch;
    this.nextBatch = s.batchIndex;
    if (this.nextBatch === this.numBatches) {
      this.epochNo++;
      this.nextBatch = 0;
    }
  }

  /** Sets the seed and rewinds to epoch 0, batch 0 (or the given epoch). */
  reseed(seed: number, epoch = 0): void {
    if (this.iterating) throw new Error('DataLoader.reseed: cannot reseed while the loader is being iterated');
    checkSeed('DataLoader.reseed', seed);
    this.seed = seed;
    this.epochNo = epoch;
    this.nextBatch = 0;
  }

  /** The remaining batches of the current epoch, prefetching `prefetch` ahead. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch, void, undefined> {
    if (this.iterating) throw new Error('DataLoader (src/resemotenet/data/loader.ts): already being iterated; finish or break the other loop first');
    this.iterating = true;
    const epoch = this.epochNo;
    const nb = this.numBatches;
    const queue: Array<Promise<Batch>> = [];
    let scheduled = this.nextBatch;
    let cancelled = false;
    const schedule = (k: number): Promise<Batch> => {
      const p = new Promise<Batch>((resolve, reject) => {
        setImmediate(() => {
          if (cancelled) return reject(new Error('cancelled'));
          try {
            resolve(this.batchAt(epoch, k));
          } catch (e) {
            reject(e);
          }
        });
      });
      p.catch(() => {}); // surfaced when awaited; no unhandled-rejection noise for dropped ones
      return p;
    };
    try {
      for (let k = this.nextBatch; k < nb; k++) {
        while (scheduled < nb && scheduled <= k + this.prefetch) queue.push(schedule(scheduled++));
        const t0 = performance.now();
        const b = await queue.shift()!;
        this.stats.waitMs += performance.now() - t0;
        if (k + 1 < nb) this.nextBatch = k + 1;
        else {
          this.epochNo = epoch + 1;
          this.nextBatch = 0;
        }
        yield b;
      }
      if (nb === 0) {
        this.epochNo = epoch + 1;
        this.nextBatch = 0;
      }
    } finally {
      cancelled = true;
      this.iterating = false;
    }
  }
}
