/** STUB: WebGPU kernels for this family are being written. */
import type { GpuRuntime } from './runtime.js';
void (0 as unknown as GpuRuntime);
export function sgdUpdate(..._args: unknown[]): void {
  throw new Error('sgdUpdate: not implemented on webgpu yet');
}
export function adamUpdate(..._args: unknown[]): void {
  throw new Error('adamUpdate: not implemented on webgpu yet');
}
