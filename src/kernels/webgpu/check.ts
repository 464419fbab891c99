/**
 * Device-side checks of data only the GPU holds (shaders/check_index.wgsl): failures surface as an
 * Error at the next readback (GpuRuntime.deviceCheck), like CUDA's device asserts.
 */
import type { Storage } from '../backend.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { shader } from './shaders.js';

/** Raises `message` at the next readback if an int32 of `s` is outside [0, hi) and not `ignore`. */
export function checkIndex(rt: GpuRuntime, s: Storage, hi: number, ignore: number, message: string): void {
  if (s.dtype !== 'int32') throw new TypeError(`checkIndex: expects int32 indices, got ${s.dtype}`);
  const g = s as GpuStorage;
  if (g.size === 0) return;
  const check = rt.deviceCheck(message);
  const pipe = rt.pipeline('check_index', () => shader('check_index'));
  // windows that fit a binding, starting at aligned elements
  const align = Math.max(1, rt.limits.minStorageBufferOffsetAlignment / 4);
  const chunk = Math.max(align, Math.floor(rt.limits.maxStorageBufferBindingSize / 4 / align) * align);
  for (let start = 0; start < g.size; start += chunk) {
    const n = Math.min(chunk, g.size - start);
    rt.dispatch('checkIndex', pipe, [{ storage: g, offset: start, size: n }, check.storage], { u: [n, hi | 0, ignore | 0, check.id] }, Math.ceil(n / 256));
  }
}
