/**
 * Pooling ops (PyTorch's F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d): validation, output
 * geometry (PyTorch's pooling_output_shape, ceil_mode included), the backend primitives, and the
 * autograd record through the backward primitives. Inputs are (N, C, H, W) or unbatched (C, H, W).
 */
import type { AdaptivePool2dParams, Pool2dParams } from '../../kernels/backend.js';
import { needsGrad, record } from '../autograd.js';
import { fmtShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { asBatched4d, pair2 } from './conv.js';
import { denseCopy, detach, squeeze } from './views.js';

export interface MaxPool2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  ceil_mode?: boolean;
}
export interface AvgPool2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  ceil_mode?: boolean;
  count_include_pad?: boolean;
  divisor_override?: number | null;
}

/**
 * PyTorch's pooling_output_shape: floor (or ceil) of (size + 2*pad - dil*(k-1) - 1) / stride, + 1;
 * with ceil_mode the last window must start inside the input or the left padding.
 */
function poolOutSize(size: number, k: number, pad: number, stride: number, dil: number, ceil: boolean): number {
  let out = Math.floor((size + 2 * pad - dil * (k - 1) - 1 + (ceil ? stride - 1 : 0)) / stride) + 1;
  if (ceil && (out - 1) * stride >= size + pad) out--;
  return out;
}

/** Validates the window arguments and input of a max/avg pool; returns x as 4-d and the geometry. */
function poolGeometry(
  op: string,
  x: Tensor,
  kernel_size: number | readonly number[],
  stride: number | readonly number[] | null | undefined,
  padding: number | readonly number[],
  dilation: number | readonly number[],
  ceil: boolean,
): { x4: Tensor; p: Pool2dParams } {
  const x4 = asBatched4d(op, x);
  const [KH, KW] = pair2(op, 'kernel_size', kernel_size, 1);
  // PyTorch: stride=None (or an empty list) means stride = kernel_size.
  const noStride = stride === undefined || stride === null || (Array.isArray(stride) && stride.length === 0);
  const [strideH, strideW] = noStride ? [KH, KW] : pair2(op, 'stride', stride, 1);
  const [padH, padW] = pair2(op, 'padding', padding, 0);
  const [dilationH, dilationW] = pair2(op, 'dilation', dilation, 1);
  if (padH > Math.floor(KH / 2) || padW > Math.floor(KW / 2)) {
    throw new RangeError(`${op}: pad should be at most half of kernel size, but got padding [${padH}, ${padW}] for kernel_size [${KH}, ${KW}]`);
  }
  const [N, C, H, W] = x4.shape as [number, number, number, number];
  const OH = poolOutSize(H, KH, padH, strideH, dilationH, ceil);
  const OW = poolOutSize(W, KW, padW, strideW, dilationW, ceil);
  if (OH < 1 || OW < 1) {
    throw new RangeError(
      `${op}: output size is too small: input ${fmtShape(x.shape)} with kernel_size [${KH}, ${KW}], stride [${strideH}, ${strideW}], padding [${padH}, ${padW}], dilation [${dilationH}, ${dilationW}] gives ${OH} x ${OW}`,
    );
  }
  return {
    x4,
    p: { N, C, H, W, OH, OW, KH, KW, strideH, strideW, padH, padW, dilationH, dilationW, countIncludePad: true, divisorOverride: 0 },
  };
}

/** The dense (contiguous from element 0) version of t: t itself or a copy the caller disposes. */
function dense(t: Tensor): Tensor {
  return t._isDense ? t : denseCopy(t);
}

/**
 * Shared by max_pool2d and max_pool2d_with_indices: the 4-d output (recorded), the 4-d indices
 * the backward reads, and whether the op was recorded.
 */
function maxPoolImpl(op: string, x: Tensor, kernel_size: number | [number, number], opts: MaxPool2dOptions): { y: Tensor; idx: Tensor; recorded: boolean } {
  const { x4, p } = poolGeometry(op, x, kernel_size, opts.stride, opts.padding ?? 0, opts.dilation ?? 1, opts.ceil_mode ?? false);
  const xc = dense(x4);
  const shape = [p.N, p.C, p.OH, p.OW];
  const out = Tensor.empty(shape, x.dtype, x.device);
  const idx = Tensor.empty(shape, 'int32', x.device);
  out.backend.maxPool2d(xc.storage, out.storage, idx.storage, p);
  if (xc !== x4) xc.dispose();
  const recorded = needsGrad(x4);
  const y = record(op, out, [x4], (gy) => {
    const g = dense(gy);
    const gx = Tensor.empty(x4.shape, x.dtype, x.device);
    gx.backend.maxPool2dBackward(g.storage, idx.storage, gx.storage, p);
    if (g !== gy) g.dispose();
    return [gx];
  });
  return { y, idx, recorded };
}

/**
 * 2-d max pooling, PyTorch's `torch.nn.functional.max_pool2d`
 * (https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html):
 * out[n, c, oh, ow] = max over kh < KH, kw < KW of
 * x[n, c, oh*strideH - padH + kh*dilH, ow*strideW - padW + kw*dilW], the padding being -inf.
 *
 * Shapes: x (N, C, H, W) or unbatched (C, H, W) -> (N, C, OH, OW) (or (C, OH, OW)), with
 * OH = floor((H + 2*padH - dilH*(KH-1) - 1)/strideH) + 1 (ceil with ceil_mode, dropping a last
 * window that would start in the right padding), likewise OW. stride defaults to kernel_size,
 * padding to 0, dilation to 1. The gradient flows to the selected element only: the first
 * maximum in window scan order on ties (PyTorch's rule, also for the indices). NaN propagates:
 * a NaN in the window is selected (the last one if several, as PyTorch). A dilated window with
 * no tap inside the input gives -inf, index -1 and no gradient.
 *
 * @throws TypeError for an int32 input.
 * @throws RangeError when x is not 3-d/4-d or has a zero C/H/W; when kernel_size, stride or
 * dilation < 1 or padding < 0; when padding > kernel_size / 2; when the output would be empty.
 */
export function max_pool2d(x: Tensor, kernel_size: number | [number, number], opts: MaxPool2dOptions = {}): Tensor {
  const { y, idx, recorded } = maxPoolImpl('max_pool2d', x, kernel_size, opts);
  if (!recorded) idx.dispose();
  return x.ndim === 3 ? squeeze(y, 0) : y;
}

/**
 * max_pool2d that also returns the int32 indices of the selected elements, as PyTorch's
 * `max_pool2d(..., return_indices=True)`: each index is the flat h*W + w position inside its
 * (n, c) input plane (the format F.max_unpool2d takes). Shapes, rules and errors as
 * {@link max_pool2d}; returns [out, indices], both (N, C, OH, OW) (or unbatched (C, OH, OW)).
 * The indices tensor is the caller's own handle: disposing it does not break the backward.
 */
export function max_pool2d_with_indices(x: Tensor, kernel_size: number | [number, number], opts: MaxPool2dOptions = {}): [Tensor, Tensor] {
  const { y, idx, recorded } = maxPoolImpl('max_pool2d_with_indices', x, kernel_size, opts);
  if (x.ndim === 4) return [y, recorded ? detach(idx) : idx];
  // squeeze makes the caller's own handle; the 4-d one stays with the backward (or goes now).
  const idx3 = squeeze(idx, 0);
  if (!recorded) idx.dispose();
  return [squeeze(y, 0), idx3];
}

/**
 * 2-d average pooling, PyTorch's `torch.nn.functional.avg_pool2d`
 * (https://pytorch.org/docs/stable/generated/torch.nn.AvgPool2d.html): each output is the sum of
 * its window (rows oh*strideH - padH .. + KH, likewise columns; padding contributes 0) divided by
 * `divisor_override` when given, else by the window size clipped to the padded input
 * (count_include_pad, the default) or to the input itself (count_include_pad=false).
 *
 * Shapes: x (N, C, H, W) or unbatched (C, H, W) -> (N, C, OH, OW) (or (C, OH, OW)),
 * OH = floor((H + 2*padH - KH)/strideH) + 1 (ceil with ceil_mode, dropping a last window that
 * would start in the right padding), likewise OW. stride defaults to kernel_size.
 *
 * @throws TypeError for an int32 input.
 * @throws RangeError when x is not 3-d/4-d or has a zero C/H/W; when kernel_size or stride < 1 or
 * padding < 0; when padding > kernel_size / 2; when divisor_override is 0 or not an integer;
 * when the output would be empty.
 */
export function avg_pool2d(x: Tensor, kernel_size: number | [number, number], opts: AvgPool2dOptions = {}): Tensor {
  const op = 'avg_pool2d';
  const { x4, p } = poolGeometry(op, x, kernel_size, opts.stride, opts.padding ?? 0, 1, opts.ceil_mode ?? false);
  const dov = opts.divisor_override ?? null;
  if (dov !== null && (!Number.isInteger(dov) || dov === 0)) throw new RangeError(`${op}: divisor_override must be a non-zero integer, got ${dov}`);
  const params: Pool2dParams = { ...p, countIncludePad: opts.count_include_pad ?? true, divisorOverride: dov ?? 0 };
  const xc = dense(x4);
  const out = Tensor.empty([p.N, p.C, p.OH, p.OW], x.dtype, x.device);
  out.backend.avgPool2d(xc.storage, out.storage, params);
  if (xc !== x4) xc.dispose();
  const y = record(op, out, [x4], (gy) => {
    const g = dense(gy);
    const gx = Tensor.empty(x4.shape, x.dtype, x.device);
    gx.backend.avgPool2dBackward(g.storage, gx.storage, params);
    if (g !== gy) g.dispose();
    return [gx];
  });
  return x.ndim === 3 ? squeeze(y, 0) : y;
}

/**
 * Adaptive 2-d average pooling, PyTorch's `torch.nn.functional.adaptive_avg_pool2d`
 * (https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool2d.html): output row i
 * averages input rows [floor(i*H/OH), ceil((i+1)*H/OH)), likewise columns (windows may overlap).
 *
 * Shapes: x (N, C, H, W) or unbatched (C, H, W) -> (N, C, OH, OW) (or (C, OH, OW)), where
 * output_size is OH = OW or [OH, OW].
 *
 * @throws TypeError for an int32 input.
 * @throws RangeError when x is not 3-d/4-d or has a zero C/H/W, or output_size is not a
 * non-negative integer or pair of them.
 */
export function adaptive_avg_pool2d(x: Tensor, output_size: number | [number, number]): Tensor {
  const op = 'adaptive_avg_pool2d';
  const x4 = asBatched4d(op, x);
  const [OH, OW] = pair2(op, 'output_size', output_size, 0);
  const [N, C, H, W] = x4.shape as [number, number, number, number];
  const p: AdaptivePool2dParams = { N, C, H, W, OH, OW };
  const xc = dense(x4);
  const out = Tensor.empty([N, C, OH, OW], x.dtype, x.device);
  out.backend.adaptiveAvgPool2d(xc.storage, out.storage, p);
  if (xc !== x4) xc.dispose();
  const y = record(op, out, [x4], (gy) => {
    const g = dense(gy);
    const gx = Tensor.empty(x4.shape, x.dtype, x.device);
    gx.backend.adaptiveAvgPool2dBackward(g.storage, gx.storage, p);
    if (g !== gy) g.dispose();
    return [gx];
  });
  return x.ndim === 3 ? squeeze(y, 0) : y;
}
