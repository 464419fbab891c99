/**
 * The benchmark harness as a function: `runBench(options)` runs the selected sections on the
 * machine's WebGPU adapter and returns (and by default writes) a {@link BenchReport}.
 * `bench/run.ts` is its command line (`npm run bench`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initWebGPU } from '../src/kernels/webgpu/index.js';
import { getBackend } from '../src/tensor/device.js';
import { errorMessage, now, round, type MeasureOptions } from './harness.js';
import { runKernels } from './kernels.js';
import { buildComparison } from './comparison.js';
import { runModelBench } from './model.js';
import { FULL, QUARTER, TINY, TINY_QUARTER, type Geometry } from './shapes.js';
import { loadTfjs, tfMatmulPeak } from './tfjs_env.js';
import { runTorchPeer, type TorchConfig } from './torch_peer.js';
import type { BenchOptions, BenchReport, Section, Sizes, SuiteName } from './types.js';

export type { BenchOptions, BenchReport } from './types.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const RESULTS_DIR = join(ROOT, 'bench', 'results');

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export const ALL_SECTIONS: Section[] = ['model', 'peers', 'kernels'];
export const ALL_SUITES: SuiteName[] = ['full', 'quarter'];

/**
 * The sections to run, in run order.
 * @throws RangeError naming an unknown section.
 */
export function parseSections(only: BenchOptions['only']): Section[] {
  if (!only) return [...ALL_SECTIONS];
  const list = (Array.isArray(only) ? only : String(only).split(',')).map((s) => s.trim()).filter(Boolean);
  for (const s of list) if (!ALL_SECTIONS.includes(s as Section)) throw new RangeError(`--only: unknown section '${s}' (kernels, model, peers)`);
  return ALL_SECTIONS.filter((s) => list.includes(s));
}

/**
 * The model suites to run, in run order (default both).
 * @throws RangeError naming an unknown suite.
 */
export function parseSuites(suites: BenchOptions['suites']): SuiteName[] {
  if (!suites) return [...ALL_SUITES];
  const list = (Array.isArray(suites) ? suites : String(suites).split(',')).map((s) => s.trim()).filter(Boolean);
  if (!list.length) return [...ALL_SUITES];
  for (const s of list) if (!ALL_SUITES.includes(s as SuiteName)) throw new RangeError(`--suites: unknown suite '${s}' (full, quarter)`);
  return ALL_SUITES.filter((s) => list.includes(s));
}

/** One model geometry and the batches it is measured at. */
export interface Suite {
  name: SuiteName;
  geometry: Geometry;
  /** This library's inference batches. */
  batches: number[];
  /** Inference batches at which tfjs-webgpu runs too. */
  peerBatches: number[];
  /** Inference batches at which tfjs-wasm runs too. */
  wasmBatches: number[];
  trainBatch: number;
}

/** Everything a run is parameterized by, after defaults. */
export interface Plan {
  sections: Section[];
  sizes: Sizes;
  quick: boolean;
  kernelGeometry: Geometry;
  kernelBatch: number;
  /** The model suites: full width at 64x64, width 1/4 at 48x48 (tiny stand-ins with tiny sizes). */
  suites: Suite[];
  /** The first suite's geometry and batches (kept for callers of the single-suite plan). */
  modelGeometry: Geometry;
  batches: number[];
  peerBatches: number[];
  trainBatch: number;
  wasm: boolean;
  torch: { enabled: boolean; devices: string[]; threads: string; python?: string; timeoutS: number };
  runs: number;
  slowMs: number;
  slowRuns: number;
  warmup: number;
  kernelMeasure: MeasureOptions;
  cpuRuns: number;
  peakMatmul: number;
  peakCopy: number;
  bigCeRows: number;
}

/** Options with their defaults filled in. */
export function plan(o: BenchOptions): Plan {
  const quick = !!o.quick;
  const sizes: Sizes = o.sizes ?? (quick ? 'tiny' : 'full');
  const tiny = sizes === 'tiny';
  const runs = o.runs ?? (quick ? 3 : 5);
  const warmup = o.warmup ?? 1;
  const batches = o.batches ?? (tiny ? [1, 2] : [1, 16, 64]);
  const all: Record<SuiteName, Suite> = {
    // The paper's model. tfjs-webgpu needs about a minute per batch-16 inference on lavapipe: batch 1 by default.
    full: {
      name: 'full',
      geometry: tiny ? TINY : FULL,
      batches,
      peerBatches: o.peerBatches ?? (tiny ? batches : [1]),
      wasmBatches: tiny ? batches : batches.filter((b) => b <= 16),
      trainBatch: o.trainBatch ?? (tiny ? 2 : 16),
    },
    // The shipped model (weights/resemotenet) and its training recipe's batch.
    quarter: {
      name: 'quarter',
      geometry: tiny ? TINY_QUARTER : QUARTER,
      batches: tiny ? [1, 2] : [1, 16],
      peerBatches: tiny ? [1, 2] : [1],
      wasmBatches: tiny ? [1, 2] : [1, 16],
      trainBatch: tiny ? 4 : 64,
    },
  };
  const suites = parseSuites(o.suites).map((n) => all[n]);
  const first = suites[0]!;
  return {
    sections: parseSections(o.only),
    sizes,
    quick,
    kernelGeometry: tiny ? TINY : FULL,
    kernelBatch: tiny ? 2 : 16,
    suites,
    modelGeometry: first.geometry,
    batches: first.batches,
    peerBatches: first.peerBatches,
    trainBatch: first.trainBatch,
    wasm: o.wasm ?? true,
    torch: {
      enabled: o.torch ?? true,
      devices: o.torchDevices?.length ? o.torchDevices : ['cpu'],
      threads: o.torchThreads ?? 'auto',
      python: o.python,
      timeoutS: o.torchTimeoutS ?? 1800,
    },
    runs,
    warmup,
    kernelMeasure: {
      warmup,
      runs: runs,
      minRuns: runs,
      budgetMs: quick ? 500 : 4000,
      minSampleMs: quick ? 5 : 30,
      maxInner: 32,
    },
    cpuRuns: o.runs ?? (quick ? 3 : 5),
    slowMs: o.slowMs ?? 15_000,
    slowRuns: Math.min(o.slowRuns ?? 3, runs),
    peakMatmul: tiny ? 128 : 1024,
    peakCopy: tiny ? 1 << 16 : 1 << 24,
    bigCeRows: tiny ? 0 : 1024,
  };
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'adapter';
}

/**
 * The configurations PyTorch runs: every inference batch and the training batch of each suite
 * this library was measured at.
 */
export function torchConfigs(suites: Suite[]): TorchConfig[] {
  const out: TorchConfig[] = [];
  for (const s of suites) {
    const { width, size } = s.geometry;
    out.push({ mode: 'train', width, size, batch: s.trainBatch });
    for (const batch of s.batches) out.push({ mode: 'infer', width, size, batch });
  }
  return out;
}

/** Runs the benchmarks; writes JSON unless `json: false`. */
export async function runBench(o: BenchOptions = {}): Promise<BenchReport> {
  const p = plan(o);
  const log = o.log ?? ((s: string) => console.log(s));
  const t0 = now();
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  const adapter = await initWebGPU();
  const be = getBackend('webgpu');
  const notes: string[] = [];
  const report: BenchReport = {
    date: new Date().toISOString(),
    command: o.command ?? 'runBench(' + JSON.stringify({ ...o, log: undefined }) + ')',
    adapter: {
      vendor: adapter.vendor,
      architecture: adapter.architecture,
      device: adapter.device,
      description: adapter.description,
      isSoftware: adapter.isSoftware,
      features: adapter.features,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    },
    versions: {
      node: process.version,
      webgpu: pkgVersion('webgpu'),
      '@tensorflow/tfjs': pkgVersion('@tensorflow/tfjs'),
      '@tensorflow/tfjs-backend-webgpu': pkgVersion('@tensorflow/tfjs-backend-webgpu'),
      '@tensorflow/tfjs-backend-wasm': pkgVersion('@tensorflow/tfjs-backend-wasm'),
    },
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', totalMemGiB: round(os.totalmem() / 2 ** 30, 3), platform: `${os.platform()} ${os.release()}` },
    options: {
      sections: p.sections,
      sizes: p.sizes,
      suites: p.suites.map((s) => ({ name: s.name, width: s.geometry.width, size: s.geometry.size, batches: s.batches, peerBatches: s.peerBatches, wasmBatches: s.wasmBatches, trainBatch: s.trainBatch })),
      torch: { enabled: p.torch.enabled, devices: p.torch.devices, threads: p.torch.threads },
      wasm: p.wasm,
      batches: p.batches,
      peerBatches: p.peerBatches,
      trainBatch: p.trainBatch,
      runs: p.runs,
      warmup: p.warmup,
      slowMs: p.slowMs,
      slowRuns: p.slowRuns,
      quick: p.quick,
    },
    timing:
      'wall time from recording the work to the end of a wait on the device (model: await of the logits/loss readback; ' +
      'kernels: backend.sync() = flush + queue.onSubmittedWorkDone + error check; tfjs: await data()); the first run is reported ' +
      'as cold, warm-up runs are not counted; the engines of one process at one configuration alternate A B C A B C. ' +
      'PyTorch runs in a child process after this library, with the same protocol (cold, warm-up, counted runs; median). GPU timestamp queries are not used.',
    peak: {},
    kernels: [],
    model: [],
    pairs: [],
    comparison: { adapter: '', command: '', rows: [] },
    skipped: [],
    params: [],
    notes,
    wallSeconds: 0,
  };
  log(`adapter: ${adapter.description || adapter.device} (${adapter.vendor}${adapter.isSoftware ? ', software' : ''}); sections: ${p.sections.join(', ')}; sizes: ${p.sizes}`);

  const peers = p.sections.includes('peers');
  if (p.sections.includes('model') || peers) {
    for (const suite of p.suites) {
      const g = suite.geometry;
      log(`model (${suite.name}): ResEmoteNet width ${g.width}, input ${g.size}x${g.size}, inference batches ${suite.batches.join(', ')}, training batch ${suite.trainBatch}`);
      try {
        const r = await runModelBench({
          suite: suite.name,
          geometry: g,
          batches: suite.batches,
          trainBatch: suite.trainBatch,
          runs: p.runs,
          warmup: p.warmup,
          peers,
          wasm: p.wasm,
          cpuRuns: p.cpuRuns,
          peerBatches: suite.peerBatches,
          wasmBatches: suite.wasmBatches,
          slowMs: p.slowMs,
          slowRuns: p.slowRuns,
          log,
          notes,
          skipped: report.skipped,
        });
        report.model.push(...r.model);
        report.pairs.push(...r.pairs);
        report.params.push(r.params);
      } catch (e) {
        notes.push(`model section (${suite.name}) failed: ${errorMessage(e)}`);
        log(`model section (${suite.name}) failed: ${errorMessage(e)}`);
      }
    }
    if (peers && !p.wasm) report.skipped.push({ engine: 'tfjs-wasm', reason: 'turned off (--no-wasm)' });
    if (peers && !p.torch.enabled) report.skipped.push({ engine: 'torch', reason: 'turned off (--no-torch)' });
    if (peers && p.torch.enabled) {
      // After this library's runs, so the two never share the CPU.
      const t = await runTorchPeer({
        python: p.torch.python,
        devices: p.torch.devices,
        threads: p.torch.threads,
        runs: p.runs,
        warmup: p.warmup,
        configs: torchConfigs(p.suites),
        timeoutS: p.torch.timeoutS,
        log,
      });
      report.model.push(...t.model);
      report.skipped.push(...t.skipped);
      notes.push(...t.notes);
      if (t.versions.torch) report.versions.torch = t.versions.torch;
      if (t.versions.python) report.versions.python = t.versions.python;
      for (const pc of report.params) {
        const n = t.params.get(pc.width);
        if (n !== undefined) pc.torch = n;
      }
    }
  }

  if (p.sections.includes('kernels')) {
    log(`kernels: ResEmoteNet shapes at batch ${p.kernelBatch} (width ${p.kernelGeometry.width})`);
    try {
      const r = await runKernels(be, {
        geometry: p.kernelGeometry,
        batch: p.kernelBatch,
        peakMatmul: p.peakMatmul,
        peakCopy: p.peakCopy,
        bigCeRows: p.bigCeRows,
        measure: p.kernelMeasure,
        log,
        extraPeak: async () => {
          const e = await loadTfjs();
          return tfMatmulPeak(e, p.peakMatmul, p.kernelMeasure);
        },
      });
      report.kernels = r.rows;
      report.peak = r.peak;
    } catch (e) {
      notes.push(`kernel section failed: ${errorMessage(e)}`);
      log(`kernel section failed: ${errorMessage(e)}`);
    }
  }

  report.comparison = buildComparison(report.model, report.pairs, `${adapter.description || adapter.device} (${adapter.vendor}${adapter.isSoftware ? ', software' : ''})`, report.command);
  report.wallSeconds = round((now() - t0) / 1000, 4);
  if (o.json !== false) {
    const stamp = report.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
    // A --quick smoke run must not replace the committed full results.
    const paths = o.json
      ? [o.json]
      : o.quick
        ? [join(RESULTS_DIR, 'quick', `${stamp}-${slug(adapter.description || adapter.device)}.json`)]
        : [join(RESULTS_DIR, `${stamp}-${slug(adapter.description || adapter.device)}.json`), join(RESULTS_DIR, 'latest.json')];
    for (const path of paths) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, JSON.stringify(report, null, 2) + '\n');
    }
    log(`wrote ${paths.join(', ')}`);
  }
  return report;
}
