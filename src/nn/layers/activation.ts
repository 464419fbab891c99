/** Activation and shape layers: ReLU, Sigmoid, Tanh, Softmax, LogSoftmax, Flatten, Dropout. */
import type { Tensor } from '../../tensor/tensor.js';
import { relu, sigmoid, tanh } from '../../tensor/ops/elementwise.js';
import { log_softmax, softmax } from '../../tensor/ops/softmax.js';
import { flatten } from '../../tensor/ops/views.js';
import { dropout } from '../../tensor/ops/dropout.js';
import { Module } from '../module.js';

/**
 * max(x, 0) elementwise (PyTorch's `nn.ReLU(inplace=False)`); any shape. `inplace` is accepted
 * for porting and ignored: the result is always a new tensor.
 * Source: https://pytorch.org/docs/stable/generated/torch.nn.ReLU.html
 */
export class ReLU extends Module {
  readonly inplace: boolean;
  constructor(inplace = false) {
    super();
    this.inplace = inplace;
  }
  override forward(x: Tensor): Tensor {
    return relu(x);
  }
  override extra_repr(): string {
    return this.inplace ? 'inplace=True' : '';
  }
}

/** 1 / (1 + e^-x) elementwise (PyTorch's `nn.Sigmoid`); any shape. Source: https://pytorch.org/docs/stable/generated/torch.nn.Sigmoid.html */
export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/** tanh elementwise (PyTorch's `nn.Tanh`); any shape. Source: https://pytorch.org/docs/stable/generated/torch.nn.Tanh.html */
export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** softmax over `dim` (PyTorch's `nn.Softmax(dim)`); same shape. Source: https://pytorch.org/docs/stable/generated/torch.nn.Softmax.html */
export class Softmax extends Module {
  constructor(readonly dim: number) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return softmax(x, this.dim);
  }
  override extra_repr(): string {
    return `dim=${this.dim}`;
  }
}

/** log(softmax) over `dim` (PyTorch's `nn.LogSoftmax(dim)`); same shape. Source: https://pytorch.org/docs/stable/generated/torch.nn.LogSoftmax.html */
export class LogSoftmax extends Module {
  constructor(readonly dim: number) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return log_softmax(x, this.dim);
  }
  override extra_repr(): string {
    return `dim=${this.dim}`;
  }
}

/**
 * Merges dims start_dim..end_dim (PyTorch's `nn.Flatten(start_dim=1, end_dim=-1)`):
 * (N, C, H, W) -> (N, C*H*W) by default. A view when the layout allows.
 * Source: https://pytorch.org/docs/stable/generated/torch.nn.Flatten.html
 * @throws RangeError (from flatten) for dims out of range.
 */
export class Flatten extends Module {
  constructor(
    readonly start_dim = 1,
    readonly end_dim = -1,
  ) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return flatten(x, this.start_dim, this.end_dim);
  }
  override extra_repr(): string {
    return `start_dim=${this.start_dim}, end_dim=${this.end_dim}`;
  }
}

/**
 * During training zeroes elements with probability p and scales the rest by 1/(1-p); identity in
 * eval mode (PyTorch's `nn.Dropout(p=0.5, inplace=False)`; `inplace` is ignored). The mask comes
 * from the default generator (see F.dropout).
 * Source: https://pytorch.org/docs/stable/generated/torch.nn.Dropout.html
 * @throws RangeError when p is not in [0, 1].
 */
export class Dropout extends Module {
  readonly p: number;
  readonly inplace: boolean;
  constructor(p = 0.5, inplace = false) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: dropout probability has to be between 0 and 1, but got ${p}`);
    this.p = p;
    this.inplace = inplace;
  }
  override forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
  override extra_repr(): string {
    return `p=${this.p}, inplace=${this.inplace ? 'True' : 'False'}`;
  }
}
