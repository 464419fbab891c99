/**
 * Binding windows: WebGPU binds at most maxStorageBufferBindingSize bytes of a buffer, at offsets
 * that are multiples of minStorageBufferOffsetAlignment; kernels that work on part of a large
 * storage bind a window over it and add the window-relative offset themselves.
 */
import type { Storage } from '../backend.js';
import type { Binding, GpuRuntime, GpuStorage } from './runtime.js';
import { shader, shaderKey } from './shaders.js';

/** A binding window over elements [start, start + len) whose offset honours the adapter's alignment. */
export function window(rt: GpuRuntime, s: Storage, start: number, len: number): { b: Binding; rel: number } {
  const g = s as GpuStorage;
  const align = Math.max(1, rt.limits.minStorageBufferOffsetAlignment / 4);
  const base = Math.floor(start / align) * align;
  const size = Math.max(1, Math.min(g.size - base, start - base + len));
  return { b: { storage: g, offset: base, size }, rel: start - base };
}

/**
 * Zeroes elements [start, start + len) of a float32 storage: vec4 stores for the 16-byte-aligned
 * bulk, scalar stores for the unaligned head and tail (a vec4 store costs one per-lane loop on
 * lavapipe, like a scalar one). Split into windows within the binding limit.
 */
export function zeroRange(rt: GpuRuntime, s: Storage, start: number, len: number): void {
  if (len <= 0) return;
  const scalar = (a: number, n: number) => {
    if (n <= 0) return;
    const w = window(rt, s, a, n);
    const pipe = rt.pipeline(shaderKey('conv_zero', { T: 'f32', PER: 1 }), () => shader('conv_zero', { T: 'f32', PER: 1 }));
    rt.dispatch('zero', pipe, [w.b], { u: [n, w.rel] }, Math.ceil(n / 256));
  };
  const a4 = Math.min(start + len, Math.ceil(start / 4) * 4);
  const b4 = Math.max(a4, Math.floor((start + len) / 4) * 4);
  scalar(start, a4 - start);
  const align = Math.max(1, rt.limits.minStorageBufferOffsetAlignment / 4);
  const lim = Math.floor((Math.floor(rt.limits.maxStorageBufferBindingSize / 4) - align) / 64) * 64;
  // 16 vec4 stores per invocation: per-invocation overhead dominates a 1-store kernel on lavapipe
  // (151 MB: 150 ms of CPU at 1 per invocation, 69 at 4, 42 at 16, 50 at 64)
  const PER = 16;
  const pipe4 = rt.pipeline(shaderKey('conv_zero', { T: 'vec4<f32>', PER }), () => shader('conv_zero', { T: 'vec4<f32>', PER }));
  for (let a = a4; a < b4; a += lim) {
    const n = Math.min(lim, b4 - a);
    const w = window(rt, s, a, n); // window bases are multiples of the offset alignment (>= 4 elements)
    rt.dispatch('zero', pipe4, [w.b], { u: [n / 4, w.rel / 4] }, Math.ceil(n / 4 / 256 / PER));
  }
  scalar(b4, start + len - b4);
}

