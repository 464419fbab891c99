/** Losses (PyTorch's F.cross_entropy, F.nll_loss, F.mse_loss). STUB. */
import { Tensor } from '../tensor.js';

export type Reduction = 'mean' | 'sum' | 'none';
export interface CrossEntropyOptions {
  weight?: Tensor | null;
  reduction?: Reduction;
  ignore_index?: number;
  label_smoothing?: number;
}

/** logits (N, C), target int32 (N) -> scalar (or (N) with reduction 'none'). */
export function cross_entropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  void input; void target; void opts;
  throw new Error('cross_entropy: not implemented yet');
}
/** log-probabilities (N, C), target int32 (N). */
export function nll_loss(input: Tensor, target: Tensor, opts: Omit<CrossEntropyOptions, 'label_smoothing'> = {}): Tensor {
  void input; void target; void opts;
  throw new Error('nll_loss: not implemented yet');
}
export function mse_loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  void input; void target; void opts;
  throw new Error('mse_loss: not implemented yet');
}
