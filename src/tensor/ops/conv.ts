/**
 * 2-d convolution (PyTorch's F.conv2d): validation, output geometry, the backend primitives for
 * the forward and both backward products, and the autograd record (grads for x, weight, bias).
 */
import type { Conv2dParams } from '../../kernels/backend.js';
import { needsGrad, record } from '../autograd.js';
import { fmtShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { sum } from './reduce.js';
import { denseCopy, squeeze, unsqueeze } from './views.js';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

/**
 * @internal Normalizes an int-or-pair argument of `op` to [h, w]; throws a RangeError naming
 * `op` and `what` unless both entries are integers >= `min`.
 */
export function pair2(op: string, what: string, v: number | readonly number[], min: number): [number, number] {
  const p = typeof v === 'number' ? [v, v] : [...v];
  if (p.length !== 2 || !p.every((d) => Number.isInteger(d) && d >= min)) {
    throw new RangeError(`${op}: ${what} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer or a pair of them, got ${JSON.stringify(v)}`);
  }
  return [p[0]!, p[1]!];
}

/**
 * @internal Common input checks of the 2-d spatial ops: x is alive, floating point, 3-d (C, H, W,
 * unbatched) or 4-d (N, C, H, W) with non-zero C, H, W (N may be 0, as PyTorch). Returns x as 4-d.
 */
export function asBatched4d(op: string, x: Tensor): Tensor {
  x.assertAlive(op);
  if (x.dtype === 'int32') throw new TypeError(`${op}: expects a floating-point input, got int32 of shape ${fmtShape(x.shape)}`);
  if (x.ndim !== 3 && x.ndim !== 4) {
    throw new RangeError(`${op}: expected a 3-d (unbatched C, H, W) or 4-d (batched N, C, H, W) input, got shape ${fmtShape(x.shape)}`);
  }
  if (x.shape.slice(-3).some((d) => d === 0)) {
    throw new RangeError(`${op}: expected non-zero sizes for the channel and spatial dims of the input, got shape ${fmtShape(x.shape)}`);
  }
  return x.ndim === 3 ? unsqueeze(x, 0) : x;
}

/**
 * 2-d convolution (cross-correlation), PyTorch's `torch.nn.functional.conv2d`
 * (https://pytorch.org/docs/stable/generated/torch.nn.functional.conv2d.html):
 *
 *   out[n, co, oh, ow] = bias[co] + sum_{ci, kh, kw} w[co, ci, kh, kw]
 *       * x[n, g*C_in/groups + ci, oh*strideH - padH + kh*dilH, ow*strideW - padW + kw*dilW]
 *
 * with g = co / (C_out/groups) and zero padding.
 *
 * Shapes: x (N, C_in, H, W) or unbatched (C_in, H, W); weight (C_out, C_in/groups, KH, KW);
 * bias (C_out) or null -> (N, C_out, OH, OW) (or (C_out, OH, OW) unbatched), where
 * OH = floor((H + 2*padH - dilH*(KH-1) - 1)/strideH) + 1 and likewise OW.
 * stride and dilation default to 1, padding to 0, groups to 1; ints apply to both dims.
 * Differentiable in x, weight and bias (bias gradient = sum of the output gradient over N, OH, OW).
 * Non-contiguous x or weight are copied to contiguous first.
 *
 * @throws TypeError when a tensor is not floating point or the dtypes differ.
 * @throws RangeError when x is not 3-d/4-d, weight not 4-d, bias not (C_out); when stride or
 * dilation < 1, padding < 0 or groups < 1; when C_in != weight.shape[1] * groups or C_out is not
 * divisible by groups; when the dilated kernel is larger than the padded input.
 * @throws Error when the tensors are on different devices.
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  const { x4, p } = conv2dGeometry(op, x, weight, bias, opts);
  const { N, C_out, OH, OW } = p;

  const xc = x4._isDense ? x4 : denseCopy(x4);
  const wc = weight._isDense ? weight : denseCopy(weight);
  const bc = bias && !bias._isDense ? denseCopy(bias) : bias;
  // Which gradients the backward will produce, decided now as PyTorch's needs_input_grad.
  const rec = needsGrad(x4, weight, bias);
  const gradX = rec && x4.requires_grad;
  const gradW = rec && weight.requires_grad;
  const gradB = rec && !!bias && bias.requires_grad;
  // the weight gradient reads x again (and the output gradient after the input gradient)
  if (gradW) p.reuse = true;
  const out = Tensor.empty([N, C_out, OH, OW], x.dtype, x.device);
  out.backend.conv2d(xc.storage, wc.storage, bc ? bc.storage : null, out.storage, p);
  if (bc && bc !== bias) bc.dispose();

  // Keep only what the backward reads: w for the input gradient, x for the weight gradient.
  if (xc !== x4 && !gradW) xc.dispose();
  if (wc !== weight && !gradX) wc.dispose();

  const y = record(op, out, [x4, weight, bias], (gy) => {
    const g = gy._isDense ? gy : denseCopy(gy);
    let gx: Tensor | null = null;
    let gw: Tensor | null = null;
    if (gradX) {
      gx = Tensor.empty(x4.shape, x.dtype, x.device);
      gx.backend.conv2dBackwardInput(g.storage, wc.storage, gx.storage, p);
    }
    if (gradW) {
      gw = Tensor.empty(weight.shape, x.dtype, x.device);
      gw.backend.conv2dBackwardWeight(g.storage, xc.storage, gw.storage, p);
    }
    const gb = gradB ? sum(g, [0, 2, 3]) : null;
    if (g !== gy) g.dispose();
    return [gx, gw, gb];
  });
  return x.ndim === 3 ? squeeze(y, 0) : y;
}

/**
 * @internal The checks and output geometry of conv2d (every error of conv2d's docstring) for `op`:
 * x as 4-d and the backend's Conv2dParams. Dispatches nothing.
 */
export function conv2dGeometry(op: string, x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions): { x4: Tensor; p: Conv2dParams } {
  const x4 = asBatched4d(op, x);
  weight.assertAlive(op);
  bias?.assertAlive(op);
  if (weight.dtype !== x.dtype || (bias && bias.dtype !== x.dtype)) {
    throw new TypeError(`${op}: input, weight and bias must have the same dtype, got ${x.dtype}, ${weight.dtype}${bias ? `, ${bias.dtype}` : ''}`);
  }
  if (weight.device !== x.device || (bias && bias.device !== x.device)) {
    throw new Error(`${op}: input, weight and bias must be on the same device, got '${x.device}', '${weight.device}'${bias ? `, '${bias.device}'` : ''}`);
  }
  if (weight.ndim !== 4) throw new RangeError(`${op}: weight must be 4-d (C_out, C_in/groups, KH, KW), got ${fmtShape(weight.shape)}`);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`${op}: groups must be a positive integer, got ${groups}`);
  const [strideH, strideW] = pair2(op, 'stride', opts.stride ?? 1, 1);
  const [padH, padW] = pair2(op, 'padding', opts.padding ?? 0, 0);
  const [dilationH, dilationW] = pair2(op, 'dilation', opts.dilation ?? 1, 1);
  const [N, C_in, H, W] = x4.shape as [number, number, number, number];
  const [C_out, cinG, KH, KW] = weight.shape as [number, number, number, number];
  if (C_out === 0 || cinG === 0 || KH === 0 || KW === 0) throw new RangeError(`${op}: weight ${fmtShape(weight.shape)} must have non-zero sizes`);
  if (cinG * groups !== C_in) {
    throw new RangeError(
      `${op}: given groups=${groups} and weight of shape ${fmtShape(weight.shape)}, expected input ${fmtShape(x.shape)} to have ${cinG * groups} channels, but got ${C_in}`,
    );
  }
  if (C_out % groups !== 0) throw new RangeError(`${op}: out channels ${C_out} (weight ${fmtShape(weight.shape)}) must be divisible by groups=${groups}`);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== C_out)) {
    throw new RangeError(`${op}: bias must have shape [${C_out}] (out channels of weight ${fmtShape(weight.shape)}), got ${fmtShape(bias.shape)}`);
  }
  const effH = dilationH * (KH - 1) + 1;
  const effW = dilationW * (KW - 1) + 1;
  if (H + 2 * padH < effH || W + 2 * padW < effW) {
    throw new RangeError(
      `${op}: padded input size per channel (${H + 2 * padH} x ${W + 2 * padW}) is smaller than the dilated kernel size (${effH} x ${effW}); input ${fmtShape(x.shape)}, weight ${fmtShape(weight.shape)}, padding [${padH}, ${padW}], dilation [${dilationH}, ${dilationW}]`,
    );
  }
  const OH = Math.floor((H + 2 * padH - effH) / strideH) + 1;
  const OW = Math.floor((W + 2 * padW - effW) / strideW) + 1;
  const p: Conv2dParams = { N, C_in, H, W, C_out, KH, KW, OH, OW, strideH, strideW, padH, padW, dilationH, dilationW, groups };
  return { x4, p };
}
