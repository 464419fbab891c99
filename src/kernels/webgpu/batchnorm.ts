/**
 * batch_norm on WebGPU over x viewed as (N, C, S). Semantics follow the CPU reference
 * (src/kernels/cpu/batchnorm.ts = PyTorch): biased variance to normalize, unbiased variance
 * for running_var, momentum update new = (1 - m) * old + m * batch.
 *
 * Passes (all on the GPU, running statistics included):
 *   bn_reduce   per (channel, split of the batch) workgroup: Welford per invocation + Chan merge
 *               tree (statistics), or plain tree sums of gy and gy * xhat (backward);
 *   bn_stats /  per channel: merge the splits, save_mean / save_invstd, running-stat update,
 *   bn_coef     gweight / gbias, and 4 coefficients for the elementwise pass;
 *   bn_apply    out = (x - mean) * (w * invstd) + b, or the input gradient, per element.
 * Splits give at least ~128 reduction workgroups (C = 64 channels of 16 x 64 x 64 = 65536 values
 * -> 2 splits of 32768) so the reduction never runs long serial loops on a few threads.
 * Batches above the binding limit are processed in chunks of whole samples.
 *
 * Software adapters (./subgroups.ts) take subgroup kernels instead of the workgroup-memory trees,
 * whose barriers dominate there: bn_reduce_sg (one subgroup per (channel, split), vec4 loads,
 * two passes for the statistics) in place of bn_reduce, and for channels of at most
 * SG_FUSED_MAX values the whole forward (bn_train_sg) or backward (bn_backward_sg) in ONE
 * dispatch. ResEmoteNet width 1/4, batch 64, lavapipe (2 cores), per call, tree -> sg:
 * (64, 512, 1) forward 2.7 -> 0.7 ms, backward 2.4 -> 0.9; (64, 128, 3x3) forward 2.3 -> 1.4,
 * backward 1.8 -> 0.9; (64, 16, 48x48) forward 7.2 -> 7.9 (two passes over x for the
 * statistics cost what the barriers saved), backward 9.9 -> 7.7 ms (bench/profile_step.ts
 * --width 0.25 --size 48 --batch 64).
 */
import type { BatchNormParams, Storage } from '../backend.js';
import type { Binding, GpuRuntime, GpuStorage } from './runtime.js';
import { shader, shaderKey, withLiterals } from './shaders.js';
import { window } from './window.js';
import { SG_PER_WG, sgFor } from './subgroups.js';

const WG = 64;
/** Channels of at most this many values (N * S) run forward or backward in one sg dispatch. */
const SG_FUSED_MAX = 4096;

/** The sg kernels' element type: vec4 loads when every channel plane is a multiple of 4 long. */
function sgElem(S: number): { V: number; T: string; HSUM: string } {
  return S % 4 === 0 ? { V: 4, T: 'vec4<f32>', HSUM: 'dot(v, vec4<f32>(1.0))' } : { V: 1, T: 'f32', HSUM: 'v' };
}

/** The subgroup size when (N, C, S) takes the one-dispatch sg kernels, else 0. */
function fusedSg(rt: GpuRuntime, p: BatchNormParams, op: string): number {
  const M = p.N * p.S;
  if (M === 0 || M > SG_FUSED_MAX) return 0;
  const SG = sgFor(rt, 'batchNorm');
  return SG && batchChunks(rt, p, op).length === 1 ? SG : 0;
}

function f32(op: string, ...s: (Storage | null)[]): void {
  for (const t of s) if (t && t.dtype !== 'float32') throw new TypeError(`${op}: webgpu supports float32 only, got ${t.dtype}`);
}

/** Batch chunks [n0, nc) whose (nc, C, S) block fits in a binding. */
function batchChunks(rt: GpuRuntime, p: BatchNormParams, op: string): [number, number][] {
  const align = Math.max(1, rt.limits.minStorageBufferOffsetAlignment / 4);
  const lim = Math.floor(rt.limits.maxStorageBufferBindingSize / 4) - align;
  const per = Math.max(1, p.C * p.S);
  const nb = Math.floor(lim / per);
  if (nb < 1) throw new RangeError(`${op}: one sample (${per * 4} bytes) exceeds the adapter's binding limit`);
  const out: [number, number][] = [];
  for (let n0 = 0; n0 < p.N; n0 += nb) out.push([n0, Math.min(nb, p.N - n0)]);
  return out;
}

/**
 * Runs bn_reduce over every batch chunk; returns the partials buffer ((count, mean, M2, 0) or
 * (sum_gy, sum_gy_xhat, 0, 0) per (part, channel)) and the number of parts.
 */
function reduce(
  rt: GpuRuntime,
  op: string,
  mode: 0 | 1,
  x: Storage,
  gy: Storage | null,
  smean: Storage | null,
  sinvstd: Storage | null,
  p: BatchNormParams,
): { part: GpuStorage; nparts: number } {
  const chunks = batchChunks(rt, p, op);
  const rows = p.S < WG ? 1 : 0;
  const SG = sgFor(rt, 'batchNorm');
  const E = sgElem(p.S);
  const V = SG ? E.V : 1;
  const sgDefs = { MODE: mode, SG, NSG: SG_PER_WG, WG: SG * SG_PER_WG, T: E.T, V: E.V, HSUM: E.HSUM };
  const pipe = SG
    ? rt.pipeline(shaderKey('bn_reduce_sg', { ...sgDefs, S4: p.S / V }), () => withLiterals(shader('bn_reduce_sg', sgDefs), { S4: p.S / V }))
    : rt.pipeline(shaderKey('bn_reduce', { mode, rows }), () => shader('bn_reduce', { MODE: mode, ROWS: rows, ELEM: elem(mode), MERGE: merge(mode) }));
  const plan = chunks.map(([, nc]) => batchSplits(nc, p.C, p.S));
  const nparts = plan.reduce((a, q) => a + q.splits, 0);
  const part = rt.alloc('float32', Math.max(4, nparts * p.C * 4));
  let slot = 0;
  chunks.forEach(([n0, nc], k) => {
    const { nPer, splits } = plan[k]!;
    const xw = window(rt, x, n0 * p.C * p.S, nc * p.C * p.S);
    const gw = gy ? window(rt, gy, n0 * p.C * p.S, nc * p.C * p.S) : xw;
    const u = [p.C, p.S / V, nPer, nc, xw.rel / V, gw.rel / V, slot * p.C, splits];
    const binds: Binding[] = [xw.b, gw.b, (smean ?? x) as GpuStorage, (sinvstd ?? x) as GpuStorage, part];
    rt.dispatch(op, pipe, binds, { u }, SG ? Math.ceil((p.C * splits) / SG_PER_WG) : p.C * splits);
    slot += splits;
  });
  return { part, nparts };
}

/**
 * How a per-channel reduction over nc samples of S values splits the samples: at least ~128
 * (channel, split) pairs in all and at least 1024 values per split; nPer samples per split.
 */
export function batchSplits(nc: number, C: number, S: number): { nPer: number; splits: number } {
  let splits = Math.max(1, Math.min(nc, Math.ceil(128 / Math.max(1, C)), Math.floor((nc * S) / 1024)));
  const nPer = Math.ceil(nc / splits);
  splits = Math.ceil(nc / nPer);
  return { nPer, splits };
}

function elem(mode: 0 | 1): string {
  return mode === 0
    ? `        let v = x[P.x_off + base + s];
        a += 1.0;
        let d = v - b;
        b += d / a;
        m2 += d * (v - b);`
    : `        let v = x[P.x_off + base + s];
        let g = gy[P.g_off + base + s];
        a += g;
        b += g * (v - mean) * invstd;`;
}

function merge(mode: 0 | 1): string {
  return mode === 0
    ? `      let na = sa[lid];
      let nb = sa[lid + h];
      if (nb > 0.0) {
        let tot = na + nb;
        let d = sb[lid + h] - sb[lid];
        sb[lid] = sb[lid] + d * (nb / tot);
        sc[lid] = sc[lid] + sc[lid + h] + d * d * (na * nb / tot);
        sa[lid] = tot;
      }`
    : `      sa[lid] = sa[lid] + sa[lid + h];
      sb[lid] = sb[lid] + sb[lid + h];`;
}

/** out (or gx) from x (and gy) with per-channel coefficients, chunked over the batch. */
function apply(rt: GpuRuntime, op: string, mode: 0 | 1, x: Storage, gy: Storage | null, coef: GpuStorage, out: Storage, p: BatchNormParams, relu = false): void {
  const max = rt.limits.maxComputeWorkgroupsPerDimension;
  for (const [n0, nc] of batchChunks(rt, p, op)) {
    const plane = p.S >= WG && p.C <= max && nc <= max ? 1 : 0;
    const V = plane && p.S % 4 === 0 ? 4 : 1;
    const T = V === 4 ? 'vec4<f32>' : 'f32';
    // relu as select(v, 0, v < 0): NaN stays NaN, like the relu kernel and PyTorch
    const fwd = relu ? `  let v = (xv - k.x) * k.y + k.z;\n  out[P.o_off + i] = select(v, ${T}(0.0), v < ${T}(0.0));` : '  out[P.o_off + i] = (xv - k.x) * k.y + k.z;';
    const BODY = mode === 0 ? fwd : '  let g = gy[P.g_off + i];\n  out[P.o_off + i] = k.y * g + k.z + k.w * (xv - k.x);';
    const pipe = rt.pipeline(shaderKey('bn_apply', { mode, plane, V, relu: relu ? 1 : 0 }), () => shader('bn_apply', { T, V, PLANE: plane, BODY }));
    const len = nc * p.C * p.S;
    const xw = window(rt, x, n0 * p.C * p.S, len);
    const gw = gy ? window(rt, gy, n0 * p.C * p.S, len) : xw;
    const ow = window(rt, out, n0 * p.C * p.S, len);
    const u = [p.C, p.S, len, xw.rel / V, gw.rel / V, ow.rel / V, 0, 0];
    const grid: number | [number, number, number] = plane ? [Math.ceil(p.S / (WG * V)), p.C, nc] : Math.ceil(len / WG);
    rt.dispatch(op, pipe, [xw.b, gw.b, coef, ow.b], { u }, grid);
  }
}

export function batchNormTrain(
  rt: GpuRuntime,
  x: Storage,
  weight: Storage | null,
  bias: Storage | null,
  runningMean: Storage | null,
  runningVar: Storage | null,
  out: Storage,
  saveMean: Storage,
  saveInvstd: Storage,
  p: BatchNormParams,
): void {
  f32('batchNormTrain', x, weight, bias, runningMean, runningVar, out, saveMean, saveInvstd);
  if (p.C === 0) return;
  const SG = fusedSg(rt, p, 'batchNormTrain');
  if (SG) {
    trainFusedSg(rt, SG, x, weight, bias, runningMean, runningVar, out, saveMean, saveInvstd, p);
    return;
  }
  const coef = trainCoef(rt, 'batchNormTrain', x, weight, bias, runningMean, runningVar, saveMean, saveInvstd, p);
  if (p.N * p.S > 0) apply(rt, 'batchNormTrain', 0, x, null, coef, out, p);
  rt.free(coef);
}

/**
 * The training statistics of x (N, C, S): writes saveMean / saveInvstd, updates the running
 * statistics when given, and returns bn_apply's per-channel coefficients (mean, w * invstd, b, 0)
 * (C vec4s, the caller frees them). bn_reduce (or bn_reduce_sg) then bn_stats.
 */
export function trainCoef(
  rt: GpuRuntime,
  op: string,
  x: Storage,
  weight: Storage | null,
  bias: Storage | null,
  runningMean: Storage | null,
  runningVar: Storage | null,
  saveMean: Storage,
  saveInvstd: Storage,
  p: BatchNormParams,
): GpuStorage {
  const { part, nparts } = reduce(rt, op, 0, x, null, null, null, p);
  const coef = rt.alloc('float32', p.C * 4);
  const dummies: GpuStorage[] = [];
  const dummy = () => {
    const d = rt.alloc('float32', 4);
    dummies.push(d);
    return d;
  };
  const hasRunning = runningMean !== null && runningVar !== null;
  const flags = (weight ? 1 : 0) | (bias ? 2 : 0) | (hasRunning ? 4 : 0);
  const pipe = rt.pipeline('bn_stats', () => shader('bn_stats'));
  const binds: Binding[] = [
    part,
    (weight ?? part) as GpuStorage,
    (bias ?? part) as GpuStorage,
    saveMean as GpuStorage,
    saveInvstd as GpuStorage,
    (hasRunning ? runningMean : dummy()) as GpuStorage,
    (hasRunning ? runningVar : dummy()) as GpuStorage,
    coef,
  ];
  rt.dispatch(op, pipe, binds, { u: [p.C, nparts, flags, 0], f: [p.eps, p.momentum, 0, 0] }, Math.ceil(p.C / WG));
  rt.free(part);
  for (const d of dummies) rt.free(d);
  return coef;
}

export function batchNormEval(
  rt: GpuRuntime,
  x: Storage,
  weight: Storage | null,
  bias: Storage | null,
  runningMean: Storage,
  runningVar: Storage,
  out: Storage,
  p: BatchNormParams,
): void {
  f32('batchNormEval', x, weight, bias, runningMean, runningVar, out);
  if (p.C === 0 || p.N * p.S === 0) return;
  const { coef, owned } = batchNormEvalCoef(rt, weight, bias, runningMean, runningVar, p.C, p.eps);
  apply(rt, 'batchNormEval', 0, x, null, coef, out, p, p.relu === true);
  if (owned) rt.free(coef);
}

/**
 * The per-channel coefficients (mean, w * invstd, b, 0) of an eval batch_norm over C channels:
 * y = (x - c.x) * c.y + c.z. They depend only on the parameters and statistics: in repeated
 * inference they are made once and kept with running_var (dropped when any of them is written;
 * see cachedDerived), so an eval batch_norm is one dispatch. `owned`: the caller frees `coef`
 * (the first call, before the cache holds a copy).
 */
export function batchNormEvalCoef(
  rt: GpuRuntime,
  weight: Storage | null,
  bias: Storage | null,
  runningMean: Storage,
  runningVar: Storage,
  C: number,
  eps: number,
): { coef: GpuStorage; owned: boolean } {
  const p = { N: 0, C, S: 0, eps, momentum: 0 };
  const tag = [weight, bias, runningMean].map((t) => (t ? `${(t as GpuStorage).id}@${(t as GpuStorage).version}` : '-')).join(' ') + ` ${eps}`;
  const cached = rt.cachedDerived(runningVar as GpuStorage, 'bn_coef', 1, () => evalCoef(rt, weight, bias, runningMean, runningVar, p), tag);
  return cached ? { coef: cached, owned: false } : { coef: evalCoef(rt, weight, bias, runningMean, runningVar, p), owned: true };
}

/** The per-channel coefficients (mean, w * invstd, b, 0) of an eval batch_norm (bn_coef MODE 0). */
function evalCoef(rt: GpuRuntime, weight: Storage | null, bias: Storage | null, runningMean: Storage, runningVar: Storage, p: BatchNormParams): GpuStorage {
  const coef = rt.alloc('float32', p.C * 4);
  // bindings 0 (partials, a vec4 array), 5, 6 (gradients) are unused in MODE 0: small dummies
  const gdummy = [rt.alloc('float32', 4), rt.alloc('float32', 4), rt.alloc('float32', 4)];
  const flags = (weight ? 1 : 0) | (bias ? 2 : 0);
  const pipe = rt.pipeline(shaderKey('bn_coef', { mode: 0 }), () => shader('bn_coef', { MODE: 0 }));
  const rmS = runningMean as GpuStorage;
  const binds: Binding[] = [gdummy[2]!, (weight ?? rmS) as GpuStorage, (bias ?? rmS) as GpuStorage, rmS, runningVar as GpuStorage, gdummy[0]!, gdummy[1]!, coef];
  rt.dispatch('batchNormEval', pipe, binds, { u: [p.C, 0, flags, 0], f: [p.eps, 0, 0, 0] }, Math.ceil(p.C / WG));
  for (const d of gdummy) rt.free(d);
  return coef;
}

export function batchNormBackward(
  rt: GpuRuntime,
  gy: Storage,
  x: Storage,
  weight: Storage | null,
  saveMean: Storage,
  saveInvstd: Storage,
  gx: Storage,
  gweight: Storage | null,
  gbias: Storage | null,
  p: BatchNormParams,
  training: boolean,
): void {
  f32('batchNormBackward', gy, x, weight, saveMean, saveInvstd, gx, gweight, gbias);
  if (p.C === 0) return;
  const SG = fusedSg(rt, p, 'batchNormBackward');
  if (SG) {
    backwardFusedSg(rt, SG, gy, x, weight, saveMean, saveInvstd, gx, gweight, gbias, p, training);
    return;
  }
  const dummies: GpuStorage[] = [];
  const dummy = () => {
    const d = rt.alloc('float32', 4);
    dummies.push(d);
    return d;
  };
  // the sums are needed for the training gradient and for gweight / gbias
  const needSums = training || gweight !== null || gbias !== null;
  const red = needSums && p.N * p.S > 0 ? reduce(rt, 'batchNormBackward', 1, x, gy, saveMean, saveInvstd, p) : null;
  const part = red ? red.part : dummy();
  const coef = backwardCoef(rt, 'batchNormBackward', part, red ? red.nparts : 0, weight, saveMean, saveInvstd, gweight, gbias, p.C, p.N * p.S, training);
  if (p.N * p.S > 0) apply(rt, 'batchNormBackward', 1, x, gy, coef, gx, p);
  rt.free(coef);
  if (red) rt.free(red.part);
  for (const d of dummies) rt.free(d);
}

/**
 * bn_coef MODE 1: sums the backward partials `part` ((sum_gy, sum_gy_xhat, 0, 0) per (part,
 * channel), nparts of them), writes gweight / gbias when given, and returns the input-gradient
 * coefficients of bn_apply MODE 1 over `count` values per channel (C vec4s, the caller frees them).
 */
export function backwardCoef(
  rt: GpuRuntime,
  op: string,
  part: GpuStorage,
  nparts: number,
  weight: Storage | null,
  saveMean: Storage,
  saveInvstd: Storage,
  gweight: Storage | null,
  gbias: Storage | null,
  C: number,
  count: number,
  training: boolean,
): GpuStorage {
  const dummies: GpuStorage[] = [];
  const dummy = () => {
    const d = rt.alloc('float32', 4);
    dummies.push(d);
    return d;
  };
  const coef = rt.alloc('float32', C * 4);
  const flags = (weight ? 1 : 0) | (gweight ? 8 : 0) | (gbias ? 16 : 0) | (training ? 32 : 0);
  const pipe = rt.pipeline(shaderKey('bn_coef', { mode: 1 }), () => shader('bn_coef', { MODE: 1 }));
  const binds: Binding[] = [
    part,
    (weight ?? part) as GpuStorage,
    part,
    saveMean as GpuStorage,
    saveInvstd as GpuStorage,
    (gweight ?? dummy()) as GpuStorage,
    (gbias ?? dummy()) as GpuStorage,
    coef,
  ];
  rt.dispatch(op, pipe, binds, { u: [C, nparts, flags, 0], f: [0, count, 0, 0] }, Math.ceil(C / WG));
  for (const d of dummies) rt.free(d);
  return coef;
}

/** batchNormTrain in one dispatch (shaders/bn_train_sg.wgsl); the caller checked fusedSg. */
function trainFusedSg(
  rt: GpuRuntime,
  SG: number,
  x: Storage,
  weight: Storage | null,
  bias: Storage | null,
  runningMean: Storage | null,
  runningVar: Storage | null,
  out: Storage,
  saveMean: Storage,
  saveInvstd: Storage,
  p: BatchNormParams,
): void {
  const E = sgElem(p.S);
  const defs = { SG, NSG: SG_PER_WG, WG: SG * SG_PER_WG, T: E.T, V: E.V, HSUM: E.HSUM };
  const lit = { S4: p.S / E.V }; // the per-element index split (see withLiterals)
  const pipe = rt.pipeline(shaderKey('bn_train_sg', { ...defs, ...lit }), () => withLiterals(shader('bn_train_sg', defs), lit));
  const len = p.N * p.C * p.S;
  const xw = window(rt, x, 0, len);
  const ow = window(rt, out, 0, len);
  const dummies = [rt.alloc('float32', 4), rt.alloc('float32', 4), rt.alloc('float32', 4)];
  const hasRunning = runningMean !== null && runningVar !== null;
  const flags = (weight ? 1 : 0) | (bias ? 2 : 0) | (hasRunning ? 4 : 0);
  const binds: Binding[] = [
    xw.b,
    (weight ?? dummies[0]) as GpuStorage,
    (bias ?? dummies[0]) as GpuStorage,
    saveMean as GpuStorage,
    saveInvstd as GpuStorage,
    (hasRunning ? runningMean : dummies[1]) as GpuStorage,
    (hasRunning ? runningVar : dummies[2]) as GpuStorage,
    ow.b,
  ];
  const u = [p.N, p.C, p.S / E.V, flags, xw.rel / E.V, ow.rel / E.V, 0, 0];
  rt.dispatch('batchNormTrain', pipe, binds, { u, f: [p.eps, p.momentum, 0, 0] }, Math.ceil(p.C / SG_PER_WG));
  for (const d of dummies) rt.free(d);
}

/** batchNormBackward in one dispatch (shaders/bn_backward_sg.wgsl); the caller checked fusedSg. */
function backwardFusedSg(
  rt: GpuRuntime,
  SG: number,
  gy: Storage,
  x: Storage,
  weight: Storage | null,
  saveMean: Storage,
  saveInvstd: Storage,
  gx: Storage,
  gweight: Storage | null,
  gbias: Storage | null,
  p: BatchNormParams,
  training: boolean,
): void {
  const E = sgElem(p.S);
  const defs = { SG, NSG: SG_PER_WG, WG: SG * SG_PER_WG, T: E.T, V: E.V, HSUM: E.HSUM };
  const lit = { S4: p.S / E.V };
  const pipe = rt.pipeline(shaderKey('bn_backward_sg', { ...defs, ...lit }), () => withLiterals(shader('bn_backward_sg', defs), lit));
  const len = p.N * p.C * p.S;
  const xw = window(rt, x, 0, len);
  const gw = window(rt, gy, 0, len);
  const ow = window(rt, gx, 0, len);
  const dummies = [rt.alloc('float32', 4), rt.alloc('float32', 4), rt.alloc('float32', 4)];
  const flags = (weight ? 1 : 0) | (gweight ? 8 : 0) | (gbias ? 16 : 0) | (training ? 32 : 0);
  const binds: Binding[] = [
    xw.b,
    gw.b,
    (weight ?? dummies[0]) as GpuStorage,
    saveMean as GpuStorage,
    saveInvstd as GpuStorage,
    (gweight ?? dummies[1]) as GpuStorage,
    (gbias ?? dummies[2]) as GpuStorage,
    ow.b,
  ];
  const u = [p.N, p.C, p.S / E.V, flags, xw.rel / E.V, gw.rel / E.V, ow.rel / E.V, 0];
  rt.dispatch('batchNormBackward', pipe, binds, { u }, Math.ceil(p.C / SG_PER_WG));
  for (const d of dummies) rt.free(d);
}
