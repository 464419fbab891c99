/** Fused squeeze-excitation block, forward and backward through the backend primitives. */
import type { SEParams } from '../../kernels/backend.js';
import { needsGrad, record } from '../autograd.js';
import { fmtShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { denseCopy } from './views.js';

function dense(t: Tensor): Tensor {
  return t._isDense ? t : denseCopy(t);
}

/**
 * Squeeze-excitation: with pooled = mean over (H, W) of x (N, C),
 *   hidden = relu(pooled @ w1^T) (N, R),  gate = sigmoid(hidden @ w2^T) (N, C),
 *   out = x * gate[:, :, None, None] (N, C, H, W).
 * x (N, C, H, W); w1 (R, C) and w2 (C, R) are the weights of two bias-free nn.Linear layers
 * (C -> R and R -> C). Differentiable in x, w1 and w2 (the ReLU's gradient is 0 at 0, as PyTorch).
 * Equal, up to rounding, to composing adaptive_avg_pool2d(x, 1), linear, relu, linear, sigmoid and mul.
 *
 * Source: Hu et al., "Squeeze-and-Excitation Networks" (CVPR 2018), as used by ResEmoteNet; the
 * primitives follow the PyTorch docs of torch.nn.Linear, torch.relu and torch.sigmoid.
 * @throws RangeError when x is not 4-d, the weights are not 2-d, or their shapes disagree with
 * (R, C) and (C, R); TypeError for int32 or mismatched dtypes; Error for mismatched devices.
 */
export function se_block(x: Tensor, w1: Tensor, w2: Tensor): Tensor {
  for (const t of [x, w1, w2]) t.assertAlive('se_block');
  if (x.ndim !== 4) throw new RangeError(`se_block: x must be 4-d (N, C, H, W), got ${fmtShape(x.shape)}`);
  if (w1.ndim !== 2 || w2.ndim !== 2) {
    throw new RangeError(`se_block: w1 and w2 must be 2-d, got w1 ${fmtShape(w1.shape)} and w2 ${fmtShape(w2.shape)}`);
  }
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const R = w1.shape[0]!;
  if (w1.shape[1] !== C) throw new RangeError(`se_block: w1 ${fmtShape(w1.shape)} must be (R, C) with C = ${C} (x ${fmtShape(x.shape)})`);
  if (w2.shape[0] !== C || w2.shape[1] !== R) {
    throw new RangeError(`se_block: w2 ${fmtShape(w2.shape)} must be (C, R) = [${C}, ${R}] (x ${fmtShape(x.shape)}, w1 ${fmtShape(w1.shape)})`);
  }
  if (x.dtype === 'int32') throw new TypeError('se_block: expects floating-point tensors, got int32');
  if (w1.dtype !== x.dtype || w2.dtype !== x.dtype) {
    throw new TypeError(`se_block: dtypes differ: x ${x.dtype}, w1 ${w1.dtype}, w2 ${w2.dtype}`);
  }
  if (w1.device !== x.device || w2.device !== x.device) {
    throw new Error(`se_block: tensors on different devices: x '${x.device}', w1 '${w1.device}', w2 '${w2.device}'`);
  }
  if (H * W === 0) throw new RangeError(`se_block: the spatial size must be non-empty, got x ${fmtShape(x.shape)}`);

  const p: SEParams = { N, C, S: H * W, R };
  const b = x.backend;
  const xd = dense(x);
  const ad = dense(w1);
  const bd = dense(w2);
  const out = Tensor.empty(x.shape, x.dtype, x.device);
  const hidden = Tensor.empty([N, R], x.dtype, x.device);
  const gate = Tensor.empty([N, C], x.dtype, x.device);
  b.seForward(xd.storage, ad.storage, bd.storage, out.storage, hidden.storage, gate.storage, p);
  if (!needsGrad(x, w1, w2)) {
    for (const [d, t] of [[xd, x], [ad, w1], [bd, w2]] as const) if (d !== t) d.dispose();
    hidden.dispose();
    gate.dispose();
    return out;
  }
  return record('se_block', out, [x, w1, w2], (gy) => {
    const g = dense(gy);
    const gx = Tensor.empty(x.shape, x.dtype, x.device);
    const gw1 = Tensor.empty([R, C], x.dtype, x.device);
    const gw2 = Tensor.empty([C, R], x.dtype, x.device);
    b.seBackward(g.storage, xd.storage, ad.storage, bd.storage, hidden.storage, gate.storage, gx.storage, gw1.storage, gw2.storage, p);
    if (g !== gy) g.dispose();
    const keep = (t: Tensor, on: boolean) => {
      if (on) return t;
      t.dispose();
      return null;
    };
    return [keep(gx, x.requires_grad), keep(gw1, w1.requires_grad), keep(gw2, w2.requires_grad)];
  });
}
