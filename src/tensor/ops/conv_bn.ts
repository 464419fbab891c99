/**
 * conv2d -> batch_norm (evaluation mode) -> optional relu as one op: the inference form of the
 * Conv2d + BatchNorm2d (+ ReLU) stacks of CNNs (PyTorch folds the same pair for inference with
 * torch.nn.utils.fusion.fuse_conv_bn_eval). Backends run it as one primitive
 * (Backend.conv2dBatchNormEval: the webgpu sg kernels apply the normalization in the conv's
 * store), so the activation is written once instead of written, read and written again.
 */
import { needsGrad } from '../autograd.js';
import { is_grad_enabled } from '../grad_mode.js';
import { Tensor } from '../tensor.js';
import { batch_norm, checkVec } from './batchnorm.js';
import { conv2d, conv2dGeometry, type Conv2dOptions } from './conv.js';
import { relu as reluOp } from './elementwise.js';
import { denseCopy, squeeze } from './views.js';
import { max_pool2d } from './pool.js';

/** Options of {@link conv2d_bn_eval}: conv2d's, the batch_norm's eps, and whether a relu follows. */
export interface Conv2dBnEvalOptions extends Conv2dOptions {
  /** batch_norm's eps (default 1e-5, PyTorch's). */
  eps?: number;
  /** Apply relu to the normalized output (default false). NaN stays NaN. */
  relu?: boolean;
  /**
   * Then max_pool2d(kernel_size 2, stride 2) (default false): output (N, C_out, floor(OH/2),
   * floor(OW/2)). With an even OH and OW the webgpu sg kernels write only the pooled values.
   */
  max_pool?: boolean;
  /**
   * A tensor of the output's shape added after the normalization and before the relu: a residual
   * block's relu(bn2(conv2(h)) + shortcut). Not with max_pool.
   */
  residual?: Tensor | null;
}

/**
 * [max_pool2d(., 2) of] relu?(batch_norm(conv2d(x, weight, bias, opts), running_mean, running_var,
 * bn_weight, bn_bias, training = false, eps) [+ residual]): the same values as the composition (within float32 rounding: the
 * normalization is applied to the conv's float32 result, not folded into the weights).
 *
 * Shapes: x (N, C_in, H, W) or (C_in, H, W); weight (C_out, C_in/groups, KH, KW); bias, and the
 * batch_norm's running_mean, running_var, bn_weight, bn_bias: (C_out) (bias, bn_weight, bn_bias
 * may be null) -> (N, C_out, OH, OW) (or unbatched), OH/OW as conv2d, halved (floor) by max_pool.
 * When autograd would record (grad enabled and an input requiring grad) it IS the composition
 * of conv2d, batch_norm and relu, so gradients are PyTorch's; the running statistics are
 * constants (evaluation mode) and are never updated.
 *
 * @throws everything conv2d throws (shapes, dtypes, devices, geometry), and batch_norm's errors
 * for a (C_out) vector of the wrong shape, dtype or device, or an eps that is negative or not
 * finite; a RangeError for a residual whose shape is not the output's or one given with max_pool;
 * TypeError / Error for a residual of another dtype / device.
 */
export function conv2d_bn_eval(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  running_mean: Tensor,
  running_var: Tensor,
  bn_weight: Tensor | null = null,
  bn_bias: Tensor | null = null,
  opts: Conv2dBnEvalOptions = {},
): Tensor {
  const eps = opts.eps ?? 1e-5;
  const relu = opts.relu ?? false;
  const { x4, p } = conv2dGeometry('conv2d_bn_eval', x, weight, bias, opts);
  const pool = opts.max_pool ?? false;
  const res = opts.residual ?? null;
  if (res) {
    res.assertAlive('conv2d_bn_eval');
    const want = x.ndim === 3 ? [p.C_out, p.OH, p.OW] : [p.N, p.C_out, p.OH, p.OW];
    if (pool) throw new RangeError('conv2d_bn_eval: residual and max_pool cannot be combined');
    if (res.ndim !== want.length || res.shape.some((d, i) => d !== want[i])) {
      throw new RangeError(`conv2d_bn_eval: residual must have the output's shape [${want.join(', ')}], got [${res.shape.join(', ')}]`);
    }
    if (res.dtype !== x.dtype) throw new TypeError(`conv2d_bn_eval: residual has dtype ${res.dtype} but the input has dtype ${x.dtype}`);
    if (res.device !== x.device) throw new Error(`conv2d_bn_eval: residual is on '${res.device}' but the input is on '${x.device}'`);
  }
  if (is_grad_enabled() && needsGrad(x, weight, bias, bn_weight, bn_bias, res)) {
    let y = batch_norm(conv2d(x, weight, bias, opts), running_mean, running_var, bn_weight, bn_bias, false, 0.1, eps);
    if (res) y = y.add(res);
    const z = relu ? reluOp(y) : y;
    return pool ? max_pool2d(z, 2) : z;
  }
  if (pool && (p.OH % 2 !== 0 || p.OW % 2 !== 0 || p.OH < 2 || p.OW < 2)) {
    // odd sizes: the pool floors; a separate pass
    const y = conv2d_bn_eval(x, weight, bias, running_mean, running_var, bn_weight, bn_bias, { ...opts, max_pool: false });
    const z = max_pool2d(y, 2);
    y.dispose();
    return z;
  }
  const C = p.C_out;
  for (const [name, v] of [['running_mean', running_mean], ['running_var', running_var], ['weight', bn_weight], ['bias', bn_bias]] as const) {
    if (name.startsWith('running') && !v) throw new Error(`conv2d_bn_eval: ${name} is required (evaluation mode)`);
    checkVec(name, v, x4, C);
  }
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new RangeError(`conv2d_bn_eval: eps must be a finite non-negative number, got ${eps}`);
  const dense = (t: Tensor | null): Tensor | null => (t && !t._isDense ? denseCopy(t) : t);
  const parts = [x4, weight, bias, bn_weight, bn_bias, running_mean, running_var, res];
  const d = parts.map(dense);
  const out = Tensor.empty(pool ? [p.N, C, p.OH / 2, p.OW / 2] : [p.N, C, p.OH, p.OW], x.dtype, x.device);
  const st = (i: number) => d[i]?.storage ?? null;
  out.backend.conv2dBatchNormEval(st(0)!, st(1)!, st(2), st(3), st(4), st(5)!, st(6)!, out.storage, p, { eps, relu, maxPool2x2: pool, residual: st(7) });
  d.forEach((t, i) => {
    if (t && t !== parts[i]) t.dispose();
  });
  return x.ndim === 3 ? squeeze(out, 0) : out;
}
