/** STUB: WebGPU kernels for this family are being written. */
import type { GpuRuntime } from './runtime.js';
void (0 as unknown as GpuRuntime);
export function batchNormTrain(..._args: unknown[]): void {
  throw new Error('batchNormTrain: not implemented on webgpu yet');
}
export function batchNormEval(..._args: unknown[]): void {
  throw new Error('batchNormEval: not implemented on webgpu yet');
}
export function batchNormBackward(..._args: unknown[]): void {
  throw new Error('batchNormBackward: not implemented on webgpu yet');
}
