/** Pooling ops (PyTorch's F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d). STUB. */
import { Tensor } from '../tensor.js';

export interface MaxPool2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  ceil_mode?: boolean;
}
export interface AvgPool2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  ceil_mode?: boolean;
  count_include_pad?: boolean;
  divisor_override?: number | null;
}

/** x (N, C, H, W) -> (N, C, OH, OW). stride defaults to kernel_size. */
export function max_pool2d(x: Tensor, kernel_size: number | [number, number], opts: MaxPool2dOptions = {}): Tensor {
  void x; void kernel_size; void opts;
  throw new Error('max_pool2d: not implemented yet');
}
export function avg_pool2d(x: Tensor, kernel_size: number | [number, number], opts: AvgPool2dOptions = {}): Tensor {
  void x; void kernel_size; void opts;
  throw new Error('avg_pool2d: not implemented yet');
}
/** x (N, C, H, W) -> (N, C, OH, OW) with PyTorch's start/end index rule. */
export function adaptive_avg_pool2d(x: Tensor, output_size: number | [number, number]): Tensor {
  void x; void output_size;
  throw new Error('adaptive_avg_pool2d: not implemented yet');
}
