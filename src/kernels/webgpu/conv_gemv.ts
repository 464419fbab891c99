/**
 * conv2d forward for at most 4 output pixels in all (N * OH * OW <= 4), "sg" variant, reading a
 * cached copy of the weights packed for it (`packGemvWeights`; GpuRuntime.cachedDerived keeps it
 * from the 2nd call with unchanged weights): batch-1 inference through the deep layers of
 * ResEmoteNet, whose 2x2 and 1x1 maps leave the 16-row GEMM tiles of the general kernel mostly
 * empty and read the weights once per 8 output channels from pages far apart. See shaders/conv_sg_gemv.wgsl. Groups must be 1.
 * Measured on lavapipe (2 cores, idle), full-width ResEmoteNet layers at batch 1, median of 7:
 * uncached GEMM / GEMM on cached GEMM-packed weights / this kernel on GEMM-packed weights
 * ([co][kh][kw][ci4]: the 8 lanes of a load read 8 pages) / this kernel on its own layout (live
 * taps only, lanes interleaved); the first three from one run, the last with the first two again
 * from another (the machine's noise is ~20 %):
 *   1x2048x1x1->2048 3x3 p1   8.9 / 9.7 / 8.1 / 1.8 ms   (7.9 / 8.2 in that run)
 *   1x1024x2x2->1024 3x3 p1  16.1 / 13.4 / 7.7 / 5.3 ms  (16.3 / 11.6)
 *   1x1024x2x2->2048 3x3 s2  14.6 / 11.5 / 5.3 / 3.1 ms  (12.4 / 8.8)
 *   1x512x4x4->1024 3x3 s2    9.2 / 7.8 / 4.8 / 3.4 ms   (6.3 / 5.2)
 */
import type { Conv2dParams, Storage } from '../backend.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { shader, shaderKey } from './shaders.js';
import { SG_PER_WG } from './subgroups.js';
import { window } from './window.js';
import { epiCode, epilogueDecl, epilogueExpr, epilogueLoad, type ConvEpilogue } from './conv_epilogue.js';
import { rep } from './conv_geo.js';

/**
 * Most output pixels (rows) the kernel takes. At 16 (a GEMM tile) it lost to the GEMM on cached
 * weights: 1x512x4x4->512 3x3 p1 6.8 vs 3.3 ms, 1x256x8x8->512 s2 4.0 vs 2.9 ms.
 */
export const GEMV_MAX_ROWS = 4;

/** The live taps: rows [khLo, khLo + khN) x columns [kwLo, kwLo + kwN) of the kernel. */
export interface LiveTaps {
  khLo: number;
  khN: number;
  kwLo: number;
  kwN: number;
}

/** Elements of the packed copy `packGemvWeights` makes. */
function packedSize(SG: number, p: Conv2dParams, t: LiveTaps): number {
  return Math.ceil(p.C_out / SG) * SG * t.khN * t.kwN * Math.ceil(p.C_in / 4) * 4;
}

/** Whether the GEMV weights of `p` fit one binding (and the input does). */
export function gemvFits(rt: GpuRuntime, SG: number, p: Conv2dParams, t: LiveTaps): boolean {
  const lim = rt.limits.maxStorageBufferBindingSize;
  return packedSize(SG, p, t) * 4 <= lim && p.N * p.H * p.W * Math.ceil(p.C_in / 4) * 16 <= lim && p.N * p.C_out * p.OH * p.OW * 4 <= lim;
}

/** w (C_out, C_in, KH, KW) packed as [co / SG][live kh][live kw][ci4][co % SG] (shaders/conv_pack_gemv.wgsl). */
export function packGemvWeights(rt: GpuRuntime, SG: number, w: Storage, p: Conv2dParams, t: LiveTaps): GpuStorage {
  const total = packedSize(SG, p, t) / 4;
  const dst = rt.alloc('float32', total * 4);
  const pipe = rt.pipeline(shaderKey('conv_pack_gemv', { SG }), () => shader('conv_pack_gemv', { SG }));
  // whole tiles of SG output channels per dispatch, their weights within one binding of w
  const align = Math.max(1, rt.limits.minStorageBufferOffsetAlignment / 4);
  const rowLen = p.C_in * p.KH * p.KW;
  const tiles = Math.ceil(p.C_out / SG);
  const perTile = total / tiles; // vec4s per tile
  const tilesPer = Math.max(1, Math.floor((Math.floor(rt.limits.maxStorageBufferBindingSize / 4) - align) / (SG * rowLen)));
  for (let t0 = 0; t0 < tiles; t0 += tilesPer) {
    const nt = Math.min(tilesPer, tiles - t0);
    const co0 = t0 * SG;
    const ww = window(rt, w, co0 * rowLen, Math.min(nt * SG, p.C_out - co0) * rowLen);
    const u = [nt * perTile, p.C_out, p.C_in, Math.ceil(p.C_in / 4), p.KH, p.KW, t.khLo, t.khN, t.kwLo, t.kwN, t0 * perTile, ww.rel];
    rt.dispatch('conv2d', pipe, [ww.b, dst], { u }, Math.ceil((nt * perTile) / 64)); // dst fits one binding (gemvFits)
  }
  return dst;
}

/** Whether `p` (with N * OH * OW rows) takes the GEMV kernel. */
export function gemvApplies(p: Conv2dParams): boolean {
  const M = p.N * p.OH * p.OW;
  return p.groups === 1 && M >= 1 && M <= GEMV_MAX_ROWS;
}

function defs(SG: number, MR: number, epi: number): Record<string, string | number> {
  const R = (f: (r: number) => string, sep = '\n') => rep(MR, f, sep);
  const d: Record<string, string | number> = { SG, NSG: SG_PER_WG, WG: SG * SG_PER_WG, MR, ...epilogueDecl(epi, 4) };
  d.ROWS = R(
    (r) => `  let okm${r} = ${r}u < P.M;
  let n${r} = min(${r}u, P.M - 1u) / OHW;
  let p${r} = min(${r}u, P.M - 1u) % OHW;
  let ih0_${r} = i32((p${r} / P.OW) * P.sH) - i32(P.pH);
  let iw0_${r} = i32((p${r} % P.OW) * P.sW) - i32(P.pW);`,
  );
  d.ACC = R((r) => `  var acc${r} = 0.0;`);
  d.TAP = R(
    (r) => `      let ih${r} = ih0_${r} + i32(kh * P.dH);
      let iw${r} = iw0_${r} + i32(kw * P.dW);
      let ok${r} = okm${r} && ih${r} >= 0 && ih${r} < i32(P.H) && iw${r} >= 0 && iw${r} < i32(P.W);
      let xa${r} = select(0u, ((n${r} * P.H + u32(ih${r})) * P.W + u32(iw${r})) * P.Q, ok${r});`,
  );
  d.ANYOK = R((r) => `ok${r}`, ' || ');
  d.XLOADS = R((r) => `        let xv${r} = select(vec4<f32>(0.0), xt[xa${r} + ql], ok${r} && q0 + lane < P.Q);`);
  d.STEPS = rep(
    SG,
    (j) => `        if (q0 + ${j}u < P.Q) {
          let wv = wp[wbase + (q0 + ${j}u) * ${SG}u];
${R((r) => `          acc${r} += dot(subgroupBroadcast(xv${r}, ${j}u), wv);`)}
        }`,
  );
  d.STORE = epilogueLoad(epi, 'k', 'min(co, P.C_out - 1u)', '  ') + R(
    (r) => `  if (okc && okm${r}) {
    var v = acc${r};
    let o = (n${r} * P.C_out + co) * OHW + p${r};
    if (P.has_bias != 0u) { v += bias[co]; }${epilogueExpr(epi, 'k', '    ', 'f32', 'o')}
    out[o] = v;
  }`,
  );
  return d;
}

/**
 * out (N, C_out, OH, OW) = conv2d(x, w) + bias from `xt`, x packed channels-last ([n][ih][iw][ci4]),
 * and `wp` from packGemvWeights. The caller checked gemvApplies and gemvFits.
 */
export function gemvForward(rt: GpuRuntime, SG: number, xt: GpuStorage, wp: GpuStorage, bias: Storage | null, out: Storage, p: Conv2dParams, t: LiveTaps, epi: ConvEpilogue | null = null): void {
  const M = p.N * p.OH * p.OW;
  const MR = M <= 1 ? 1 : M <= 2 ? 2 : 4;
  const Q = Math.ceil(p.C_in / 4);
  const e = epiCode(epi);
  const pipe = rt.pipeline(shaderKey('conv_sg_gemv', { SG, MR, e }), () => shader('conv_sg_gemv', defs(SG, MR, e)));
  const u = [p.H, p.W, p.KH, p.KW, p.OH, p.OW, p.strideH, p.strideW, p.padH, p.padW, p.dilationH, p.dilationW, M, Q, p.C_out, bias ? 1 : 0, t.khLo, t.khN, t.kwLo, t.kwN];
  const tiles = Math.ceil(p.C_out / SG);
  const binds: GpuStorage[] = [xt, wp, (bias ?? wp) as GpuStorage, out as GpuStorage];
  if (epi) binds.push(epi.coef);
  if (epi?.residual) binds.push(epi.residual);
  rt.dispatch('conv2d', pipe, binds, { u }, Math.ceil(tiles / SG_PER_WG));
}
