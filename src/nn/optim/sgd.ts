/** torch.optim.SGD with PyTorch 1.13's semantics, run through the backend's fused `sgdUpdate`. */
import { Tensor } from '../../tensor/tensor.js';
import { checkBool, checkNonNegative, Optimizer, type ParamGroup, type ParamsArg } from './optimizer.js';

export interface SGDOptions {
  /** Learning rate (required: here or in every group). */
  lr?: number;
  momentum?: number;
  dampening?: number;
  weight_decay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}

export interface SGDParamGroup extends ParamGroup {
  momentum: number;
  dampening: number;
  weight_decay: number;
  nesterov: boolean;
  maximize: boolean;
}

/**
 * Stochastic gradient descent with momentum (PyTorch's `optim.SGD(params, lr=required,
 * momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False)`). Per element,
 * as PyTorch 1.13's `_single_tensor_sgd`:
 *
 *   d = maximize ? -grad : grad;  if weight_decay: d += weight_decay * p
 *   if momentum: buf = (first step) ? d : momentum * buf + (1 - dampening) * d
 *                d = nesterov ? d + momentum * buf : buf
 *   p -= lr * d
 *
 * State per parameter: `momentum_buffer` (a tensor, or null when momentum is 0), as PyTorch.
 * Source: https://pytorch.org/docs/1.13/generated/torch.optim.SGD.html
 * @throws RangeError for negative lr, momentum or weight_decay, or nesterov without momentum or
 * with dampening; Error when no lr is given for a group.
 */
export class SGD extends Optimizer<SGDParamGroup> {
  constructor(params: ParamsArg<SGDOptions>, opts: SGDOptions = {}) {
    super(params, {
      lr: opts.lr,
      momentum: opts.momentum ?? 0,
      dampening: opts.dampening ?? 0,
      weight_decay: opts.weight_decay ?? 0,
      nesterov: opts.nesterov ?? false,
      maximize: opts.maximize ?? false,
    });
  }

  protected override _validate_group(g: SGDParamGroup): void {
    checkNonNegative('SGD', 'learning rate', g.lr);
    checkNonNegative('SGD', 'momentum value', g.momentum);
    checkNonNegative('SGD', 'weight_decay value', g.weight_decay);
    if (typeof g.dampening !== 'number' || Number.isNaN(g.dampening)) throw new RangeError(`SGD: Invalid dampening value: ${String(g.dampening)}`);
    checkBool('SGD', 'nesterov', g.nesterov);
    checkBool('SGD', 'maximize', g.maximize);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) throw new RangeError('SGD: Nesterov momentum requires a momentum and zero dampening');
  }

  override step<T>(closure?: () => T): T | undefined {
    return this._step(closure, () => {
      this.param_groups.forEach((group, gi) => {
        group.params.forEach((p, pi) => {
          if (!p.grad) return;
          const { g, temp } = this._denseGrad(p, `SGD.step: parameter ${pi} of group ${gi}`);
          const state = this._stateOf(p);
          const prev = state.momentum_buffer;
          let buf: Tensor | null = prev instanceof Tensor ? prev : null;
          const useMomentum = group.momentum !== 0;
          const firstStep = useMomentum && buf === null;
          if (useMomentum && buf === null) buf = this._zerosState(p);
          this._inPlace(p, (pd) =>
            pd.backend.sgdUpdate(pd.storage, g.storage, useMomentum ? buf!.storage : null, {
              size: pd.numel(),
              lr: group.lr,
              momentum: group.momentum,
              dampening: group.dampening,
              weightDecay: group.weight_decay,
              nesterov: group.nesterov,
              maximize: group.maximize,
              firstStep,
            }),
          );
          if (useMomentum) buf!._version++;
          state.momentum_buffer = buf;
          if (temp) g.dispose();
        });
      });
    });
  }
}
