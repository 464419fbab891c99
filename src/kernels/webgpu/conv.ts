/**
 * conv2d on WebGPU: forward, input gradient and weight gradient, each an implicit GEMM (the
 * im2col matrix is never materialized; kernels compute the convolution's index arithmetic).
 *
 * Two kernel families, chosen per adapter (and overridable through `convTuning` for tests):
 *
 * - "sg" (software adapters: lavapipe/llvmpipe, SwiftShader; needs the `subgroups` feature with a
 *   fixed subgroup size of 4, 8 or 16). On lavapipe every storage-buffer load becomes a loop over
 *   the 8 SIMD lanes with a bounds check per lane, uniform address or not (Mesa 25.0: ~60-80
 *   cycles per load instruction), while a multiply-add costs ~1 cycle. So these kernels minimize
 *   LOAD INSTRUCTIONS per multiply-add: operands are repacked channels-last (`conv_pack`, one
 *   cheap pass) so that 4 channels are one vec4 load; the operand shared by all lanes of a
 *   subgroup is loaded cooperatively (each lane loads a different row) and redistributed with
 *   subgroupBroadcast (register shuffles); each lane keeps TM x TN accumulators in registers.
 *   No workgroup memory (it costs the same per-lane loops plus a copy).
 * - "tiled" (hardware GPUs): the classic 64x64 workgroup-memory tile GEMM (conv_tiled.wgsl),
 *   with split-K and a reduction pass when the GEMM has few output tiles and a long K.
 *
 * Measured on lavapipe (Mesa 25.0.7, LLVM 15, 2 cores of a Xeon with AVX-512, 256-bit lanes),
 * batch 16, GFLOP/s = 2*N*C_out*OH*OW*C_in/groups*KH*KW / time (bench/conv.ts). The machine was
 * shared with other jobs (load average ~9 on 2 cores), so the wall times are inflated ~4x; "wrk"
 * is the CPU time of lavapipe's worker threads / 2 cores, what an idle machine approaches:
 *                                   wall ms  GFLOP/s   wrk ms  GFLOP/s   x forward (wrk)
 *   16x128x16x16->256 3x3 p1 fwd      375     6.4       84.3    28.7
 *                            bwd-in   401     6.0       88.6    27.3     1.05
 *                            bwd-w    431     5.6       94.3    25.6     1.12
 *   16x1024x2x2->2048 3x3 s2 fwd       56    10.8       11.4    52.9
 *                            bwd-in   147     4.1       30.7    19.7     2.69
 *                            bwd-w    204     3.0       37.1    16.3     3.25
 * (the last one writes the 75 MB weight gradient with per-lane scalar stores: ~60% of its time)
 * Earlier designs on the first shape: a "rows" kernel (workgroup-uniform rows, per-lane weight
 * loads, no subgroups) 4.8 GFLOP/s wall, TensorFlow.js' WebGPU backend 4.4.
 *
 * Binding limits: every buffer is bound through windows of at most maxStorageBufferBindingSize
 * bytes: the batch is processed in chunks (activations), the output channels in chunks
 * (weights; e.g. 2048x2048x3x3 float32 = 151 MB), the input gradient accumulates over output-
 * channel chunks and the weight gradient over batch chunks. Grids above 65535 workgroups are
 * spread over x and y by the runtime (kernels use a linear workgroup id).
 * Packed copies of activations are made per call and freed at once (the runtime returns them to
 * its pool after the commands that use them are submitted). Packed weights are kept across calls
 * while the weights are unchanged (from the 2nd call: repeated inference; see
 * GpuRuntime.cachedDerived), and with them at most 4 output pixels in all (batch 1 on the deep
 * 2x2 and 1x1 maps) go through the GEMV kernel of ./conv_gemv.ts.
 *
 * Specialised sg paths beside the GEMMs, each with a knob in `convTuning` and tested against
 * the GEMM and the cpu reference: depthwise forward (./conv_depthwise.ts), the weight gradient
 * of layers with <= 4 input channels (./conv_px.ts: lanes over pixels), the GEMV above; the
 * register tile of the GEMMs grows with the problem (sgTile). Together with the subgroup
 * batch_norm and reduction kernels (./subgroups.ts) they took the ResEmoteNet training step on
 * lavapipe from 347-355 to 281-309 ms (width 1/4, 48x48, batch 64) and from 1350 to 1176 ms
 * (full width, batch 16), and full-width batch-1 inference from ~71 to ~41 ms (2026-12-05).
 *
 * Inference epilogues (./conv_epilogue.ts, conv2dEpilogue): the sg GEMM and GEMV apply an eval
 * batch_norm, a residual, relu and (GEMM) a 2x2 max pool in their store, so ResEmoteNet's eval
 * forward is 12 conv dispatches plus the head; the forward orders its rows by 2x2 window for
 * the pool, (n, oh, ow) with vec4 stores on large maps with short reductions, else batch
 * fastest. Full width, batch 16: 273 -> 218 ms replayed (bench/profile_step.ts --infer).
 *
 * Training reuses channels-last packs (Conv2dParams.reuse, GpuRuntime.keepDerived): the weight
 * gradient takes the forward's pack of x and the input gradient's pack of gy, counted per take so
 * that a residual block's conv1 and projection shortcut share the pack of the block input: 4
 * activation packs per conv become 2. The input gradient compiles its strides as literals (a
 * division by a uniform is a per-lane scalar loop on lavapipe; 10-15 % of its time at stride 1),
 * the weight gradient takes 64 shared channels per tile from 128 (12-16 % on the full-width
 * layers), and a single live tap at the output pixel's own input pixel (3x3 p1 on a 1x1 map)
 * runs, in repeated inference, as the 1x1 conv of a cached tap slice.
 *
 * Load costs measured on lavapipe (2026-12-05, 8-lane vec4 loads in a loop, 2 cores): ~13 ns per
 * storage load, ~10 ns from a uniform buffer (a gather, no per-lane branches; but 64 KiB at most),
 * the same for a subgroup-uniform address as for a divergent one. Why: Mesa's gallivm takes its
 * scalar-load-and-broadcast path only for addresses it can prove uniform syntactically
 * (nir_src_is_always_uniform: constants and push constants, and arithmetic on them); a loop
 * counter or a workgroup id is not, so every other load is the per-lane loop. A load at a
 * CONSTANT index costs ~1/10 of a divergent one (~3 vs ~30 core-ns per 8-lane vec4, .tmpkb-style
 * throughput test) - but only fully unrolled code has constant indices: a direct kernel for the
 * 3-channel stem with every weight at a constant index (64x3x48x48->16: 7.4 ms vs the GEMM's
 * 10.4) took 1.7 s to compile for 16 output channels and 13.7 s for 64, so it was dropped.
 *
 * Dispatches of few tiles get fewer subgroups per workgroup (conv_geo.ts sgGroups): lavapipe
 * splits a dispatch's workgroups statically over its threads, and the weight gradient of
 * 64x128x3x3->128 was ONE workgroup of 8 tiles (2.9 ms on 2 threads as on 1); with it the weight
 * gradient splits its reduction only where each split keeps >= 2048 positions (a split costs a
 * conv_reduce pass).
 *
 * Tried on lavapipe and dropped (2026-12-05), for whoever tries next:
 * - a "block" forward for stride-1 3x3 convs, a subgroup on a 2x16 pixel block loading the 4x18
 *   input patch once per channel quad (9 input loads per lane instead of 36, all 9 taps from
 *   subgroupBroadcast): correct, but 63 vs 53 ms (16x64x32x32->128) and 64 vs 50 ms
 *   (16x128x16x16->256), and 4.8 s to compile its unrolled 1152-dot body. Fewer loads did not
 *   pay: the GEMM is not bound by its load count alone.
 * - Winograd F(2x2, 3x3): its 16 GEMMs alone, through this GEMM as a grouped 1x1 conv, took
 *   50 ms for the 16x64x32x32->128 layer (the direct conv 56 ms) before any transform.
 * - register tiles 64x4, 32x8, 64x2: slower than 32x4 on the stem layers (63-74 vs 56 ms);
 *   LP_NATIVE_VECTOR_WIDTH=512 (16-lane subgroups on this AVX-512 host): 52.6 vs ~56 ms on
 *   the same layer with 32x4 tiles, the whole batch-16 forward slower (257 vs 220 ms) with the
 *   tiles tuned for 8 lanes.
 * - textures instead of storage buffers for the operands: a textureLoad cost 0.6-1.9x a
 *   storage load in a microbenchmark (too noisy to build on).
 * - the forward's geometry (H, W, OH, OW, strides, padding) as literals: no change (its index
 *   split is per tile, not per multiply-add); forward / input-gradient tiles 64x4, 32x8, 48x4 on
 *   the full-width layers: no gain beyond the noise; weight-gradient tiles of 96 and 128 shared
 *   channels: slower than 64 (more spills).
 *
 * Files: this one holds the sg family's host side (forward, input gradient, weight gradient: tile
 * and packing choices, chunking, reuse of packs) and the entry points; ./conv_sg_codegen.ts
 * generates the sg kernels' WGSL, ./conv_tiled.ts is the hardware-GPU family, ./conv_geo.ts the
 * geometry both share, and ./conv_gemv.ts, conv_depthwise.ts, conv_px.ts, conv_im2col.ts,
 * conv_epilogue.ts, conv_pack.ts the specialised paths.
 */
import type { Conv2dParams, Storage } from '../backend.js';
import { GpuStorage, type Binding, type GpuRuntime } from './runtime.js';
import { shader } from './shaders.js';
import { depthwiseForward, isDepthwise } from './conv_depthwise.js';
import { sgSize } from './subgroups.js';
import { window, zeroRange } from './window.js';
import { pack } from './conv_pack.js';
import { pxBackwardWeight } from './conv_px.js';
import { im2colApplies, im2colBackwardWeight } from './conv_im2col.js';
import { epiCode, type ConvEpilogue } from './conv_epilogue.js';
import { gemvApplies, gemvFits, gemvForward, packGemvWeights } from './conv_gemv.js';
import { convTuning, type ConvVariant } from './conv_tuning.js';
import { batchChunks, bindLimit, chunkRows, geo, geoWords, liveTaps, reuseKey, sgGroups, up4, weightChunks, type Geo, type WChunk } from './conv_geo.js';
import { sgBwdwDefs, sgPipeline, sgRowColDefs, type RowOrder } from './conv_sg_codegen.js';
import { tiledBackwardInput, tiledBackwardWeight, tiledForward } from './conv_tiled.js';

export { window, zeroRange } from './window.js';
export type { ConvEpilogue } from './conv_epilogue.js';
export { convTuning, type ConvVariant } from './conv_tuning.js';
export { liveTaps, sgGroups } from './conv_geo.js';

/** The kernel family for this adapter: sg on software adapters with fixed-size subgroups, else tiled. */
export function convVariant(rt: GpuRuntime): ConvVariant {
  if (convTuning.variant === 'sg') {
    if (!sgSize(rt)) throw new Error('conv2d: the sg variant needs the subgroups feature with a fixed subgroup size of 4, 8 or 16');
    return 'sg';
  }
  if (convTuning.variant === 'tiled') return 'tiled';
  return rt.report.isSoftware && sgSize(rt) ? 'sg' : 'tiled';
}

// ---------------------------------------------------------------------------------------------
// sg variant: forward

/**
 * Fraction of (output row, tap) pairs whose tap reads inside the image (forward) or hits an
 * output position (input gradient, stride phases included): the share of the weights that the
 * sg kernels actually load per row tile, since they skip taps invalid for a whole tile.
 */
function tapFraction(g: Geo, kind: 'fwd' | 'bwdin'): number {
  const p = g.p;
  const frac = (rows: number, taps: number, valid: (r: number, k: number) => boolean): number => {
    let n = 0;
    for (let r = 0; r < rows; r++) for (let k = 0; k < taps; k++) if (valid(r, k)) n++;
    return n / Math.max(1, rows * taps);
  };
  if (kind === 'fwd') {
    const fh = frac(p.OH, p.KH, (oh, kh) => oh * p.strideH - p.padH + kh * p.dilationH >= 0 && oh * p.strideH - p.padH + kh * p.dilationH < p.H);
    const fw = frac(p.OW, p.KW, (ow, kw) => ow * p.strideW - p.padW + kw * p.dilationW >= 0 && ow * p.strideW - p.padW + kw * p.dilationW < p.W);
    return fh * fw;
  }
  const ok = (i: number, k: number, pad: number, dil: number, s: number, O: number) => {
    const t = i + pad - k * dil;
    return t >= 0 && t % s === 0 && t / s < O;
  };
  const fh = frac(p.H, p.KH, (ih, kh) => ok(ih, kh, p.padH, p.dilationH, p.strideH, p.OH));
  const fw = frac(p.W, p.KW, (iw, kw) => ok(iw, kw, p.padW, p.dilationW, p.strideW, p.OW));
  return fh * fw;
}

/**
 * Whether the sg forward / input-gradient GEMM should read a packed (vec4) copy of the weights.
 * Packing costs ~1.25 load instructions per weight (4 strided scalars + a vec4 store per 4);
 * the GEMM then saves 3/4 of its weight loads on every row tile, but only on the taps it does
 * not skip. Pack when rowTiles * tapFraction * 3/4 clearly exceeds 1.25.
 */
function shouldPack(g: Geo, kind: 'fwd' | 'bwdin', rowTiles: number): boolean {
  if (convTuning.packWeights !== 'auto') return convTuning.packWeights;
  return rowTiles * tapFraction(g, kind) >= 4;
}

/**
 * Tile shape of the sg forward / input-gradient GEMMs for M rows and `cols` columns: TM rows per
 * subgroup, TN columns per lane. Larger tiles cut the load instructions per multiply-add (each
 * operand vec4 feeds more dots) once there are enough tiles to keep the cores busy. Measured on
 * lavapipe (2 cores), forward / input gradient in ms, 16x2 (the earlier fixed choice) -> chosen:
 *   64x16x24x24->32 fwd 16.5 -> 12.7 (32x4); 64x32x12x12->64 fwd 12.3 -> 9.5, bwd-in 14.8 -> 13.6
 *   16x64x32x32->128 58.0 / 64.6 from 74.3 / 83.4; 16x128x16x16->256 48.2 / 53.0 from 65.9 / 69.7
 *   16x512x4x4->512 (M = 256, 16x4) 26.3 / 28.0 from 30.9 / 33.9
 * while few rows keep 16x2 or 16x1 (16x2048x1x1->2048: 10.9 ms at 16x2, 19.9 at 16x4). The
 * forward from 64 rows also takes 16x4: 16x1024x2x2->1024 with cached weights 16.8 -> 14.7 ms
 * (its input gradient stays at 16x2: 23.7 vs 20.5 at 16x4 was within the noise) (2026-12-05).
 */
function sgTile(SG: number, M: number, cols: number, kind: 'fwd' | 'bwdin' = 'bwdin'): { TM: number; TN: number } {
  if (convTuning.tile) return convTuning.tile;
  // measured on lavapipe's 8-lane subgroups only; SwiftShader (4 lanes) keeps the earlier tiles
  if (SG === 8 && cols >= 4 * SG && M >= (kind === 'fwd' ? 64 : 256)) return { TM: M >= 2048 ? 32 : 16, TN: 4 };
  const TM = 16;
  // Narrow column counts or very few row tiles: one column per lane keeps more subgroups busy.
  const TN = cols <= SG || Math.ceil(M / TM) * Math.ceil(cols / (2 * SG)) < 16 ? 1 : 2;
  return { TM: Math.max(TM, SG), TN };
}

/**
 * The weight operand of chunk `c`: its packed copy `wp` when there is one, else a window of `w`
 * over the chunk's rows, with the element offsets of its first and last weight in that window.
 */
function weightOperand(rt: GpuRuntime, w: Storage, g: Geo, c: WChunk, wp: GpuStorage | null): { wb: Binding; wOff: number; wLast: number } {
  if (wp) return { wb: wp, wOff: 0, wLast: 0 };
  const [first, count] = chunkRows(g, c);
  const ww = window(rt, w, first * g.Kw, count * g.Kw);
  return { wb: ww.b, wOff: ww.rel, wLast: ww.rel + count * g.Kw - 1 };
}

/**
 * Whether the sg forward orders its rows (n, oh, ow) and stores vec4s (see conv_sg_fwd.wgsl).
 * Possible when OH*OW % 4 == 0. It pays where the stores are a large share of the memory
 * instructions: a short reduction (K = cinG*KH*KW <= 256) on a large map (the batch-fastest order
 * skips more padding taps on small ones). Measured on lavapipe, forward ms, batch-fastest ->
 * row-major: 16x3x64x64->64 23.4 -> 18.1, 64x3x48x48->16 16.2 -> 13.2, 64x16x24x24->32 13.0 -> 12.5;
 * but 16x128x16x16->256 49.2 -> 51.7, 64x32x12x12->64 9.3 -> 10.3 (2026-12-05).
 */
function rowMajorFwd(g: Geo, TM: number): boolean {
  if (g.OHW % 4 !== 0 || TM % 4 !== 0) return false;
  if (convTuning.rowMajor !== 'auto') return convTuning.rowMajor;
  return g.OHW >= 256 && g.Kw <= 256;
}

/**
 * The 1x1 conv equivalent to `g` when its only live tap (`taps`, one in each direction) reads,
 * for output pixel (oh, ow), input pixel (oh * sH, ow * sW): that tap's weights as a 1x1 kernel,
 * same stride, no padding, same output size. Null otherwise.
 */
function oneTapAsPointwise(g: Geo, taps: { khLo: number; khN: number; kwLo: number; kwN: number }): Conv2dParams | null {
  const p = g.p;
  if (g.KHKW === 1 || taps.khN !== 1 || taps.kwN !== 1) return null;
  if (taps.khLo * p.dilationH !== p.padH || taps.kwLo * p.dilationW !== p.padW) return null;
  const OH = Math.floor((p.H - 1) / p.strideH) + 1;
  const OW = Math.floor((p.W - 1) / p.strideW) + 1;
  if (OH !== p.OH || OW !== p.OW) return null;
  return { ...p, KH: 1, KW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1, reuse: false };
}

/** w[:, :, kk] of a (rows, T) weight view as a contiguous (rows) storage (shaders/conv_tap_slice.wgsl), in binding windows. */
function tapSlice(rt: GpuRuntime, w: Storage, rows: number, T: number, kk: number): GpuStorage {
  const out = rt.alloc('float32', rows);
  const pipe = rt.pipeline('conv_tap_slice', () => shader('conv_tap_slice'));
  const per = Math.max(1, Math.floor(bindLimit(rt) / T));
  for (let r0 = 0; r0 < rows; r0 += per) {
    const n = Math.min(per, rows - r0);
    const ww = window(rt, w, r0 * T, n * T);
    const ow = window(rt, out, r0, n);
    rt.dispatch('conv2d', pipe, [ww.b, ow.b], { u: [n, T, kk, ww.rel, ow.rel, 0, 0, 0] }, Math.ceil(n / 64));
  }
  return out;
}

function sgForward(rt: GpuRuntime, x: Storage, w: Storage, bias: Storage | null, out: Storage, g: Geo, epi: ConvEpilogue | null): void {
  // with epi.pool the output is (N, C_out, OH/2, OW/2): outPix pixels per channel
  const outPix = epi?.pool ? g.OHW / 4 : g.OHW;
  const p = g.p;
  const SG = sgSize(rt);
  const lim = bindLimit(rt);
  const cg4 = up4(g.cinG);
  const Q = cg4 / 4;
  const GQ = p.groups * Q;
  const bat = batchChunks(p.N, Math.max(p.C_in * g.HW, p.C_out * g.OHW, g.HW * p.groups * cg4), lim, 'conv2d');
  const rowCost = g.KHKW * cg4;
  const chunks = weightChunks(g, rowCost, lim, 'conv2d');
  const Mfull = bat[0]![1] * g.OHW;
  const { TM, TN } = sgTile(SG, Mfull, g.coutG, 'fwd');
  const rowTilesFull = Math.ceil(Mfull / TM);
  // Packing reads every weight once and writes it once; the GEMM then loads a vec4 per 4 input
  // channels instead of 4 scalars, once per row tile: worth it unless there are only a few row tiles.
  const [khLo, khHi] = liveTaps(p.KH, p.strideH, p.padH, p.dilationH, p.OH, p.H);
  const [kwLo, kwHi] = liveTaps(p.KW, p.strideW, p.padW, p.dilationW, p.OW, p.W);
  const taps = { khLo, khN: khHi - khLo, kwLo, kwN: kwHi - kwLo };
  if (!epi?.pool && convTuning.gemv && convTuning.cacheWeights && gemvApplies(p) && taps.khN * taps.kwN > 0 && gemvFits(rt, SG, p, taps)) {
    const key = `conv_sg_gemv ${SG} ${g.cinG} ${p.KH}x${p.KW} ${khLo}+${taps.khN} ${kwLo}+${taps.kwN}`;
    const wg = rt.cachedDerived(w as GpuStorage, key, 2, () => packGemvWeights(rt, SG, w, p, taps));
    if (wg) {
      const xt = pack(rt, x, 0, p.N, 1, g.cinG, g.HW, 'conv2d');
      gemvForward(rt, SG, xt, wg, bias, out, p, taps, epi);
      rt.free(xt);
      return;
    }
  }
  // A single live tap that reads each output pixel's own input pixel (a 3x3 pad-1 conv on a 1x1
  // map: only the centre tap) makes this the 1x1 conv of that tap's weights. Repeated inference
  // keeps the slice (16.8 of the 151 MB of a 2048x2048x3x3 weight, which is too large for one
  // packed copy) and runs the 1x1 GEMM on it: 16x2048x1x1->2048 ~10 -> ~5 ms on lavapipe.
  const one = oneTapAsPointwise(g, taps);
  if (one && convTuning.cacheWeights && !epi?.pool) {
    const kk = taps.khLo * p.KW + taps.kwLo;
    const slice = rt.cachedDerived(w as GpuStorage, `conv tap slice ${kk} ${g.Kw}`, 2, () => tapSlice(rt, w, p.C_out * g.cinG, g.KHKW, kk));
    if (slice) {
      sgForward(rt, x, slice, bias, out, geo(one), epi);
      return;
    }
  }
  // Repeated inference reuses one packed copy per weight version (GpuRuntime.cachedDerived): from
  // the 2nd call with unchanged weights, so training (new weights every step) never holds one.
  // With it the skinny GEMMs of batch-1 inference also read vec4 weights.
  const cached =
    chunks.length === 1 && convTuning.cacheWeights
      ? rt.cachedDerived(w as GpuStorage, `conv_sg_fwd ${g.cinG} ${g.KHKW}`, 2, () => {
          const [first, count] = chunkRows(g, chunks[0]!);
          return pack(rt, w, first * g.Kw, count, 1, g.cinG, g.KHKW, 'conv2d');
        })
      : null;
  const packed = cached !== null || shouldPack(g, 'fwd', rowTilesFull);
  const e = epiCode(epi);
  const order: RowOrder = epi?.pool ? 'pool' : rowMajorFwd(g, TM) ? 'row' : 'batch';
  const pipeFor = (nsg: number) => sgPipeline(rt, 'conv_sg_fwd', () => sgRowColDefs('fwd', TM, TN, SG, packed, bias !== null, false, e, order, [0, 0], nsg), { TM, TN, SG, packed, b: bias !== null, e, order, nsg });
  const packedW = new Map<WChunk, GpuStorage>();
  const packW = (c: WChunk): GpuStorage => {
    if (cached) return cached;
    let s = packedW.get(c);
    if (!s) {
      const [first, count] = chunkRows(g, c);
      s = pack(rt, w, first * g.Kw, count, 1, g.cinG, g.KHKW, 'conv2d');
      if (chunks.length === 1) packedW.set(c, s);
    }
    return s;
  };
  const dummy = bias ?? x;
  for (const [n0, Nc] of bat) {
    const keep = p.reuse === true && bat.length === 1;
    // a pack of this input kept by another conv on it (a residual block's conv1 and shortcut)
    const xt = (keep && rt.peekDerived(x as GpuStorage, reuseKey('x', g))) || pack(rt, x, n0 * p.C_in * g.HW, Nc, p.groups, g.cinG, g.HW, 'conv2d');
    const ow = window(rt, out, n0 * p.C_out * outPix, Nc * p.C_out * outPix);
    const M = Nc * g.OHW;
    const rowTiles = Math.ceil(M / TM);
    for (const c of chunks) {
      const [first] = chunkRows(g, c);
      const wp = packed ? packW(c) : null;
      const { wb, wOff, wLast } = weightOperand(rt, w, g, c, wp);
      const colTiles = Math.ceil(c.cc / (SG * TN));
      const ntiles = colTiles * rowTiles * c.ng;
      const u = [...geoWords(p), Nc, Q, GQ, g.cinG, g.coutG, p.C_out, c.cc, c.c0, c.g0, rowTiles, colTiles, ntiles, wOff, first, ow.rel, 0, wLast];
      const binds: Binding[] = [xt, wb, dummy as GpuStorage, ow.b];
      if (epi) binds.push(epi.coef);
      if (epi?.residual) {
        // bound over the same elements as out: the kernel reads res at out's index
        const rw = window(rt, epi.residual, n0 * p.C_out * outPix, Nc * p.C_out * outPix);
        if (rw.rel !== ow.rel) throw new Error(`conv2d: internal error, residual window offset ${rw.rel} != output window offset ${ow.rel}`);
        binds.push(rw.b);
      }
      const nsg = sgGroups(ntiles);
      rt.dispatch('conv2d', pipeFor(nsg), binds, { u }, Math.ceil(ntiles / nsg));
      if (wp && chunks.length > 1) rt.free(wp);
    }
    if (keep) rt.keepDerived(x as GpuStorage, reuseKey('x', g), xt);
    else rt.free(xt);
  }
  for (const s of packedW.values()) rt.free(s);
}

// ---------------------------------------------------------------------------------------------
// sg variant: input gradient

function sgBackwardInput(rt: GpuRuntime, gy: Storage, w: Storage, gx: Storage, g: Geo): void {
  const p = g.p;
  const SG = sgSize(rt);
  const lim = bindLimit(rt);
  const cog4 = up4(g.coutG);
  const Qo = cog4 / 4;
  const GQ = p.groups * Qo;
  const bat = batchChunks(p.N, Math.max(p.C_in * g.HW, p.C_out * g.OHW, g.OHW * p.groups * cog4), lim, 'conv2dBackwardInput');
  // packed per chunk: ng * cinG * KHKW * up4(cc) elements, i.e. about KHKW * cinG per output channel
  const chunks = weightChunks(g, (g.Kw * up4(g.coutG)) / g.coutG, lim, 'conv2dBackwardInput');
  const Mfull = bat[0]![1] * g.HW;
  const { TM, TN } = sgTile(SG, Mfull, g.cinG);
  const rowTilesFull = Math.ceil(Mfull / TM);
  const packed = shouldPack(g, 'bwdin', rowTilesFull);
  const stride: [number, number] = [p.strideH, p.strideW];
  const pipeFor = (acc: boolean, nsg: number) => sgPipeline(rt, 'conv_sg_bwdin', () => sgRowColDefs('bwdin', TM, TN, SG, packed, false, acc, 0, 'batch', stride, nsg), { TM, TN, SG, packed, acc, s: stride.join('x'), nsg });
  const packedW = new Map<WChunk, GpuStorage>();
  const packW = (c: WChunk): GpuStorage => {
    let s = packedW.get(c);
    if (!s) {
      const [first] = chunkRows(g, c);
      // per group of the chunk: (cc, cinG*KHKW) -> [cinG*KHKW][up4(cc)]
      s = pack(rt, w, first * g.Kw, c.ng, 1, c.cc, g.Kw, 'conv2dBackwardInput');
      if (chunks.length === 1) packedW.set(c, s);
    }
    return s;
  };
  for (const [n0, Nc] of bat) {
    const keep = p.reuse === true && bat.length === 1;
    const gyt = (keep && rt.peekDerived(gy as GpuStorage, reuseKey('gy', g))) || pack(rt, gy, n0 * p.C_out * g.OHW, Nc, p.groups, g.coutG, g.OHW, 'conv2dBackwardInput');
    const ow = window(rt, gx, n0 * p.C_in * g.HW, Nc * p.C_in * g.HW);
    const M = Nc * g.HW;
    const rowTiles = Math.ceil(M / TM);
    for (const c of chunks) {
      const [first] = chunkRows(g, c);
      const wp = packed ? packW(c) : null;
      const { wb, wOff, wLast } = weightOperand(rt, w, g, c, wp);
      const colTiles = Math.ceil(g.cinG / (SG * TN));
      const ntiles = colTiles * rowTiles * c.ng;
      // chunks inside one group accumulate; chunks of whole groups write disjoint channels
      const accumulate = c.c0 > 0 ? 1 : 0;
      const u = [...geoWords(p), Nc, Math.ceil(c.cc / 4), GQ, c.c0 / 4, g.cinG, g.coutG, p.C_in, c.cc, c.g0, rowTiles, colTiles, ntiles, wOff, first, ow.rel, accumulate, Qo, wLast];
      const nsg = sgGroups(ntiles);
      rt.dispatch('conv2dBackwardInput', pipeFor(accumulate === 1, nsg), [gyt, wb, ow.b], { u }, Math.ceil(ntiles / nsg));
      if (wp && chunks.length > 1) rt.free(wp);
    }
    if (keep) rt.keepDerived(gy as GpuStorage, reuseKey('gy', g), gyt);
    else rt.free(gyt);
  }
  for (const s of packedW.values()) rt.free(s);
}

// ---------------------------------------------------------------------------------------------
// sg variant: weight gradient


function sgBackwardWeight(rt: GpuRuntime, gy: Storage, x: Storage, gw: Storage, g: Geo): void {
  const p = g.p;
  const SG = sgSize(rt);
  const lim = bindLimit(rt);
  // packs the forward and the input gradient kept for this call (p.reuse), whichever path runs
  let xtKept = rt.takeDerived(x as GpuStorage, reuseKey('x', g));
  let gytKept = rt.takeDerived(gy as GpuStorage, reuseKey('gy', g));
  // frees the taken copies this call owns (the last take of each), now or after its dispatches
  const dropKept = () => {
    for (const k of [xtKept, gytKept]) if (k?.last) rt.free(k.copy);
    xtKept = gytKept = null;
  };
  if (convTuning.pixelLanes && !convTuning.bindingLimitBytes && im2colApplies(rt, p)) {
    im2colBackwardWeight(rt, gy, x, gw, p, xtKept?.copy ?? null);
    dropKept();
    return;
  }
  if (convTuning.pixelLanes && !convTuning.bindingLimitBytes && pxBackwardWeight(rt, SG, gy, x, gw, p)) {
    dropKept();
    return;
  }
  const cig4 = up4(g.cinG);
  const cog4 = up4(g.coutG);
  const Qx = cig4 / 4;
  const Qy = cog4 / 4;
  const bat = batchChunks(p.N, Math.max(p.C_in * g.HW, p.C_out * g.OHW, g.HW * p.groups * cig4, g.OHW * p.groups * cog4), lim, 'conv2dBackwardWeight');
  const chunks = weightChunks(g, g.Kw, lim, 'conv2dBackwardWeight');
  // 32 shared channels = one vec4 per lane of an 8-lane subgroup (a single cooperative load per
  // step); measured on lavapipe vs 16: 252 -> 190 ms (16x128x16x16->256), 86 -> 74 ms
  // (16x1024x2x2->2048 s2), 60 -> 45 ms (16x256x8x8->512 s2) of worker CPU
  // Lanes over input channels (4 per lane), output channels shared: then the 8 lanes of a store
  // write 8 * 4 * KH*KW consecutive floats of gw instead of addresses C_in/g*KH*KW*4 floats
  // apart (a page each: measured 10x slower on lavapipe for the 2048x2048x3x3 gradient). Only
  // when there are fewer input-channel quads than lanes (the 3-channel first layer) the roles swap.
  const laneIsCi = Qx >= Math.min(SG, Qy);
  // ...but never more shared channels than the layer has: with 3 input channels a 32-row tile
  // would spend 29/32 of its multiply-adds on padding (the first layer's weight gradient:
  // 16x3x64x64->16 at width 1/16 on lavapipe: 45.7 -> 23.2 ms, `bench/profile_step.ts --width 0.0625`).
  // From 128 shared channels, 64 per tile (two cooperative loads per step, 64 vec4 accumulators
  // spilled to the stack: still cheaper than the loads they save). Measured on lavapipe, ms, 32 ->
  // 64: 16x64x32x32->128 62-67 -> 52-53, 16x128x16x16->256 58-64 -> 50-53, 16x512x4x4->512
  // 23-24 -> 20, 64x64x6x6->128 9-10 -> 8; 96 and 128 were slower again; at 64 shared channels
  // (64x32x12x12->64) a toss-up (2026-12-05, .tmpkb-style microbenchmarks of this call alone).
  const shared = laneIsCi ? g.coutG : g.cinG;
  const TM = convTuning.bwdwTM || (SG === 8 && shared >= 128 ? 64 : Math.min(32, 4 * SG, up4(shared)));
  const pipeFor = (acc: boolean, nsg: number) => sgPipeline(rt, 'conv_sg_bwdw', () => sgBwdwDefs(TM, SG, laneIsCi, acc, nsg), { TM, SG, laneIsCi, acc, nsg });
  // Taps that never touch the input: skip them in the kernel and zero the output first (the
  // queue's clear, a memset on lavapipe: 16x2048x1x1->2048 3x3 p1, 8 of 9 taps dead, 29.4 ->
  // 19.2 ms with the clear instead of a vec4-store kernel). Worth it when a good share of the
  // taps is dead.
  let [khLo, khHi] = liveTaps(p.KH, p.strideH, p.padH, p.dilationH, p.OH, p.H);
  let [kwLo, kwHi] = liveTaps(p.KW, p.strideW, p.padW, p.dilationW, p.OW, p.W);
  const liveFrac = ((khHi - khLo) * (kwHi - kwLo)) / g.KHKW;
  const skipDead = convTuning.skipDeadTaps === 'auto' ? liveFrac <= 0.7 : convTuning.skipDeadTaps && liveFrac < 1;
  if (!skipDead) [khLo, khHi, kwLo, kwHi] = [0, p.KH, 0, p.KW];
  for (const [n0, Nc] of bat) {
    const whole = bat.length === 1;
    const xt = (whole && xtKept?.copy) || pack(rt, x, n0 * p.C_in * g.HW, Nc, p.groups, g.cinG, g.HW, 'conv2dBackwardWeight');
    const gyt = (whole && gytKept?.copy) || pack(rt, gy, n0 * p.C_out * g.OHW, Nc, p.groups, g.coutG, g.OHW, 'conv2dBackwardWeight');
    const ownX = xt !== xtKept?.copy, ownGy = gyt !== gytKept?.copy;
    if (!whole) dropKept();
    for (const c of chunks) {
      const [first, count] = chunkRows(g, c);
      const size = count * g.Kw;
      const laneCount = laneIsCi ? Qx : Math.ceil(c.cc / 4);
      const sharedCount = laneIsCi ? c.cc : g.cinG;
      const lTiles = Math.ceil(laneCount / SG);
      const sTiles = Math.ceil(sharedCount / TM);
      const base = lTiles * sTiles * c.ng;
      // rows of the reduction: (n, oh) pairs; split them when there are few tiles and each split
      // keeps >= 2048 positions: below that a split's reduction pass (conv_reduce) costs more than
      // the parallelism gains, now that dispatches of few tiles get fewer subgroups per workgroup
      // (sgGroups). Forward + backward on lavapipe (2 cores), >= 256 positions per split -> >= 2048:
      // 64x128x3x3->128 (2 -> 1 split) 11.7 -> 9.9 ms, 64x64x6x6->128 s2 8.7 -> 6.9, 64x32x12x12->64
      // (16 -> 4) 31.8 -> 26.5; 64x16x24x24->32 keeps 16 (2026-12-05)
      const rowsMax = Nc * p.OH;
      let splits = convTuning.splits || 1;
      if (!convTuning.splits) {
        const work = rowsMax * p.OW;
        while (base * splits < 32 && work / (splits * 2) >= 2048 && splits * 2 <= rowsMax) splits *= 2;
      }
      splits = Math.max(1, Math.min(splits, rowsMax, Math.floor(lim / size)));
      const rowsPer = Math.ceil(rowsMax / splits);
      const ntiles = base * splits;
      const accumulate = n0 > 0 ? 1 : 0;
      let target: Binding, oOff: number, part: GpuStorage | null = null;
      if (splits > 1) {
        part = rt.alloc('float32', splits * size);
        target = part;
        oOff = 0;
      } else {
        const ow = window(rt, gw, first * g.Kw, size);
        target = ow.b;
        oOff = ow.rel;
      }
      const u = [
        ...geoWords(p),
        Nc, g.cinG, g.coutG, p.groups * Qx,
        p.groups * Qy, Qx, Qy, c.cc,
        c.c0, c.g0, c.ng, lTiles,
        sTiles, ntiles, splits, rowsPer,
        oOff, first, size, splits > 1 ? 0 : accumulate,
        khLo, khHi, kwLo, kwHi,
      ];
      if (skipDead) {
        if (part) zeroRange(rt, part, 0, splits * size);
        else if (!accumulate) zeroRange(rt, gw, first * g.Kw, size);
      }
      const nsg = sgGroups(ntiles);
      rt.dispatch('conv2dBackwardWeight', pipeFor(splits === 1 && accumulate === 1, nsg), [xt, gyt, target], { u }, Math.ceil(ntiles / nsg));
      if (part) {
        const ow = window(rt, gw, first * g.Kw, size);
        const red = rt.pipeline('conv_reduce', () => shader('conv_reduce'));
        rt.dispatch('conv2dBackwardWeight', red, [part, ow.b], { u: [size, splits, ow.rel, accumulate] }, Math.ceil(size / 64));
        rt.free(part);
      }
    }
    if (ownX) rt.free(xt);
    if (ownGy) rt.free(gyt);
  }
  dropKept();
}

// ---------------------------------------------------------------------------------------------
// entry points

function checkF32(op: string, ...s: Storage[]): void {
  for (const t of s) if (t.dtype !== 'float32') throw new TypeError(`${op}: webgpu supports float32 only, got ${t.dtype}`);
}

export function conv2d(rt: GpuRuntime, x: Storage, w: Storage, bias: Storage | null, out: Storage, p: Conv2dParams): void {
  checkF32('conv2d', x, w, out, ...(bias ? [bias] : []));
  if (p.N * p.C_out * p.OH * p.OW === 0) return;
  if (convTuning.depthwise && depthwiseForward(rt, x, w, bias, out, p, convTuning.bindingLimitBytes || rt.limits.maxStorageBufferBindingSize)) return;
  const g = geo(p);
  if (convVariant(rt) === 'sg') sgForward(rt, x, w, bias, out, g, null);
  else tiledForward(rt, x, w, bias, out, g);
}

/**
 * conv2d with the epilogue `epi` applied to every output (see ConvEpilogue). The sg kernels
 * (GEMM and GEMV) apply it in their store; the other paths (tiled, depthwise) run conv2d into
 * a scratch buffer (N, C_out, OH, OW) and then `after(scratch)`, which must write `out` (the
 * caller's separate batch_norm and pooling passes). `out` holds the result either way.
 * @throws RangeError when epi.pool and OH or OW is odd.
 */
export function conv2dEpilogue(rt: GpuRuntime, x: Storage, w: Storage, bias: Storage | null, out: Storage, p: Conv2dParams, epi: ConvEpilogue, after: (y: Storage) => void): void {
  checkF32('conv2d', x, w, out, ...(bias ? [bias] : []));
  if (epi.pool && (p.OH % 2 !== 0 || p.OW % 2 !== 0)) throw new RangeError(`conv2d: a fused 2x2 max pool needs an even output size, got ${p.OH}x${p.OW}`);
  if (epi.pool && epi.residual) throw new RangeError('conv2d: a fused residual and a fused 2x2 max pool cannot be combined');
  if (p.N * p.C_out * p.OH * p.OW === 0) return;
  if (!(convTuning.depthwise && isDepthwise(p)) && convVariant(rt) === 'sg') {
    sgForward(rt, x, w, bias, out, geo(p), epi);
    return;
  }
  const y = rt.alloc('float32', p.N * p.C_out * p.OH * p.OW);
  conv2d(rt, x, w, bias, y, p);
  after(y);
  rt.free(y);
}

export function conv2dBackwardInput(rt: GpuRuntime, gy: Storage, w: Storage, gx: Storage, p: Conv2dParams): void {
  checkF32('conv2dBackwardInput', gy, w, gx);
  if (p.N * p.C_in * p.H * p.W === 0) return;
  const g = geo(p);
  if (convVariant(rt) === 'sg') sgBackwardInput(rt, gy, w, gx, g);
  else tiledBackwardInput(rt, gy, w, gx, g);
}

export function conv2dBackwardWeight(rt: GpuRuntime, gy: Storage, x: Storage, gw: Storage, p: Conv2dParams): void {
  checkF32('conv2dBackwardWeight', gy, x, gw);
  if (p.C_out * p.C_in * p.KH * p.KW === 0) return;
  const g = geo(p);
  if (convVariant(rt) === 'sg') sgBackwardWeight(rt, gy, x, gw, g);
  else tiledBackwardWeight(rt, gy, x, gw, g);
}
