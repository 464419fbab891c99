/** STUB: WebGPU kernels for this family are being written. */
import type { GpuRuntime } from './runtime.js';
void (0 as unknown as GpuRuntime);
export function conv2d(..._args: unknown[]): void {
  throw new Error('conv2d: not implemented on webgpu yet');
}
export function conv2dBackwardInput(..._args: unknown[]): void {
  throw new Error('conv2dBackwardInput: not implemented on webgpu yet');
}
export function conv2dBackwardWeight(..._args: unknown[]): void {
  throw new Error('conv2dBackwardWeight: not implemented on webgpu yet');
}
