/**
 * The conv2d forward's optional epilogue, applied by the sg GEMM (conv_sg_fwd) and GEMV
 * (conv_sg_gemv) kernels in their store: inference's conv -> BatchNorm2d (eval) -> ReLU as one
 * pass. Without it the batch_norm is a separate pass that reads and writes every activation
 * again (25.8 of 273 ms of a full-width batch-16 forward on lavapipe, 12 of its 46 dispatches).
 */
import type { GpuStorage } from './runtime.js';

/**
 * What the forward does to each output after the bias, per output channel co: an eval-mode
 * batch_norm's affine y = (v - coef[co].x) * coef[co].y + coef[co].z (coefficients from
 * batchNormEvalCoef), then relu when `relu`. Fusing it into the GEMM's store saves inference a
 * read and a write of every activation and a dispatch per layer.
 */
export interface ConvEpilogue {
  coef: GpuStorage;
  relu: boolean;
  /**
   * Then max_pool2d(kernel 2, stride 2): the output is (N, C_out, OH/2, OW/2) (OH, OW even). The
   * sg GEMM orders its rows so that each 4 are a 2x2 window and stores their max: no pooling
   * pass, a quarter of the stores.
   */
  pool: boolean;
}

/**
 * The forward's optional epilogue (see ConvEpilogue): 0 none, 1 the per-channel affine of an eval
 * batch_norm, 2 that and relu. Declares `coef` at binding `at` (the uniforms move one up).
 */
export function epilogueDecl(epi: number, at: number): { EPIDECL: string; PB: number } {
  return epi ? { EPIDECL: `@group(0) @binding(${at}) var<storage, read> coef: array<vec4<f32>>;`, PB: at + 1 } : { EPIDECL: '', PB: at };
}

/**
 * WGSL applying epilogue `epi` to \`var v\` of type T (f32 or vec4<f32>) with the coefficients `k` (a vec4 from coef[]; relu
 * as select: NaN stays NaN, like the relu kernel). Kernels load `k` once per output channel
 * (epilogueLoad), not per store: on lavapipe every load is a per-lane loop and the compiler cannot
 * merge loads across the stores to `out`.
 */
export function epilogueExpr(epi: number, k: string, indent: string, T = 'f32'): string {
  if (!epi) return '';
  return `\n${indent}v = (v - ${k}.x) * ${k}.y + ${k}.z;` + (epi === 2 ? `\n${indent}v = select(v, ${T}(0.0), v < ${T}(0.0));` : '');
}

/** WGSL declaring `let name = coef[index]` when there is an epilogue. */
export function epilogueLoad(epi: number, name: string, index: string, indent: string): string {
  return epi ? `${indent}let ${name} = coef[${index}];\n` : '';
}

/** epilogue code of an optional ConvEpilogue */
export const epiCode = (e: ConvEpilogue | null): number => (e ? (e.relu ? 2 : 1) : 0);
