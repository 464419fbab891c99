/**
 * Fused in-place optimizer steps (shaders/sgd.wgsl, shaders/adam.wgsl) following PyTorch's
 * single-tensor SGD and Adam/AdamW as the cpu reference (src/kernels/cpu/optim.ts) does, in f32
 * (the reference computes each element in f64 and rounds once). Bias corrections and step sizes
 * are computed on the host in f64. Storages above the storage-binding limit (e.g. a 2048 x 2048
 * x 3 x 3 float32 weight, 151 MB) are updated in windows of at most the limit, all operands
 * bound at the same element offsets. The kernels read and write vec4s, 4 per invocation.
 */
import type { AdamParams, SGDParams, Storage } from '../backend.js';
import type { Binding, GpuRuntime, GpuStorage } from './runtime.js';
import { shader, shaderKey, withLiterals } from './shaders.js';

/** Workgroup size and vec4s per invocation of shaders/sgd.wgsl and adam.wgsl. */
const WG = 64;
const PER_INVOCATION = 4;
/** Windows are multiples of this many elements (keeps them 4-aligned and offset-aligned). */
const CHUNK_UNIT = 16384;

function f32Only(op: string, ...s: (Storage | null)[]): void {
  for (const x of s) if (x && x.dtype !== 'float32') throw new TypeError(`${op}: webgpu supports float32 only, got ${x.dtype}`);
}

/**
 * Runs an elementwise update over `size` elements of every operand, in windows under the binding
 * limit. With `tail`, `pipeline` covers the whole vec4s of a window and `tail` (one invocation)
 * its partial last vec4.
 */
function chunked(rt: GpuRuntime, op: string, pipeline: GPUComputePipeline, operands: GpuStorage[], size: number, u: number[], f: number[], tail: GPUComputePipeline | null = null): void {
  const limit = Math.floor(rt.limits.maxStorageBufferBindingSize / 4);
  const align = Math.max(1, rt.limits.minStorageBufferOffsetAlignment / 4);
  const chunk = Math.max(align, Math.floor(limit / CHUNK_UNIT) * CHUNK_UNIT);
  for (let start = 0; start < size; start += chunk) {
    const n = Math.min(chunk, size - start);
    // Stand-ins for absent operands are tiny storages: bound whole. The kernels read whole vec4s,
    // so windows are rounded up to 4 elements (buffers are allocated in multiples of 16 bytes).
    const bindings: Binding[] = operands.map((s) =>
      s.size < size ? s : { storage: s, offset: start, size: Math.min(Math.ceil(n / 4) * 4, Math.floor(s.buffer.size / 4) - start) },
    );
    const vecs = tail ? Math.floor(n / 4) : Math.ceil(n / 4);
    if (vecs > 0) rt.dispatch(op, pipeline, bindings, { u: [n, ...u], f }, Math.ceil(vecs / (WG * PER_INVOCATION)));
    if (tail && n % 4 !== 0) rt.dispatch(op, tail, bindings, { u: [n, ...u], f }, 1);
  }
}

export function sgdUpdate(rt: GpuRuntime, param: Storage, grad: Storage, momentumBuf: Storage | null, p: SGDParams): void {
  f32Only('sgdUpdate', param, grad, momentumBuf);
  if (p.size === 0) return;
  const useBuf = p.momentum !== 0 && momentumBuf !== null;
  const dummy = useBuf ? null : rt.alloc('float32', 4);
  const flags = (p.maximize ? 1 : 0) | (useBuf ? 2 : 0) | (p.firstStep ? 4 : 0) | (p.nesterov ? 8 : 0);
  // flags and a zero weight decay as literals (see shaders/sgd.wgsl): one pipeline per combination
  const WD = p.weightDecay === 0 ? '0.0' : 'P.weight_decay';
  const make = (TAIL: number) => rt.pipeline(shaderKey('sgd', { TAIL, flags, WD }), () => withLiterals(shader('sgd', { TAIL, WD }), { flags }));
  const pipeline = make(0);
  const tail = make(1);
  const ops = [param, grad, useBuf ? momentumBuf! : dummy!] as GpuStorage[];
  chunked(rt, 'sgdUpdate', pipeline, ops, p.size, [flags, 0, 0], [p.lr, p.momentum, 1 - p.dampening, p.weightDecay], tail);
  if (dummy) rt.free(dummy);
}

export function adamUpdate(rt: GpuRuntime, param: Storage, grad: Storage, expAvg: Storage, expAvgSq: Storage, maxExpAvgSq: Storage | null, p: AdamParams): void {
  f32Only('adamUpdate', param, grad, expAvg, expAvgSq, maxExpAvgSq);
  if (p.size === 0) return;
  const ams = p.amsgrad && maxExpAvgSq !== null;
  const dummy = ams ? null : rt.alloc('float32', 4);
  const flags = (p.maximize ? 1 : 0) | (p.decoupled ? 2 : 0) | (ams ? 4 : 0);
  const bc1 = 1 - Math.pow(p.beta1, p.step);
  const bc2Sqrt = Math.sqrt(1 - Math.pow(p.beta2, p.step));
  const f = [p.beta1, 1 - p.beta1, p.beta2, 1 - p.beta2, p.weightDecay, 1 - p.lr * p.weightDecay, p.lr / bc1, bc2Sqrt, p.eps];
  const WD = p.weightDecay === 0 ? '0.0' : 'P.weight_decay';
  const pipeline = rt.pipeline(shaderKey('adam', { flags, WD }), () => withLiterals(shader('adam', { WD }), { flags }));
  const ops = [param, grad, expAvg, expAvgSq, ams ? maxExpAvgSq! : dummy!] as GpuStorage[];
  chunked(rt, 'adamUpdate', pipeline, ops, p.size, [flags, 0, 0], f);
  if (dummy) rt.free(dummy);
}
