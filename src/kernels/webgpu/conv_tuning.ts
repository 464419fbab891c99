/**
 * The conv2d kernels' knobs (see ./conv.ts), in a file of their own so that ./matmul.ts (whose
 * GEMV route obeys `gemv` and `cacheWeights`) need not import ./conv.ts, which imports it back.
 */
export type ConvVariant = 'sg' | 'tiled';

/** Knobs for tests and benchmarks; production code leaves them at 'auto'. */
export const convTuning: {
  variant: 'auto' | ConvVariant;
  /** sg forward / input gradient: repack the weights into vec4 rows (true), read them in place (false), or decide per shape. */
  packWeights: 'auto' | boolean;
  /** Force the number of reduction splits (weight gradient, and tiled split-K); 0 = automatic. */
  splits: number;
  /** Override the binding limit in bytes (tests of the chunking paths); 0 = the adapter's. */
  bindingLimitBytes: number;
  /** sg weight gradient: skip taps that never touch the input (zero-fill them) — always, never, or when <= 70% are live. */
  skipDeadTaps: 'auto' | boolean;
  /** Forward of depthwise convs (groups == C_in) through ./conv_depthwise.ts (true) or the GEMM kernels (false). */
  depthwise: boolean;
  /** sg weight gradient of layers with <= 4 input channels through ./conv_px.ts (true) or the general kernel (false). */
  pixelLanes: boolean;
  /** sg forward: keep a packed copy of unchanged weights across calls (repeated inference). */
  cacheWeights: boolean;
  /** sg forward of <= 4 output pixels with cached weights through ./conv_gemv.ts (true) or the GEMM (false). */
  gemv: boolean;
  /** sg forward / input-gradient register tile (rows TM, columns per lane TN) instead of the automatic one (benchmarks). */
  tile: { TM: number; TN: number } | null;
  /** sg forward: rows ordered (n, oh, ow) with vec4 output stores (true), (oh, ow, n) with scalar stores (false), or per shape (see rowMajorFwd). Needs OH*OW % 4 == 0. */
  rowMajor: 'auto' | boolean;
  /** sg weight gradient: shared channels per tile (a multiple of 4) instead of the automatic one (benchmarks); 0 = automatic. */
  bwdwTM: number;
  /** sg GEMMs: fewer subgroups per workgroup (down to 1) until a dispatch has this many workgroups (see sgGroups); 0 = always 8. */
  minWorkgroups: number;
} = { variant: 'auto', packWeights: 'auto', splits: 0, bindingLimitBytes: 0, skipDeadTaps: 'auto', depthwise: true, pixelLanes: true, cacheWeights: true, gemv: true, tile: null, rowMajor: 'auto', bwdwTM: 0, minWorkgroups: 16 };
