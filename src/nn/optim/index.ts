/** torch.optim for this library: Optimizer, SGD, Adam, AdamW and (as `lr_scheduler`) the LR schedulers. */
export { Optimizer, type ParamGroup, type ParamGroupInput, type ParamsArg, type OptimState, type OptimizerStateDict, type PackedParamGroup } from './optimizer.js';
export { SGD, type SGDOptions, type SGDParamGroup } from './sgd.js';
export { Adam, AdamW, type AdamOptions, type AdamParamGroup } from './adam.js';
export * as lr_scheduler from './lr_scheduler.js';
