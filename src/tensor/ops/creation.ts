/** Tensor creation: from data, constants, ranges and seeded random numbers. */
import { getDefaultDevice, type Device } from '../device.js';
import { allocArray, checkDType, dtypeOfArray, type DType, type TypedArray } from '../dtype.js';
import { default_generator, type Generator } from '../random.js';
import { checkShape, fmtShape, numel } from '../shape.js';
import { Tensor } from '../tensor.js';
import { unaryRaw } from './elementwise.js';
import type { RandomParams } from '../../kernels/backend.js';

export interface CreateOptions {
  dtype?: DType;
  device?: Device;
  requires_grad?: boolean;
}
export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

type Nested = number | readonly Nested[];

function inferNested(data: Nested, op: string): { shape: number[]; flat: number[] } {
  const shape: number[] = [];
  let cur: Nested = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = (cur as readonly Nested[])[0] as Nested;
    if (cur === undefined) break;
  }
  const flat: number[] = [];
  const walk = (v: Nested, d: number) => {
    if (d === shape.length) {
      if (typeof v !== 'number' && typeof v !== 'boolean') throw new TypeError(`${op}: expected a number at depth ${d}, got ${typeof v}`);
      flat.push(Number(v));
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) throw new RangeError(`${op}: ragged nested array: expected length ${shape[d]} at depth ${d}`);
    for (const x of v as readonly Nested[]) walk(x, d + 1);
  };
  walk(data, 0);
  return { shape, flat };
}

function finish(t: Tensor, opts: CreateOptions): Tensor {
  if (opts.requires_grad) t.requires_grad_(true);
  return t;
}

/**
 * A tensor from a number, nested arrays or a typed array (copied). dtype defaults to float32
 * (int32 for an Int32Array, float64 for a Float64Array); a typed array is shaped by `shape`.
 */
export function tensor(data: Nested | TypedArray, opts: CreateOptions & { shape?: readonly number[] } = {}): Tensor {
  const device = opts.device ?? getDefaultDevice();
  if (opts.dtype !== undefined) checkDType('tensor', opts.dtype);
  if (ArrayBuffer.isView(data)) {
    const dtype = opts.dtype ?? dtypeOfArray(data);
    const shape = opts.shape ?? [data.length];
    if (numel(shape) !== data.length) throw new RangeError(`tensor: shape ${fmtShape(shape)} does not match ${data.length} elements`);
    return finish(Tensor.fromArray(castArray(data, dtype), shape, dtype, device), opts);
  }
  const { shape, flat } = inferNested(data as Nested, 'tensor');
  const dtype = opts.dtype ?? 'float32';
  const arr = allocArray(dtype, flat.length);
  flat.forEach((v, i) => (arr[i] = dtype === 'int32' ? Math.trunc(v) : v));
  return finish(Tensor.fromArray(arr, shape, dtype, device), opts);
}

function castArray(a: TypedArray, dtype: DType): TypedArray {
  if (dtypeOfArray(a) === dtype) return a;
  const out = allocArray(dtype, a.length);
  for (let i = 0; i < a.length; i++) out[i] = dtype === 'int32' ? Math.trunc(a[i]!) : a[i]!;
  return out;
}

function normShape(op: string, shape: readonly number[] | number): number[] {
  const s = typeof shape === 'number' ? [shape] : [...shape];
  checkShape(op, s);
  return s;
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: readonly number[] | number, value: number, opts: CreateOptions = {}): Tensor {
  const s = normShape('full', shape);
  if (opts.dtype !== undefined) checkDType('full', opts.dtype);
  const t = Tensor.empty(s, opts.dtype ?? 'float32', opts.device ?? getDefaultDevice());
  t.backend.fill(t.storage, value);
  return finish(t, opts);
}
export function zeros(shape: readonly number[] | number, opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}
export function ones(shape: readonly number[] | number, opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}
/** Same shape, dtype and device as `t` (overridable). */
export function zeros_like(t: Tensor, opts: CreateOptions = {}): Tensor {
  return full(t.shape, 0, { dtype: t.dtype, device: t.device, ...opts });
}
export function ones_like(t: Tensor, opts: CreateOptions = {}): Tensor {
  return full(t.shape, 1, { dtype: t.dtype, device: t.device, ...opts });
}
export function full_like(t: Tensor, value: number, opts: CreateOptions = {}): Tensor {
  return full(t.shape, value, { dtype: t.dtype, device: t.device, ...opts });
}

/**
 * Values start, start+step, ... below end (torch.arange). With one argument, 0..end-1.
 * dtype defaults to int32 when all arguments are integers, else float32.
 */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0) throw new RangeError('arange: step must be nonzero');
  if (![start, end, step].every(Number.isFinite)) throw new RangeError(`arange: start, end and step must be finite, got ${start}, ${end}, ${step}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts.dtype ?? ([start, end, step].every(Number.isInteger) ? 'int32' : 'float32');
  checkDType('arange', dtype);
  const arr = allocArray(dtype, n);
  for (let i = 0; i < n; i++) arr[i] = start + i * step;
  return finish(Tensor.fromArray(arr, [n], dtype, opts.device ?? getDefaultDevice()), opts);
}

/** Evenly spaced `steps` values from start to end inclusive (torch.linspace). */
export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`linspace: steps must be a non-negative integer, got ${steps}`);
  const dtype = opts.dtype ?? 'float32';
  checkDType('linspace', dtype);
  const arr = allocArray(dtype, steps);
  // PyTorch's formula: the first half counts up from start, the second down from end, so both
  // endpoints are exact.
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  for (let i = 0; i < steps; i++) arr[i] = i < steps / 2 ? start + step * i : end - step * (steps - 1 - i);
  return finish(Tensor.fromArray(arr, [steps], dtype, opts.device ?? getDefaultDevice()), opts);
}

/** Fills a new tensor with `kind` numbers from the generator (see RandomParams); advances it. */
export function randomRaw(kind: RandomParams['kind'], shape: number[], opts: RandomOptions, extra: { p?: number; scale?: number } = {}): Tensor {
  const dtype = opts.dtype ?? 'float32';
  checkDType(kind === 'uniform' ? 'rand' : 'randn', dtype);
  if (dtype === 'int32') throw new TypeError(`${kind === 'uniform' ? 'rand' : 'randn'}: dtype must be floating point, got int32`);
  const g = opts.generator ?? default_generator;
  const t = Tensor.empty(shape, dtype, opts.device ?? getDefaultDevice());
  const offset = g.take(t.numel());
  t.backend.random(t.storage, { kind, seed: g.seedWords, offset, ...extra });
  return t;
}

/** Uniform [0, 1) numbers from the (seeded, counter-based) generator; identical on every device. */
export function rand(shape: readonly number[] | number, opts: RandomOptions = {}): Tensor {
  return finish(randomRaw('uniform', normShape('rand', shape), opts), opts);
}
/** Standard normal numbers (Box-Muller over Philox). */
export function randn(shape: readonly number[] | number, opts: RandomOptions = {}): Tensor {
  return finish(randomRaw('normal', normShape('randn', shape), opts), opts);
}
/**
 * Uniform integers in [low, high) as int32: low + floor(u * (high - low)) for a float32 uniform u
 * (24 random bits, so ranges wider than 2^24 are not uniform at unit resolution).
 */
export function randint(low: number, high: number, shape: readonly number[] | number, opts: RandomOptions = {}): Tensor {
  if (!(Number.isInteger(low) && Number.isInteger(high) && high > low)) throw new RangeError(`randint: need integers low < high, got ${low}, ${high}`);
  if (low < -(2 ** 31) || high > 2 ** 31) throw new RangeError(`randint: [${low}, ${high}) does not fit int32`);
  const u = randomRaw('uniform', normShape('randint', shape), { ...opts, dtype: 'float32' });
  const scaled = unaryRaw('mul_scalar', u, high - low);
  const k = Tensor.empty(u.shape, 'int32', u.device);
  // scaled >= 0, so the float -> int conversion (truncation) is floor.
  k.backend.copy(scaled.storage, scaled.layout, k.storage, k.layout);
  u.dispose();
  scaled.dispose();
  if (low === 0) return k;
  const out = unaryRaw('add_scalar', k, low);
  k.dispose();
  return out;
}

/** A random permutation of 0..n-1 as int32, from the generator (host-side Fisher-Yates over Philox draws). */
export function randperm(n: number, opts: RandomOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`randperm: n must be a non-negative integer, got ${n}`);
  const u = randomRaw('uniform', [n], { ...opts, dtype: 'float64', device: 'cpu' });
  const r = u.dataSync();
  u.dispose();
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r[i]! * (i + 1));
    const tmp = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = tmp;
  }
  return Tensor.fromArray(perm, [n], 'int32', opts.device ?? getDefaultDevice());
}
