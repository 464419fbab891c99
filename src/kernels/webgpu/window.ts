/**
 * Binding windows: WebGPU binds at most maxStorageBufferBindingSize bytes of a buffer, at offsets
 * that are multiples of minStorageBufferOffsetAlignment; kernels that work on part of a large
 * storage bind a window over it and add the window-relative offset themselves.
 */
import type { Storage } from '../backend.js';
import type { Binding, GpuRuntime, GpuStorage } from './runtime.js';

/** A binding window over elements [start, start + len) whose offset honours the adapter's alignment. */
export function window(rt: GpuRuntime, s: Storage, start: number, len: number): { b: Binding; rel: number } {
  const g = s as GpuStorage;
  const align = Math.max(1, rt.limits.minStorageBufferOffsetAlignment / 4);
  const base = Math.floor(start / align) * align;
  const size = Math.max(1, Math.min(g.size - base, start - base + len));
  return { b: { storage: g, offset: base, size }, rel: start - base };
}

/**
 * Zeroes elements [start, start + len) of a float32 storage (the queue's clearBuffer: a memset on
 * lavapipe, ~5x faster than a store kernel). Kept as the kernels' name for it.
 */
export function zeroRange(rt: GpuRuntime, s: Storage, start: number, len: number): void {
  rt.clear(s as GpuStorage, start, len);
}
