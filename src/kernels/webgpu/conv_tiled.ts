/**
 * conv2d on hardware GPUs ("tiled" family; ./conv.ts picks it where the sg kernels do not apply):
 * forward, input gradient and weight gradient as the classic 64x64 workgroup-memory tile GEMM of
 * shaders/conv_tiled.wgsl, with split-K and a reduction pass (conv_tiled_reduce.wgsl) when the
 * GEMM has few output tiles and a long K. Inputs of any size go through the binding windows and
 * chunks of ./conv_geo.ts.
 */
import type { Storage } from '../backend.js';
import type { Binding, GpuRuntime, GpuStorage } from './runtime.js';
import { shader, shaderKey } from './shaders.js';
import { window } from './window.js';
import { convTuning } from './conv_tuning.js';
import { batchChunks, bindLimit, chunkRows, geoWords, weightChunks, type Geo } from './conv_geo.js';

type TiledOp = 'fwd' | 'bwdin' | 'bwdw';

const TILED_FUNCS: Record<TiledOp, (hasBias: boolean) => string> = {
  fwd: (hasBias) => `
fn load_a(g: u32, m: u32, k: u32) -> f32 {
  let OHW = P.OH * P.OW;
  let KHKW = P.KH * P.KW;
  let n = m / OHW;
  let p = m % OHW;
  let ci = k / KHKW;
  let kk = k % KHKW;
  let ih = i32((p / P.OW) * P.sH + (kk / P.KW) * P.dH) - i32(P.pH);
  let iw = i32((p % P.OW) * P.sW + (kk % P.KW) * P.dW) - i32(P.pW);
  if (ih < 0 || ih >= i32(P.H) || iw < 0 || iw >= i32(P.W)) { return 0.0; }
  return A[P.a_off + ((n * P.C_in + g * P.cinG + ci) * P.H + u32(ih)) * P.W + u32(iw)];
}
fn load_b(g: u32, k: u32, n: u32) -> f32 {
  return B[P.b_off + (g * P.coutG + P.c0 + n - P.w_row0) * P.K + k];
}
fn store_c(g: u32, m: u32, n: u32, v: f32) {
  let OHW = P.OH * P.OW;
  let co = g * P.coutG + P.c0 + n;
  let o = P.o_off + ((m / OHW) * P.C_out + co) * OHW + m % OHW;
  var r = v + ${hasBias ? 'bias[co]' : '0.0'};
  if (P.accumulate != 0u) { r += out[o]; }
  out[o] = r;
}`,
  bwdin: () => `
fn load_a(g: u32, m: u32, k: u32) -> f32 {
  let HW = P.H * P.W;
  let KHKW = P.KH * P.KW;
  let n = m / HW;
  let p = m % HW;
  let co = P.c0 + k / KHKW;
  let kk = k % KHKW;
  let th = i32(p / P.W + P.pH) - i32((kk / P.KW) * P.dH);
  let tw = i32(p % P.W + P.pW) - i32((kk % P.KW) * P.dW);
  if (th < 0 || tw < 0) { return 0.0; }
  if (u32(th) % P.sH != 0u || u32(tw) % P.sW != 0u) { return 0.0; }
  let oh = u32(th) / P.sH;
  let ow = u32(tw) / P.sW;
  if (oh >= P.OH || ow >= P.OW) { return 0.0; }
  return A[P.a_off + ((n * P.C_out + g * P.coutG + co) * P.OH + oh) * P.OW + ow];
}
fn load_b(g: u32, k: u32, n: u32) -> f32 {
  let KHKW = P.KH * P.KW;
  return B[P.b_off + ((g * P.coutG + P.c0 + k / KHKW - P.w_row0) * P.cinG + n) * KHKW + k % KHKW];
}
fn store_c(g: u32, m: u32, n: u32, v: f32) {
  let HW = P.H * P.W;
  let o = P.o_off + ((m / HW) * P.C_in + g * P.cinG + n) * HW + m % HW;
  var r = v;
  if (P.accumulate != 0u) { r += out[o]; }
  out[o] = r;
}`,
  bwdw: () => `
fn load_a(g: u32, m: u32, k: u32) -> f32 {
  let OHW = P.OH * P.OW;
  return A[P.a_off + ((k / OHW) * P.C_out + g * P.coutG + P.c0 + m) * OHW + k % OHW];
}
fn load_b(g: u32, k: u32, n: u32) -> f32 {
  let OHW = P.OH * P.OW;
  let KHKW = P.KH * P.KW;
  let b = k / OHW;
  let p = k % OHW;
  let ci = n / KHKW;
  let kk = n % KHKW;
  let ih = i32((p / P.OW) * P.sH + (kk / P.KW) * P.dH) - i32(P.pH);
  let iw = i32((p % P.OW) * P.sW + (kk % P.KW) * P.dW) - i32(P.pW);
  if (ih < 0 || ih >= i32(P.H) || iw < 0 || iw >= i32(P.W)) { return 0.0; }
  return B[P.b_off + ((b * P.C_in + g * P.cinG + ci) * P.H + u32(ih)) * P.W + u32(iw)];
}
fn store_c(g: u32, m: u32, n: u32, v: f32) {
  let o = P.o_off + (g * P.coutG + P.c0 + m - P.w_row0) * P.cinG * P.KH * P.KW + n;
  var r = v;
  if (P.accumulate != 0u) { r += out[o]; }
  out[o] = r;
}`,
};

function tiledPipes(rt: GpuRuntime, op: TiledOp, hasBias: boolean): { main: GPUComputePipeline; reduce: GPUComputePipeline } {
  const FUNCS = TILED_FUNCS[op](hasBias);
  // the reduction pass only needs the store function
  const STORE = FUNCS.slice(FUNCS.indexOf('fn store_c'));
  // see conv_tiled.wgsl: uniform loop bounds on software adapters (compile time)
  const loops = rt.report.isSoftware ? { NE: 'P.ne', BK: 'P.bk' } : { NE: '4u', BK: '16u' };
  return {
    main: rt.pipeline(shaderKey('conv_tiled', { op, b: hasBias ? 1 : 0 }), () => shader('conv_tiled', { FUNCS, ...loops })),
    reduce: rt.pipeline(shaderKey('conv_tiled_reduce', { op, b: hasBias ? 1 : 0 }), () => shader('conv_tiled_reduce', { FUNCS: STORE })),
  };
}

/** Runs one tiled GEMM (with split-K when it has few tiles and a long K). */
function tiledGemm(
  rt: GpuRuntime,
  opName: string,
  pipes: { main: GPUComputePipeline; reduce: GPUComputePipeline },
  head: number[],
  M: number,
  NC: number,
  K: number,
  ng: number,
  tail: { g0: number; c0: number; w_row0: number; a: { b: Binding; rel: number }; b: { b: Binding; rel: number }; o: { b: Binding; rel: number }; accumulate: number },
  bias: Storage,
): void {
  const mTiles = Math.ceil(M / 64);
  const nTiles = Math.ceil(NC / 64);
  const tiles = mTiles * nTiles * ng;
  let splits = convTuning.splits || 1;
  if (!convTuning.splits) while (tiles * splits < 128 && K / (splits * 2) >= 256) splits *= 2;
  const lim = bindLimit(rt);
  splits = Math.max(1, Math.min(splits, Math.ceil(K / 16), Math.floor(lim / Math.max(1, M * NC * ng))));
  const kPer = Math.ceil(K / splits / 16) * 16;
  splits = Math.ceil(K / kPer);
  const u = (split: number) => [...head, M, NC, K, kPer, mTiles, nTiles, ng, tail.g0, tail.c0, tail.w_row0, tail.a.rel, tail.b.rel, split > 1 ? 0 : tail.o.rel, tail.accumulate, split, 4, 16];
  if (splits <= 1) {
    rt.dispatch(opName, pipes.main, [tail.a.b, tail.b.b, bias as GpuStorage, tail.o.b], { u: u(1) }, tiles);
    return;
  }
  const part = rt.alloc('float32', splits * M * NC * ng);
  rt.dispatch(opName, pipes.main, [tail.a.b, tail.b.b, bias as GpuStorage, part], { u: u(splits) }, tiles * splits);
  const uu = u(splits);
  uu[29] = tail.o.rel; // o_off for the reduction's stores
  rt.dispatch(opName, pipes.reduce, [part, bias as GpuStorage, tail.o.b], { u: uu }, Math.ceil((M * NC * ng) / 64));
  rt.free(part);
}

export function tiledForward(rt: GpuRuntime, x: Storage, w: Storage, bias: Storage | null, out: Storage, g: Geo): void {
  const p = g.p;
  const lim = bindLimit(rt);
  const pipes = tiledPipes(rt, 'fwd', bias !== null);
  const bat = batchChunks(p.N, Math.max(p.C_in * g.HW, p.C_out * g.OHW), lim, 'conv2d');
  const chunks = weightChunks(g, g.Kw, lim, 'conv2d');
  for (const [n0, Nc] of bat) {
    const a = window(rt, x, n0 * p.C_in * g.HW, Nc * p.C_in * g.HW);
    const o = window(rt, out, n0 * p.C_out * g.OHW, Nc * p.C_out * g.OHW);
    for (const c of chunks) {
      const [first, count] = chunkRows(g, c);
      const b = window(rt, w, first * g.Kw, count * g.Kw);
      const head = [...geoWords(p), Nc, g.cinG, g.coutG, p.C_in, p.C_out];
      tiledGemm(rt, 'conv2d', pipes, head, Nc * g.OHW, c.cc, g.Kw, c.ng, { g0: c.g0, c0: c.c0, w_row0: first, a, b, o, accumulate: 0 }, bias ?? x);
    }
  }
}

export function tiledBackwardInput(rt: GpuRuntime, gy: Storage, w: Storage, gx: Storage, g: Geo): void {
  const p = g.p;
  const lim = bindLimit(rt);
  const pipes = tiledPipes(rt, 'bwdin', false);
  const bat = batchChunks(p.N, Math.max(p.C_in * g.HW, p.C_out * g.OHW), lim, 'conv2dBackwardInput');
  const chunks = weightChunks(g, g.Kw, lim, 'conv2dBackwardInput');
  for (const [n0, Nc] of bat) {
    const a = window(rt, gy, n0 * p.C_out * g.OHW, Nc * p.C_out * g.OHW);
    const o = window(rt, gx, n0 * p.C_in * g.HW, Nc * p.C_in * g.HW);
    for (const c of chunks) {
      const [first, count] = chunkRows(g, c);
      const b = window(rt, w, first * g.Kw, count * g.Kw);
      const head = [...geoWords(p), Nc, g.cinG, g.coutG, p.C_in, p.C_out];
      tiledGemm(rt, 'conv2dBackwardInput', pipes, head, Nc * g.HW, g.cinG, c.cc * g.KHKW, c.ng, { g0: c.g0, c0: c.c0, w_row0: first, a, b, o, accumulate: c.c0 > 0 ? 1 : 0 }, gy);
    }
  }
}

export function tiledBackwardWeight(rt: GpuRuntime, gy: Storage, x: Storage, gw: Storage, g: Geo): void {
  const p = g.p;
  const lim = bindLimit(rt);
  const pipes = tiledPipes(rt, 'bwdw', false);
  const bat = batchChunks(p.N, Math.max(p.C_in * g.HW, p.C_out * g.OHW), lim, 'conv2dBackwardWeight');
  const chunks = weightChunks(g, g.Kw, lim, 'conv2dBackwardWeight');
  for (const [n0, Nc] of bat) {
    const a = window(rt, gy, n0 * p.C_out * g.OHW, Nc * p.C_out * g.OHW);
    const b = window(rt, x, n0 * p.C_in * g.HW, Nc * p.C_in * g.HW);
    for (const c of chunks) {
      const [first, count] = chunkRows(g, c);
      const o = window(rt, gw, first * g.Kw, count * g.Kw);
      const head = [...geoWords(p), Nc, g.cinG, g.coutG, p.C_in, p.C_out];
      tiledGemm(rt, 'conv2dBackwardWeight', pipes, head, c.cc, g.Kw, Nc * g.OHW, c.ng, { g0: c.g0, c0: c.c0, w_row0: first, a, b, o, accumulate: n0 > 0 ? 1 : 0 }, gy);
    }
  }
}
