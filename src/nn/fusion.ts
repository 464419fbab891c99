/**
 * Inference fusion of module pairs, in the spirit of PyTorch's torch.nn.utils.fusion and
 * torch.ao.quantization.fuse_modules, but at call time: no new module, no folded weights.
 */
import type { Tensor } from '../tensor/tensor.js';
import { max_pool2d } from '../tensor/ops/pool.js';
import { relu } from '../tensor/ops/elementwise.js';
import { conv2d_bn_eval } from '../tensor/ops/conv_bn.js';
import { batch_norm_max_pool2d_relu } from '../tensor/ops/batchnorm.js';
import { Conv2d } from './layers/conv.js';
import { BatchNorm2d } from './layers/batchnorm.js';

/** What follows the batch norm in {@link conv_bn}. */
export interface ConvBnOptions {
  /** A tensor of the output's shape added after the batch norm (a residual block's shortcut). */
  residual?: Tensor | null;
  /** relu after the batch norm (and the residual). */
  relu?: boolean;
  /** max_pool2d(kernel 2, stride 2) last (not with `residual`). */
  max_pool?: boolean;
}

/**
 * The forward of `bn(conv(x))` [+ residual] [-> relu] [-> max_pool2d(2)]: in evaluation mode, for
 * plain Conv2d and BatchNorm2d layers (not subclasses) with running statistics and numeric
 * padding, one conv2d_bn_eval call (on webgpu the normalization, residual, relu and pool happen
 * in the convolution's store: one pass over the output instead of up to four); otherwise the
 * module calls and the ops in sequence. The same values either way, to float32 rounding;
 * conv2d_bn_eval composes the differentiable ops when autograd records.
 *
 * Shapes: x (N, C_in, H, W) -> (N, C_out, OH, OW), halved by max_pool.
 * @throws what the modules, conv2d_bn_eval (a residual of another shape, residual with max_pool)
 * or the ops throw.
 */
export function conv_bn(conv: Conv2d, bn: BatchNorm2d, x: Tensor, opts: ConvBnOptions = {}): Tensor {
  const residual = opts.residual ?? null;
  const plain = Object.getPrototypeOf(conv) === Conv2d.prototype && Object.getPrototypeOf(bn) === BatchNorm2d.prototype;
  const fusable =
    plain && !bn.training && !!bn.running_mean && !!bn.running_var && typeof conv.padding !== 'string' && x.ndim === 4 && x.shape[1] === conv.in_channels && bn.num_features === conv.out_channels;
  if (!fusable) {
    let y = bn.call(conv.call(x));
    if (residual) y = y.add(residual);
    if (opts.relu) y = relu(y);
    return opts.max_pool ? max_pool2d(y, 2) : y;
  }
  return conv2d_bn_eval(x, conv.weight, conv.bias, bn.running_mean!, bn.running_var!, bn.weight, bn.bias, {
    stride: conv.stride,
    padding: conv.padding as [number, number],
    dilation: conv.dilation,
    groups: conv.groups,
    eps: bn.eps,
    relu: opts.relu ?? false,
    max_pool: opts.max_pool ?? false,
    residual,
  });
}

/**
 * relu(max_pool2d(bn(z), 2)) for a BatchNorm2d `bn` in training mode (batch statistics) as the
 * single op batch_norm_max_pool2d_relu, with bn's bookkeeping (num_batches_tracked, running
 * statistics) as bn.call does; in evaluation mode, or for a BatchNorm2d subclass, the module call
 * and the ops in sequence. The same values and gradients either way.
 *
 * Shapes: z (N, C, H, W) -> (N, C, floor(H/2), floor(W/2)).
 * @throws what bn or the ops throw (shape, channel count).
 */
export function bn_max_pool2d_relu(bn: BatchNorm2d, z: Tensor): Tensor {
  if (Object.getPrototypeOf(bn) !== BatchNorm2d.prototype || !bn.training) return relu(max_pool2d(bn.call(z), 2));
  const a = bn._functionalArgs(z);
  return batch_norm_max_pool2d_relu(z, a.running_mean, a.running_var, bn.weight, bn.bias, a.momentum, bn.eps);
}
