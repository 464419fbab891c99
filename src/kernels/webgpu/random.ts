/** STUB: WebGPU kernels for this family are being written. */
import type { GpuRuntime } from './runtime.js';
void (0 as unknown as GpuRuntime);
export function random(..._args: unknown[]): void {
  throw new Error('random: not implemented on webgpu yet');
}
