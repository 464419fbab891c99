/** cat and stack. STUB. */
import { Tensor } from '../tensor.js';

/** Concatenates along `dim` (shapes equal elsewhere). */
export function cat(tensors: Tensor[], dim = 0): Tensor {
  void tensors; void dim;
  throw new Error('cat: not implemented yet');
}
/** Stacks along a new dim. */
export function stack(tensors: Tensor[], dim = 0): Tensor {
  void tensors; void dim;
  throw new Error('stack: not implemented yet');
}
