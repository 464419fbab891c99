/** torch.optim.Adam and AdamW with PyTorch 1.13's semantics, run through the backend's fused `adamUpdate`. */
import { Tensor } from '../../tensor/tensor.js';
import { checkBool, checkNonNegative, Optimizer, type ParamGroup, type ParamsArg } from './optimizer.js';

export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 1e-2). */
  weight_decay?: number;
  /** Use the running maximum of the second moment (default false). */
  amsgrad?: boolean;
  /** Maximize the objective (default false). */
  maximize?: boolean;
}

export interface AdamParamGroup extends ParamGroup {
  betas: [number, number];
  eps: number;
  weight_decay: number;
  amsgrad: boolean;
  maximize: boolean;
}

/** Shared step of Adam and AdamW; they differ in how weight decay enters. */
abstract class AdamBase extends Optimizer<AdamParamGroup> {
  protected abstract readonly decoupled: boolean;

  protected override _validate_group(g: AdamParamGroup): void {
    const name = this.constructor.name;
    checkNonNegative(name, 'learning rate', g.lr);
    checkNonNegative(name, 'epsilon value', g.eps);
    if (!Array.isArray(g.betas) || g.betas.length !== 2) throw new RangeError(`${name}: betas must be a pair of numbers, got ${JSON.stringify(g.betas)}`);
    g.betas.forEach((b, i) => {
      if (typeof b !== 'number' || !(b >= 0 && b < 1)) throw new RangeError(`${name}: Invalid beta parameter at index ${i}: ${String(b)}`);
    });
    checkNonNegative(name, 'weight_decay value', g.weight_decay);
    checkBool(name, 'amsgrad', g.amsgrad);
    checkBool(name, 'maximize', g.maximize);
  }

  override step<T>(closure?: () => T): T | undefined {
    const name = this.constructor.name;
    return this._step(closure, () => {
      this.param_groups.forEach((group, gi) => {
        group.params.forEach((p, pi) => {
          if (!p.grad) return;
          const { g, temp } = this._denseGrad(p, `${name}.step: parameter ${pi} of group ${gi}`);
          const s = this._stateOf(p);
          if (!('step' in s)) {
            s.step = 0;
            s.exp_avg = this._zerosState(p);
            s.exp_avg_sq = this._zerosState(p);
            if (group.amsgrad) s.max_exp_avg_sq = this._zerosState(p);
          }
          if (group.amsgrad && !(s.max_exp_avg_sq instanceof Tensor)) s.max_exp_avg_sq = this._zerosState(p);
          const m = s.exp_avg;
          const v = s.exp_avg_sq;
          if (!(m instanceof Tensor) || !(v instanceof Tensor)) throw new Error(`${name}.step: state of parameter ${pi} of group ${gi} lacks exp_avg/exp_avg_sq`);
          const vmax = group.amsgrad ? (s.max_exp_avg_sq as Tensor) : null;
          const step = (typeof s.step === 'number' ? s.step : 0) + 1;
          s.step = step;
          this._inPlace(p, (pd) =>
            pd.backend.adamUpdate(pd.storage, g.storage, m.storage, v.storage, vmax ? vmax.storage : null, {
              size: pd.numel(),
              lr: group.lr,
              beta1: group.betas[0],
              beta2: group.betas[1],
              eps: group.eps,
              weightDecay: group.weight_decay,
              decoupled: this.decoupled,
              amsgrad: group.amsgrad,
              maximize: group.maximize,
              step,
            }),
          );
          m._version++;
          v._version++;
          if (vmax) vmax._version++;
          if (temp) g.dispose();
        });
      });
    });
  }
}

/**
 * Adam (PyTorch's `optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
 * amsgrad=False, *, maximize=False)`). Per element, as PyTorch 1.13's `_single_tensor_adam`, with
 * t the step count (1-based):
 *
 *   g = maximize ? -grad : grad;  if weight_decay: g += weight_decay * p
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  (amsgrad) vmax = max(vmax, v)
 *   p -= lr / (1 - b1^t) * m / (sqrt(amsgrad ? vmax : v) / sqrt(1 - b2^t) + eps)
 *
 * State per parameter: `step` (a number), `exp_avg`, `exp_avg_sq`, and `max_exp_avg_sq` with amsgrad.
 * Source: https://pytorch.org/docs/1.13/generated/torch.optim.Adam.html
 * @throws RangeError for negative lr, eps or weight_decay, or betas outside [0, 1).
 */
export class Adam extends AdamBase {
  protected readonly decoupled: boolean = false;
  constructor(params: ParamsArg<AdamOptions>, opts: AdamOptions = {}) {
    super(params, {
      lr: opts.lr ?? 1e-3,
      betas: opts.betas ?? [0.9, 0.999],
      eps: opts.eps ?? 1e-8,
      weight_decay: opts.weight_decay ?? 0,
      amsgrad: opts.amsgrad ?? false,
      maximize: opts.maximize ?? false,
    });
  }
}

/**
 * AdamW: Adam with decoupled weight decay (PyTorch's `optim.AdamW(params, lr=1e-3,
 * betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *, maximize=False)`): each step
 * first does p *= 1 - lr * weight_decay, then the Adam update without an L2 term.
 * Source: https://pytorch.org/docs/1.13/generated/torch.optim.AdamW.html
 * @throws As {@link Adam}.
 */
export class AdamW extends AdamBase {
  protected readonly decoupled: boolean = true;
  constructor(params: ParamsArg<AdamOptions>, opts: AdamOptions = {}) {
    super(params, {
      lr: opts.lr ?? 1e-3,
      betas: opts.betas ?? [0.9, 0.999],
      eps: opts.eps ?? 1e-8,
      weight_decay: opts.weight_decay ?? 1e-2,
      amsgrad: opts.amsgrad ?? false,
      maximize: opts.maximize ?? false,
    });
  }
}
