/**
 * Reductions over the last axis of a contiguous (outer, inner): sum, max, min (float32 or int32,
 * result in the input dtype), argmax, argmin (int32 result, first index on ties; NaN wins in all
 * but sum). Tree reductions in workgroup memory (shaders/reduce.wgsl), in as many passes as
 * needed: a row longer than one segment (CHUNK elements) is cut into segments reduced by
 * separate workgroups, whose partials (values, and indices for arg ops) are reduced by the next
 * pass. So outer = 1, inner = 16M takes two passes (4096 partials, then 1), and many short rows
 * are reduced 256 / T to a workgroup by T = nextPow2(inner / 16) lanes each.
 * Inputs above the storage-binding limit are bound in windows of whole segments.
 *
 * Sums on software adapters take shaders/reduce_sg.wgsl instead (./subgroups.ts): one subgroup
 * per row, vec4 loads, subgroupAdd, one pass. The tree above spends its time in workgroup
 * barriers there: the conv bias gradient of ResEmoteNet width 1/4 (1024 rows of 2304) took 13.3 ms
 * as a tree and 1.4 ms this way (lavapipe, 2 cores).
 */
import type { ReduceOp, Storage } from '../backend.js';
import { fill, wgslType } from './elementwise.js';
import type { Binding, GpuRuntime, GpuStorage } from './runtime.js';
import { shader, shaderKey } from './shaders.js';
import { window } from './window.js';
import { SG_PER_WG, sgFor } from './subgroups.js';

const WG = 256;
/** Elements folded serially by one lane at most. */
const PER_LANE = 16;
/** Elements per segment when a row is split: a full workgroup of 256 lanes x 16. */
const CHUNK = WG * PER_LANE;

function nextPow2(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

function pipelineFor(rt: GpuRuntime, op: ReduceOp, t: 'f32' | 'i32', readIdx: boolean, writeVal: boolean, tree: boolean): GPUComputePipeline {
  const arg = op === 'argmax' || op === 'argmin';
  const opc = op === 'sum' ? 0 : op === 'max' || op === 'argmax' ? 1 : 2;
  const inf = opc === 1 ? '0xff800000u' : '0x7f800000u';
  const neutral =
    opc === 0 ? `return ${t}(0);` : t === 'f32' ? `var bits = ${inf}; return bitcast<f32>(bits);` : opc === 1 ? 'return i32(-2147483647) - 1;' : 'return 2147483647;';
  const defs = {
    T: t,
    OPC: opc,
    ARG: String(arg),
    READ_IDX: String(readIdx),
    WRITE_VAL: String(writeVal),
    TREE: String(tree),
    ISNAN: t === 'f32' ? 'return is_nan(v);' : 'return false;',
    NEUTRAL: neutral,
  };
  return rt.pipeline(shaderKey('reduce', defs), () => shader('reduce', defs));
}

export function reduce(rt: GpuRuntime, op: ReduceOp, x: Storage, outer: number, inner: number, out: Storage): void {
  const t = wgslType(x.dtype, op);
  const arg = op === 'argmax' || op === 'argmin';
  if (arg ? out.dtype !== 'int32' : out.dtype !== x.dtype) {
    throw new TypeError(`${op}: webgpu writes ${arg ? 'int32' : x.dtype} results, got an output of ${out.dtype}`);
  }
  if (outer === 0) return;
  if (inner === 0) {
    if (op !== 'sum') throw new RangeError(`${op}: cannot reduce over a dimension of size 0`);
    fill(rt, out, 0);
    return;
  }
  if (op === 'sum' && reduceSumSg(rt, x, outer, inner, out, t)) return;
  const gx = x as GpuStorage, gout = out as GpuStorage;
  // Each pass reduces (outer, len) to (outer, nchunks); the input of a later pass is the previous partials.
  let src = gx;
  let srcIdx: GpuStorage | null = null;
  let len = inner;
  const temps: GpuStorage[] = [];
  // Stand-ins for unused bindings (a read one and a written one: one buffer may not be both).
  const dummy = rt.alloc('int32', 4);
  const dummyIn = rt.alloc('int32', 4);
  temps.push(dummy, dummyIn);
  for (;;) {
    const nchunks = len > CHUNK ? Math.ceil(len / CHUNK) : 1;
    const last = nchunks === 1;
    const chunk = last ? len : CHUNK;
    const lanes = Math.min(WG, nextPow2(Math.ceil(chunk / PER_LANE)));
    let vals: GpuStorage, idxs: GpuStorage;
    if (last) {
      vals = arg ? dummy : gout;
      idxs = arg ? gout : dummy;
    } else {
      vals = rt.alloc(x.dtype, outer * nchunks);
      idxs = arg ? rt.alloc('int32', outer * nchunks) : dummy;
      temps.push(vals);
      if (arg) temps.push(idxs);
    }
    const p = pipelineFor(rt, op, t, srcIdx !== null, !(last && arg), lanes > 1);
    pass(rt, op, p, src, srcIdx ?? dummyIn, vals, idxs, outer * nchunks, len, nchunks, chunk, lanes, srcIdx !== null, arg, !(last && arg));
    if (last) break;
    src = vals;
    srcIdx = arg ? idxs : null;
    len = nchunks;
  }
  for (const s of temps) rt.free(s);
}

/** Dispatches one pass over `nseg` segments, in windows that keep every binding under the limit. */
function pass(
  rt: GpuRuntime,
  op: string,
  p: GPUComputePipeline,
  x: GpuStorage,
  xi: GpuStorage,
  o: GpuStorage,
  oi: GpuStorage,
  nseg: number,
  inner: number,
  nchunks: number,
  chunk: number,
  lanes: number,
  readIdx: boolean,
  writeIdx: boolean,
  writeVal: boolean,
): void {
  const limit = Math.floor(rt.limits.maxStorageBufferBindingSize / 4);
  const align = Math.max(1, rt.limits.minStorageBufferOffsetAlignment / 4);
  const segsPerWg = WG / lanes;
  // Segments per dispatch: their input (at most segLen elements each) and output must fit.
  const segLen = nchunks === 1 ? inner : chunk;
  let per = Math.max(1, Math.floor((limit - 2 * align) / segLen));
  per = Math.min(per, limit - 2 * align);
  per = Math.max(segsPerWg, Math.floor(per / segsPerWg) * segsPerWg);
  const segStart = (s: number) => Math.floor(s / nchunks) * inner + (s % nchunks) * chunk;
  for (let s0 = 0; s0 < nseg; s0 += per) {
    const n = Math.min(per, nseg - s0);
    const xStart = segStart(s0);
    const xEnd = s0 + n >= nseg ? Math.floor((nseg - 1) / nchunks) * inner + inner : segStart(s0 + n);
    const xBase = Math.floor(xStart / align) * align;
    const oBase = Math.floor(s0 / align) * align;
    const win = (s: GpuStorage, base: number, end: number, used: boolean): Binding =>
      used ? { storage: s, offset: base, size: Math.min(s.size, end) - base } : s;
    const bindings: Binding[] = [
      win(x, xBase, xEnd, true),
      win(xi, xBase, xEnd, readIdx),
      win(o, oBase, s0 + n, writeVal),
      win(oi, oBase, s0 + n, writeIdx),
    ];
    const u = [n, s0, inner, nchunks, chunk, lanes, xBase, oBase];
    rt.dispatch(op, p, bindings, { u }, Math.ceil(n / segsPerWg));
  }
}

/**
 * Rows shorter than SG_MIN_INNER stay on the tree kernel, which packs many short rows per
 * workgroup; rows longer than SG_MAX_INNER too, which spreads a long row over many workgroups
 * (one subgroup folding a 3M-element row alone took 300 ms).
 */
const SG_MIN_INNER = 32;
const SG_MAX_INNER = 65536;

/**
 * The sg sum (shaders/reduce_sg.wgsl) when the adapter takes it and a row fits a binding;
 * returns false (doing nothing) otherwise.
 */
function reduceSumSg(rt: GpuRuntime, x: Storage, outer: number, inner: number, out: Storage, t: 'f32' | 'i32'): boolean {
  const SG = sgFor(rt, 'reduce');
  if (!SG || inner < SG_MIN_INNER || inner > SG_MAX_INNER) return false;
  const align = Math.max(1, rt.limits.minStorageBufferOffsetAlignment / 4);
  const limit = Math.floor(rt.limits.maxStorageBufferBindingSize / 4) - 2 * align;
  if (inner > limit) return false;
  // vec4 loads need rows starting at multiples of 4 elements; window bases are multiples of `align`
  const V = inner % 4 === 0 && align % 4 === 0 ? 4 : 1;
  const T = V === 4 ? `vec4<${t}>` : t;
  const HSUM = V === 4 ? 's.x + s.y + s.z + s.w' : 's';
  const defs = { T, E: t, SG, NSG: SG_PER_WG, WG: SG * SG_PER_WG, HSUM };
  const pipe = rt.pipeline(shaderKey('reduce_sg', defs), () => shader('reduce_sg', defs));
  const per = Math.max(1, Math.min(Math.floor(limit / inner), limit));
  for (let r0 = 0; r0 < outer; r0 += per) {
    const n = Math.min(per, outer - r0);
    const xw = window(rt, x, r0 * inner, n * inner);
    const ow = window(rt, out, r0, n);
    rt.dispatch('reduce', pipe, [xw.b, ow.b], { u: [n, inner / V, xw.rel / V, ow.rel] }, Math.ceil(n / SG_PER_WG));
  }
  return true;
}
