/** Pooling layers: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d (over F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d). */
import type { Tensor } from '../../tensor/tensor.js';
import { adaptive_avg_pool2d, avg_pool2d, max_pool2d } from '../../tensor/ops/pool.js';
import { Module } from '../module.js';
import { fmtShape, pair, pyBool } from '../_util.js';

type IntOrPair = number | [number, number];

function reprIntOrPair(v: IntOrPair): string {
  return typeof v === 'number' ? String(v) : `(${v[0]}, ${v[1]})`;
}

export interface MaxPool2dModuleOptions {
  /** Default: kernel_size. */
  stride?: IntOrPair | null;
  padding?: IntOrPair;
  dilation?: IntOrPair;
  ceil_mode?: boolean;
}

/**
 * 2-d max pooling (PyTorch's `nn.MaxPool2d(kernel_size, stride=None, padding=0, dilation=1,
 * ceil_mode=False)`). x (N, C, H, W) or (C, H, W) -> (N, C, OH, OW),
 * OH = floor((H + 2*pad - dil*(k-1) - 1)/stride) + 1 (ceil with ceil_mode).
 * Source: https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html
 * @throws RangeError for invalid window arguments (here and in F.max_pool2d).
 */
export class MaxPool2d extends Module {
  readonly kernel_size: IntOrPair;
  readonly stride: IntOrPair;
  readonly padding: IntOrPair;
  readonly dilation: IntOrPair;
  readonly ceil_mode: boolean;
  constructor(kernel_size: IntOrPair, opts: MaxPool2dModuleOptions = {}) {
    super();
    pair('MaxPool2d', 'kernel_size', kernel_size, 1);
    this.kernel_size = kernel_size;
    this.stride = opts.stride ?? kernel_size;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.ceil_mode = opts.ceil_mode ?? false;
    pair('MaxPool2d', 'stride', this.stride, 1);
    pair('MaxPool2d', 'padding', this.padding, 0);
    pair('MaxPool2d', 'dilation', this.dilation, 1);
  }
  override forward(x: Tensor): Tensor {
    return max_pool2d(x, this.kernel_size, { stride: this.stride, padding: this.padding, dilation: this.dilation, ceil_mode: this.ceil_mode });
  }
  override extra_repr(): string {
    return `kernel_size=${reprIntOrPair(this.kernel_size)}, stride=${reprIntOrPair(this.stride)}, padding=${reprIntOrPair(this.padding)}, dilation=${reprIntOrPair(this.dilation)}, ceil_mode=${pyBool(this.ceil_mode)}`;
  }
}

export interface AvgPool2dModuleOptions {
  /** Default: kernel_size. */
  stride?: IntOrPair | null;
  padding?: IntOrPair;
  ceil_mode?: boolean;
  /** Count the zero padding in the divisor (default true). */
  count_include_pad?: boolean;
  /** Fixed divisor instead of the window size (default null). */
  divisor_override?: number | null;
}

/**
 * 2-d average pooling (PyTorch's `nn.AvgPool2d(kernel_size, stride=None, padding=0,
 * ceil_mode=False, count_include_pad=True, divisor_override=None)`). x (N, C, H, W) or (C, H, W).
 * Source: https://pytorch.org/docs/stable/generated/torch.nn.AvgPool2d.html
 * @throws RangeError for invalid window arguments (here and in F.avg_pool2d).
 */
export class AvgPool2d extends Module {
  readonly kernel_size: IntOrPair;
  readonly stride: IntOrPair;
  readonly padding: IntOrPair;
  readonly ceil_mode: boolean;
  readonly count_include_pad: boolean;
  readonly divisor_override: number | null;
  constructor(kernel_size: IntOrPair, opts: AvgPool2dModuleOptions = {}) {
    super();
    pair('AvgPool2d', 'kernel_size', kernel_size, 1);
    this.kernel_size = kernel_size;
    this.stride = opts.stride ?? kernel_size;
    this.padding = opts.padding ?? 0;
    this.ceil_mode = opts.ceil_mode ?? false;
    this.count_include_pad = opts.count_include_pad ?? true;
    this.divisor_override = opts.divisor_override ?? null;
    pair('AvgPool2d', 'stride', this.stride, 1);
    pair('AvgPool2d', 'padding', this.padding, 0);
  }
  override forward(x: Tensor): Tensor {
    return avg_pool2d(x, this.kernel_size, {
      stride: this.stride,
      padding: this.padding,
      ceil_mode: this.ceil_mode,
      count_include_pad: this.count_include_pad,
      divisor_override: this.divisor_override,
    });
  }
  override extra_repr(): string {
    return `kernel_size=${reprIntOrPair(this.kernel_size)}, stride=${reprIntOrPair(this.stride)}, padding=${reprIntOrPair(this.padding)}`;
  }
}

/**
 * Adaptive average pooling to a fixed output size (PyTorch's `nn.AdaptiveAvgPool2d(output_size)`):
 * (N, C, H, W) or (C, H, W) -> (N, C, OH, OW); a null entry keeps that input size. Output cell i
 * averages rows floor(i*H/OH) .. ceil((i+1)*H/OH)-1 (likewise columns).
 * Source: https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool2d.html
 * @throws RangeError for a bad output_size, or an input that is not 3-d/4-d.
 */
export class AdaptiveAvgPool2d extends Module {
  readonly output_size: number | [number | null, number | null];
  constructor(output_size: number | [number | null, number | null]) {
    super();
    const chk = (v: number | null) => v === null || (Number.isInteger(v) && v >= 0);
    const ok = typeof output_size === 'number' ? chk(output_size) : Array.isArray(output_size) && output_size.length === 2 && output_size.every(chk);
    if (!ok) throw new RangeError(`AdaptiveAvgPool2d: output_size must be a non-negative integer or a pair of them (null keeps the input size), got ${JSON.stringify(output_size)}`);
    this.output_size = output_size;
  }
  override forward(x: Tensor): Tensor {
    if (x.ndim !== 3 && x.ndim !== 4) throw new RangeError(`AdaptiveAvgPool2d: expected a 3-d or 4-d input, got shape ${fmtShape(x.shape)}`);
    const os = this.output_size;
    const size: number | [number, number] =
      typeof os === 'number' ? os : [os[0] ?? x.shape[x.ndim - 2]!, os[1] ?? x.shape[x.ndim - 1]!];
    return adaptive_avg_pool2d(x, size);
  }
  override extra_repr(): string {
    const os = this.output_size;
    return `output_size=${typeof os === 'number' ? os : `(${os.map((v) => (v === null ? 'None' : v)).join(', ')})`}`;
  }
}
