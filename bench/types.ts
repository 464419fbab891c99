/** Result records of `npm run bench` (the JSON under bench/results/ has this shape). */
import type { Stats } from './harness.js';

export type Section = 'kernels' | 'model' | 'peers';
export type Sizes = 'full' | 'tiny';

export interface BenchOptions {
  /** Sections to run (default all three). `peers` also runs this library's model, for the ratios. */
  only?: Section | Section[] | string;
  /** Inference batch sizes of the model benchmarks (default 1, 16, 64; tiny: 1, 2). */
  batches?: number[];
  /** Inference batches at which tfjs-webgpu runs too (default 1; tiny: all). */
  peerBatches?: number[];
  /** Training batch size (default 16; tiny: 2). */
  trainBatch?: number;
  /** A configuration whose slowest cold run takes longer than this (ms, default 15000) gets no warm-up and `slowRuns` counted runs. */
  slowMs?: number;
  /** Counted runs of slow configurations (default 3). */
  slowRuns?: number;
  /** Counted runs (default 5 for the model, 7 for kernels; --quick: 3). */
  runs?: number;
  /** Uncounted warm-up runs after the cold one (default 1). */
  warmup?: number;
  /** Tiny sizes and fewer runs (the whole thing in under 2 minutes). */
  quick?: boolean;
  /** 'full' = ResEmoteNet at batch 16; 'tiny' = channels / 16, input 16x16, batch 2 (tests). Default: tiny with --quick, else full. */
  sizes?: Sizes;
  /** Where to write the JSON (default bench/results/<date>-<adapter>.json and latest.json); false: none. */
  json?: string | false;
  /** Progress lines (default console.log; pass () => {} to silence). */
  log?: (line: string) => void;
  /** The command line recorded in the JSON. */
  command?: string;
}

export interface KernelResult {
  name: string;
  /** Kernel family: conv2d, matmul, batch_norm, max_pool2d, se_block, cross_entropy, sgd, peak. */
  group: string;
  shape: string;
  /** compute-bound (fraction of peak GFLOP/s) or memory-bound (fraction of peak GB/s). */
  bound: 'compute' | 'memory';
  flops?: number;
  /** Minimal bytes moved (each input read once, each output written once). */
  bytes?: number;
  time?: Stats;
  coldMs?: number;
  /** Calls per timed sample. */
  inner?: number;
  gflops?: number;
  gbps?: number;
  /** Fraction of the run's measured peak (GFLOP/s or GB/s per `bound`). */
  peakFraction?: number;
  note?: string;
  error?: string;
}

export type Engine = 'ours-webgpu' | 'tfjs-webgpu' | 'ours-cpu' | 'tfjs-cpu';

export interface ModelResult {
  engine: Engine;
  mode: 'infer' | 'train';
  batch: number;
  /** Time to the first result at this configuration in this process (pipeline compilation included). */
  coldMs?: number;
  time?: Stats;
  /** Images per second at the median. */
  imagesPerSec?: number;
  /** webgpuRuntime().peakBytes during this configuration (ours-webgpu), or tfjs's allocated GPU bytes after it. */
  peakBytes?: number;
  /** Results are finite (and match this library within tolerance where compared). */
  check?: string;
  note?: string;
  /** Training only: one extra step timed phase by phase. */
  breakdown?: string;
  error?: string;
}

export interface PairResult {
  a: Engine;
  b: Engine;
  mode: 'infer' | 'train';
  batch: number;
  medianA: number;
  medianB: number;
  /** medianB / medianA: > 1 means A (this library) is faster. */
  ratio: number;
  /** Median over alternated run pairs of b_i / a_i. */
  pairedRatio: number;
}

export interface BenchReport {
  date: string;
  command: string;
  adapter: {
    vendor: string;
    architecture: string;
    device: string;
    description: string;
    isSoftware: boolean;
    features: string[];
    maxStorageBufferBindingSize: number;
  };
  versions: Record<string, string>;
  machine: { cpus: number; cpuModel: string; totalMemGiB: number; platform: string };
  options: {
    sections: Section[];
    sizes: Sizes;
    batches: number[];
    peerBatches: number[];
    trainBatch: number;
    runs: number;
    warmup: number;
    slowMs: number;
    slowRuns: number;
    quick: boolean;
  };
  timing: string;
  peak: { gflops?: number; gflopsSource?: string; gbps?: number; gbpsSource?: string };
  kernels: KernelResult[];
  model: ModelResult[];
  pairs: PairResult[];
  /** Parameter counts: this library's model, the tfjs model, and the expected count. */
  params?: { ours?: number; tfjs?: number; expected: number };
  notes: string[];
  wallSeconds: number;
}
