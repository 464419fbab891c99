/** Result records of `npm run bench` (the JSON under bench/results/ has this shape). */
import type { Stats } from './harness.js';

export type Section = 'kernels' | 'model' | 'peers';
export type Sizes = 'full' | 'tiny';
/** Model configurations: 'full' = width 1 at 64x64 (the paper's model), 'quarter' = width 1/4 at 48x48 (the shipped model). */
export type SuiteName = 'full' | 'quarter';

export interface BenchOptions {
  /** Sections to run (default all three). `peers` also runs this library's model, for the ratios. */
  only?: Section | Section[] | string;
  /** Model suites to run (default both: full width at 64x64, and width 1/4 at 48x48). */
  suites?: SuiteName[] | string;
  /** Inference batch sizes of the full-width suite (default 1, 16, 64; tiny: 1, 2). */
  batches?: number[];
  /** Inference batches at which tfjs-webgpu runs too, full-width suite (default 1; tiny: all). */
  peerBatches?: number[];
  /** Training batch size of the full-width suite (default 16; tiny: 2). */
  trainBatch?: number;
  /** Run the tfjs wasm (SIMD) peer with `peers` (default true). */
  wasm?: boolean;
  /** Run the PyTorch peer (bench/torch_model.py) with `peers` when a Python with torch is found (default true; tests: false). */
  torch?: boolean;
  /** PyTorch devices (default ['cpu']; e.g. ['cpu', 'cuda']). */
  torchDevices?: string[];
  /** PyTorch CPU threads: a number, or 'auto' (default: the fastest of 1, 2, 4, ... per configuration). */
  torchThreads?: string;
  /** The Python to run (default: RESEMOTENET_PYTHON, then /usr/bin/python3, then python3 on the PATH). */
  python?: string;
  /** Seconds the PyTorch child may run before it is stopped (default 1800). */
  torchTimeoutS?: number;
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

export type Engine = 'ours-webgpu' | 'tfjs-webgpu' | 'ours-cpu' | 'tfjs-cpu' | 'tfjs-wasm' | 'torch-cpu' | 'torch-cuda';

export interface ModelResult {
  engine: Engine;
  mode: 'infer' | 'train';
  batch: number;
  /** ResEmoteNet's channel-width multiplier (1: the paper's model). */
  width: number;
  /** Input side (the input is (batch, 3, size, size)). */
  size: number;
  /** CPU threads the engine computed with (tfjs wasm, PyTorch on the CPU). */
  threads?: number;
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
  width: number;
  size: number;
  medianA: number;
  medianB: number;
  /** medianB / medianA: > 1 means A (this library) is faster. */
  ratio: number;
  /** Median over alternated run pairs of b_i / a_i. */
  pairedRatio: number;
}

/** One peer's time at a configuration, against this library's. */
export interface ComparisonPeer {
  engine: Engine;
  /** Median ms per run (a batch); absent when the peer failed (see `error`). */
  medianMs?: number;
  /** medianMs / this library's median: > 1 means this library is faster. */
  ratio?: number;
  /** Median of per-pair ratios when the peer ran alternately with this library in the same process. */
  pairedRatio?: number;
  threads?: number;
  error?: string;
}

/** A configuration, this library's median, and every peer measured there. */
export interface ComparisonRow {
  mode: 'infer' | 'train';
  width: number;
  size: number;
  batch: number;
  /** This library's engine the peers are compared with (ours-webgpu; ours-cpu for the tfjs cpu backend). */
  ours: Engine;
  oursMs?: number;
  peers: ComparisonPeer[];
}

/** The one table of ratios: per configuration, this library and each peer. */
export interface Comparison {
  adapter: string;
  command: string;
  rows: ComparisonRow[];
}

/** Trainable parameter counts of one suite's model in each engine (they must all equal `expected`). */
export interface ParamCounts {
  suite: SuiteName;
  width: number;
  expected: number;
  ours?: number;
  tfjs?: number;
  torch?: number;
}

/** A peer that did not run, and why. */
export interface SkippedPeer {
  engine: Engine | 'torch';
  reason: string;
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
    /** Each model suite: its geometry and batches. */
    suites: { name: SuiteName; width: number; size: number; batches: number[]; peerBatches: number[]; wasmBatches: number[]; trainBatch: number }[];
    torch: { enabled: boolean; devices: string[]; threads: string };
    wasm: boolean;
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
  /** Per configuration: this library, every peer and the ratios (printed as one table). */
  comparison: Comparison;
  /** Peers that were asked for but did not run, with the reason. */
  skipped: SkippedPeer[];
  /** Parameter counts per suite: this library's model, the tfjs model, PyTorch's, and the expected count. */
  params: ParamCounts[];
  notes: string[];
  wallSeconds: number;
}
