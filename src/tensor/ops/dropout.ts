/** dropout (PyTorch's F.dropout) with a mask drawn from the counter-based generator. */
import { Tensor } from '../tensor.js';
import type { Generator } from '../random.js';
import { randomRaw } from './creation.js';
import { mul, mulScalar } from './elementwise.js';

/**
 * During training, zeroes each element of x independently with probability p and scales the
 * survivors by 1 / (1 - p), so the expected value is unchanged. Element i survives when the
 * uniform number u_i >= p, where u = rand(x.shape, { generator }) (default: the default
 * generator), so the same seed and offset give the same mask on every device. Output: x's shape.
 *
 * - training false or p == 0: returns x itself (no random numbers drawn), as PyTorch.
 * - p == 1: zeros (x * 0, so NaN stays NaN as in PyTorch), no random numbers drawn.
 * The gradient is gy * mask / (1 - p).
 *
 * Source: PyTorch docs, torch.nn.functional.dropout and torch.nn.Dropout.
 * @throws RangeError when p is not in [0, 1] ("dropout probability has to be between 0 and 1");
 * TypeError for an int32 input.
 */
export function dropout(x: Tensor, p = 0.5, training = true, generator?: Generator): Tensor {
  x.assertAlive('dropout');
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: dropout probability has to be between 0 and 1, but got ${p}`);
  if (x.dtype === 'int32') throw new TypeError('dropout: expects a floating-point tensor, got int32');
  if (!training || p === 0) return x;
  if (p === 1) return mulScalar(x, 0);
  // (rand() >= p) / (1 - p) in one kernel: the same numbers as composing rand, ge and mul_scalar
  const scaled = randomRaw('dropout_mask', [...x.shape], { dtype: x.dtype, device: x.device, generator }, { p, scale: 1 / (1 - p) });
  // scaled is a constant: mul records gy * scaled for x only.
  return mul(x, scaled);
}
