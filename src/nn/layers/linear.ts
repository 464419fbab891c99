/** nn.Linear and nn.Identity (PyTorch's torch.nn.Linear, torch.nn.Identity). */
import type { Tensor } from '../../tensor/tensor.js';
import type { Device } from '../../tensor/device.js';
import type { DType } from '../../tensor/dtype.js';
import { zeros } from '../../tensor/ops/creation.js';
import { linear } from '../../tensor/ops/matmul.js';
import { Module, Parameter } from '../module.js';
import { _calculate_fan_in_and_fan_out, kaiming_uniform_, uniform_ } from '../init.js';
import { fmtShape, pyBool } from '../_util.js';

/** Where and how new parameters are created (PyTorch's `device=`/`dtype=` factory kwargs). */
export interface FactoryOptions {
  device?: Device;
  dtype?: DType;
}

export interface LinearOptions extends FactoryOptions {
  /** Whether to learn an additive bias (default true). */
  bias?: boolean;
}

function checkFeatures(owner: string, what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${owner}: ${what} must be a non-negative integer, got ${n}`);
}

/**
 * y = x W^T + b (PyTorch's `nn.Linear(in_features, out_features, bias=True)`).
 * Shapes: x (*, in_features) -> (*, out_features); weight (out_features, in_features), bias (out_features).
 * Init as PyTorch: weight ~ kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)); bias ~ U(-1/sqrt(in), 1/sqrt(in)).
 * Source: https://pytorch.org/docs/stable/generated/torch.nn.Linear.html
 * @throws RangeError for negative or non-integer sizes, and in forward when x's last dim is not in_features.
 */
export class Linear extends Module {
  readonly in_features: number;
  readonly out_features: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(in_features: number, out_features: number, opts: LinearOptions = {}) {
    super();
    checkFeatures('Linear', 'in_features', in_features);
    checkFeatures('Linear', 'out_features', out_features);
    this.in_features = in_features;
    this.out_features = out_features;
    const f = { device: opts.device, dtype: opts.dtype };
    this.weight = new Parameter(zeros([out_features, in_features], f));
    this.bias = (opts.bias ?? true) ? new Parameter(zeros([out_features], f)) : null;
    this.reset_parameters();
  }

  /** Re-draws weight and bias with PyTorch's default init. */
  reset_parameters(): void {
    kaiming_uniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const [fanIn] = _calculate_fan_in_and_fan_out(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(this.bias, -bound, bound);
    }
  }

  override forward(x: Tensor): Tensor {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.in_features) {
      throw new RangeError(`Linear: input of shape ${fmtShape(x.shape)} does not end in in_features=${this.in_features} (weight ${fmtShape(this.weight.shape)})`);
    }
    return linear(x, this.weight, this.bias);
  }

  override extra_repr(): string {
    return `in_features=${this.in_features}, out_features=${this.out_features}, bias=${pyBool(this.bias !== null)}`;
  }
}

/** Returns its input unchanged (PyTorch's `nn.Identity`); constructor arguments are ignored, as PyTorch. */
export class Identity extends Module {
  constructor(...args: unknown[]) {
    super();
    void args;
  }
  override forward(x: Tensor): Tensor {
    return x;
  }
}
