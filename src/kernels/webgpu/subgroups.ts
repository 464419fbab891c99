/**
 * Which adapters get the subgroup ("sg") kernels, and the knobs tests use to force either path.
 *
 * On software adapters (lavapipe/llvmpipe, SwiftShader) every storage load is a loop over the
 * SIMD lanes (~60-80 cycles per load instruction, vector or scalar) and a workgroup barrier is a
 * thread synchronisation, while a subgroup operation is a register shuffle. Kernels written for
 * them therefore load vec4s, keep one row (or one channel) per subgroup and combine lanes with
 * subgroupAdd instead of workgroup-memory trees. They need the `subgroups` feature with a FIXED
 * subgroup size (so that a subgroup is a known, contiguous block of local invocation indices).
 * Hardware GPUs keep the workgroup-memory kernels, which are the right design there.
 */
import type { GpuRuntime } from './runtime.js';

/** Subgroup size usable by the sg kernels (fixed 4, 8 or 16), or 0. */
export function sgSize(rt: GpuRuntime): number {
  let v = sgSizes.get(rt);
  if (v === undefined) {
    const info = (rt.device as unknown as { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
    const lo = info?.subgroupMinSize ?? 0;
    const hi = info?.subgroupMaxSize ?? 0;
    v = rt.report.features.includes('subgroups') && lo === hi && (lo === 4 || lo === 8 || lo === 16) ? lo : 0;
    sgSizes.set(rt, v); // fixed for the device's life (read per kernel call: the adapter info getter is slow)
  }
  return v;
}
const sgSizes = new WeakMap<GpuRuntime, number>();

/** Subgroups per workgroup in the sg kernels of reduce and batch_norm. */
export const SG_PER_WG = 8;

/**
 * Per-op choice between the sg kernels and the workgroup-memory kernels: 'auto' (sg on software
 * adapters that support it), true (sg; an error where unsupported), false (never). Production
 * code leaves them at 'auto'; the cross-check tests run both paths on the same data.
 */
export const sgTuning: { reduce: 'auto' | boolean; batchNorm: 'auto' | boolean } = { reduce: 'auto', batchNorm: 'auto' };

/** The subgroup size to use for `op` under its knob, or 0 for the workgroup-memory kernels. */
export function sgFor(rt: GpuRuntime, op: keyof typeof sgTuning): number {
  const knob = sgTuning[op];
  if (knob === false) return 0;
  const sg = sgSize(rt);
  if (knob === true) {
    if (!sg) throw new Error(`${op}: the sg kernels need the subgroups feature with a fixed subgroup size of 4, 8 or 16`);
    return sg;
  }
  return rt.report.isSoftware ? sg : 0;
}
