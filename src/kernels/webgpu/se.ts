/** STUB: WebGPU kernels for this family are being written. */
import type { GpuRuntime } from './runtime.js';
void (0 as unknown as GpuRuntime);
export function seForward(..._args: unknown[]): void {
  throw new Error('seForward: not implemented on webgpu yet');
}
export function seBackward(..._args: unknown[]): void {
  throw new Error('seBackward: not implemented on webgpu yet');
}
