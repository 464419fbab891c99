/**
 * Reference 2-d pooling on contiguous NCHW data (PyTorch's F.max_pool2d, F.avg_pool2d and
 * F.adaptive_avg_pool2d) and their backward primitives. Plain loops, float64 accumulation,
 * float32 or float64 storage. Every (n, c) plane is pooled independently; output element
 * (oh, ow) of a plane reads the window described below, and each backward scatters through
 * exactly the same window into a float64 scratch array that is copied out at the end.
 */
import type { AdaptivePool2dParams, Pool2dParams, Storage } from '../backend.js';
import { arr } from './storage.js';

/**
 * max_pool2d. Window taps: ih = oh*strideH - padH + kh*dilationH (kh < KH), likewise iw; taps in
 * the padding are -inf, i.e. skipped. A tap replaces the current maximum when it is greater or
 * when it is NaN, exactly PyTorch's CPU/CUDA rule `val > max || isnan(val)`: so the FIRST of
 * tied maxima wins, a NaN anywhere in the window makes the output NaN, and with several NaNs the
 * last one in scan order gives the index. A window of only -inf gives -inf at its first tap; a
 * window with no tap inside the input (possible with dilation) gives -inf and index -1.
 * `indices` (int32) receives the flat ih*W + iw position inside the input plane.
 */
export function maxPool2d(x: Storage, out: Storage, indices: Storage, p: Pool2dParams): void {
  const xs = arr(x), o = arr(out), ix = arr(indices);
  const { N, C, H, W, OH, OW, KH, KW, strideH, strideW, padH, padW, dilationH, dilationW } = p;
  for (let nc = 0; nc < N * C; nc++) {
    const xb = nc * H * W;
    const ob = nc * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let m = -Infinity;
        let idx = -1;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * strideH - padH + kh * dilationH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * strideW - padW + kw * dilationW;
            if (iw < 0 || iw >= W) continue;
            const v = xs[xb + ih * W + iw]!;
            if (idx < 0 || v > m || Number.isNaN(v)) {
              m = v;
              idx = ih * W + iw;
            }
          }
        }
        // A dilated window can have every tap in the padding (H=2, KH=2, dilation 3, padding 1):
        // then -inf and index -1, which the backward skips. (PyTorch writes -inf with an index
        // past the plane and likewise passes no gradient.)
        o[ob + oh * OW + ow] = m;
        ix[ob + oh * OW + ow] = idx;
      }
    }
  }
}

/** gx (N, C, H, W), overwritten: gx[n, c, indices[o]] += gy[n, c, o] over every output o (index -1 skipped). */
export function maxPool2dBackward(gy: Storage, indices: Storage, gx: Storage, p: Pool2dParams): void {
  const g = arr(gy), ix = arr(indices), o = arr(gx);
  const { N, C, H, W, OH, OW } = p;
  const acc = new Float64Array(N * C * H * W);
  for (let nc = 0; nc < N * C; nc++) {
    for (let k = 0; k < OH * OW; k++) {
      const idx = ix[nc * OH * OW + k]!;
      if (idx >= 0) acc[nc * H * W + idx] = acc[nc * H * W + idx]! + g[nc * OH * OW + k]!;
    }
  }
  for (let i = 0; i < acc.length; i++) o[i] = acc[i]!;
}

/** The input rows [h0, h1) x cols [w0, w1) averaged by output (oh, ow), and the divisor. */
function avgWindow(p: Pool2dParams, oh: number, ow: number): { h0: number; h1: number; w0: number; w1: number; div: number } {
  // PyTorch's avg_pool2d: the window is first clipped to input + padding (that size is the
  // count_include_pad divisor), then to the input (the count_include_pad=false divisor).
  let h0 = oh * p.strideH - p.padH;
  let w0 = ow * p.strideW - p.padW;
  let h1 = Math.min(h0 + p.KH, p.H + p.padH);
  let w1 = Math.min(w0 + p.KW, p.W + p.padW);
  const padded = (h1 - h0) * (w1 - w0);
  h0 = Math.max(h0, 0);
  w0 = Math.max(w0, 0);
  h1 = Math.min(h1, p.H);
  w1 = Math.min(w1, p.W);
  const div = p.divisorOverride !== 0 ? p.divisorOverride : p.countIncludePad ? padded : (h1 - h0) * (w1 - w0);
  return { h0, h1, w0, w1, div };
}

/** avg_pool2d: out = sum of the window (see avgWindow) / divisor. */
export function avgPool2d(x: Storage, out: Storage, p: Pool2dParams): void {
  const xs = arr(x), o = arr(out);
  const { N, C, H, W, OH, OW } = p;
  for (let nc = 0; nc < N * C; nc++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const { h0, h1, w0, w1, div } = avgWindow(p, oh, ow);
        let s = 0;
        for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) s += xs[nc * H * W + ih * W + iw]!;
        o[(nc * OH + oh) * OW + ow] = s / div;
      }
    }
  }
}

/** gx (N, C, H, W), overwritten: every input of a window receives gy / divisor. */
export function avgPool2dBackward(gy: Storage, gx: Storage, p: Pool2dParams): void {
  const g = arr(gy), o = arr(gx);
  const { N, C, H, W, OH, OW } = p;
  const acc = new Float64Array(N * C * H * W);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const { h0, h1, w0, w1, div } = avgWindow(p, oh, ow);
        const v = g[(nc * OH + oh) * OW + ow]! / div;
        for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) acc[nc * H * W + ih * W + iw] = acc[nc * H * W + ih * W + iw]! + v;
      }
    }
  }
  for (let i = 0; i < acc.length; i++) o[i] = acc[i]!;
}

/** Adaptive window i of `outSize` over `inSize`: [floor(i*in/out), ceil((i+1)*in/out)). */
function adaptiveRange(i: number, inSize: number, outSize: number): [number, number] {
  return [Math.floor((i * inSize) / outSize), Math.ceil(((i + 1) * inSize) / outSize)];
}

/** adaptive_avg_pool2d: out (oh, ow) = mean of its adaptive window. */
export function adaptiveAvgPool2d(x: Storage, out: Storage, p: AdaptivePool2dParams): void {
  const xs = arr(x), o = arr(out);
  const { N, C, H, W, OH, OW } = p;
  for (let nc = 0; nc < N * C; nc++) {
    for (let oh = 0; oh < OH; oh++) {
      const [h0, h1] = adaptiveRange(oh, H, OH);
      for (let ow = 0; ow < OW; ow++) {
        const [w0, w1] = adaptiveRange(ow, W, OW);
        let s = 0;
        for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) s += xs[nc * H * W + ih * W + iw]!;
        o[(nc * OH + oh) * OW + ow] = s / ((h1 - h0) * (w1 - w0));
      }
    }
  }
}

/** gx (N, C, H, W), overwritten: every input of a window receives gy / window size. */
export function adaptiveAvgPool2dBackward(gy: Storage, gx: Storage, p: AdaptivePool2dParams): void {
  const g = arr(gy), o = arr(gx);
  const { N, C, H, W, OH, OW } = p;
  const acc = new Float64Array(N * C * H * W);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oh = 0; oh < OH; oh++) {
      const [h0, h1] = adaptiveRange(oh, H, OH);
      for (let ow = 0; ow < OW; ow++) {
        const [w0, w1] = adaptiveRange(ow, W, OW);
        const v = g[(nc * OH + oh) * OW + ow]! / ((h1 - h0) * (w1 - w0));
        for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) acc[nc * H * W + ih * W + iw] = acc[nc * H * W + ih * W + iw]! + v;
      }
    }
  }
  for (let i = 0; i < acc.length; i++) o[i] = acc[i]!;
}
