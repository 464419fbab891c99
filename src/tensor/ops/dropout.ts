/** dropout (PyTorch's F.dropout). STUB. */
import { Tensor } from '../tensor.js';
import type { Generator } from '../random.js';

/** Zeroes each element with probability p when training; survivors are scaled by 1/(1-p). */
export function dropout(x: Tensor, p = 0.5, training = true, generator?: Generator): Tensor {
  void x; void p; void training; void generator;
  throw new Error('dropout: not implemented yet');
}
