/** Containers: Sequential and ModuleList (PyTorch's torch.nn.Sequential, torch.nn.ModuleList). */
import type { Tensor } from '../../tensor/tensor.js';
import { Module, type AnyModule } from '../module.js';

/** A module taking one tensor to one tensor, as Sequential chains them. */
export type TensorModule = Module<[Tensor], Tensor>;

function normIndex(owner: string, idx: number, n: number): number {
  const i = idx < 0 ? idx + n : idx;
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`${owner}: index ${idx} is out of range (length ${n})`);
  return i;
}

/**
 * Runs its children in order, each on the previous one's output (PyTorch's `nn.Sequential`).
 * `new Sequential(a, b, c)` names the children '0', '1', '2' (so their state_dict keys are
 * `0.weight`, ...); `new Sequential({ conv: a, relu: b })` uses the given names (PyTorch's
 * OrderedDict form; integer-like names sort first, see Module). An empty Sequential is the identity.
 * Source: https://pytorch.org/docs/stable/generated/torch.nn.Sequential.html
 * @throws TypeError when an argument is not a Module.
 */
export class Sequential extends Module {
  constructor(...modules: TensorModule[] | [Record<string, TensorModule>]) {
    super();
    const first = modules[0];
    const plain = (v: unknown) => v !== null && typeof v === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(v));
    if (modules.length === 1 && plain(first)) {
      for (const [k, m] of Object.entries(first as Record<string, TensorModule>)) this.register_module(k, m as AnyModule);
    } else {
      (modules as TensorModule[]).forEach((m, i) => {
        if (!(m instanceof Module)) throw new TypeError(`Sequential: argument ${i} is not a Module (got ${String(m)})`);
        this.register_module(String(i), m as AnyModule);
      });
    }
  }

  /** Number of children (Python's `len(seq)`). */
  get length(): number {
    return this._localChildren().length;
  }

  /** The child at `idx` (negative counts from the end), Python's `seq[idx]`. @throws RangeError when out of range. */
  at<M extends AnyModule = TensorModule>(idx: number): M {
    const ch = this._localChildren().map(([, m]) => m);
    return ch[normIndex('Sequential', idx, ch.length)] as M;
  }

  /** Appends a module under the next index name. Returns this. */
  append(m: TensorModule): this {
    this.register_module(String(this.length), m as AnyModule);
    return this;
  }

  /** Iterates the children in order (Python's `for m in seq`). */
  [Symbol.iterator](): Iterator<AnyModule> {
    return this._localChildren().map(([, m]) => m)[Symbol.iterator]();
  }

  /** Feeds x through every child in order. */
  override forward(x: Tensor): Tensor {
    let y = x;
    for (const [, m] of this._localChildren()) y = (m as TensorModule).call(y);
    return y;
  }
}

/**
 * A list of submodules, registered as children '0', '1', ... (PyTorch's `nn.ModuleList`). It has
 * no forward; index it with `at(i)` and iterate it with `for...of`.
 * Source: https://pytorch.org/docs/stable/generated/torch.nn.ModuleList.html
 */
export class ModuleList<M extends AnyModule = AnyModule> extends Module {
  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }
  /** Number of modules (Python's `len(ml)`). */
  get length(): number {
    return this._localChildren().length;
  }
  /** The module at `idx` (negative counts from the end). @throws RangeError when out of range. */
  at(idx: number): M {
    const ch = this._localChildren().map(([, m]) => m);
    return ch[normIndex('ModuleList', idx, ch.length)] as M;
  }
  /** Appends a module. Returns this. @throws TypeError when m is not a Module. */
  append(m: M): this {
    if (!(m instanceof Module)) throw new TypeError(`ModuleList.append: ${String(m)} is not a Module`);
    this.register_module(String(this.length), m);
    return this;
  }
  /** Appends several modules. Returns this. */
  extend(ms: Iterable<M>): this {
    for (const m of ms) this.append(m);
    return this;
  }
  /** Iterates the modules in order. */
  [Symbol.iterator](): Iterator<M> {
    return (this._localChildren().map(([, m]) => m) as M[])[Symbol.iterator]();
  }
}
