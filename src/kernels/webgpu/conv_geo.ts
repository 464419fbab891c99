/**
 * Geometry shared by the conv2d kernels of ./conv.ts (sg) and ./conv_tiled.ts: the per-call Geo,
 * binding windows and the batch / output-channel chunks that keep every binding under the
 * adapter's limit, the live-tap range, and the cache keys of reused channels-last packs.
 */
import type { Conv2dParams } from '../backend.js';
import type { GpuRuntime } from './runtime.js';
import { convTuning } from './conv_tuning.js';

/** Largest element count a window may cover (leaves room for the alignment slack). */
export function bindLimit(rt: GpuRuntime): number {
  const bytes = convTuning.bindingLimitBytes || rt.limits.maxStorageBufferBindingSize;
  const align = Math.max(1, rt.limits.minStorageBufferOffsetAlignment / 4);
  return Math.floor(Math.min(bytes, rt.limits.maxStorageBufferBindingSize) / 4) - align;
}

export const rep = (n: number, f: (i: number) => string, sep = '\n'): string => Array.from({ length: n }, (_, i) => f(i)).join(sep);
export const up4 = (n: number): number => Math.ceil(n / 4) * 4;

export interface Geo {
  p: Conv2dParams;
  cinG: number;
  coutG: number;
  KHKW: number;
  HW: number;
  OHW: number;
  /** cinG * KHKW: one output channel's weights. */
  Kw: number;
}

export function geo(p: Conv2dParams): Geo {
  const cinG = p.C_in / p.groups;
  const coutG = p.C_out / p.groups;
  const KHKW = p.KH * p.KW;
  return { p, cinG, coutG, KHKW, HW: p.H * p.W, OHW: p.OH * p.OW, Kw: cinG * KHKW };
}

/** The 12 geometry words every conv kernel's Params struct starts with. */
export function geoWords(p: Conv2dParams): number[] {
  return [p.H, p.W, p.KH, p.KW, p.OH, p.OW, p.strideH, p.strideW, p.padH, p.padW, p.dilationH, p.dilationW];
}

/**
 * Cache keys of the whole-batch channels-last packs of conv2d's input (forward, weight gradient)
 * and output gradient (input gradient, weight gradient): with `p.reuse` the first kernel keeps its
 * pack with the storage (GpuRuntime.keepDerived) and the weight gradient takes it instead of
 * packing again. Width 1/4 training step: 4 activation packs per conv become 2.
 */
export function reuseKey(which: 'x' | 'gy', g: Geo): string {
  const p = g.p;
  return which === 'x' ? `conv pack x ${p.N} ${p.groups} ${g.cinG} ${g.HW}` : `conv pack gy ${p.N} ${p.groups} ${g.coutG} ${g.OHW}`;
}

/** Consecutive batch ranges [n0, n0 + nc) such that `perSample * nc` elements fit in a binding. */
export function batchChunks(N: number, perSample: number, lim: number, op: string): [number, number][] {
  const nb = Math.floor(lim / Math.max(1, perSample));
  if (nb < 1) throw new RangeError(`${op}: one sample needs ${perSample * 4} bytes in a binding, over the adapter's limit`);
  const out: [number, number][] = [];
  for (let n0 = 0; n0 < N; n0 += nb) out.push([n0, Math.min(nb, N - n0)]);
  return out;
}

/** A slice of the output channels: groups [g0, g0 + ng), channels [c0, c0 + cc) within each group. */
export interface WChunk {
  g0: number;
  ng: number;
  c0: number;
  cc: number;
}

/**
 * Output-channel chunks whose weights (at `rowCost` elements per output channel, packed copies
 * included) fit in a binding. Chunks inside a group start at multiples of 4 channels.
 */
export function weightChunks(g: Geo, rowCost: number, lim: number, op: string): WChunk[] {
  const { coutG } = g;
  const groups = g.p.groups;
  if (coutG * rowCost <= lim) {
    const ng = Math.max(1, Math.floor(lim / (coutG * rowCost)));
    const out: WChunk[] = [];
    for (let g0 = 0; g0 < groups; g0 += ng) out.push({ g0, ng: Math.min(ng, groups - g0), c0: 0, cc: coutG });
    return out;
  }
  const rows = Math.floor(lim / rowCost / 4) * 4;
  if (rows < 4) throw new RangeError(`${op}: 4 output channels of weights exceed the adapter's binding limit`);
  const out: WChunk[] = [];
  for (let g0 = 0; g0 < groups; g0++) for (let c0 = 0; c0 < coutG; c0 += rows) out.push({ g0, ng: 1, c0, cc: Math.min(rows, coutG - c0) });
  return out;
}

/** Weight rows (global output channels) covered by a chunk: [first, first + count). */
export function chunkRows(g: Geo, c: WChunk): [number, number] {
  const first = c.g0 * g.coutG + c.c0;
  const last = (c.g0 + c.ng - 1) * g.coutG + c.c0 + c.cc;
  return [first, last - first];
}

export const NSG = 8; // subgroups per workgroup in the sg kernels (at most; see sgGroups)

/**
 * Subgroups per workgroup for an sg GEMM dispatch of `ntiles` subgroup tiles: NSG, or fewer (a
 * power of two, down to 1) so that the dispatch has at least convTuning.minWorkgroups workgroups.
 * lavapipe hands each of its threads a fixed share of a dispatch's workgroups (num / threads,
 * no stealing), so a dispatch of 1 or 2 large workgroups ran on one core while the other waited:
 * the weight gradient of 64x128x3x3->128 (8 tiles, 1 workgroup) took 2.9 ms on 2 threads and on 1.
 * Measured on lavapipe (2 cores), forward + backward of one conv, 8 subgroups always -> this
 * choice: 64x128x3x3->128 12.0 -> 10.1 ms, 64x64x6x6->128 s2 9.5 -> 8.4; the large layers
 * (64x256x2x2->256, 16x512x4x4->1024 s2, 16x256x8x8->512 s2) unchanged (2026-12-05).
 */
export function sgGroups(ntiles: number): number {
  let n = NSG;
  while (n > 1 && Math.ceil(ntiles / n) < convTuning.minWorkgroups) n >>= 1;
  return n;
}

/**
 * Kernel taps [lo, hi) along one axis that touch the input for SOME output position (tap k is
 * live iff 0 <= o*s - pad + k*d < size for an o in [0, O)); taps outside never do, so their
 * weight gradient is exactly zero (a 3x3 pad-1 conv on a 1x1 map: only the centre tap).
 */
export function liveTaps(K: number, s: number, pad: number, d: number, O: number, size: number): [number, number] {
  const live = (k: number) => {
    const off = k * d - pad;
    // smallest o with o*s + off >= 0, then check it is < O and inside the input
    const o = off >= 0 ? 0 : Math.ceil(-off / s);
    return o < O && o * s + off < size;
  };
  let lo = 0;
  while (lo < K && !live(lo)) lo++;
  let hi = K;
  while (hi > lo && !live(hi - 1)) hi--;
  return [lo, hi];
}
