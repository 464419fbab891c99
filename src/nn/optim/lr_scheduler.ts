/**
 * Learning-rate schedulers, after PyTorch 1.13's torch.optim.lr_scheduler
 * (https://pytorch.org/docs/1.13/optim.html#how-to-adjust-learning-rate). They use PyTorch's
 * recursive ("chainable") forms, so the learning rates match PyTorch's step by step, float for
 * float up to the last bits of Math.cos/Math.pow. Call `scheduler.step()` after `optimizer.step()`.
 *
 * `state_dict()` is PyTorch's: every field except the optimizer (`base_lrs`, `last_epoch`,
 * `_step_count`, `_last_lr`, and the scheduler's own settings).
 */
import { Tensor } from '../../tensor/tensor.js';
import type { Optimizer, ParamGroup } from './optimizer.js';
import { pyMod } from '../_util.js';

/** Any optimizer, as schedulers see it. */
export type AnyOptimizer = Optimizer<ParamGroup>;

function checkOptimizer(owner: string, o: unknown): void {
  const pg = (o as { param_groups?: unknown } | null)?.param_groups;
  if (!Array.isArray(pg)) throw new TypeError(`${owner}: ${String(o)} is not an Optimizer`);
}

/** Copy of a state value (arrays and plain objects copied, one level of nesting deep is enough here). */
function copyState(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyState);
  if (v !== null && typeof v === 'object' && !(v instanceof Tensor)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copyState(x)]));
  return v;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Shared state_dict/load_state_dict: all own data fields except `optimizer`. */
function stateOf(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (k !== 'optimizer' && typeof v !== 'function') out[k] = copyState(v);
  return out;
}

/** Validates every known key (same kind of value as now) before assigning; unknown keys are ignored. */
function loadState(owner: string, obj: object, sd: Record<string, unknown>): void {
  if (sd === null || typeof sd !== 'object') throw new TypeError(`${owner}.load_state_dict: expected an object, got ${String(sd)}`);
  const self = obj as Record<string, unknown>;
  const updates: [string, unknown][] = [];
  for (const [k, v] of Object.entries(sd)) {
    if (k === 'optimizer' || !(k in self) || typeof self[k] === 'function') continue;
    const cur = self[k];
    const curKind = kindOf(cur);
    const newKind = kindOf(v);
    // best/mode_worse may be +-Infinity (numbers); ReduceLROnPlateau's best starts as a number too.
    if (curKind !== newKind && !(cur === null || v === null)) {
      throw new TypeError(`${owner}.load_state_dict: '${k}' should be ${curKind}, got ${newKind}`);
    }
    updates.push([k, copyState(v)]);
  }
  for (const [k, v] of updates) self[k] = v;
}

/**
 * Base of the epoch-based schedulers (PyTorch's `_LRScheduler`, `LRScheduler` in 2.x). On
 * construction with last_epoch = -1 it records each group's `initial_lr` and takes the initial
 * step (setting last_epoch to 0); subclasses implement `get_lr()` (the recursive form) and may
 * give `_get_closed_form_lr()` (used by the deprecated `step(epoch)`).
 */
export abstract class LRScheduler {
  /** The optimizer whose groups' `lr` this scheduler sets (not part of the state dict). */
  optimizer: AnyOptimizer;
  base_lrs: number[];
  last_epoch: number;
  verbose = false;
  _step_count = 0;
  _get_lr_called_within_step = false;
  _last_lr: number[] = [];

  /**
   * @throws TypeError when `optimizer` is not an optimizer; Error when resuming (last_epoch != -1)
   * and a group has no `initial_lr`.
   */
  constructor(optimizer: AnyOptimizer, last_epoch = -1) {
    const name = this.constructor.name;
    checkOptimizer(name, optimizer);
    if (!Number.isInteger(last_epoch) || last_epoch < -1) throw new RangeError(`${name}: last_epoch must be an integer >= -1, got ${last_epoch}`);
    this.optimizer = optimizer;
    if (last_epoch === -1) {
      for (const g of optimizer.param_groups) if (g.initial_lr === undefined) g.initial_lr = g.lr;
    } else {
      optimizer.param_groups.forEach((g, i) => {
        if (g.initial_lr === undefined) throw new Error(`${name}: param 'initial_lr' is not specified in param_groups[${i}] when resuming an optimizer`);
      });
    }
    this.base_lrs = optimizer.param_groups.map((g) => g.initial_lr!);
    this.last_epoch = last_epoch;
  }

  /** Subclasses call this at the end of their constructor (PyTorch's `_initial_step`). */
  protected _initial_step(): void {
    this._step_count = 0;
    this.step();
  }

  /** The learning rates for the current `last_epoch`, in the recursive form (called by `step`). */
  abstract get_lr(): number[];

  /** Closed-form learning rates for `last_epoch`, where the scheduler has one. */
  protected _get_closed_form_lr(): number[] | null {
    return null;
  }

  /**
   * Advances one epoch and writes the new learning rates into the optimizer's groups. Passing
   * `epoch` (deprecated in PyTorch) jumps to that epoch using the closed form when there is one.
   */
  step(epoch?: number): void {
    this._step_count += 1;
    this._get_lr_called_within_step = true;
    let values: number[];
    try {
      if (epoch === undefined) {
        this.last_epoch += 1;
        values = this.get_lr();
      } else {
        this.last_epoch = epoch;
        values = this._get_closed_form_lr() ?? this.get_lr();
      }
    } finally {
      this._get_lr_called_within_step = false;
    }
    this.optimizer.param_groups.forEach((g, i) => {
      g.lr = values[i]!;
    });
    this._last_lr = this.optimizer.param_groups.map((g) => g.lr);
  }

  /** The learning rates set by the last `step()`, one per group. */
  get_last_lr(): number[] {
    return [...this._last_lr];
  }

  /** The scheduler's state (all fields except the optimizer), as PyTorch. */
  state_dict(): Record<string, unknown> {
    return stateOf(this);
  }

  /**
   * Restores state from `state_dict()`. Known fields are type-checked before any is assigned;
   * unknown ones (e.g. from a newer PyTorch) are ignored.
   * @throws TypeError when a field has the wrong kind of value.
   */
  load_state_dict(state_dict: Record<string, unknown>): void {
    loadState(this.constructor.name, this, state_dict);
  }
}

/** PyTorch 1.13's name of {@link LRScheduler}. */
export { LRScheduler as _LRScheduler };

export interface StepLROptions {
  /** Multiplicative decay (default 0.1). */
  gamma?: number;
  last_epoch?: number;
}

/**
 * Multiplies each group's lr by gamma every `step_size` epochs (PyTorch's
 * `StepLR(optimizer, step_size, gamma=0.1, last_epoch=-1)`): lr_e = base_lr * gamma^floor(e / step_size).
 * Source: https://pytorch.org/docs/1.13/generated/torch.optim.lr_scheduler.StepLR.html
 * @throws RangeError when step_size is not a positive integer.
 */
export class StepLR extends LRScheduler {
  step_size: number;
  gamma: number;
  constructor(optimizer: AnyOptimizer, step_size: number, opts: StepLROptions = {}) {
    super(optimizer, opts.last_epoch ?? -1);
    if (!Number.isInteger(step_size) || step_size < 1) throw new RangeError(`StepLR: step_size must be a positive integer, got ${step_size}`);
    this.step_size = step_size;
    this.gamma = opts.gamma ?? 0.1;
    this._initial_step();
  }
  override get_lr(): number[] {
    const groups = this.optimizer.param_groups;
    if (this.last_epoch === 0 || this.last_epoch % this.step_size !== 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }
  protected override _get_closed_form_lr(): number[] {
    return this.base_lrs.map((b) => b * this.gamma ** Math.floor(this.last_epoch / this.step_size));
  }
}

/**
 * Multiplies each group's lr by gamma at each milestone epoch (gamma^k when a milestone is listed
 * k times), PyTorch's `MultiStepLR(optimizer, milestones, gamma=0.1, last_epoch=-1)`.
 * `milestones` is stored as PyTorch's Counter: an object epoch -> count.
 * Source: https://pytorch.org/docs/1.13/generated/torch.optim.lr_scheduler.MultiStepLR.html
 * @throws RangeError when a milestone is not a non-negative integer.
 */
export class MultiStepLR extends LRScheduler {
  milestones: Record<string, number>;
  gamma: number;
  constructor(optimizer: AnyOptimizer, milestones: Iterable<number>, opts: StepLROptions = {}) {
    super(optimizer, opts.last_epoch ?? -1);
    const counter: Record<string, number> = {};
    for (const m of milestones) {
      if (!Number.isInteger(m) || m < 0) throw new RangeError(`MultiStepLR: milestones must be non-negative integers, got ${m}`);
      counter[m] = (counter[m] ?? 0) + 1;
    }
    this.milestones = counter;
    this.gamma = opts.gamma ?? 0.1;
    this._initial_step();
  }
  override get_lr(): number[] {
    const groups = this.optimizer.param_groups;
    const k = this.milestones[this.last_epoch];
    if (k === undefined) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma ** k);
  }
  protected override _get_closed_form_lr(): number[] {
    let passed = 0;
    for (const [m, c] of Object.entries(this.milestones)) if (Number(m) <= this.last_epoch) passed += c;
    return this.base_lrs.map((b) => b * this.gamma ** passed);
  }
}

export interface CosineAnnealingLROptions {
  /** Minimum learning rate (default 0). */
  eta_min?: number;
  last_epoch?: number;
}

/**
 * Cosine annealing from each group's initial lr to eta_min over T_max epochs, then back up (the
 * schedule is periodic with period 2*T_max), PyTorch's `CosineAnnealingLR(optimizer, T_max,
 * eta_min=0, last_epoch=-1)`, in PyTorch's recursive form:
 *   lr_e = eta_min + (lr_{e-1} - eta_min) * (1 + cos(pi e / T_max)) / (1 + cos(pi (e-1) / T_max)),
 * with PyTorch's special cases at e = 0, at the first step of a resumed schedule, and where
 * (e - 1 - T_max) mod 2 T_max = 0. Closed form: eta_min + (base_lr - eta_min)(1 + cos(pi e / T_max)) / 2.
 * Source: https://pytorch.org/docs/1.13/generated/torch.optim.lr_scheduler.CosineAnnealingLR.html
 * @throws RangeError when T_max is not a positive number.
 */
export class CosineAnnealingLR extends LRScheduler {
  T_max: number;
  eta_min: number;
  constructor(optimizer: AnyOptimizer, T_max: number, opts: CosineAnnealingLROptions = {}) {
    super(optimizer, opts.last_epoch ?? -1);
    if (!(T_max > 0)) throw new RangeError(`CosineAnnealingLR: T_max must be positive, got ${T_max}`);
    this.T_max = T_max;
    this.eta_min = opts.eta_min ?? 0;
    this._initial_step();
  }
  override get_lr(): number[] {
    const groups = this.optimizer.param_groups;
    const e = this.last_epoch;
    const T = this.T_max;
    const eta = this.eta_min;
    if (e === 0) return groups.map((g) => g.lr);
    if (this._step_count === 1 && e > 0) {
      return this.base_lrs.map((b) => eta + ((b - eta) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    }
    if (pyMod(e - 1 - T, 2 * T) === 0) {
      return groups.map((g, i) => g.lr + ((this.base_lrs[i]! - eta) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return groups.map((g) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (g.lr - eta) + eta);
  }
  protected override _get_closed_form_lr(): number[] {
    return this.base_lrs.map((b) => this.eta_min + ((b - this.eta_min) * (1 + Math.cos((Math.PI * this.last_epoch) / this.T_max))) / 2);
  }
}

export interface ReduceLROnPlateauOptions {
  /** 'min' (default): reduce when the metric stops decreasing; 'max': when it stops increasing. */
  mode?: 'min' | 'max';
  /** new_lr = lr * factor (default 0.1; must be < 1). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** Minimum change that counts as an improvement (default 1e-4). */
  threshold?: number;
  /** 'rel' (default): relative to best; 'abs': absolute. */
  threshold_mode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting bad epochs again (default 0). */
  cooldown?: number;
  /** Lower bound on the lr, one for all groups or one per group (default 0). */
  min_lr?: number | number[];
  /** Reductions smaller than eps are skipped (default 1e-8). */
  eps?: number;
}

/**
 * Reduces the learning rate when a metric has stopped improving (PyTorch's
 * `ReduceLROnPlateau(optimizer, mode='min', factor=0.1, patience=10, threshold=1e-4,
 * threshold_mode='rel', cooldown=0, min_lr=0, eps=1e-8)`). Call `step(metric)` once per epoch.
 * A metric is better than `best` when (min, rel) a < best * (1 - threshold); (min, abs)
 * a < best - threshold; (max, rel) a > best * (1 + threshold); (max, abs) a > best + threshold.
 * After more than `patience` bad epochs, each group's lr becomes max(lr * factor, min_lr) when
 * that lowers it by more than eps, and `cooldown` epochs follow in which bad epochs are not counted.
 * Unlike PyTorch 1.13 (like 2.x), `get_last_lr()` works before the first step.
 * Source: https://pytorch.org/docs/1.13/generated/torch.optim.lr_scheduler.ReduceLROnPlateau.html
 * @throws RangeError for factor >= 1, an unknown mode or threshold_mode, or a min_lr list whose
 * length is not the number of groups.
 */
export class ReduceLROnPlateau {
  factor: number;
  optimizer: AnyOptimizer;
  min_lrs: number[];
  patience: number;
  verbose = false;
  cooldown: number;
  cooldown_counter = 0;
  mode: 'min' | 'max';
  threshold: number;
  threshold_mode: 'rel' | 'abs';
  best: number;
  num_bad_epochs = 0;
  mode_worse: number;
  eps: number;
  last_epoch = 0;
  _last_lr: number[];

  constructor(optimizer: AnyOptimizer, opts: ReduceLROnPlateauOptions = {}) {
    const factor = opts.factor ?? 0.1;
    if (!(factor < 1)) throw new RangeError('ReduceLROnPlateau: Factor should be < 1.0.');
    checkOptimizer('ReduceLROnPlateau', optimizer);
    this.factor = factor;
    this.optimizer = optimizer;
    const n = optimizer.param_groups.length;
    const minLr = opts.min_lr ?? 0;
    if (Array.isArray(minLr)) {
      if (minLr.length !== n) throw new RangeError(`ReduceLROnPlateau: expected ${n} min_lrs, got ${minLr.length}`);
      this.min_lrs = [...minLr];
    } else {
      this.min_lrs = new Array<number>(n).fill(minLr);
    }
    this.patience = opts.patience ?? 10;
    this.cooldown = opts.cooldown ?? 0;
    this.mode = opts.mode ?? 'min';
    this.threshold = opts.threshold ?? 1e-4;
    this.threshold_mode = opts.threshold_mode ?? 'rel';
    this.eps = opts.eps ?? 1e-8;
    this.mode_worse = this._init_is_better(this.mode, this.threshold_mode);
    this.best = this.mode_worse;
    this._last_lr = optimizer.param_groups.map((g) => g.lr);
  }

  /** Validates the modes; returns the worst value for the mode (+inf for min, -inf for max). */
  private _init_is_better(mode: string, threshold_mode: string): number {
    if (mode !== 'min' && mode !== 'max') throw new RangeError(`ReduceLROnPlateau: mode ${mode} is unknown!`);
    if (threshold_mode !== 'rel' && threshold_mode !== 'abs') throw new RangeError(`ReduceLROnPlateau: threshold mode ${threshold_mode} is unknown!`);
    return mode === 'min' ? Infinity : -Infinity;
  }

  /** True when the cooldown after a reduction is still running. */
  get in_cooldown(): boolean {
    return this.cooldown_counter > 0;
  }

  /** Whether metric `a` improves on `best` under the mode and threshold. */
  is_better(a: number, best: number): boolean {
    if (this.mode === 'min' && this.threshold_mode === 'rel') return a < best * (1 - this.threshold);
    if (this.mode === 'min') return a < best - this.threshold;
    if (this.threshold_mode === 'rel') return a > best * (this.threshold + 1);
    return a > best + this.threshold;
  }

  /**
   * Records one epoch's metric (a number, or a one-element cpu tensor) and reduces the learning
   * rates if it has plateaued.
   * @throws Error (from itemSync) for a tensor that is not a one-element cpu tensor.
   */
  step(metrics: number | Tensor, epoch?: number): void {
    const current = metrics instanceof Tensor ? metrics.itemSync() : Number(metrics);
    const e = epoch ?? this.last_epoch + 1;
    this.last_epoch = e;
    if (this.is_better(current, this.best)) {
      this.best = current;
      this.num_bad_epochs = 0;
    } else {
      this.num_bad_epochs += 1;
    }
    if (this.in_cooldown) {
      this.cooldown_counter -= 1;
      this.num_bad_epochs = 0;
    }
    if (this.num_bad_epochs > this.patience) {
      this._reduce_lr();
      this.cooldown_counter = this.cooldown;
      this.num_bad_epochs = 0;
    }
    this._last_lr = this.optimizer.param_groups.map((g) => g.lr);
  }

  private _reduce_lr(): void {
    this.optimizer.param_groups.forEach((g, i) => {
      const old = g.lr;
      const next = Math.max(old * this.factor, this.min_lrs[i]!);
      if (old - next > this.eps) g.lr = next;
    });
  }

  /** The learning rates after the last `step()` (the current ones before the first). */
  get_last_lr(): number[] {
    return [...this._last_lr];
  }

  /** The scheduler's state (all fields except the optimizer), as PyTorch. */
  state_dict(): Record<string, unknown> {
    return stateOf(this);
  }

  /**
   * Restores state from `state_dict()`; fields are type-checked and the modes validated before
   * anything is assigned. Unknown fields are ignored.
   * @throws TypeError for a wrongly typed field; RangeError for an unknown mode.
   */
  load_state_dict(state_dict: Record<string, unknown>): void {
    const mode = (state_dict?.mode as string | undefined) ?? this.mode;
    const tmode = (state_dict?.threshold_mode as string | undefined) ?? this.threshold_mode;
    const worse = this._init_is_better(mode, tmode);
    loadState('ReduceLROnPlateau', this, state_dict);
    // JSON turns +-Infinity into null: restore the mode's worst value.
    if ((this.best as number | null) === null) this.best = worse;
    this.mode_worse = worse;
  }
}

export interface OneCycleLROptions {
  /** Fraction of the steps spent raising the lr (default 0.3). */
  pct_start?: number;
  /** 'cos' (default) or 'linear' annealing inside each phase. */
  anneal_strategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD's `momentum`, Adam's beta1) inversely to the lr (default true). */
  cycle_momentum?: boolean;
  /** Lowest momentum, reached at max_lr (default 0.85). */
  base_momentum?: number;
  /** Highest momentum, at the start and the end (default 0.95). */
  max_momentum?: number;
  /** initial_lr = max_lr / div_factor (default 25). */
  div_factor?: number;
  /** min_lr = initial_lr / final_div_factor (default 1e4). */
  final_div_factor?: number;
  /** Three phases (up, down to initial_lr, down to min_lr) instead of two (default false). */
  three_phase?: boolean;
  last_epoch?: number;
}

interface OneCyclePhase {
  end_step: number;
  start_lr: string;
  end_lr: string;
  start_momentum: string;
  end_momentum: string;
}

/** Sets the groups' one-cycle fields before the base constructor reads initial_lr (PyTorch's order). */
function prepareOneCycle(optimizer: AnyOptimizer, max_lr: number | readonly number[], o: Required<Omit<OneCycleLROptions, 'last_epoch' | 'anneal_strategy' | 'three_phase'>>, last_epoch: number): AnyOptimizer {
  checkOptimizer('OneCycleLR', optimizer);
  const n = optimizer.param_groups.length;
  const maxLrs = typeof max_lr === 'number' ? new Array<number>(n).fill(max_lr) : [...max_lr];
  if (maxLrs.length !== n) throw new RangeError(`OneCycleLR: expected ${n} values for max_lr, got ${maxLrs.length}`);
  for (const v of maxLrs) if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`OneCycleLR: max_lr must be positive numbers, got ${String(max_lr)}`);
  if (!(o.div_factor > 0) || !(o.final_div_factor > 0)) throw new RangeError(`OneCycleLR: div_factor and final_div_factor must be positive, got ${o.div_factor} and ${o.final_div_factor}`);
  if (last_epoch === -1) {
    optimizer.param_groups.forEach((g, i) => {
      g.initial_lr = maxLrs[i]! / o.div_factor;
      g.max_lr = maxLrs[i]!;
      g.min_lr = g.initial_lr / o.final_div_factor;
    });
  }
  if (o.cycle_momentum) {
    const g0 = optimizer.param_groups[0];
    if (g0 && !('momentum' in g0) && !('betas' in g0)) throw new RangeError('OneCycleLR: optimizer must support momentum or betas with `cycle_momentum` enabled');
    if (last_epoch === -1) {
      for (const g of optimizer.param_groups) {
        if ('betas' in g) g.betas = [o.max_momentum, ...(g.betas as number[]).slice(1)];
        else g.momentum = o.max_momentum;
        g.max_momentum = o.max_momentum;
        g.base_momentum = o.base_momentum;
      }
    }
  }
  return optimizer;
}

/**
 * The 1cycle policy (Smith and Topin, "Super-Convergence", arXiv 1708.07120), PyTorch 1.13's
 * `OneCycleLR(optimizer, max_lr, total_steps, pct_start=0.3, anneal_strategy='cos',
 * cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
 * final_div_factor=1e4, three_phase=False)`: stepped once per batch, the lr rises from
 * max_lr / div_factor to max_lr over the first pct_start of the steps, then anneals to
 * initial_lr / final_div_factor; momentum (SGD) or beta1 (Adam) moves the other way between
 * max_momentum and base_momentum. Phase ends are at pct_start * total_steps - 1 and
 * total_steps - 1 as in PyTorch; cos annealing is end + (start - end) / 2 * (1 + cos(pi * pct)).
 * Source: https://pytorch.org/docs/1.13/generated/torch.optim.lr_scheduler.OneCycleLR.html
 * @throws RangeError for total_steps < 1, pct_start outside [0, 1], a bad anneal_strategy, or an
 * optimizer without momentum when cycle_momentum is on; Error when stepped past total_steps.
 */
export class OneCycleLR extends LRScheduler {
  total_steps: number;
  _schedule_phases: OneCyclePhase[];
  anneal_strategy: 'cos' | 'linear';
  cycle_momentum: boolean;
  /** Set (as in PyTorch) only when cycling momentum: whether it is Adam's beta1. */
  use_beta1?: boolean;

  /** `max_lr`: one peak lr for every group, or one per group. */
  constructor(optimizer: AnyOptimizer, max_lr: number | readonly number[], total_steps: number, opts: OneCycleLROptions = {}) {
    const o = {
      pct_start: opts.pct_start ?? 0.3,
      cycle_momentum: opts.cycle_momentum ?? true,
      base_momentum: opts.base_momentum ?? 0.85,
      max_momentum: opts.max_momentum ?? 0.95,
      div_factor: opts.div_factor ?? 25,
      final_div_factor: opts.final_div_factor ?? 1e4,
    };
    if (!Number.isInteger(total_steps) || total_steps < 1) throw new RangeError(`OneCycleLR: Expected positive integer total_steps, but got ${total_steps}`);
    if (!(o.pct_start >= 0 && o.pct_start <= 1)) throw new RangeError(`OneCycleLR: Expected float between 0 and 1 pct_start, but got ${o.pct_start}`);
    const strategy = opts.anneal_strategy ?? 'cos';
    if (strategy !== 'cos' && strategy !== 'linear') throw new RangeError(`OneCycleLR: anneal_strategy must by one of 'cos' or 'linear', instead got ${String(strategy)}`);
    const last = opts.last_epoch ?? -1;
    super(prepareOneCycle(optimizer, max_lr, o, last), last);
    this.total_steps = total_steps;
    this.anneal_strategy = strategy;
    this.cycle_momentum = o.cycle_momentum;
    if (o.cycle_momentum) this.use_beta1 = 'betas' in (optimizer.param_groups[0] ?? {});
    const ps = o.pct_start * total_steps;
    this._schedule_phases = opts.three_phase
      ? [
          { end_step: ps - 1, start_lr: 'initial_lr', end_lr: 'max_lr', start_momentum: 'max_momentum', end_momentum: 'base_momentum' },
          { end_step: 2 * ps - 2, start_lr: 'max_lr', end_lr: 'initial_lr', start_momentum: 'base_momentum', end_momentum: 'max_momentum' },
          { end_step: total_steps - 1, start_lr: 'initial_lr', end_lr: 'min_lr', start_momentum: 'max_momentum', end_momentum: 'max_momentum' },
        ]
      : [
          { end_step: ps - 1, start_lr: 'initial_lr', end_lr: 'max_lr', start_momentum: 'max_momentum', end_momentum: 'base_momentum' },
          { end_step: total_steps - 1, start_lr: 'max_lr', end_lr: 'min_lr', start_momentum: 'base_momentum', end_momentum: 'max_momentum' },
        ];
    this._initial_step();
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.anneal_strategy === 'linear') return (end - start) * pct + start;
    return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
  }

  override get_lr(): number[] {
    const step = this.last_epoch;
    if (step > this.total_steps) throw new Error(`OneCycleLR: Tried to step ${step} times. The specified number of total steps is ${this.total_steps}`);
    return this.optimizer.param_groups.map((g) => {
      let start = 0;
      let lr = 0;
      let mom = 0;
      const phases = this._schedule_phases;
      for (let i = 0; i < phases.length; i++) {
        const ph = phases[i]!;
        if (step <= ph.end_step || i === phases.length - 1) {
          const pct = (step - start) / (ph.end_step - start);
          lr = this.anneal(g[ph.start_lr] as number, g[ph.end_lr] as number, pct);
          if (this.cycle_momentum) mom = this.anneal(g[ph.start_momentum] as number, g[ph.end_momentum] as number, pct);
          break;
        }
        start = ph.end_step;
      }
      if (this.cycle_momentum) {
        if (this.use_beta1) g.betas = [mom, ...(g.betas as number[]).slice(1)];
        else g.momentum = mom;
      }
      return lr;
    });
  }
}
