/** conv2d (PyTorch's F.conv2d). STUB: to be implemented (forward + backward via backend primitives). */
import { Tensor } from '../tensor.js';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

/**
 * 2-d convolution. x (N, C_in, H, W), weight (C_out, C_in/groups, KH, KW), bias (C_out) or null
 * -> (N, C_out, OH, OW) with OH = floor((H + 2*padH - dilH*(KH-1) - 1)/strideH) + 1.
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  void x; void weight; void bias; void opts;
  throw new Error('conv2d: not implemented yet');
}
