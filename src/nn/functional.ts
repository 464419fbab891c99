/**
 * PyTorch's torch.nn.functional (`const F = nn.functional`): the functional ops, re-exported
 * from the tensor core so that a script's `F.conv2d(...)`, `F.cross_entropy(...)` port as is.
 */
export { conv2d, type Conv2dOptions } from '../tensor/ops/conv.js';
export { max_pool2d, avg_pool2d, adaptive_avg_pool2d, type MaxPool2dOptions, type AvgPool2dOptions } from '../tensor/ops/pool.js';
export { batch_norm } from '../tensor/ops/batchnorm.js';
export { se_block } from '../tensor/ops/se.js';
export { cross_entropy, nll_loss, mse_loss, type Reduction, type CrossEntropyOptions } from '../tensor/ops/loss.js';
export { dropout } from '../tensor/ops/dropout.js';
export { linear } from '../tensor/ops/matmul.js';
export { pad } from '../tensor/ops/pad.js';
export { relu, sigmoid, tanh } from '../tensor/ops/elementwise.js';
export { softmax, log_softmax } from '../tensor/ops/softmax.js';
