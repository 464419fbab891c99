/**
 * Reference 2-d convolution (PyTorch's F.conv2d, cross-correlation) on contiguous NCHW data,
 * and its two backward primitives. Plain loops, float64 accumulation, float32 or float64 storage.
 *
 * The forward is one loop nest; each backward is the same loop nest with the multiply-add
 * turned around (the transpose of the forward), scattered into a float64 scratch array that is
 * copied out at the end. So all three read the same index arithmetic:
 *   out[n, co, oh, ow] = bias[co] + sum_{ci < C_in/groups, kh, kw}
 *       x[n, g*C_in/groups + ci, oh*strideH - padH + kh*dilationH, ow*strideW - padW + kw*dilationW]
 *       * w[co, ci, kh, kw],          g = floor(co / (C_out/groups)),
 * with out-of-range input positions (the zero padding) skipped.
 */
import type { Conv2dParams, Storage } from '../backend.js';
import { arr } from './storage.js';

/**
 * Calls `visit(xi, wi, oi)` for every (input, weight, output) flat-index triple that meets in
 * the forward multiply-add, in a fixed order.
 */
function forEachTap(p: Conv2dParams, visit: (xi: number, wi: number, oi: number) => void): void {
  const { N, C_in, H, W, C_out, KH, KW, OH, OW, strideH, strideW, padH, padW, dilationH, dilationW, groups } = p;
  const cinG = C_in / groups;
  const coutG = C_out / groups;
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < C_out; co++) {
      const g = Math.floor(co / coutG);
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          const oi = ((n * C_out + co) * OH + oh) * OW + ow;
          for (let ci = 0; ci < cinG; ci++) {
            const c = g * cinG + ci;
            for (let kh = 0; kh < KH; kh++) {
              const ih = oh * strideH - padH + kh * dilationH;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = ow * strideW - padW + kw * dilationW;
                if (iw < 0 || iw >= W) continue;
                visit(((n * C_in + c) * H + ih) * W + iw, ((co * cinG + ci) * KH + kh) * KW + kw, oi);
              }
            }
          }
        }
      }
    }
  }
}

/** out (N, C_out, OH, OW) = conv2d(x (N, C_in, H, W), w (C_out, C_in/groups, KH, KW)) + bias (C_out). */
export function conv2d(x: Storage, w: Storage, bias: Storage | null, out: Storage, p: Conv2dParams): void {
  const xs = arr(x), ws = arr(w), o = arr(out);
  const bs = bias ? arr(bias) : null;
  const n = p.N * p.C_out * p.OH * p.OW;
  const acc = new Float64Array(n);
  forEachTap(p, (xi, wi, oi) => {
    acc[oi] = acc[oi]! + xs[xi]! * ws[wi]!;
  });
  const plane = p.OH * p.OW;
  for (let i = 0; i < n; i++) {
    const co = Math.floor(i / plane) % p.C_out;
    o[i] = acc[i]! + (bs ? bs[co]! : 0);
  }
}

/** gx (N, C_in, H, W) = d(sum(gy * out)) / dx, overwritten. */
export function conv2dBackwardInput(gy: Storage, w: Storage, gx: Storage, p: Conv2dParams): void {
  const g = arr(gy), ws = arr(w), o = arr(gx);
  const acc = new Float64Array(p.N * p.C_in * p.H * p.W);
  forEachTap(p, (xi, wi, oi) => {
    acc[xi] = acc[xi]! + g[oi]! * ws[wi]!;
  });
  for (let i = 0; i < acc.length; i++) o[i] = acc[i]!;
}

/** gw (C_out, C_in/groups, KH, KW) = d(sum(gy * out)) / dw, overwritten. */
export function conv2dBackwardWeight(gy: Storage, x: Storage, gw: Storage, p: Conv2dParams): void {
  const g = arr(gy), xs = arr(x), o = arr(gw);
  const acc = new Float64Array(p.C_out * (p.C_in / p.groups) * p.KH * p.KW);
  forEachTap(p, (xi, wi, oi) => {
    acc[wi] = acc[wi]! + g[oi]! * xs[xi]!;
  });
  for (let i = 0; i < acc.length; i++) o[i] = acc[i]!;
}
