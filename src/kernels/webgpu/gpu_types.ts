/**
 * The WebGPU types that the package's public declarations mention, looked up in the consumer's
 * global scope rather than pulled in with a triple-slash reference to @webgpu/types. TypeScript's
 * own lib.dom declares the WebGPU types since TypeScript 6, and @webgpu/types declares the same
 * globals, so a package that pulls in @webgpu/types breaks every consumer compiling with the DOM
 * lib on TypeScript >= 6 (182 "Duplicate identifier 'GPU...'" errors with 7.0); without the DOM
 * lib, @webgpu/types itself needs DOM names. Here each type is whatever the consumer's globals
 * hold (lib.dom, or @webgpu/types listed in its tsconfig `types`), and `object` where neither is
 * present. This library compiles with @webgpu/types, so inside it these are the real types.
 */
type Globals = typeof globalThis;

/** `GPUDevice` from the consumer's WebGPU types (lib.dom or @webgpu/types), else `object`. */
export type WebGPUDevice = Globals extends { GPUDevice: { prototype: infer T } } ? T : object;
/** `GPUBuffer` from the consumer's WebGPU types, else `object`. */
export type WebGPUBuffer = Globals extends { GPUBuffer: { prototype: infer T } } ? T : object;
/** `GPUComputePipeline` from the consumer's WebGPU types, else `object`. */
export type WebGPUComputePipeline = Globals extends { GPUComputePipeline: { prototype: infer T } } ? T : object;
/** WebGPU's `GPUPowerPreference` (spelled out: it is a type alias, not reachable through globalThis). */
export type WebGPUPowerPreference = 'low-power' | 'high-performance';
