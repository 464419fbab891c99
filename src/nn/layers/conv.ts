/** nn.Conv2d (PyTorch's torch.nn.Conv2d). */
import type { Tensor } from '../../tensor/tensor.js';
import { zeros } from '../../tensor/ops/creation.js';
import { conv2d } from '../../tensor/ops/conv.js';
import { Module, Parameter } from '../module.js';
import { _calculate_fan_in_and_fan_out, kaiming_uniform_, uniform_ } from '../init.js';
import { fmtShape, pair, pyTuple } from '../_util.js';
import type { FactoryOptions } from './linear.js';

export interface Conv2dModuleOptions extends FactoryOptions {
  stride?: number | [number, number];
  /** Zero padding per side, or 'valid' (none) or 'same' (output size = input size; stride 1 only). */
  padding?: number | [number, number] | 'valid' | 'same';
  dilation?: number | [number, number];
  groups?: number;
  /** Whether to learn a bias (default true). */
  bias?: boolean;
  /** Only 'zeros' is supported. */
  padding_mode?: 'zeros';
}

/**
 * 2-d convolution layer (PyTorch's `nn.Conv2d(in_channels, out_channels, kernel_size, stride=1,
 * padding=0, dilation=1, groups=1, bias=True, padding_mode='zeros')`), over F.conv2d.
 * Shapes: x (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, OH, OW), OH = floor((H + 2*padH -
 * dilH*(KH-1) - 1)/strideH) + 1; weight (C_out, C_in/groups, KH, KW), bias (C_out).
 * Init as PyTorch: weight ~ kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
 * fan_in = C_in/groups*KH*KW; bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
 * Source: https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html
 * @throws RangeError for bad sizes, groups not dividing the channels, 'same' with stride != 1, or
 * (in forward) an input whose channel count is not in_channels; Error for padding_mode other than 'zeros'.
 */
export class Conv2d extends Module {
  readonly in_channels: number;
  readonly out_channels: number;
  readonly kernel_size: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'valid' | 'same';
  readonly dilation: [number, number];
  readonly groups: number;
  readonly padding_mode = 'zeros' as const;
  weight: Parameter;
  bias: Parameter | null;

  constructor(in_channels: number, out_channels: number, kernel_size: number | [number, number], opts: Conv2dModuleOptions = {}) {
    super();
    const owner = 'Conv2d';
    const groups = opts.groups ?? 1;
    if (!Number.isInteger(in_channels) || in_channels < 1) throw new RangeError(`${owner}: in_channels must be a positive integer, got ${in_channels}`);
    if (!Number.isInteger(out_channels) || out_channels < 1) throw new RangeError(`${owner}: out_channels must be a positive integer, got ${out_channels}`);
    if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`${owner}: groups must be a positive integer, got ${groups}`);
    if (in_channels % groups !== 0) throw new RangeError(`${owner}: in_channels (${in_channels}) must be divisible by groups (${groups})`);
    if (out_channels % groups !== 0) throw new RangeError(`${owner}: out_channels (${out_channels}) must be divisible by groups (${groups})`);
    if ((opts.padding_mode ?? 'zeros') !== 'zeros') throw new Error(`${owner}: padding_mode '${String(opts.padding_mode)}' is not supported (only 'zeros')`);
    this.in_channels = in_channels;
    this.out_channels = out_channels;
    this.kernel_size = pair(owner, 'kernel_size', kernel_size, 1);
    this.stride = pair(owner, 'stride', opts.stride ?? 1, 1);
    this.dilation = pair(owner, 'dilation', opts.dilation ?? 1, 1);
    this.groups = groups;
    const padding = opts.padding ?? 0;
    if (padding === 'same' || padding === 'valid') {
      if (padding === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
        throw new RangeError(`${owner}: padding='same' is not supported for strided convolutions (stride ${pyTuple(this.stride)})`);
      }
      this.padding = padding;
    } else {
      this.padding = pair(owner, 'padding', padding, 0);
    }
    const f = { device: opts.device, dtype: opts.dtype };
    this.weight = new Parameter(zeros([out_channels, in_channels / groups, ...this.kernel_size], f));
    this.bias = (opts.bias ?? true) ? new Parameter(zeros([out_channels], f)) : null;
    this.reset_parameters();
  }

  /** Re-draws weight and bias with PyTorch's default init. */
  reset_parameters(): void {
    kaiming_uniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const [fanIn] = _calculate_fan_in_and_fan_out(this.weight);
      if (fanIn !== 0) {
        const bound = 1 / Math.sqrt(fanIn);
        uniform_(this.bias, -bound, bound);
      }
    }
  }

  override forward(x: Tensor): Tensor {
    const c = x.ndim === 4 ? x.shape[1] : x.ndim === 3 ? x.shape[0] : undefined;
    if (c !== this.in_channels) {
      throw new RangeError(
        `Conv2d: expected input (N, ${this.in_channels}, H, W) or (${this.in_channels}, H, W) for weight ${fmtShape(this.weight.shape)}, got ${fmtShape(x.shape)}`,
      );
    }
    const base = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.padding === 'valid') return conv2d(x, this.weight, this.bias, { ...base, padding: 0 });
    if (this.padding !== 'same') return conv2d(x, this.weight, this.bias, { ...base, padding: this.padding });
    // 'same': total padding dil*(k-1) per dim, the extra unit (odd total) on the right/bottom as
    // PyTorch. Pad ceil(total/2) on both sides and drop the first output row/column when odd.
    const tot = [this.dilation[0] * (this.kernel_size[0] - 1), this.dilation[1] * (this.kernel_size[1] - 1)];
    const pad: [number, number] = [Math.ceil(tot[0]! / 2), Math.ceil(tot[1]! / 2)];
    let y = conv2d(x, this.weight, this.bias, { ...base, padding: pad });
    const hd = y.ndim - 2;
    if (tot[0]! % 2 === 1) y = y.slice(hd, 1);
    if (tot[1]! % 2 === 1) y = y.slice(hd + 1, 1);
    return y;
  }

  override extra_repr(): string {
    let s = `${this.in_channels}, ${this.out_channels}, kernel_size=${pyTuple(this.kernel_size)}, stride=${pyTuple(this.stride)}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (this.padding[0] !== 0 || this.padding[1] !== 0) s += `, padding=${pyTuple(this.padding)}`;
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) s += `, dilation=${pyTuple(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ', bias=False';
    return s;
  }
}
