/** STUB: WebGPU kernels for this family are being written. */
import type { GpuRuntime } from './runtime.js';
void (0 as unknown as GpuRuntime);
export function matmul(..._args: unknown[]): void {
  throw new Error('matmul: not implemented on webgpu yet');
}
