/** Fused squeeze-excitation block. STUB. */
import { Tensor } from '../tensor.js';

/**
 * out = x * sigmoid(W2 relu(W1 mean_{H,W}(x))) per channel. x (N, C, H, W), w1 (R, C), w2 (C, R)
 * (the weights of two bias-free nn.Linear layers) -> (N, C, H, W).
 */
export function se_block(x: Tensor, w1: Tensor, w2: Tensor): Tensor {
  void x; void w1; void w2;
  throw new Error('se_block: not implemented yet');
}
