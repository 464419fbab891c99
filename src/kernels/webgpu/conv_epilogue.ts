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
  /**
   * A tensor shaped as the output (N, C_out, OH, OW), added after the affine and before the relu:
   * a residual block's relu(bn2(conv2(h)) + shortcut). Not with `pool`.
   */
  residual: GpuStorage | null;
}

/**
 * The forward's epilogue as a bit set: 1 the per-channel affine of an eval batch_norm, 2 relu,
 * 4 a residual added after the affine and before the relu (epiCode).
 */
export const EPI_AFFINE = 1;
export const EPI_RELU = 2;
export const EPI_RESIDUAL = 4;

/** The epilogue bits of an optional ConvEpilogue. */
export const epiCode = (e: ConvEpilogue | null): number => (e ? EPI_AFFINE | (e.relu ? EPI_RELU : 0) | (e.residual ? EPI_RESIDUAL : 0) : 0);

/**
 * Declares `coef` at binding `at` and, with a residual, `res` (elements of type T, as `out`) at
 * `at + 1`; PB is the uniforms' binding after them.
 */
export function epilogueDecl(epi: number, at: number, T = 'f32'): { EPIDECL: string; PB: number } {
  if (!epi) return { EPIDECL: '', PB: at };
  let decl = `@group(0) @binding(${at}) var<storage, read> coef: array<vec4<f32>>;`;
  if (epi & EPI_RESIDUAL) decl += `\n@group(0) @binding(${at + 1}) var<storage, read> res: array<${T}>;`;
  return { EPIDECL: decl, PB: at + (epi & EPI_RESIDUAL ? 2 : 1) };
}

/**
 * WGSL applying epilogue `epi` to \`var v\` of type T (f32 or vec4<f32>) with the coefficients `k`
 * (a vec4 from coef[]) and, with a residual, res[resIndex]; relu as select: NaN stays NaN, like
 * the relu kernel. Kernels load `k` once per output channel (epilogueLoad), not per store: on
 * lavapipe every load is a per-lane loop and the compiler cannot merge loads across the stores
 * to `out`.
 */
export function epilogueExpr(epi: number, k: string, indent: string, T = 'f32', resIndex = ''): string {
  if (!epi) return '';
  let s = `\n${indent}v = (v - ${k}.x) * ${k}.y + ${k}.z;`;
  if (epi & EPI_RESIDUAL) s += `\n${indent}v += res[${resIndex}];`;
  if (epi & EPI_RELU) s += `\n${indent}v = select(v, ${T}(0.0), v < ${T}(0.0));`;
  return s;
}

/** WGSL declaring `let name = coef[index]` when there is an epilogue. */
export function epilogueLoad(epi: number, name: string, index: string, indent: string): string {
  return epi ? `${indent}let ${name} = coef[${index}];\n` : '';
}
