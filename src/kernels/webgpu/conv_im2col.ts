/**
 * conv2d weight gradient, "sg" variant, for layers with at most 4 input channels (the RGB stem),
 * as im2col + the batched matmul: cols[n] (OH*OW x R, R = KH*KW*Cin rounded up to 4) from the
 * input (shaders/conv_im2col.wgsl), part[n] = gy[n] (C_out x OH*OW, read in place from NCHW) @
 * cols[n] by the register-blocked matmul (./matmul.ts), then a sum over the batch that also
 * reorders (tap, ci) columns to the weight's (ci, tap) (shaders/conv_im2col_reduce.wgsl).
 *
 * Why: the pixel-lane kernel (./conv_px.ts) keeps 72 vec4 accumulators per lane, which live on
 * the stack, reads each input tap once per block of 8 output channels, and needs gy repacked
 * channels-last first; the matmul reads gy as it is, with vec4 loads, at its ~30 GFLOP/s, and
 * the im2col pass costs 9 loads and R/4 stores per output pixel. Measured on lavapipe
 * (2026-12-05, median of 9, pixel lanes -> im2col): the width-1/4 stem at batch 64
 * (64x3x48x48 -> 16, 3x3 p1) 20.8 -> 9.4 ms, the full-width one at batch 16 (16x3x64x64 -> 64)
 * 33.3 -> 9.9 ms. The pixel-lane kernel stays as the fallback for inputs whose columns exceed a
 * binding. With more input channels the columns grow with C_in * KH * KW per pixel and the
 * im2col pass would cost more than the general kernel saves.
 */
import type { Conv2dParams, Storage } from '../backend.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { shader, shaderKey, withLiterals } from './shaders.js';
import { window } from './window.js';
import { pack } from './conv_pack.js';
import { matmul } from './matmul.js';
import { rep } from './conv_geo.js';

/** Knob for tests and benchmarks: 'auto' uses the im2col path where im2colApplies says so. */
export const im2colTuning: { enabled: 'auto' | boolean } = { enabled: 'auto' };

/**
 * Whether the im2col weight gradient runs: groups 1, at most 4 input channels, at most 9 taps,
 * and cols, part and the inputs within one binding each.
 */
export function im2colApplies(rt: GpuRuntime, p: Conv2dParams): boolean {
  if (im2colTuning.enabled === false) return false;
  if (!(p.groups === 1 && p.C_in <= 4 && p.KH * p.KW <= 9)) return false;
  const R = Math.ceil((p.C_in * p.KH * p.KW) / 4) * 4;
  const OHW = p.OH * p.OW;
  const lim = Math.floor(rt.limits.maxStorageBufferBindingSize / 4) - 64;
  return p.N * OHW * R <= lim && p.N * p.C_out * R <= lim && p.N * p.H * p.W * 4 <= lim && p.N * p.C_out * OHW <= lim;
}

function defs(Cin: number, KH: number, KW: number): Record<string, string | number> {
  const KHKW = KH * KW;
  const KC = KHKW * Cin;
  const R4 = Math.ceil(KC / 4);
  const comp = ['x', 'y', 'z', 'w'];
  const TAPS = rep(KHKW, (t) => {
    const kh = Math.floor(t / KW), kw = t % KW;
    return `  let ih${t} = ihb + i32(${kh}u * P.dH);
  let iw${t} = iwb + i32(${kw}u * P.dW);
  let ok${t} = ih${t} >= 0 && ih${t} < i32(P.H) && iw${t} >= 0 && iw${t} < i32(P.W);
  let v${t} = select(vec4<f32>(0.0), xt[select(0u, (n * P.H + u32(ih${t})) * P.W + u32(iw${t}), ok${t})], ok${t});`;
  });
  // column j = tap * Cin + ci comes from v{tap}.{ci}
  const val = (j: number) => (j < KC ? `v${Math.floor(j / Cin)}.${comp[j % Cin]}` : '0.0');
  const STORES = rep(R4, (q) => `  cols[i * ${R4}u + ${q}u] = vec4<f32>(${rep(4, (c) => val(4 * q + c), ', ')});`);
  return { R4, KC, TAPS, STORES };
}

/** gw (C_out, C_in, KH, KW) = sum over (n, oh, ow) of gy (x) the input's taps; the caller checked im2colApplies. */
export function im2colBackwardWeight(rt: GpuRuntime, gy: Storage, x: Storage, gw: Storage, p: Conv2dParams, packed: GpuStorage | null = null): void {
  const KHKW = p.KH * p.KW;
  const R = Math.ceil((p.C_in * KHKW) / 4) * 4;
  const HW = p.H * p.W, OHW = p.OH * p.OW;
  // x channels-last: the forward's pack when the caller has it (Conv2dParams.reuse), else made here
  const xt = packed ?? pack(rt, x, 0, p.N, 1, p.C_in, HW, 'conv2dBackwardWeight');
  const total = p.N * OHW;
  const cols = rt.alloc('float32', total * R);
  // the geometry as literals: the per-pixel index split divides by OH*OW and OW (see withLiterals)
  const lit = { H: p.H, W: p.W, OH: p.OH, OW: p.OW, sH: p.strideH, sW: p.strideW, pH: p.padH, pW: p.padW, dH: p.dilationH, dW: p.dilationW };
  const pipe = rt.pipeline(shaderKey('conv_im2col', { C: p.C_in, KH: p.KH, KW: p.KW, ...lit }), () => withLiterals(shader('conv_im2col', defs(p.C_in, p.KH, p.KW)), lit));
  rt.dispatch('conv2dBackwardWeight', pipe, [xt, cols], { u: [p.H, p.W, p.OH, p.OW, p.strideH, p.strideW, p.padH, p.padW, p.dilationH, p.dilationW, total, 0] }, Math.ceil(total / 64));
  if (!packed) rt.free(xt);
  // part[n] (C_out x R) = gy[n] (C_out x OHW) @ cols[n] (OHW x R)
  const part = rt.alloc('float32', p.N * p.C_out * R);
  matmul(rt, gy, { shape: [p.N, p.C_out, OHW], strides: [p.C_out * OHW, OHW, 1], offset: 0 }, cols, { shape: [p.N, OHW, R], strides: [OHW * R, R, 1], offset: 0 }, part, p.N, p.C_out, R, OHW);
  rt.free(cols);
  const size = p.C_out * p.C_in * KHKW;
  const ow = window(rt, gw, 0, size);
  const red = rt.pipeline('conv_im2col_reduce', () => shader('conv_im2col_reduce'));
  rt.dispatch('conv2dBackwardWeight', red, [part, ow.b], { u: [p.C_out, p.C_in, KHKW, R, p.N, ow.rel, 0, 0] }, Math.ceil(size / 64));
  rt.free(part as GpuStorage);
}
