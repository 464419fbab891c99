/**
 * The Tensor: a view (shape, strides, offset) onto reference-counted device storage, plus the
 * autograd fields (`requires_grad`, `grad`, `grad_fn`). Ops are implemented in ./ops; the
 * methods here only forward to them, PyTorch-style (`x.add(y)` is `add(x, y)`).
 */
import type { Backend, Layout } from '../kernels/backend.js';
import { getBackend, type Device } from './device.js';
import { allocArray, DTYPES, isForeignDType, type DType, type TypedArray } from './dtype.js';
import { StorageRef, track, untrackFinalizer, type Disposable } from './memory.js';
import { contiguousStrides, fmtShape, isContiguous, numel, type Shape } from './shape.js';
import type { Node } from './autograd.js';
import * as E from './ops/elementwise.js';
import * as R from './ops/reduce.js';
import * as V from './ops/views.js';
import * as M from './ops/matmul.js';
import * as S from './ops/softmax.js';
import { backward as runBackward } from './autograd.js';
import { toDevice, toDeviceAsync, toDType } from './ops/copy.js';

export type Scalar = number;
export type TensorLike = Tensor | number;

export class Tensor implements Disposable {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  readonly device: Device;
  /** @internal */
  readonly _ref: StorageRef;
  private _requiresGrad = false;
  /** Accumulated gradient of a leaf (or of a tensor after `retain_grad()`). */
  grad: Tensor | null = null;
  /** The autograd node that produced this tensor; null for leaves. */
  grad_fn: Node | null = null;
  /** @internal whether `backward` stores this non-leaf's gradient in `.grad`. */
  _retainGrad = false;
  /** Bumped by in-place ops, so autograd can detect a saved tensor modified after its use. */
  _version = 0;
  private _disposed = false;
  private readonly _token = {};

  /** @internal Use the creation functions (`tensor`, `zeros`, ...) instead. */
  constructor(ref: StorageRef, shape: Shape, strides?: readonly number[], offset = 0) {
    this._ref = ref;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    this.dtype = ref.storage.dtype;
    this.device = ref.storage.device;
    track(this, ref, this._token);
  }

  /** @internal A new contiguous tensor with fresh, uninitialized storage on `device`. */
  static empty(shape: Shape, dtype: DType, device: Device): Tensor {
    const b = getBackend(device);
    return new Tensor(new StorageRef(b, b.alloc(dtype, numel(shape))), shape);
  }

  /** @internal Wraps host data (copied) as a contiguous tensor. */
  static fromArray(data: TypedArray, shape: Shape, dtype: DType, device: Device): Tensor {
    const b = getBackend(device);
    return new Tensor(new StorageRef(b, b.upload(data, dtype)), shape);
  }

  /** @internal */
  get backend(): Backend {
    return this._ref.backend;
  }
  /** @internal */
  get storage() {
    this.assertAlive('use');
    return this._ref.storage;
  }
  /** @internal The layout handed to backend primitives. */
  get layout(): Layout {
    return { shape: this.shape, strides: this.strides, offset: this.offset };
  }

  /**
   * Whether gradients flow to this tensor (PyTorch's `requires_grad`).
   * @throws TypeError when set to true on an int32 tensor.
   */
  get requires_grad(): boolean {
    return this._requiresGrad;
  }
  set requires_grad(on: boolean) {
    if (on && this.dtype === 'int32') {
      throw new TypeError(`requires_grad: only floating-point tensors can require gradients (dtype is int32, shape ${fmtShape(this.shape)})`);
    }
    this._requiresGrad = on;
  }

  get ndim(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  numel(): number {
    return numel(this.shape);
  }
  size(): readonly number[];
  size(dim: number): number;
  size(dim?: number): readonly number[] | number {
    if (dim === undefined) return this.shape;
    if (this.ndim === 0) throw new RangeError(`size: dimension ${dim} specified but the tensor has no dimensions (shape [])`);
    return this.shape[V.normDimOf('size', dim, this.ndim)]!;
  }
  dim(): number {
    return this.ndim;
  }
  get is_leaf(): boolean {
    return this.grad_fn === null;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }
  is_contiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }
  /** True when this tensor reads its storage as a plain contiguous block from element 0. */
  get _isDense(): boolean {
    return this.offset === 0 && this.is_contiguous() && this.numel() === this._ref.storage.size;
  }

  /** Releases this tensor's reference to its storage (views keep the storage alive). Idempotent. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    untrackFinalizer(this._token);
    this._ref.release();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal */
  assertAlive(op: string): void {
    if (this._disposed) throw new Error(`${op}: tensor of shape [${this.shape.join(', ')}] was disposed (use after dispose() or outside its tidy scope)`);
  }

  // ---------------- readback ----------------

  /** Copies the elements, in row-major order, to a new typed array (waits for the device). */
  async data(): Promise<TypedArray> {
    this.assertAlive('data');
    const c = this._isDense ? this : V.denseCopy(this);
    try {
      const arr = await c.backend.read(c.storage);
      return arr.length === this.numel() ? arr : arr.slice(0, this.numel());
    } finally {
      if (c !== this) c.dispose();
    }
  }

  /** Synchronous readback; cpu tensors only. */
  dataSync(): TypedArray {
    if (this.device !== 'cpu') throw new Error(`dataSync: only cpu tensors can be read synchronously (this one is on '${this.device}'); use await t.data()`);
    this.assertAlive('dataSync');
    // A contiguous view may still start past element 0 (e.g. narrow on dim 0): copy unless dense.
    const c = this._isDense ? this : V.denseCopy(this);
    const arr = (c.storage as unknown as { data: TypedArray }).data;
    const out = allocArray(this.dtype, this.numel());
    out.set(arr.subarray(0, out.length));
    if (c !== this) c.dispose();
    return out;
  }

  /** Nested JS arrays (cpu tensors; use `await t.array()` on any device). A 0-d tensor gives a number. */
  toArray(): unknown {
    return nest(Array.from(this.dataSync()), this.shape);
  }
  /** Nested JS arrays, on any device. */
  async array(): Promise<unknown> {
    return nest(Array.from(await this.data()), this.shape);
  }
  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.numel() !== 1) throw new RangeError(`item: tensor has ${this.numel()} elements, expected 1`);
    return (await this.data())[0]!;
  }
  /** The single value of a one-element cpu tensor. */
  itemSync(): number {
    if (this.numel() !== 1) throw new RangeError(`itemSync: tensor has ${this.numel()} elements, expected 1`);
    return this.dataSync()[0]!;
  }

  toString(): string {
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device}${this.requires_grad ? ', requires_grad=true' : ''})`;
  }

  // ---------------- autograd ----------------

  /** Sets `requires_grad` in place (leaves only, like PyTorch); returns this. */
  requires_grad_(on = true): this {
    if (!this.is_leaf && !on) throw new Error('requires_grad_: cannot turn off requires_grad on a non-leaf tensor; use detach()');
    if (on && this.dtype === 'int32') {
      throw new TypeError(`requires_grad_: only floating-point tensors can require gradients (dtype is int32, shape ${fmtShape(this.shape)})`);
    }
    this.requires_grad = on;
    return this;
  }
  /** Keeps this non-leaf's gradient in `.grad` after backward. */
  retain_grad(): this {
    this._retainGrad = true;
    return this;
  }
  /**
   * Computes gradients of this tensor with respect to every leaf that requires grad and
   * accumulates them into their `.grad`. `gradient` is required unless this is a one-element tensor.
   */
  backward(gradient?: Tensor, opts: { retain_graph?: boolean } = {}): void {
    runBackward(this, gradient, opts.retain_graph ?? false);
  }
  /** A view sharing storage, cut from the graph. */
  detach(): Tensor {
    return V.detach(this);
  }

  // ---------------- device / dtype ----------------

  /** A copy on `device` (this tensor itself when already there); differentiable. */
  to(device: Device): Tensor;
  to(dtype: DType): Tensor;
  to(arg: Device | DType): Tensor {
    if (arg === 'cpu' || arg === 'webgpu') return toDevice(this, arg);
    if (!(DTYPES as readonly unknown[]).includes(arg) && !isForeignDType(arg)) {
      const name = typeof arg === 'string' ? `'${arg}'` : String(arg);
      throw new TypeError(`to: ${name} is neither a device (cpu, webgpu) nor a dtype (${DTYPES.join(', ')})`);
    }
    return toDType(this, arg);
  }
  /**
   * A copy on `device`, for any pair of devices (a webgpu tensor reaches the cpu through an
   * asynchronous readback, which the synchronous `to('cpu')` cannot do). Differentiable, as
   * `to()`: the gradient goes back to the source device.
   */
  toAsync(device: Device): Promise<Tensor> {
    return toDeviceAsync(this, device);
  }
  cpu(): Tensor {
    return toDevice(this, 'cpu');
  }
  float(): Tensor {
    return toDType(this, 'float32');
  }
  int(): Tensor {
    return toDType(this, 'int32');
  }
  double(): Tensor {
    return toDType(this, 'float64');
  }
  clone(): Tensor {
    return V.clone(this);
  }

  // ---------------- views ----------------
  contiguous(): Tensor {
    return V.contiguous(this);
  }
  reshape(...shape: (number | number[])[]): Tensor {
    return V.reshape(this, flatArgs(shape));
  }
  view(...shape: (number | number[])[]): Tensor {
    return V.view(this, flatArgs(shape));
  }
  permute(...dims: (number | number[])[]): Tensor {
    return V.permute(this, flatArgs(dims));
  }
  transpose(d0: number, d1: number): Tensor {
    return V.transpose(this, d0, d1);
  }
  /** Transpose of a 2-d tensor (PyTorch's `.t()`). */
  t(): Tensor {
    if (this.ndim > 2) throw new RangeError(`t: expects a tensor of at most 2 dims, got [${this.shape.join(', ')}]`);
    return this.ndim < 2 ? this : V.transpose(this, 0, 1);
  }
  get T(): Tensor {
    return V.permute(this, [...this.shape.keys()].reverse());
  }
  expand(...shape: (number | number[])[]): Tensor {
    return V.expand(this, flatArgs(shape));
  }
  expand_as(o: Tensor): Tensor {
    return V.expand(this, [...o.shape]);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return V.narrow(this, dim, start, length);
  }
  /** `x.slice(dim, start, end, step)`: Python's `x[..., start:end:step, ...]` on one dim (negative indices allowed). */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return V.slice(this, dim, start, end, step);
  }
  /** Index one position of `dim`, dropping the dim (`x[i]` for dim 0). */
  select(dim: number, index: number): Tensor {
    return V.select(this, dim, index);
  }
  squeeze(dim?: number): Tensor {
    return V.squeeze(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return V.unsqueeze(this, dim);
  }
  flatten(start_dim = 0, end_dim = -1): Tensor {
    return V.flatten(this, start_dim, end_dim);
  }

  // ---------------- elementwise ----------------
  add(o: TensorLike, alpha?: number): Tensor {
    return E.add(this, o, alpha);
  }
  sub(o: TensorLike, alpha?: number): Tensor {
    return E.sub(this, o, alpha);
  }
  mul(o: TensorLike): Tensor {
    return E.mul(this, o);
  }
  div(o: TensorLike): Tensor {
    return E.div(this, o);
  }
  pow(o: TensorLike): Tensor {
    return E.pow(this, o);
  }
  maximum(o: TensorLike): Tensor {
    return E.maximum(this, o);
  }
  minimum(o: TensorLike): Tensor {
    return E.minimum(this, o);
  }
  neg(): Tensor {
    return E.neg(this);
  }
  exp(): Tensor {
    return E.exp(this);
  }
  log(): Tensor {
    return E.log(this);
  }
  sqrt(): Tensor {
    return E.sqrt(this);
  }
  rsqrt(): Tensor {
    return E.rsqrt(this);
  }
  abs(): Tensor {
    return E.abs(this);
  }
  relu(): Tensor {
    return E.relu(this);
  }
  sigmoid(): Tensor {
    return E.sigmoid(this);
  }
  tanh(): Tensor {
    return E.tanh(this);
  }
  sign(): Tensor {
    return E.sign(this);
  }
  clamp(min?: number, max?: number): Tensor {
    return E.clamp(this, min, max);
  }
  eq(o: TensorLike): Tensor {
    return E.eq(this, o);
  }
  ne(o: TensorLike): Tensor {
    return E.ne(this, o);
  }
  lt(o: TensorLike): Tensor {
    return E.lt(this, o);
  }
  le(o: TensorLike): Tensor {
    return E.le(this, o);
  }
  gt(o: TensorLike): Tensor {
    return E.gt(this, o);
  }
  ge(o: TensorLike): Tensor {
    return E.ge(this, o);
  }

  // ---------------- reductions ----------------
  sum(dim?: number | number[], keepdim = false): Tensor {
    return R.sum(this, dim, keepdim);
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    return R.mean(this, dim, keepdim);
  }
  /** Maximum over `dim` (or all elements); unlike PyTorch, returns only the values (see `argmax`). */
  max(dim?: number | number[], keepdim = false): Tensor {
    return R.max(this, dim, keepdim);
  }
  min(dim?: number | number[], keepdim = false): Tensor {
    return R.min(this, dim, keepdim);
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return R.argmax(this, dim, keepdim);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return R.argmin(this, dim, keepdim);
  }

  // ---------------- linear algebra / softmax ----------------
  matmul(o: Tensor): Tensor {
    return M.matmul(this, o);
  }
  softmax(dim: number): Tensor {
    return S.softmax(this, dim);
  }
  log_softmax(dim: number): Tensor {
    return S.log_softmax(this, dim);
  }
}

function flatArgs(a: (number | number[])[]): number[] {
  return a.length === 1 && Array.isArray(a[0]) ? [...a[0]] : (a as number[]);
}

function nest(flat: number[], shape: readonly number[]): unknown {
  if (shape.length === 0) return flat[0];
  const rec = (off: number, d: number): unknown[] => {
    const n = shape[d]!;
    if (d === shape.length - 1) return flat.slice(off, off + n);
    const stride = shape.slice(d + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: n }, (_, i) => rec(off + i * stride, d + 1));
  };
  return rec(0, 0);
}
