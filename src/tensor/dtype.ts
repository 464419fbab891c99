/** Element types: defined in src/core/dtype.ts (below both the kernels and the tensor layer). */
export * from '../core/dtype.js';
