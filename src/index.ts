/**
 * resemotenet-webgpu: a tensor library with hand-written WebGPU kernels, a CPU reference
 * backend and PyTorch-style autograd, nn and ResEmoteNet.
 */
export * from './tensor/index.js';
export { initWebGPU, webgpuRuntime, gpuMemory, GpuOutOfMemoryError, type AdapterReport } from './kernels/webgpu/index.js';
export * as nn from './nn/index.js';
