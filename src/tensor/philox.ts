/** Philox4x32-10: defined in src/core/philox.ts (below both the kernels and the tensor layer). */
export * from '../core/philox.js';
