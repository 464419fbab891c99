/** STUB: WebGPU kernels for this family are being written. */
import type { GpuRuntime } from './runtime.js';
void (0 as unknown as GpuRuntime);
export function softmax(..._args: unknown[]): void {
  throw new Error('softmax: not implemented on webgpu yet');
}
export function softmaxBackward(..._args: unknown[]): void {
  throw new Error('softmaxBackward: not implemented on webgpu yet');
}
export function crossEntropy(..._args: unknown[]): void {
  throw new Error('crossEntropy: not implemented on webgpu yet');
}
export function crossEntropyBackward(..._args: unknown[]): void {
  throw new Error('crossEntropyBackward: not implemented on webgpu yet');
}
