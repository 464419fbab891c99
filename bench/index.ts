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
import { runModelBench } from './model.js';
import { FULL, TINY, type Geometry } from './shapes.js';
import { loadTfjs, tfMatmulPeak } from './tfjs_env.js';
import type { BenchOptions, BenchReport, Section, Sizes } from './types.js';

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

export function parseSections(only: BenchOptions['only']): Section[] {
  if (!only) return [...ALL_SECTIONS];
  const list = (Array.isArray(only) ? only : String(only).split(',')).map((s) => s.trim()).filter(Boolean);
  for (const s of list) if (!ALL_SECTIONS.includes(s as Section)) throw new RangeError(`--only: unknown section '${s}' (kernels, model, peers)`);
  return ALL_SECTIONS.filter((s) => list.includes(s));
}

/** Everything a run is parameterized by, after defaults. */
export interface Plan {
  sections: Section[];
  sizes: Sizes;
  quick: boolean;
  kernelGeometry: Geometry;
  kernelBatch: number;
  modelGeometry: Geometry;
  batches: number[];
  peerBatches: number[];
  trainBatch: number;
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

export function plan(o: BenchOptions): Plan {
  const quick = !!o.quick;
  const sizes: Sizes = o.sizes ?? (quick ? 'tiny' : 'full');
  const tiny = sizes === 'tiny';
  const runs = o.runs ?? (quick ? 3 : 5);
  const warmup = o.warmup ?? 1;
  return {
    sections: parseSections(o.only),
    sizes,
    quick,
    kernelGeometry: tiny ? TINY : FULL,
    kernelBatch: tiny ? 2 : 16,
    modelGeometry: tiny ? TINY : FULL,
    batches: o.batches ?? (tiny ? [1, 2] : [1, 16, 64]),
    // tfjs-webgpu needs about a minute per batch-16 ResEmoteNet inference on lavapipe: batch 1 by default.
    peerBatches: o.peerBatches ?? (tiny ? (o.batches ?? [1, 2]) : [1]),
    trainBatch: o.trainBatch ?? (tiny ? 2 : 16),
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
    },
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', totalMemGiB: round(os.totalmem() / 2 ** 30, 3), platform: `${os.platform()} ${os.release()}` },
    options: {
      sections: p.sections,
      sizes: p.sizes,
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
      'as cold, warm-up runs are not counted; two engines at one configuration alternate A B A B. GPU timestamp queries are not used.',
    peak: {},
    kernels: [],
    model: [],
    pairs: [],
    notes,
    wallSeconds: 0,
  };
  log(`adapter: ${adapter.description || adapter.device} (${adapter.vendor}${adapter.isSoftware ? ', software' : ''}); sections: ${p.sections.join(', ')}; sizes: ${p.sizes}`);

  if (p.sections.includes('model') || p.sections.includes('peers')) {
    log(`model: ResEmoteNet width ${p.modelGeometry.width}, input ${p.modelGeometry.size}x${p.modelGeometry.size}, inference batches ${p.batches.join(', ')}, training batch ${p.trainBatch}`);
    try {
      const r = await runModelBench({
        geometry: p.modelGeometry,
        batches: p.batches,
        trainBatch: p.trainBatch,
        runs: p.runs,
        warmup: p.warmup,
        peers: p.sections.includes('peers'),
        cpuRuns: p.cpuRuns,
        peerBatches: p.peerBatches,
        slowMs: p.slowMs,
        slowRuns: p.slowRuns,
        log,
        notes,
      });
      report.model = r.model;
      report.pairs = r.pairs;
      report.params = r.params;
    } catch (e) {
      notes.push(`model section failed: ${errorMessage(e)}`);
      log(`model section failed: ${errorMessage(e)}`);
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
