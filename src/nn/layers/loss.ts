/** Loss modules over the functional losses: CrossEntropyLoss, NLLLoss, MSELoss. */
import type { Tensor } from '../../tensor/tensor.js';
import { cross_entropy, mse_loss, nll_loss, type Reduction } from '../../tensor/ops/loss.js';
import { Module } from '../module.js';
import { pyFloat } from '../_util.js';

function checkReduction(owner: string, r: string): Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new RangeError(`${owner}: ${r} is not a valid value for reduction (expected 'mean', 'sum' or 'none')`);
  return r;
}

export interface WeightedLossOptions {
  /** Per-class weights (C); registered as buffer `weight` (in the state dict), as PyTorch. */
  weight?: Tensor | null;
  /** 'mean' (default; weighted mean over non-ignored samples), 'sum' or 'none'. */
  reduction?: Reduction;
  /** Target value that contributes neither loss nor gradient (default -100). */
  ignore_index?: number;
}

export interface CrossEntropyLossOptions extends WeightedLossOptions {
  /** Mix of the uniform distribution into the targets, in [0, 1] (default 0). */
  label_smoothing?: number;
}

/**
 * Cross entropy between logits and class indices (PyTorch's `nn.CrossEntropyLoss(weight=None,
 * ignore_index=-100, reduction='mean', label_smoothing=0.0)`), over F.cross_entropy.
 * forward(input (N, C) or (N, C, d1, ...), target int32 (N) or (N, d1, ...)) -> scalar, or
 * per-sample losses with reduction 'none'.
 * Source: https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html
 * @throws RangeError for an unknown reduction, label_smoothing outside [0, 1] or a non-integer
 * ignore_index; the forward throws as F.cross_entropy.
 */
export class CrossEntropyLoss extends Module<[Tensor, Tensor], Tensor> {
  readonly reduction: Reduction;
  readonly ignore_index: number;
  readonly label_smoothing: number;
  declare weight: Tensor | null;

  constructor(opts: CrossEntropyLossOptions = {}) {
    super();
    this.reduction = checkReduction('CrossEntropyLoss', opts.reduction ?? 'mean');
    this.ignore_index = opts.ignore_index ?? -100;
    this.label_smoothing = opts.label_smoothing ?? 0;
    if (!Number.isInteger(this.ignore_index)) throw new RangeError(`CrossEntropyLoss: ignore_index must be an integer, got ${this.ignore_index}`);
    if (!(this.label_smoothing >= 0 && this.label_smoothing <= 1)) {
      throw new RangeError(`CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got ${this.label_smoothing}`);
    }
    this.register_buffer('weight', opts.weight ?? null);
  }

  override forward(input: Tensor, target: Tensor): Tensor {
    return cross_entropy(input, target, {
      weight: this.weight,
      reduction: this.reduction,
      ignore_index: this.ignore_index,
      label_smoothing: this.label_smoothing,
    });
  }

  override extra_repr(): string {
    return this.label_smoothing ? `label_smoothing=${pyFloat(this.label_smoothing)}` : '';
  }
}

/**
 * Negative log likelihood of log-probabilities (PyTorch's `nn.NLLLoss(weight=None,
 * ignore_index=-100, reduction='mean')`), over F.nll_loss: forward(input (N, C) log-probabilities,
 * target int32 (N)).
 * Source: https://pytorch.org/docs/stable/generated/torch.nn.NLLLoss.html
 * @throws RangeError for an unknown reduction or a non-integer ignore_index.
 */
export class NLLLoss extends Module<[Tensor, Tensor], Tensor> {
  readonly reduction: Reduction;
  readonly ignore_index: number;
  declare weight: Tensor | null;

  constructor(opts: WeightedLossOptions = {}) {
    super();
    this.reduction = checkReduction('NLLLoss', opts.reduction ?? 'mean');
    this.ignore_index = opts.ignore_index ?? -100;
    if (!Number.isInteger(this.ignore_index)) throw new RangeError(`NLLLoss: ignore_index must be an integer, got ${this.ignore_index}`);
    this.register_buffer('weight', opts.weight ?? null);
  }

  override forward(input: Tensor, target: Tensor): Tensor {
    return nll_loss(input, target, { weight: this.weight, reduction: this.reduction, ignore_index: this.ignore_index });
  }
}

/**
 * Mean squared error (PyTorch's `nn.MSELoss(reduction='mean')`), over F.mse_loss:
 * forward(input, target) with broadcastable shapes.
 * Source: https://pytorch.org/docs/stable/generated/torch.nn.MSELoss.html
 * @throws RangeError for an unknown reduction.
 */
export class MSELoss extends Module<[Tensor, Tensor], Tensor> {
  readonly reduction: Reduction;
  constructor(opts: { reduction?: Reduction } = {}) {
    super();
    this.reduction = checkReduction('MSELoss', opts.reduction ?? 'mean');
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return mse_loss(input, target, { reduction: this.reduction });
  }
}
