/**
 * `Module` and `Parameter`, after PyTorch's torch.nn.Module and torch.nn.Parameter
 * (https://pytorch.org/docs/stable/generated/torch.nn.Module.html).
 *
 * ## How attributes become parameters, buffers and submodules
 * Python's Module intercepts `self.x = ...` in `__setattr__`; JavaScript has no such hook, so a
 * Module here finds its members by scanning its own fields, in field order:
 *
 * - a field holding a {@link Parameter} is a parameter;
 * - a field holding a {@link Module} is a child (submodule);
 * - a buffer must be declared with {@link Module.register_buffer}, since a plain Tensor field may
 *   just be a cached value (PyTorch's rule too: only `register_buffer` makes a buffer).
 *
 * Field order is the order JavaScript gives an object's own keys: the order fields are declared
 * (class fields) or first assigned in the constructor, base class first, except that integer-like
 * names ('0', '1', ...) come first in numeric order (which is what Sequential wants). This is the
 * order in which PyTorch would have seen the same assignments in `__init__`, so `state_dict()`
 * keys come out in PyTorch's order: per module its parameters, then its persistent buffers, then
 * each child's keys under `name.` (`conv1.weight`, `bn1.running_mean`, `bn1.num_batches_tracked`,
 * `res_block1.shortcut.0.weight`). `register_parameter`/`register_module` (for computed names)
 * simply define the field.
 *
 * ```ts
 * class Net extends nn.Module {
 *   conv1 = new nn.Conv2d(3, 8, 3, { padding: 1 });
 *   bn1 = new nn.BatchNorm2d(8);
 *   fc = new nn.Linear(8, 2);
 *   override forward(x: Tensor): Tensor {
 *     return this.fc.call(this.bn1.call(this.conv1.call(x)).relu().mean([2, 3]));
 *   }
 * }
 * ```
 */
import { Tensor } from '../tensor/tensor.js';
import { keep } from '../tensor/memory.js';
import { no_grad } from '../tensor/grad_mode.js';
import type { Device } from '../tensor/device.js';
import type { DType } from '../tensor/dtype.js';
import { isFloating } from '../tensor/dtype.js';
import { toDeviceAsync } from '../tensor/ops/copy.js';
import { canCopyTo, copyInto, fillInPlace, fmtShape, shapesEqual } from './_util.js';

/**
 * A Tensor that is a module parameter (PyTorch's `nn.Parameter`): a leaf sharing `data`'s
 * storage, with `requires_grad` true by default. A Module field holding a Parameter is
 * registered as a parameter. Parameters are `keep()`-ed, so `tidy()` never disposes them.
 *
 * Source: https://pytorch.org/docs/stable/generated/torch.nn.parameter.Parameter.html
 * @throws TypeError when `requires_grad` is true and `data` is int32; Error when data was disposed.
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requires_grad = true) {
    data.assertAlive('Parameter');
    if (requires_grad && !isFloating(data.dtype)) {
      throw new TypeError(`Parameter: only floating-point tensors can require gradients (got ${data.dtype} of shape ${fmtShape(data.shape)})`);
    }
    super(data._ref, data.shape, data.strides, data.offset);
    keep(this);
    this.requires_grad = requires_grad;
  }

  override toString(): string {
    return `Parameter containing: ${super.toString()}`;
  }
}

/** Any module, whatever its forward signature. */
export type AnyModule = Module<any[], unknown>;

/** The value returned by `load_state_dict` (PyTorch's `_IncompatibleKeys`). */
export interface IncompatibleKeys {
  missing_keys: string[];
  unexpected_keys: string[];
}

/** A state dict: dotted names to tensors, in PyTorch's key order. */
export type StateDict = Record<string, Tensor>;

/** Throws unless `name` is usable as a member name of `m` (PyTorch's checks). */
function checkName(m: AnyModule, kind: string, name: string): void {
  if (typeof name !== 'string') throw new TypeError(`${m._get_name()}.register_${kind}: ${kind} name should be a string, got ${typeof name}`);
  if (name === '') throw new RangeError(`${m._get_name()}.register_${kind}: ${kind} name can't be empty string ""`);
  if (name.includes('.')) throw new RangeError(`${m._get_name()}.register_${kind}: ${kind} name can't contain ".", got "${name}"`);
}

/**
 * Base class of every layer and model (PyTorch's `torch.nn.Module`). Subclasses declare
 * parameters and submodules as fields (see the file header for the registration rule), buffers
 * with `register_buffer`, and override `forward`; callers run `module.call(x)` (Python's `module(x)`).
 *
 * Type parameters: `In` is the argument list of `forward`, `Out` its result.
 */
export class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  /** Training mode flag, set recursively by `train()`/`eval()`. */
  training = true;
  /** @internal Registered buffer names (registration order) -> persistent. */
  private readonly _buffers = new Map<string, boolean>();

  /**
   * The computation of this module. Subclasses override it; the base throws.
   * @throws Error naming the module class when not overridden.
   */
  forward(...args: In): Out {
    void args;
    throw new Error(`Module [${this._get_name()}] is missing the required "forward" function`);
  }

  /** Runs `forward` (Python's `module(...)`, i.e. `__call__`). */
  call(...args: In): Out {
    return this.forward(...args);
  }

  /** The class name (PyTorch's `_get_name()`), used in reprs and errors. */
  _get_name(): string {
    return this.constructor.name;
  }

  // ------------------------------------------------------------------ registration

  /** Own fields, in key order (see the file header). */
  private _fields(): [string, unknown][] {
    return Object.entries(this);
  }

  /** This module's own parameters (no recursion, duplicates kept), in field order. */
  protected _localParams(): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [k, v] of this._fields()) if (v instanceof Parameter && !this._buffers.has(k)) out.push([k, v]);
    return out;
  }

  /** This module's own buffers (no recursion), in registration order, with their persistence. */
  protected _localBuffers(): [string, Tensor, boolean][] {
    const out: [string, Tensor, boolean][] = [];
    const self = this as unknown as Record<string, unknown>;
    for (const [k, persistent] of this._buffers) {
      const v = self[k];
      if (v instanceof Tensor) out.push([k, v, persistent]);
    }
    return out;
  }

  /** This module's direct children (duplicates kept), in field order. */
  protected _localChildren(): [string, AnyModule][] {
    const out: [string, AnyModule][] = [];
    for (const [k, v] of this._fields()) if (v instanceof Module) out.push([k, v as AnyModule]);
    return out;
  }

  private _defineField(name: string, value: unknown): void {
    Object.defineProperty(this, name, { value, writable: true, enumerable: true, configurable: true });
  }

  /**
   * Adds (or replaces, or with null removes from the parameter list) parameter `name`; the same
   * as assigning a Parameter field (PyTorch's `register_parameter`).
   * @throws TypeError when `param` is not a Parameter or null; RangeError for an empty or dotted
   * name; Error when `name` already is a non-parameter attribute or a buffer.
   */
  register_parameter(name: string, param: Parameter | null): void {
    checkName(this as AnyModule, 'parameter', name);
    if (param !== null && !(param instanceof Parameter)) {
      throw new TypeError(`${this._get_name()}.register_parameter: cannot assign ${String(param)} as parameter '${name}' (nn.Parameter or null expected; wrap a Tensor with new nn.Parameter(t))`);
    }
    const cur = (this as unknown as Record<string, unknown>)[name];
    if (this._buffers.has(name) || (name in this && cur !== undefined && cur !== null && !(cur instanceof Parameter))) {
      throw new Error(`${this._get_name()}.register_parameter: attribute '${name}' already exists`);
    }
    this._defineField(name, param);
  }

  /**
   * Adds a buffer: a tensor that is module state but not a parameter (BatchNorm's running
   * statistics). Persistent buffers (the default) appear in `state_dict()`. The tensor is stored
   * as field `name` and `keep()`-ed. null registers the name with no tensor (skipped everywhere).
   * PyTorch's `register_buffer(name, tensor, persistent=True)`.
   * @throws TypeError when `tensor` is not a Tensor (or is a Parameter); RangeError for an empty
   * or dotted name; Error when `name` is already a parameter, submodule or other attribute.
   */
  register_buffer(name: string, tensor: Tensor | null, persistent = true): void {
    checkName(this as AnyModule, 'buffer', name);
    if (tensor !== null && (!(tensor instanceof Tensor) || tensor instanceof Parameter)) {
      throw new TypeError(`${this._get_name()}.register_buffer: cannot assign ${String(tensor)} as buffer '${name}' (a plain Tensor or null expected)`);
    }
    const cur = (this as unknown as Record<string, unknown>)[name];
    if (!this._buffers.has(name) && name in this && cur !== undefined) {
      throw new Error(`${this._get_name()}.register_buffer: attribute '${name}' already exists`);
    }
    if (tensor) keep(tensor);
    this._buffers.set(name, persistent);
    this._defineField(name, tensor);
  }

  /**
   * Adds child module `name` (PyTorch's `add_module`/`register_module`); the same as assigning a
   * Module field, for names that are computed (Sequential's '0', '1', ...).
   * @throws TypeError when `module` is not a Module or null; RangeError for an empty or dotted
   * name; Error when `name` is already a non-module attribute.
   */
  register_module(name: string, module: AnyModule | null): void {
    checkName(this as AnyModule, 'module', name);
    if (module !== null && !(module instanceof Module)) {
      throw new TypeError(`${this._get_name()}.register_module: ${String(module)} is not a Module subclass`);
    }
    const cur = (this as unknown as Record<string, unknown>)[name];
    if (this._buffers.has(name) || (name in this && cur !== undefined && cur !== null && !(cur instanceof Module))) {
      throw new Error(`${this._get_name()}.register_module: attribute '${name}' already exists`);
    }
    this._defineField(name, module);
  }

  /** Alias of {@link register_module} (PyTorch's `add_module`). */
  add_module(name: string, module: AnyModule | null): void {
    this.register_module(name, module);
  }

  // ------------------------------------------------------------------ traversal

  /**
   * All submodules with dotted names, this module first as '' (PyTorch's `named_modules`),
   * depth first in field order. A module reachable twice is listed once unless
   * `remove_duplicate` is false.
   */
  named_modules(memo: Set<AnyModule> | null = null, prefix = '', remove_duplicate = true): [string, AnyModule][] {
    const out: [string, AnyModule][] = [];
    const seen = memo ?? new Set<AnyModule>();
    const visit = (m: AnyModule, p: string) => {
      if (remove_duplicate) {
        if (seen.has(m)) return;
        seen.add(m);
      }
      out.push([p, m]);
      for (const [n, c] of m._localChildren()) visit(c, p ? `${p}.${n}` : n);
    };
    visit(this as AnyModule, prefix);
    return out;
  }

  /** All modules of the tree, this one first (PyTorch's `modules()`). */
  modules(): AnyModule[] {
    return this.named_modules().map(([, m]) => m);
  }

  /** Direct children with their names, each module once (PyTorch's `named_children`). */
  named_children(): [string, AnyModule][] {
    const seen = new Set<AnyModule>();
    const out: [string, AnyModule][] = [];
    for (const [n, c] of this._localChildren()) {
      if (seen.has(c)) continue;
      seen.add(c);
      out.push([n, c]);
    }
    return out;
  }

  /** Direct children (PyTorch's `children()`). */
  children(): AnyModule[] {
    return this.named_children().map(([, m]) => m);
  }

  private _namedMembers<T extends Tensor>(
    local: (m: AnyModule) => [string, T][],
    prefix: string,
    recurse: boolean,
    remove_duplicate: boolean,
  ): [string, T][] {
    const mods: [string, AnyModule][] = recurse ? this.named_modules(null, prefix, remove_duplicate) : [[prefix, this as AnyModule]];
    const seen = new Set<Tensor>();
    const out: [string, T][] = [];
    for (const [mp, m] of mods) {
      for (const [n, t] of local(m)) {
        if (remove_duplicate) {
          if (seen.has(t)) continue;
          seen.add(t);
        }
        out.push([mp ? `${mp}.${n}` : n, t]);
      }
    }
    return out;
  }

  /**
   * Parameters with dotted names (`conv1.weight`), in state_dict order; a parameter shared by
   * several modules is listed once (under its first name) unless `remove_duplicate` is false.
   * PyTorch's `named_parameters(prefix='', recurse=True, remove_duplicate=True)`.
   */
  named_parameters(prefix = '', recurse = true, remove_duplicate = true): [string, Parameter][] {
    return this._namedMembers((m) => m._localParams(), prefix, recurse, remove_duplicate);
  }

  /** The parameters, each once (PyTorch's `parameters()`); pass these to an optimizer. */
  parameters(recurse = true): Parameter[] {
    return this.named_parameters('', recurse).map(([, p]) => p);
  }

  /** Buffers (persistent or not) with dotted names (PyTorch's `named_buffers`). */
  named_buffers(prefix = '', recurse = true, remove_duplicate = true): [string, Tensor][] {
    return this._namedMembers((m) => m._localBuffers().map(([n, t]) => [n, t] as [string, Tensor]), prefix, recurse, remove_duplicate);
  }

  /** The buffers (PyTorch's `buffers()`). */
  buffers(recurse = true): Tensor[] {
    return this.named_buffers('', recurse).map(([, b]) => b);
  }

  /**
   * The submodule at dotted path `target` ('' is this module). PyTorch's `get_submodule`.
   * @throws Error naming the missing component.
   */
  get_submodule(target: string): AnyModule {
    if (target === '') return this as AnyModule;
    let m: AnyModule = this as AnyModule;
    for (const part of target.split('.')) {
      const next = (m as unknown as Record<string, unknown>)[part];
      if (!(next instanceof Module)) throw new Error(`get_submodule: ${m._get_name()} has no submodule '${part}' (looking up '${target}')`);
      m = next as AnyModule;
    }
    return m;
  }

  /** The parameter at dotted path `target` (PyTorch's `get_parameter`). @throws Error when absent. */
  get_parameter(target: string): Parameter {
    const i = target.lastIndexOf('.');
    const mod = this.get_submodule(i < 0 ? '' : target.slice(0, i));
    const name = target.slice(i + 1);
    const p = (mod as unknown as Record<string, unknown>)[name];
    if (!(p instanceof Parameter)) throw new Error(`get_parameter: ${mod._get_name()} has no parameter '${name}' (looking up '${target}')`);
    return p;
  }

  /** The buffer at dotted path `target` (PyTorch's `get_buffer`). @throws Error when absent. */
  get_buffer(target: string): Tensor {
    const i = target.lastIndexOf('.');
    const mod = this.get_submodule(i < 0 ? '' : target.slice(0, i));
    const name = target.slice(i + 1);
    const b = (mod as unknown as Record<string, unknown>)[name];
    if (!mod._buffers.has(name) || !(b instanceof Tensor)) throw new Error(`get_buffer: ${mod._get_name()} has no buffer '${name}' (looking up '${target}')`);
    return b;
  }

  // ------------------------------------------------------------------ modes and bulk operations

  /** Sets training mode on this module and every descendant (PyTorch's `train(mode=True)`). Returns this. */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new TypeError(`${this._get_name()}.train: training mode is expected to be boolean, got ${typeof mode}`);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: `train(false)`. Returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Sets `requires_grad` on every parameter (PyTorch's `requires_grad_`), e.g. to freeze layers. Returns this. */
  requires_grad_(requires_grad = true): this {
    for (const p of this.parameters()) p.requires_grad = requires_grad;
    return this;
  }

  /**
   * Clears the gradients of all parameters (PyTorch's `zero_grad(set_to_none=True)`). With
   * `set_to_none` the gradient tensors are disposed (they belong to their parameters; clone one
   * first to keep it) and `.grad` becomes null; otherwise they are zeroed in place.
   */
  zero_grad(set_to_none = true): void {
    for (const p of this.parameters()) {
      const g = p.grad;
      if (!g) continue;
      if (set_to_none) {
        p.grad = null;
        g.dispose();
      } else if (!g.isDisposed) {
        g.grad_fn = null;
        g.requires_grad = false;
        fillInPlace(g, 0);
      }
    }
  }

  /** Calls `fn` on every child (recursively) and then on this module (PyTorch's `apply`). Returns this. */
  apply(fn: (m: AnyModule) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this as AnyModule);
    return this;
  }

  /** Every distinct parameter, gradient and buffer of the tree (for moves). */
  private _allTensors(): Set<Tensor> {
    const set = new Set<Tensor>();
    for (const m of this.modules()) {
      for (const [, p] of m._localParams()) {
        set.add(p);
        if (p.grad) set.add(p.grad);
      }
      for (const [, b] of m._localBuffers()) set.add(b);
    }
    return set;
  }

  /**
   * Replaces every parameter, gradient and buffer by moved[t] (when present): parameters become
   * new Parameters (leaves, same requires_grad; a parameter shared by several modules stays shared).
   */
  private _replaceTensors(moved: Map<Tensor, Tensor>): void {
    const newParams = new Map<Parameter, Parameter>();
    for (const m of this.modules()) {
      const self = m as unknown as Record<string, unknown>;
      for (const [n, p] of m._localParams()) {
        let np = newParams.get(p);
        if (!np) {
          const t = moved.get(p);
          if (!t || t === p) {
            np = p;
          } else {
            np = new Parameter(t, p.requires_grad);
            t.dispose();
            const g = p.grad ? moved.get(p.grad) : undefined;
            if (g) np.grad = keep(g);
          }
          newParams.set(p, np);
        }
        self[n] = np;
      }
      for (const [n, b] of m._localBuffers()) {
        const t = moved.get(b);
        if (t && t !== b) self[n] = keep(t);
      }
      m._tensorsChanged(moved, 'moved');
    }
  }

  /**
   * Called on every module of the tree after `to()`/`toAsync()` replaced tensors (`map`: old ->
   * new, same values) or `load_state_dict` copied into them (`map`: destination -> the source it
   * was copied from). For layers that keep host-side facts about their tensors (BatchNorm's
   * num_batches_tracked count); the default does nothing.
   */
  protected _tensorsChanged(_map: Map<Tensor, Tensor>, _kind: 'moved' | 'loaded'): void {}

  /**
   * Moves (or casts) every parameter, gradient and buffer, like PyTorch's `module.to(device)` /
   * `module.to(dtype)`; a dtype applies to floating-point tensors only (num_batches_tracked stays
   * int32). Parameters stay leaves with their `requires_grad`, but are new objects: as PyTorch
   * advises, build the optimizer after moving the model. Returns this.
   * Sync moves work from cpu; use {@link toAsync} to move off a GPU.
   * @throws Error when a tensor lives on a non-cpu device different from the target (use toAsync);
   * TypeError for float64 on webgpu.
   */
  to(arg: Device | DType): this {
    const isDevice = arg === 'cpu' || arg === 'webgpu';
    const all = this._allTensors();
    if (isDevice) {
      for (const t of all) {
        if (!canCopyTo(t, arg)) {
          throw new Error(`${this._get_name()}.to('${arg}'): a tensor of shape ${fmtShape(t.shape)} is on '${t.device}' and must be read back asynchronously; use await module.toAsync('${arg}')`);
        }
      }
    }
    const moved = new Map<Tensor, Tensor>();
    no_grad(() => {
      for (const t of all) {
        const change = isDevice ? t.device !== arg : isFloating(t.dtype) && t.dtype !== arg;
        if (!change) continue;
        const d = t.detach();
        moved.set(t, keep(isDevice ? d.to(arg as Device) : d.to(arg as DType)));
        d.dispose();
      }
    });
    this._replaceTensors(moved);
    return this;
  }

  /** Moves every parameter, gradient and buffer to `device` from any device (see {@link to}). Returns this. */
  async toAsync(device: Device): Promise<this> {
    const moved = new Map<Tensor, Tensor>();
    for (const t of this._allTensors()) {
      if (t.device === device) continue;
      const d = t.detach();
      moved.set(t, keep(await toDeviceAsync(d, device)));
      d.dispose();
    }
    this._replaceTensors(moved);
    return this;
  }

  // ------------------------------------------------------------------ state dict

  /**
   * The module's state: parameters and persistent buffers by dotted name, in PyTorch's key order
   * (per module: parameters, then buffers, then children). Values are detached views sharing
   * storage with the module's tensors (the tensors themselves with `keep_vars`). A parameter
   * shared by two modules appears under both names, as in PyTorch.
   * PyTorch's `state_dict(prefix='', keep_vars=False)`.
   */
  state_dict(opts: { prefix?: string; keep_vars?: boolean } = {}): StateDict {
    const dest: StateDict = {};
    const keepVars = opts.keep_vars ?? false;
    const save = (m: AnyModule, prefix: string) => {
      for (const [n, p] of m._localParams()) dest[prefix + n] = keepVars ? p : p.detach();
      for (const [n, b, persistent] of m._localBuffers()) if (persistent) dest[prefix + n] = keepVars ? b : b.detach();
      for (const [n, c] of m._localChildren()) save(c, `${prefix}${n}.`);
    };
    save(this as AnyModule, opts.prefix ?? '');
    return dest;
  }

  /**
   * Copies values from `state_dict` into this module's parameters and persistent buffers, in
   * place (PyTorch's `load_state_dict(state_dict, strict=True)`). Every entry is validated before
   * anything is written, so a failed load leaves the module unchanged:
   * - a shape mismatch is always an error (a one-element (1) tensor may fill a 0-d buffer, as PyTorch);
   * - with `strict` (default), missing and unexpected keys are errors too;
   * - values are converted to each tensor's dtype (an int32 `num_batches_tracked`, converted from
   *   PyTorch's int64, loads as is) and copied onto each tensor's device (sources on cpu or on the
   *   module's device).
   * Returns the missing and unexpected keys (both empty after a strict load).
   * @throws Error listing, like PyTorch, every missing, unexpected, mis-shaped or unreadable key.
   */
  load_state_dict(state_dict: StateDict | Map<string, Tensor>, opts: { strict?: boolean } | boolean = {}): IncompatibleKeys {
    const strict = typeof opts === 'boolean' ? opts : (opts.strict ?? true);
    if (state_dict === null || typeof state_dict !== 'object') {
      throw new TypeError(`${this._get_name()}.load_state_dict: expected a state dict object, got ${String(state_dict)}`);
    }
    const entries: [string, unknown][] = state_dict instanceof Map ? [...state_dict.entries()] : Object.entries(state_dict);
    const given = new Map<string, unknown>(entries);
    const local = this.state_dict({ keep_vars: true });
    const missing: string[] = [];
    const errors: string[] = [];
    const plan: [Tensor, Tensor][] = [];
    for (const [key, dst] of Object.entries(local)) {
      if (!given.has(key)) {
        missing.push(key);
        continue;
      }
      const src = given.get(key);
      if (!(src instanceof Tensor)) {
        errors.push(`While copying the parameter named "${key}", expected a Tensor from the checkpoint but received ${src === null ? 'null' : typeof src}.`);
        continue;
      }
      if (src.isDisposed) {
        errors.push(`The tensor for "${key}" in the checkpoint was disposed.`);
        continue;
      }
      const oneToScalar = dst.ndim === 0 && src.ndim === 1 && src.numel() === 1;
      if (!oneToScalar && !shapesEqual(src.shape, dst.shape)) {
        errors.push(`size mismatch for ${key}: copying a param with shape ${fmtShape(src.shape)} from checkpoint, the shape in current model is ${fmtShape(dst.shape)}.`);
        continue;
      }
      if (!canCopyTo(src, dst.device)) {
        errors.push(`While copying the parameter named "${key}": the checkpoint tensor is on '${src.device}' but the model's is on '${dst.device}'; move the state dict to cpu first.`);
        continue;
      }
      plan.push([dst, src]);
    }
    const unexpected = [...given.keys()].filter((k) => !(k in local));
    if (strict) {
      if (unexpected.length) errors.unshift(`Unexpected key(s) in state_dict: ${unexpected.map((k) => `"${k}"`).join(', ')}. `);
      if (missing.length) errors.unshift(`Missing key(s) in state_dict: ${missing.map((k) => `"${k}"`).join(', ')}. `);
    }
    if (errors.length) throw new Error(`Error(s) in loading state_dict for ${this._get_name()}:\n\t${errors.join('\n\t')}`);
    no_grad(() => {
      for (const [dst, src] of plan) copyInto(dst, src, `${this._get_name()}.load_state_dict`);
    });
    const loaded = new Map(plan);
    for (const m of this.modules()) m._tensorsChanged(loaded, 'loaded');
    return { missing_keys: missing, unexpected_keys: unexpected };
  }

  // ------------------------------------------------------------------ repr

  /** Extra text inside this module's repr parentheses (PyTorch's `extra_repr`); layers override it. */
  extra_repr(): string {
    return '';
  }

  /** A PyTorch-style multi-line description of the module tree. */
  toString(): string {
    const extra = this.extra_repr();
    const lines: string[] = extra ? extra.split('\n') : [];
    for (const [n, c] of this._localChildren()) {
      const s = c.toString().split('\n').join('\n  ');
      lines.push(`(${n}): ${s}`);
    }
    if (lines.length === 0) return `${this._get_name()}()`;
    if (lines.length === 1 && this._localChildren().length === 0) return `${this._get_name()}(${lines[0]})`;
    return `${this._get_name()}(\n  ${lines.join('\n  ')}\n)`;
  }
}

/**
 * Number of parameter elements of a module (each shared parameter counted once); with
 * `only_trainable`, only those with `requires_grad`.
 */
export function num_parameters(module: AnyModule, only_trainable = false): number {
  let n = 0;
  for (const p of module.parameters()) if (!only_trainable || p.requires_grad) n += p.numel();
  return n;
}
