/**
 * Squeeze-excitation block on WebGPU (x (N, C, S), W1 (R, C), W2 (C, R), bias-free linears):
 *   pooled = mean_S x;  hidden = relu(pooled W1^T);  gate = sigmoid(hidden W2^T);  out = x * gate
 * and its backward (gx, gW1, gW2), following the CPU reference (src/kernels/cpu/se.ts).
 *
 * Forward: se_rowsum (squeeze) -> se_fc (fc1 + ReLU, writes hidden) -> se_fc (fc2 + sigmoid,
 * writes gate) -> se_scale (channel scale). Backward: se_rowsum (d gate = sum_S gy * x) ->
 * se_fc (gW2, with the sigmoid derivative fused) -> se_fc (dz1 = (dz2 W2) masked by hidden > 0)
 * -> se_rowsum (pooled again) -> se_fc (gW1) -> se_fc (the pooled path, / S) -> se_scale
 * (gx = gy * gate + that). The (N, C, S) tensors are processed in chunks of planes when above
 * the binding limit; the small (N, C), (N, R) and weight tensors are bound whole.
 */
import type { SEParams, Storage } from '../backend.js';
import type { Binding, GpuRuntime, GpuStorage } from './runtime.js';
import { shader, shaderKey } from './shaders.js';
import { window } from './window.js';

function f32(op: string, ...s: Storage[]): void {
  for (const t of s) if (t.dtype !== 'float32') throw new TypeError(`${op}: webgpu supports float32 only, got ${t.dtype}`);
}

function planeChunks(rt: GpuRuntime, planes: number, S: number): [number, number][] {
  const align = Math.max(1, rt.limits.minStorageBufferOffsetAlignment / 4);
  const lim = Math.floor(rt.limits.maxStorageBufferBindingSize / 4) - align;
  const np = Math.max(1, Math.floor(lim / Math.max(1, S)));
  const out: [number, number][] = [];
  for (let p0 = 0; p0 < planes; p0 += np) out.push([p0, Math.min(np, planes - p0)]);
  return out;
}

/** out[r] = scale * sum_s a[r, s] (* b[r, s]) over rows of x-shaped (planes, S) tensors. */
function rowsum(rt: GpuRuntime, op: string, a: Storage, b: Storage | null, out: GpuStorage, planes: number, S: number, scale: number): void {
  // Rows of up to 1024 values: one invocation per row (serial vec4 loads). The workgroup tree
  // (64 lanes per row, 7 barriers) cost 8.7 ms of a 16x256x64 squeeze-excite forward on
  // lavapipe, where barriers are slow and 48 of the 64 lanes idled at S = 64.
  const V = S % 4 === 0 ? 4 : 1;
  const rows = S <= 1024 ? 1 : 0;
  const T = V === 4 ? 'vec4<f32>' : 'f32';
  const defs = { T, V, HSUM: V === 4 ? 'v.x + v.y + v.z + v.w' : 'v', MUL: b ? ` * B[P.b_off + i]` : '' };
  const name = rows ? 'se_rowsum_rows' : 'se_rowsum';
  const pipe = rt.pipeline(shaderKey(name, { V, p: b ? 1 : 0 }), () => shader(name, defs));
  for (const [p0, np] of planeChunks(rt, planes, S)) {
    const aw = window(rt, a, p0 * S, np * S);
    const bw = b ? window(rt, b, p0 * S, np * S) : aw;
    const u = [np, S, aw.rel / V, bw.rel / V, p0, 0, 0, 0];
    rt.dispatch(op, pipe, [aw.b, bw.b, out], { u, f: [scale, 0, 0, 0] }, rows ? Math.ceil(np / 64) : np);
  }
}

interface FC {
  I: number;
  J: number;
  K: number;
  sAi: number;
  sAk: number;
  sBj: number;
  sBk: number;
  scale?: number;
  act?: 0 | 1 | 2;
  /** A := A * gate * (1 - gate) with gate = aux (the sigmoid derivative). */
  dz?: Storage;
  /** out *= (mask > 0). */
  mask?: Storage;
}

function fc(rt: GpuRuntime, op: string, A: Storage, B: Storage, out: Storage, f: FC): void {
  const defs = { ACT: f.act ?? 0, DZ: f.dz ? 1 : 0, MASK: f.mask ? 1 : 0 };
  const pipe = rt.pipeline(shaderKey('se_fc', defs), () => shader('se_fc', defs));
  const binds: Binding[] = [A as GpuStorage, B as GpuStorage, (f.dz ?? A) as GpuStorage, (f.mask ?? A) as GpuStorage, out as GpuStorage];
  const u = [f.I, f.J, f.K, f.sAi, f.sAk, f.sBj, f.sBk, 0];
  rt.dispatch(op, pipe, binds, { u, f: [f.scale ?? 1, 0, 0, 0] }, Math.ceil((f.I * f.J) / 64));
}

/** out = x * gate[plane] (+ spread[plane]) over (planes, S). */
function scale(rt: GpuRuntime, op: string, x: Storage, gate: Storage, spread: Storage | null, out: Storage, planes: number, S: number): void {
  const V = S % 4 === 0 ? 4 : 1;
  const mode = spread ? 1 : 0;
  const pipe = rt.pipeline(shaderKey('se_scale', { V, mode }), () => shader('se_scale', { T: V === 4 ? 'vec4<f32>' : 'f32', V, MODE: mode }));
  const max = rt.limits.maxComputeWorkgroupsPerDimension;
  for (const [p0, np] of planeChunks(rt, planes, S)) {
    const xw = window(rt, x, p0 * S, np * S);
    const ow = window(rt, out, p0 * S, np * S);
    const u = [S, np, p0, xw.rel / V, 0, ow.rel / V, 0, 0];
    const gy = Math.min(np, max);
    rt.dispatch(op, pipe, [xw.b, gate as GpuStorage, (spread ?? gate) as GpuStorage, ow.b], { u }, [Math.ceil(S / V / 64), gy, Math.ceil(np / gy)]);
  }
}

export function seForward(rt: GpuRuntime, x: Storage, w1: Storage, w2: Storage, out: Storage, hidden: Storage, gate: Storage, p: SEParams): void {
  f32('seForward', x, w1, w2, out, hidden, gate);
  const { N, C, S, R } = p;
  if (N * C === 0) return;
  const pooled = rt.alloc('float32', N * C);
  rowsum(rt, 'seForward', x, null, pooled, N * C, S, 1 / S);
  // hidden[n, r] = relu(sum_c pooled[n, c] * w1[r, c])
  fc(rt, 'seForward', pooled, w1, hidden, { I: N, J: R, K: C, sAi: C, sAk: 1, sBj: C, sBk: 1, act: 1 });
  // gate[n, c] = sigmoid(sum_r hidden[n, r] * w2[c, r])
  fc(rt, 'seForward', hidden, w2, gate, { I: N, J: C, K: R, sAi: R, sAk: 1, sBj: R, sBk: 1, act: 2 });
  if (S > 0) scale(rt, 'seForward', x, gate, null, out, N * C, S);
  rt.free(pooled);
}

export function seBackward(
  rt: GpuRuntime,
  gy: Storage,
  x: Storage,
  w1: Storage,
  w2: Storage,
  hidden: Storage,
  gate: Storage,
  gx: Storage,
  gw1: Storage,
  gw2: Storage,
  p: SEParams,
): void {
  f32('seBackward', gy, x, w1, w2, hidden, gate, gx, gw1, gw2);
  const { N, C, S, R } = p;
  if (C * R === 0 && N * C * S === 0) return;
  const op = 'seBackward';
  const dgate = rt.alloc('float32', Math.max(1, N * C));
  const dz1 = rt.alloc('float32', Math.max(1, N * R));
  const pooled = rt.alloc('float32', Math.max(1, N * C));
  const spread = rt.alloc('float32', Math.max(1, N * C));
  rowsum(rt, op, gy, x, dgate, N * C, S, 1);
  // gw2[c, r] = sum_n dz2[n, c] * hidden[n, r],  dz2 = dgate * gate * (1 - gate)
  fc(rt, op, dgate, hidden, gw2, { I: C, J: R, K: N, sAi: 1, sAk: C, sBj: 1, sBk: R, dz: gate });
  // dz1[n, r] = (sum_c dz2[n, c] * w2[c, r]) * (hidden[n, r] > 0)
  fc(rt, op, dgate, w2, dz1, { I: N, J: R, K: C, sAi: C, sAk: 1, sBj: 1, sBk: R, dz: gate, mask: hidden });
  rowsum(rt, op, x, null, pooled, N * C, S, 1 / S);
  // gw1[r, c] = sum_n dz1[n, r] * pooled[n, c]
  fc(rt, op, dz1, pooled, gw1, { I: R, J: C, K: N, sAi: 1, sAk: R, sBj: 1, sBk: C });
  // spread[n, c] = sum_r dz1[n, r] * w1[r, c] / S
  fc(rt, op, dz1, w1, spread, { I: N, J: C, K: R, sAi: R, sAk: 1, sBj: 1, sBk: C, scale: 1 / S });
  if (S > 0) scale(rt, op, gy, gate, spread, gx, N * C, S);
  for (const t of [dgate, dz1, pooled, spread]) rt.free(t);
}
