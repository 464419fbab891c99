/**
 * The optimizer base class, after PyTorch's torch.optim.Optimizer
 * (https://pytorch.org/docs/stable/optim.html): parameter groups with per-group hyperparameters,
 * per-parameter state, `zero_grad`, `step`, and `state_dict`/`load_state_dict` in PyTorch's layout
 * `{ state: { 0: { momentum_buffer } }, param_groups: [{ lr, ..., params: [0, 1, ...] }] }`.
 *
 * Updates run in place through the backend's fused primitives (`sgdUpdate`, `adamUpdate`), never
 * under autograd recording; state tensors are `keep()`-ed so `tidy()` never disposes them.
 */
import { Tensor } from '../../tensor/tensor.js';
import { keep } from '../../tensor/memory.js';
import { enable_grad, no_grad } from '../../tensor/grad_mode.js';
import { isFloating } from '../../tensor/dtype.js';
import { zeros_like } from '../../tensor/ops/creation.js';
import { canCopyTo, copyInto, denseOn, fillInPlace, fmtShape, shapesEqual } from '../_util.js';

/** One parameter's optimizer state: tensors (param-shaped), numbers (`step`) or null. */
export type OptimState = Record<string, Tensor | number | null>;

/** A parameter group: its parameters and hyperparameters (`lr`, ...). */
export interface ParamGroup {
  params: Tensor[];
  lr: number;
  /** Set by LR schedulers: the lr when the schedule started. */
  initial_lr?: number;
  [key: string]: unknown;
}

/** A parameter group as passed to the constructor or `add_param_group`: params plus overrides. */
export type ParamGroupInput<O> = { params: Iterable<Tensor> | Tensor } & O & Record<string, unknown>;

/** What an optimizer accepts: parameters (e.g. `model.parameters()`) or parameter groups. */
export type ParamsArg<O> = Iterable<Tensor> | Iterable<ParamGroupInput<O>>;

/** A packed parameter group in a state dict: hyperparameters and parameter indices. */
export type PackedParamGroup = Record<string, unknown> & { params: number[] };

/** An optimizer state dict, PyTorch's layout. */
export interface OptimizerStateDict {
  state: Record<number, OptimState>;
  param_groups: PackedParamGroup[];
}

function copyValue(v: unknown): unknown {
  return Array.isArray(v) ? v.map(copyValue) : v;
}

/**
 * Base of SGD, Adam and AdamW (PyTorch's `torch.optim.Optimizer`). Subclasses give their defaults
 * (undefined marks a required hyperparameter, like PyTorch's `required`), validate groups in
 * `_validate_group` and implement `step`.
 */
export abstract class Optimizer<G extends ParamGroup = ParamGroup> {
  /** Hyperparameter defaults, filled into every group that does not set them. */
  readonly defaults: Readonly<Record<string, unknown>>;
  /** The parameter groups; change `lr` etc. here (schedulers do). */
  param_groups: G[] = [];
  /** Per-parameter state (PyTorch's `optimizer.state[p]`). */
  state = new Map<Tensor, OptimState>();

  /**
   * @throws TypeError when `params` is a single Tensor or holds non-tensors; Error for an empty
   * list, a non-leaf or disposed tensor, a parameter in two groups, or a missing required
   * hyperparameter; RangeError for invalid hyperparameters.
   */
  constructor(params: ParamsArg<Partial<Omit<G, 'params'>>>, defaults: Record<string, unknown>) {
    this.defaults = Object.freeze({ ...defaults });
    if (params instanceof Tensor) {
      throw new TypeError(`${this.constructor.name}: params argument given to the optimizer should be an iterable of Tensors or dicts, but got a Tensor (wrap it in an array)`);
    }
    if (params === null || typeof params !== 'object' || !(Symbol.iterator in params)) {
      throw new TypeError(`${this.constructor.name}: params argument given to the optimizer should be an iterable of Tensors or dicts, but got ${String(params)}`);
    }
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new Error(`${this.constructor.name}: optimizer got an empty parameter list`);
    // As PyTorch: a list whose first item is not a dict (here: a plain object) is a list of params.
    const first = list[0];
    const isGroup = first !== null && typeof first === 'object' && !(first instanceof Tensor) && 'params' in first;
    const groups = isGroup ? list : [{ params: list }];
    for (const g of groups) this.add_param_group(g as ParamGroupInput<Partial<Omit<G, 'params'>>>);
  }

  /** @throws RangeError when a group's hyperparameters are invalid (each optimizer checks its own). */
  protected abstract _validate_group(group: G): void;

  /**
   * Adds a parameter group (PyTorch's `add_param_group`), e.g. to unfreeze layers while
   * training; missing hyperparameters take the defaults.
   * @throws as the constructor.
   */
  add_param_group(group: ParamGroupInput<Partial<Omit<G, 'params'>>>): void {
    const name = this.constructor.name;
    if (group === null || typeof group !== 'object' || !('params' in group)) {
      throw new TypeError(`${name}.add_param_group: a param group must be an object with a 'params' entry`);
    }
    const raw = group.params;
    const params: unknown[] = raw instanceof Tensor ? [raw] : [...(raw as Iterable<unknown>)];
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TypeError(`${name}: optimizer can only optimize Tensors, but param ${i} of the group is ${p === null ? 'null' : typeof p}`);
      if (!p.is_leaf) throw new Error(`${name}: can't optimize a non-leaf Tensor (param ${i}, shape ${fmtShape(p.shape)})`);
      if (p.isDisposed) throw new Error(`${name}: param ${i} (shape ${fmtShape(p.shape)}) was disposed`);
      if (!isFloating(p.dtype)) throw new TypeError(`${name}: can only optimize floating-point tensors, param ${i} is ${p.dtype}`);
    });
    const g: Record<string, unknown> = { params };
    for (const [k, v] of Object.entries(group)) if (k !== 'params') g[k] = copyValue(v);
    for (const [k, v] of Object.entries(this.defaults)) {
      if (k in g && g[k] !== undefined) continue;
      if (v === undefined) throw new Error(`${name}: parameter group didn't specify a value of required optimization parameter ${k}`);
      g[k] = copyValue(v);
    }
    const tensors = params as Tensor[];
    if (new Set(tensors).size !== tensors.length) {
      console.warn(`${name}: optimizer contains a parameter group with duplicate parameters; they would be updated twice per step`);
    }
    const seen = new Set<Tensor>();
    for (const og of this.param_groups) for (const p of og.params) seen.add(p);
    if (tensors.some((p) => seen.has(p))) throw new Error(`${name}: some parameters appear in more than one parameter group`);
    this._validate_group(g as G);
    this.param_groups.push(g as G);
  }

  /**
   * Clears the gradients of every optimized parameter (PyTorch 2's `zero_grad(set_to_none=True)`).
   * With `set_to_none` the gradient tensors are disposed (they belong to their parameters) and
   * `.grad` becomes null; otherwise they are zeroed in place.
   */
  zero_grad(set_to_none = true): void {
    for (const g of this.param_groups) {
      for (const p of g.params) {
        const grad = p.grad;
        if (!grad) continue;
        if (set_to_none) {
          p.grad = null;
          grad.dispose();
        } else if (!grad.isDisposed) {
          grad.grad_fn = null;
          grad.requires_grad = false;
          fillInPlace(grad, 0);
        }
      }
    }
  }

  /**
   * Performs one optimization step over every parameter with a gradient. `closure`, when given,
   * re-evaluates the model (with gradient recording on) and its result is returned. The update
   * itself never records gradients.
   */
  abstract step<T>(closure?: () => T): T | undefined;

  /** Runs the closure with grad enabled, then `update` under no_grad (the body of every `step`). */
  protected _step<T>(closure: (() => T) | undefined, update: () => void): T | undefined {
    const loss = closure ? enable_grad(closure) : undefined;
    no_grad(update);
    return loss;
  }

  /** The state of p, created empty on first use. */
  protected _stateOf(p: Tensor): OptimState {
    let s = this.state.get(p);
    if (!s) {
      s = {};
      this.state.set(p, s);
    }
    return s;
  }

  /** A zero-filled, kept state tensor shaped like p. */
  protected _zerosState(p: Tensor): Tensor {
    return keep(zeros_like(p));
  }

  /**
   * p's gradient as a dense tensor of p's dtype on p's device, and whether it is a temporary copy.
   * @throws Error naming `where` when the gradient is disposed, mis-shaped or on another device.
   */
  protected _denseGrad(p: Tensor, where: string): { g: Tensor; temp: boolean } {
    const g = p.grad!;
    if (g.isDisposed) throw new Error(`${where}: the gradient was disposed`);
    if (!shapesEqual(g.shape, p.shape)) throw new Error(`${where}: gradient shape ${fmtShape(g.shape)} does not match the parameter's ${fmtShape(p.shape)}`);
    if (g.device !== p.device) throw new Error(`${where}: gradient is on '${g.device}' but the parameter is on '${p.device}'`);
    if (g._isDense && g.dtype === p.dtype) return { g, temp: false };
    return { g: denseOn(g, p.device, p.dtype), temp: true };
  }

  /** Runs `fn` on p's dense storage (a dense copy written back when p is a strided view); bumps p._version. */
  protected _inPlace(p: Tensor, fn: (dense: Tensor) => void): void {
    if (p._isDense) {
      fn(p);
      p._version++;
      return;
    }
    const work = denseOn(p, p.device);
    fn(work);
    copyInto(p, work, `${this.constructor.name}.step`);
    work.dispose();
  }

  /**
   * The optimizer's state in PyTorch's layout: `state` keyed by the parameter's index in the
   * concatenated groups (values share the optimizer's tensors, as PyTorch), and `param_groups`
   * with hyperparameters and parameter indices.
   */
  state_dict(): OptimizerStateDict {
    const ids = new Map<Tensor, number>();
    let start = 0;
    const param_groups = this.param_groups.map((g) => {
      const packed: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== 'params') packed[k] = copyValue(v);
      g.params.forEach((p, i) => {
        if (!ids.has(p)) ids.set(p, start + i);
      });
      packed.params = g.params.map((p) => ids.get(p)!);
      start += g.params.length;
      return packed as PackedParamGroup;
    });
    const state: Record<number, OptimState> = {};
    for (const [p, s] of this.state) {
      const id = ids.get(p);
      if (id !== undefined) state[id] = { ...s };
    }
    return { state, param_groups };
  }

  /**
   * Loads a state dict from `state_dict()` (or converted from PyTorch): group hyperparameters are
   * replaced by the saved ones (the parameters stay), state tensors are copied onto each
   * parameter's device (floating ones in its dtype). Everything is validated first; on error
   * nothing changes.
   * @throws Error when the group count or sizes differ, a state entry names an unknown parameter,
   * a state tensor's shape differs from its parameter's, or a tensor cannot be read
   * synchronously; RangeError for invalid hyperparameters.
   */
  load_state_dict(state_dict: OptimizerStateDict): void {
    const name = `${this.constructor.name}.load_state_dict`;
    if (state_dict === null || typeof state_dict !== 'object' || !Array.isArray(state_dict.param_groups) || typeof state_dict.state !== 'object' || state_dict.state === null) {
      throw new TypeError(`${name}: expected { state, param_groups }`);
    }
    const saved = state_dict.param_groups;
    if (saved.length !== this.param_groups.length) {
      throw new Error(`${name}: loaded state dict has a different number of parameter groups (${saved.length} vs ${this.param_groups.length})`);
    }
    const idMap = new Map<number, Tensor>();
    const newGroups: G[] = [];
    saved.forEach((sg, i) => {
      const cur = this.param_groups[i]!;
      if (!sg || !Array.isArray(sg.params) || sg.params.length !== cur.params.length) {
        throw new Error(`${name}: loaded state dict contains a parameter group that doesn't match the size of optimizer's group (group ${i}: ${sg?.params?.length} vs ${cur.params.length})`);
      }
      sg.params.forEach((id, j) => idMap.set(id, cur.params[j]!));
      const g: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(sg)) g[k] = k === 'params' ? cur.params : copyValue(v);
      for (const [k, v] of Object.entries(this.defaults)) {
        if (!(k in g)) {
          if (v === undefined) throw new Error(`${name}: group ${i} has no value for required hyperparameter ${k}`);
          g[k] = copyValue(v);
        }
      }
      this._validate_group(g as G);
      newGroups.push(g as G);
    });
    const plan: [Tensor, [string, Tensor | number | null][]][] = [];
    for (const [k, entry] of Object.entries(state_dict.state)) {
      const p = idMap.get(Number(k));
      if (!p) throw new Error(`${name}: state for parameter ${k}, which is in no parameter group of the state dict`);
      if (entry === null || typeof entry !== 'object') throw new TypeError(`${name}: state for parameter ${k} must be an object`);
      const items: [string, Tensor | number | null][] = [];
      for (const [sk, sv] of Object.entries(entry)) {
        const where = `${name}: state['${sk}'] of parameter ${k}`;
        if (sv === null || typeof sv === 'number') {
          items.push([sk, sv]);
        } else if (sv instanceof Tensor) {
          if (sv.isDisposed) throw new Error(`${where} was disposed`);
          if (sk === 'step') {
            if (sv.numel() !== 1 || sv.device !== 'cpu') throw new Error(`${where} must be a number or a one-element cpu tensor, got shape ${fmtShape(sv.shape)} on '${sv.device}'`);
            items.push([sk, sv.itemSync()]);
            continue;
          }
          if (!shapesEqual(sv.shape, p.shape)) throw new Error(`${where} has shape ${fmtShape(sv.shape)}, but the parameter's is ${fmtShape(p.shape)}`);
          if (!canCopyTo(sv, p.device)) throw new Error(`${where} is on '${sv.device}' but the parameter on '${p.device}'; move the state dict to cpu first`);
          items.push([sk, sv]);
        } else {
          throw new TypeError(`${where} must be a Tensor, a number or null, got ${typeof sv}`);
        }
      }
      plan.push([p, items]);
    }
    // Everything validated: build the new state (copies, never aliases of the input).
    const state = new Map<Tensor, OptimState>();
    no_grad(() => {
      for (const [p, items] of plan) {
        const s: OptimState = {};
        for (const [sk, sv] of items) {
          s[sk] = sv instanceof Tensor ? keep(denseOn(sv, p.device, isFloating(sv.dtype) ? p.dtype : sv.dtype, `state['${sk}']`)) : sv;
        }
        state.set(p, s);
      }
    });
    this.state = state;
    this.param_groups = newGroups;
  }
}

/** Throws a RangeError unless v is a finite number >= 0 (PyTorch's "Invalid ... value" checks). */
export function checkNonNegative(owner: string, what: string, v: unknown): void {
  if (typeof v !== 'number' || !(v >= 0)) throw new RangeError(`${owner}: Invalid ${what}: ${String(v)}`);
}

/** Throws a TypeError unless v is a boolean. */
export function checkBool(owner: string, what: string, v: unknown): void {
  if (typeof v !== 'boolean') throw new TypeError(`${owner}: ${what} must be a boolean, got ${String(v)}`);
}
