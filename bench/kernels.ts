/**
 * Kernel benchmarks: the WebGPU backend's primitives called directly (getBackend('webgpu')),
 * at the shapes ResEmoteNet uses. Each row is timed as wall time from recording the dispatches
 * to `backend.sync()` (flush + queue.onSubmittedWorkDone + the validation-error check).
 */
import type { Backend, Conv2dParams, Layout, Pool2dParams, Storage } from '../src/kernels/backend.js';
import type { GpuRuntime, GpuStorage } from '../src/kernels/webgpu/runtime.js';
import { convMacs, convShapes, bnShapes, fmtConv, linearShapes, numel, paramSpecs, poolShapes, seShape, type Geometry } from './shapes.js';
import { errorMessage, measure, randomArray, randomInts, round, type MeasureOptions } from './harness.js';
import type { KernelResult } from './types.js';

export interface KernelBenchOptions {
  geometry: Geometry;
  /** Batch of the conv/bn/pool/se/linear shapes (16 for the full model). */
  batch: number;
  /** Side of the square matmul that stands for the compute peak (1024). */
  peakMatmul: number;
  /** Elements of the copy that stands for the bandwidth peak. */
  peakCopy: number;
  /** Rows of the large cross_entropy (1000 classes); 0 skips it. */
  bigCeRows: number;
  measure: MeasureOptions;
  log: (s: string) => void;
  /** Optional extra peak candidates measured by a peer (tfjs matmul): name -> GFLOP/s. */
  extraPeak?: () => Promise<{ name: string; shape: string; gflops: number; time: KernelResult['time']; coldMs: number } | null>;
}

interface Row {
  name: string;
  group: string;
  shape: string;
  bound: 'compute' | 'memory';
  flops?: number;
  bytes?: number;
  note?: string;
  /** Allocates inputs (freed by the runner after the row); returns the call to time. */
  setup: () => () => void;
}

const contig = (shape: number[]): Layout => {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return { shape, strides, offset: 0 };
};

/** (1, R, C) read from a row-major (C, R) storage: a transposed view. */
const transposed = (R: number, C: number): Layout => ({ shape: [1, R, C], strides: [0, 1, R], offset: 0 });

/** Storages allocated by the current row's setup; the runner frees them after the row. */
const arena: Storage[] = [];

export function kernelRows(be: Backend, o: KernelBenchOptions): Row[] {
  let seed = 1;
  const keep = (s: Storage): Storage => {
    arena.push(s);
    return s;
  };
  const up = (n: number, scale = 1): Storage => keep(be.upload(randomArray(n, seed++, scale), 'float32'));
  const alloc = (n: number, dtype: 'float32' | 'int32' = 'float32'): Storage => keep(be.alloc(dtype, n));
  const upload = (a: Float32Array | Int32Array, dtype: 'float32' | 'int32'): Storage => keep(be.upload(a, dtype));
  const rows: Row[] = [];
  const N = o.batch;
  const g = o.geometry;

  // ---- peaks ----
  const P = o.peakMatmul;
  rows.push({
    name: `matmul ${P}^3 (peak reference)`,
    group: 'peak',
    shape: `${P}x${P} @ ${P}x${P}`,
    bound: 'compute',
    flops: 2 * P * P * P,
    setup: () => {
      const a = up(P * P), b = up(P * P), c = alloc(P * P);
      return () => be.matmul(a, contig([1, P, P]), b, contig([1, P, P]), c, 1, P, P, P);
    },
  });
  const n = o.peakCopy;
  rows.push({
    name: 'copy (bandwidth reference)',
    group: 'peak',
    shape: `${n} f32`,
    bound: 'memory',
    bytes: 8 * n,
    setup: () => {
      const a = up(n), c = alloc(n);
      return () => be.unary('identity', a, contig([n]), c);
    },
  });
  const rt = (be as { rt?: GpuRuntime }).rt;
  if (rt) {
    rows.push({
      name: 'copyBufferToBuffer (bandwidth reference)',
      group: 'peak',
      shape: `${n} f32`,
      bound: 'memory',
      bytes: 8 * n,
      setup: () => {
        const a = up(n) as GpuStorage, c = alloc(n) as GpuStorage;
        return () => rt.copyBuffer(a.buffer, 0, c.buffer, 0, 4 * n);
      },
    });
  }
  rows.push({
    name: 'add (bandwidth reference)',
    group: 'peak',
    shape: `${n} f32`,
    bound: 'memory',
    bytes: 12 * n,
    setup: () => {
      const a = up(n), b = up(n), c = alloc(n);
      return () => be.binary('add', a, contig([n]), b, contig([n]), c);
    },
  });

  // ---- conv2d: forward, input gradient, weight gradient ----
  for (const { layer, p } of convShapes(N, g)) {
    const xs = p.N * p.C_in * p.H * p.W;
    const ws = p.C_out * p.C_in * p.KH * p.KW;
    const ys = p.N * p.C_out * p.OH * p.OW;
    const flops = 2 * convMacs(p);
    const shape = fmtConv(p);
    const wscale = 1 / Math.sqrt(p.C_in * p.KH * p.KW);
    rows.push({
      name: `conv2d fwd ${layer}`,
      group: 'conv2d',
      shape,
      bound: 'compute',
      flops,
      setup: () => {
        const x = up(xs), w = up(ws, wscale), b = up(p.C_out), y = alloc(ys);
        return () => be.conv2d(x, w, b, y, p);
      },
    });
    rows.push({
      name: `conv2d grad_input ${layer}`,
      group: 'conv2d',
      shape,
      bound: 'compute',
      flops,
      note: layer === 'conv1' ? 'not needed in training (the image needs no gradient)' : undefined,
      setup: () => {
        const gy = up(ys), w = up(ws, wscale), gx = alloc(xs);
        return () => be.conv2dBackwardInput(gy, w, gx, p);
      },
    });
    rows.push({
      name: `conv2d grad_weight ${layer}`,
      group: 'conv2d',
      shape,
      bound: 'compute',
      flops,
      setup: () => {
        const gy = up(ys), x = up(xs), gw = alloc(ws);
        return () => be.conv2dBackwardWeight(gy, x, gw, p);
      },
    });
  }

  // ---- linear layers (matmul): forward x @ W^T, grad_input gy @ W, grad_weight gy^T @ x ----
  for (const l of linearShapes(g)) {
    const M = N, I = l.in, O = l.out;
    const flops = 2 * M * I * O;
    rows.push({
      name: `linear fwd ${l.layer}`,
      group: 'matmul',
      shape: `${M}x${I} @ (${O}x${I})^T`,
      bound: 'compute',
      flops,
      setup: () => {
        const x = up(M * I), w = up(O * I), y = alloc(M * O);
        return () => be.matmul(x, contig([1, M, I]), w, transposed(I, O), y, 1, M, O, I);
      },
    });
    rows.push({
      name: `linear grad_input ${l.layer}`,
      group: 'matmul',
      shape: `${M}x${O} @ ${O}x${I}`,
      bound: 'compute',
      flops,
      setup: () => {
        const gy = up(M * O), w = up(O * I), gx = alloc(M * I);
        return () => be.matmul(gy, contig([1, M, O]), w, contig([1, O, I]), gx, 1, M, I, O);
      },
    });
    rows.push({
      name: `linear grad_weight ${l.layer}`,
      group: 'matmul',
      shape: `(${M}x${O})^T @ ${M}x${I}`,
      bound: 'compute',
      flops,
      setup: () => {
        const gy = up(M * O), x = up(M * I), gw = alloc(O * I);
        return () => be.matmul(gy, transposed(O, M), x, contig([1, M, I]), gw, 1, O, I, M);
      },
    });
  }

  // ---- batch_norm (training) forward and backward ----
  for (const b of bnShapes(N, g)) {
    const p = { N: b.N, C: b.C, S: b.S, eps: 1e-5, momentum: 0.1 };
    const ne = b.N * b.C * b.S;
    const shape = `${b.N}x${b.C}x${b.S}`;
    rows.push({
      name: `batch_norm train fwd ${b.layer}`,
      group: 'batch_norm',
      shape,
      bound: 'memory',
      bytes: 8 * ne,
      setup: () => {
        const x = up(ne), w = up(b.C), bi = up(b.C), rm = up(b.C, 0), rv = upload(new Float32Array(b.C).fill(1), 'float32');
        const y = alloc(ne), sm = alloc(b.C), si = alloc(b.C);
        return () => be.batchNormTrain(x, w, bi, rm, rv, y, sm, si, p);
      },
    });
    rows.push({
      name: `batch_norm bwd ${b.layer}`,
      group: 'batch_norm',
      shape,
      bound: 'memory',
      bytes: 12 * ne,
      setup: () => {
        const x = up(ne), w = up(b.C), bi = up(b.C), y = alloc(ne), sm = alloc(b.C), si = alloc(b.C);
        be.batchNormTrain(x, w, bi, null, null, y, sm, si, p);
        const gy = up(ne), gx = alloc(ne), gw = alloc(b.C), gb = alloc(b.C);
        return () => be.batchNormBackward(gy, x, w, sm, si, gx, gw, gb, p, true);
      },
    });
  }

  // ---- max_pool2d(2) forward and backward ----
  for (const q of poolShapes(N, g)) {
    const OH = q.H >> 1;
    const p: Pool2dParams = {
      N: q.N, C: q.C, H: q.H, W: q.H, OH, OW: OH, KH: 2, KW: 2, strideH: 2, strideW: 2,
      padH: 0, padW: 0, dilationH: 1, dilationW: 1, countIncludePad: true, divisorOverride: 0,
    };
    const xin = q.N * q.C * q.H * q.H;
    const yn = q.N * q.C * OH * OH;
    const shape = `${q.N}x${q.C}x${q.H}x${q.H} -> ${OH}x${OH}`;
    rows.push({
      name: `max_pool2d fwd ${q.layer}`,
      group: 'max_pool2d',
      shape,
      bound: 'memory',
      bytes: 4 * xin + 8 * yn,
      setup: () => {
        const x = up(xin), y = alloc(yn), idx = alloc(yn, 'int32');
        return () => be.maxPool2d(x, y, idx, p);
      },
    });
    rows.push({
      name: `max_pool2d bwd ${q.layer}`,
      group: 'max_pool2d',
      shape,
      bound: 'memory',
      bytes: 4 * xin + 8 * yn,
      setup: () => {
        const x = up(xin), y = alloc(yn), idx = alloc(yn, 'int32');
        be.maxPool2d(x, y, idx, p);
        const gy = up(yn), gx = alloc(xin);
        return () => be.maxPool2dBackward(gy, idx, gx, p);
      },
    });
  }

  // ---- SE block forward and backward ----
  {
    const s = seShape(N, g);
    const ne = s.N * s.C * s.S;
    const shape = `${s.N}x${s.C}x${s.S} r=${s.R}`;
    const flops = 2 * s.N * s.C * s.R * 2 + 2 * ne;
    rows.push({
      name: 'se_block fwd',
      group: 'se_block',
      shape,
      bound: 'memory',
      flops,
      bytes: 8 * ne,
      setup: () => {
        const x = up(ne), w1 = up(s.R * s.C, 0.1), w2 = up(s.C * s.R, 0.1), y = alloc(ne), h = alloc(s.N * s.R), gt = alloc(s.N * s.C);
        return () => be.seForward(x, w1, w2, y, h, gt, s);
      },
    });
    rows.push({
      name: 'se_block bwd',
      group: 'se_block',
      shape,
      bound: 'memory',
      flops: 2 * flops,
      bytes: 12 * ne,
      setup: () => {
        const x = up(ne), w1 = up(s.R * s.C, 0.1), w2 = up(s.C * s.R, 0.1), y = alloc(ne), h = alloc(s.N * s.R), gt = alloc(s.N * s.C);
        be.seForward(x, w1, w2, y, h, gt, s);
        const gy = up(ne), gx = alloc(ne), gw1 = alloc(s.R * s.C), gw2 = alloc(s.C * s.R);
        return () => be.seBackward(gy, x, w1, w2, h, gt, gx, gw1, gw2, s);
      },
    });
  }

  // ---- cross_entropy forward and backward ----
  const ceShapes: [number, number, string][] = [[N, g.classes, 'model']];
  if (o.bigCeRows > 0) ceShapes.push([o.bigCeRows, 1000, 'large']);
  for (const [R, C, tag] of ceShapes) {
    const p = { N: R, C, ignoreIndex: -100, labelSmoothing: 0 };
    rows.push({
      name: `cross_entropy fwd (${tag})`,
      group: 'cross_entropy',
      shape: `${R}x${C}`,
      bound: 'memory',
      bytes: 4 * R * C + 12 * R,
      setup: () => {
        const lg = up(R * C, 3), t = upload(randomInts(R, C), 'int32'), l = alloc(R), ws = alloc(R);
        return () => be.crossEntropy(lg, t, null, l, ws, p);
      },
    });
    rows.push({
      name: `cross_entropy bwd (${tag})`,
      group: 'cross_entropy',
      shape: `${R}x${C}`,
      bound: 'memory',
      bytes: 8 * R * C + 8 * R,
      setup: () => {
        const lg = up(R * C, 3), t = upload(randomInts(R, C), 'int32'), gl = upload(new Float32Array(R).fill(1 / R), 'float32'), g2 = alloc(R * C);
        return () => be.crossEntropyBackward(lg, t, null, gl, g2, p);
      },
    });
  }

  // ---- SGD (momentum 0.9) over every parameter of the model, one update per tensor ----
  {
    const specs = paramSpecs(g).filter((s) => s.trainable);
    const total = specs.reduce((a, s) => a + numel(s.shape), 0);
    const largest = Math.max(...specs.map((s) => numel(s.shape)));
    rows.push({
      name: 'sgd momentum, all parameters',
      group: 'sgd',
      shape: `${specs.length} tensors, ${total} params (largest ${largest})`,
      bound: 'memory',
      bytes: 20 * total,
      setup: () => {
        const src = randomArray(largest, 99, 0.01);
        const sets = specs.map((s) => {
          const k = numel(s.shape);
          const view = src.subarray(0, k);
          return { k, p: upload(view, 'float32'), g: upload(view, 'float32'), m: upload(view, 'float32') };
        });
        const call = () => {
          for (const s of sets) {
            be.sgdUpdate(s.p, s.g, s.m, { size: s.k, lr: 1e-3, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, firstStep: false });
          }
        };
        return call;
      },
    });
  }
  return rows;
}

/** Runs every kernel row; a failing row records its error and the run goes on. */
export async function runKernels(be: Backend, o: KernelBenchOptions): Promise<{ rows: KernelResult[]; peak: { gflops?: number; gflopsSource?: string; gbps?: number; gbpsSource?: string } }> {
  const out: KernelResult[] = [];
  const rows = kernelRows(be, o);
  for (const r of rows) {
    const res: KernelResult = { name: r.name, group: r.group, shape: r.shape, bound: r.bound, flops: r.flops, bytes: r.bytes, note: r.note };
    try {
      const call = r.setup();
      const m = await measure(call, () => be.sync(), o.measure);
      res.time = m.stats;
      res.coldMs = round(m.coldMs, 4);
      res.inner = m.inner;
      const s = m.stats.median / 1000;
      if (r.flops) res.gflops = round(r.flops / s / 1e9, 4);
      if (r.bytes) res.gbps = round(r.bytes / s / 1e9, 4);
    } catch (e) {
      res.error = errorMessage(e);
      // Drain anything the failed row left pending so the next row starts clean.
      await be.sync().catch(() => undefined);
    } finally {
      for (const st of arena.splice(0)) {
        try {
          be.free(st);
        } catch {
          /* already freed */
        }
      }
    }
    o.log(fmtProgress(res));
    out.push(res);
  }
  if (o.extraPeak) {
    try {
      const x = await o.extraPeak();
      if (x) out.splice(1, 0, { name: x.name, group: 'peak', shape: x.shape, bound: 'compute', flops: 2 * o.peakMatmul ** 3, time: x.time, coldMs: round(x.coldMs, 4), inner: 1, gflops: round(x.gflops, 4) });
    } catch (e) {
      out.splice(1, 0, { name: 'tfjs matmul (peak reference)', group: 'peak', shape: '', bound: 'compute', error: errorMessage(e) });
    }
    o.log(fmtProgress(out[1]!));
  }
  // The peaks: the best matmul and the best streaming kernel measured in this run.
  const peak: { gflops?: number; gflopsSource?: string; gbps?: number; gbpsSource?: string } = {};
  for (const r of out) {
    if (r.group !== 'peak' || r.error) continue;
    if (r.gflops !== undefined && (peak.gflops === undefined || r.gflops > peak.gflops)) {
      peak.gflops = r.gflops;
      peak.gflopsSource = r.name;
    }
    if (r.gbps !== undefined && (peak.gbps === undefined || r.gbps > peak.gbps)) {
      peak.gbps = r.gbps;
      peak.gbpsSource = r.name;
    }
  }
  for (const r of out) {
    if (r.error) continue;
    if (r.bound === 'compute' && r.gflops !== undefined && peak.gflops) r.peakFraction = round(r.gflops / peak.gflops, 3);
    if (r.bound === 'memory' && r.gbps !== undefined && peak.gbps) r.peakFraction = round(r.gbps / peak.gbps, 3);
  }
  return { rows: out, peak };
}

function fmtProgress(r: KernelResult): string {
  if (r.error) return `  ${r.name.padEnd(44)} ERROR ${r.error.split('\n')[0]}`;
  const t = r.time!;
  const rate = r.gflops !== undefined && r.bound === 'compute' ? `${r.gflops.toFixed(2)} GFLOP/s` : r.gbps !== undefined ? `${r.gbps.toFixed(2)} GB/s` : '';
  return `  ${r.name.padEnd(44)} ${t.median.toFixed(3).padStart(10)} ms  ${rate}`;
}

export type { Conv2dParams };
