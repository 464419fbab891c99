/** STUB: WebGPU kernels for this family are being written. */
import type { GpuRuntime } from './runtime.js';
void (0 as unknown as GpuRuntime);
export function maxPool2d(..._args: unknown[]): void {
  throw new Error('maxPool2d: not implemented on webgpu yet');
}
export function maxPool2dBackward(..._args: unknown[]): void {
  throw new Error('maxPool2dBackward: not implemented on webgpu yet');
}
export function avgPool2d(..._args: unknown[]): void {
  throw new Error('avgPool2d: not implemented on webgpu yet');
}
export function avgPool2dBackward(..._args: unknown[]): void {
  throw new Error('avgPool2dBackward: not implemented on webgpu yet');
}
export function adaptiveAvgPool2d(..._args: unknown[]): void {
  throw new Error('adaptiveAvgPool2d: not implemented on webgpu yet');
}
export function adaptiveAvgPool2dBackward(..._args: unknown[]): void {
  throw new Error('adaptiveAvgPool2dBackward: not implemented on webgpu yet');
}
