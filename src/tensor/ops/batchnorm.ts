/** batch_norm (PyTorch's F.batch_norm). STUB. */
import { Tensor } from '../tensor.js';

/**
 * x (N, C, *). running_mean/running_var (C) updated in place when training and given.
 * weight/bias (C) or null. momentum as PyTorch (new = (1-m)*old + m*batch).
 */
export function batch_norm(
  x: Tensor,
  running_mean: Tensor | null,
  running_var: Tensor | null,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  training = false,
  momentum = 0.1,
  eps = 1e-5,
): Tensor {
  void x; void running_mean; void running_var; void weight; void bias; void training; void momentum; void eps;
  throw new Error('batch_norm: not implemented yet');
}
