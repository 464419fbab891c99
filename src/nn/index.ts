/**
 * torch.nn for this library: Module and Parameter, layers, losses, init, functional, and (as
 * `nn.optim`) optimizers and learning-rate schedulers. Import as
 * `import { nn } from 'resemotenet-webgpu'` or from 'resemotenet-webgpu/nn'.
 */
export { Module, Parameter, num_parameters, type AnyModule, type IncompatibleKeys, type StateDict } from './module.js';
export { Linear, Identity, type LinearOptions, type FactoryOptions } from './layers/linear.js';
export { Conv2d, type Conv2dModuleOptions } from './layers/conv.js';
export { _BatchNorm, BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './layers/batchnorm.js';
export { ReLU, Sigmoid, Tanh, Softmax, LogSoftmax, Flatten, Dropout } from './layers/activation.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, type MaxPool2dModuleOptions, type AvgPool2dModuleOptions } from './layers/pooling.js';
export { Sequential, ModuleList, type TensorModule } from './layers/container.js';
export { SEBlock, type SEBlockOptions } from './layers/se.js';
export { bn_max_pool2d_relu, conv_bn, type ConvBnOptions } from './fusion.js';
export { CrossEntropyLoss, NLLLoss, MSELoss, type CrossEntropyLossOptions, type WeightedLossOptions } from './layers/loss.js';
export * as init from './init.js';
export * as functional from './functional.js';
export * as optim from './optim/index.js';
export * from './serialization/index.js';
