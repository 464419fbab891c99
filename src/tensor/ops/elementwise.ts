/**
 * Elementwise ops with NumPy/PyTorch broadcasting, each with its backward rule beside it.
 * Comparison ops (no grad) return 1/0 in the operands' promoted dtype (there is no bool dtype).
 */
import type { BinaryOp, UnaryOp } from '../../kernels/backend.js';
import { record } from '../autograd.js';
import { promoteTypes, type DType } from '../dtype.js';
import { broadcastShapes, broadcastStrides, fmtShape } from '../shape.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { sumTo } from './reduce_util.js';
import { toDType } from './copy.js';

/** @internal Runs a unary primitive (no grad recorded). */
export function unaryRaw(op: UnaryOp, x: Tensor, param?: number): Tensor {
  x.assertAlive(op);
  const out = Tensor.empty(x.shape, x.dtype, x.device);
  out.backend.unary(op, x.storage, x.layout, out.storage, param);
  return out;
}

/** A 0-d tensor holding `v` on like's device with `dtype`. */
export function scalarLike(v: number, like: Tensor, dtype: DType = like.dtype): Tensor {
  const t = Tensor.empty([], dtype, like.device);
  t.backend.fill(t.storage, v);
  return t;
}

function checkDevices(op: string, a: Tensor, b: Tensor): void {
  if (a.device !== b.device) {
    throw new Error(`${op}: expected both tensors on the same device, got '${a.device}' ${fmtShape(a.shape)} and '${b.device}' ${fmtShape(b.shape)}`);
  }
}

/** @internal Runs a binary primitive with broadcasting and dtype promotion (no grad recorded). */
export function binaryRaw(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  a.assertAlive(op);
  b.assertAlive(op);
  checkDevices(op, a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const dt = promoteTypes(a.dtype, b.dtype);
  const ac = toDType(a, dt);
  const bc = toDType(b, dt);
  const out = Tensor.empty(shape, dt, a.device);
  out.backend.binary(
    op,
    ac.storage,
    { shape, strides: broadcastStrides(ac.shape, ac.strides, shape), offset: ac.offset },
    bc.storage,
    { shape, strides: broadcastStrides(bc.shape, bc.strides, shape), offset: bc.offset },
    out.storage,
  );
  if (ac !== a) ac.dispose();
  if (bc !== b) bc.dispose();
  return out;
}

function asTensor(v: TensorLike, like: Tensor): Tensor {
  return typeof v === 'number' ? scalarLike(v, like, like.dtype === 'int32' && !Number.isInteger(v) ? 'float32' : like.dtype) : v;
}

function unaryOp(name: string, op: UnaryOp, x: Tensor, grad: (gy: Tensor, out: Tensor) => Tensor, param?: number): Tensor {
  const out = unaryRaw(op, x, param);
  return record(name, out, [x], (gy) => [grad(gy, out)]);
}

// ---------------- unary ----------------

/** -x */
export function neg(x: Tensor): Tensor {
  return unaryOp('neg', 'neg', x, (gy) => neg(gy));
}
/** e^x */
export function exp(x: Tensor): Tensor {
  return unaryOp('exp', 'exp', x, (gy, y) => mul(gy, y));
}
/** Natural log; -inf at 0 and NaN below, as IEEE. */
export function log(x: Tensor): Tensor {
  return unaryOp('log', 'log', x, (gy) => div(gy, x));
}
export function sqrt(x: Tensor): Tensor {
  return unaryOp('sqrt', 'sqrt', x, (gy, y) => div(gy, mulScalar(y, 2)));
}
/** 1/sqrt(x) */
export function rsqrt(x: Tensor): Tensor {
  return unaryOp('rsqrt', 'rsqrt', x, (gy, y) => mul(gy, mulScalar(unaryRaw('pow_scalar', y, 3), -0.5)));
}
/** |x|; the gradient at 0 is 0 (sign(0)), as PyTorch. */
export function abs(x: Tensor): Tensor {
  return unaryOp('abs', 'abs', x, (gy) => mul(gy, unaryRaw('sign', x)));
}
/** max(x, 0); gradient 0 at x = 0, as PyTorch. */
export function relu(x: Tensor): Tensor {
  return unaryOp('relu', 'relu', x, (gy) => mul(gy, unaryRaw('step', x)));
}
/** 1 / (1 + e^-x) */
export function sigmoid(x: Tensor): Tensor {
  return unaryOp('sigmoid', 'sigmoid', x, (gy, y) => mul(gy, mul(y, rsubScalar(1, y))));
}
export function tanh(x: Tensor): Tensor {
  return unaryOp('tanh', 'tanh', x, (gy, y) => mul(gy, rsubScalar(1, mul(y, y))));
}
/** -1, 0 or 1; zero gradient. */
export function sign(x: Tensor): Tensor {
  return unaryRaw('sign', x);
}
/** x * s for a number s. */
export function mulScalar(x: Tensor, s: number): Tensor {
  return unaryOp('mul', 'mul_scalar', x, (gy) => mulScalar(gy, s), s);
}
/** x + s for a number s. */
export function addScalar(x: Tensor, s: number): Tensor {
  return unaryOp('add', 'add_scalar', x, (gy) => gy, s);
}
/** s - x for a number s. */
export function rsubScalar(s: number, x: Tensor): Tensor {
  return addScalar(neg(x), s);
}
/** x ** p for a number p. */
export function powScalar(x: Tensor, p: number): Tensor {
  return unaryOp('pow', 'pow_scalar', x, (gy) => (p === 0 ? mulScalar(gy, 0) : mul(gy, mulScalar(unaryRaw('pow_scalar', x, p - 1), p))), p);
}

/** Clamps to [min, max] (either may be omitted); gradient passes where min <= x <= max. */
export function clamp(x: Tensor, min?: number, max?: number): Tensor {
  if (min === undefined && max === undefined) throw new Error('clamp: at least one of min and max must be given');
  let y = x;
  const parts: Tensor[] = [];
  if (min !== undefined) {
    const m = scalarLike(min, x);
    y = binaryRaw('maximum', y, m);
    parts.push(m);
  }
  if (max !== undefined) {
    const m = scalarLike(max, x);
    const y2 = binaryRaw('minimum', y, m);
    if (y !== x) y.dispose();
    y = y2;
    parts.push(m);
  }
  parts.forEach((p) => p.dispose());
  return record('clamp', y, [x], (gy) => {
    let mask = unaryRaw('add_scalar', x, 0);
    const lo = min !== undefined ? binaryRaw('ge', x, scalarLike(min, x)) : null;
    const hi = max !== undefined ? binaryRaw('le', x, scalarLike(max, x)) : null;
    mask = lo && hi ? binaryRaw('mul', lo, hi) : (lo ?? hi)!;
    return [mul(gy, mask)];
  });
}

// ---------------- binary ----------------

/** a + alpha * b, broadcasting. */
export function add(a: Tensor, b: TensorLike, alpha = 1): Tensor {
  if (typeof b === 'number') return addScalar(a, b * alpha);
  const bb = alpha === 1 ? b : mulScalar(b, alpha);
  const out = binaryRaw('add', a, bb);
  return record('add', out, [a, bb], (gy) => [sumTo(gy, a.shape), sumTo(gy, bb.shape)]);
}
/** a - alpha * b, broadcasting. */
export function sub(a: Tensor, b: TensorLike, alpha = 1): Tensor {
  if (typeof b === 'number') return addScalar(a, -b * alpha);
  const bb = alpha === 1 ? b : mulScalar(b, alpha);
  const out = binaryRaw('sub', a, bb);
  return record('sub', out, [a, bb], (gy) => [sumTo(gy, a.shape), sumTo(neg(gy), bb.shape)]);
}
/** a * b, broadcasting. */
export function mul(a: Tensor, b: TensorLike): Tensor {
  if (typeof b === 'number') return mulScalar(a, b);
  const out = binaryRaw('mul', a, b);
  return record('mul', out, [a, b], (gy) => [
    a.requires_grad ? sumTo(binaryRaw('mul', gy, b), a.shape) : null,
    b.requires_grad ? sumTo(binaryRaw('mul', gy, a), b.shape) : null,
  ]);
}
/** a / b (true division), broadcasting. */
export function div(a: Tensor, b: TensorLike): Tensor {
  const bt = asTensor(b, a);
  const out = binaryRaw('div', a, bt);
  return record('div', out, [a, bt], (gy) => [
    a.requires_grad ? sumTo(binaryRaw('div', gy, bt), a.shape) : null,
    bt.requires_grad ? sumTo(neg(binaryRaw('div', binaryRaw('mul', gy, out), bt)), bt.shape) : null,
  ]);
}
/** a ** b, broadcasting; a number exponent uses the scalar kernel. */
export function pow(a: Tensor, b: TensorLike): Tensor {
  if (typeof b === 'number') return powScalar(a, b);
  const out = binaryRaw('pow', a, b);
  return record('pow', out, [a, b], (gy) => [
    a.requires_grad ? sumTo(mul(gy, mul(b, pow(a, sub(b, 1)))), a.shape) : null,
    b.requires_grad ? sumTo(mul(gy, mul(out, log(a))), b.shape) : null,
  ]);
}

function minmax(name: 'maximum' | 'minimum', a: Tensor, b: TensorLike): Tensor {
  const bt = asTensor(b, a);
  const out = binaryRaw(name, a, bt);
  // PyTorch: on ties each side gets half the gradient.
  return record(name, out, [a, bt], (gy) => {
    const win = binaryRaw(name === 'maximum' ? 'gt' : 'lt', a, bt);
    const tie = binaryRaw('eq', a, bt);
    const half = mulScalar(tie, 0.5);
    const wa = binaryRaw('add', win, half);
    const wb = binaryRaw('sub', rsubScalar(1, win), half);
    return [sumTo(binaryRaw('mul', gy, wa), a.shape), sumTo(binaryRaw('mul', gy, wb), bt.shape)];
  });
}
export function maximum(a: Tensor, b: TensorLike): Tensor {
  return minmax('maximum', a, b);
}
export function minimum(a: Tensor, b: TensorLike): Tensor {
  return minmax('minimum', a, b);
}

// ---------------- comparisons (no grad) ----------------
function cmp(op: BinaryOp, a: Tensor, b: TensorLike): Tensor {
  const bt = asTensor(b, a);
  const out = binaryRaw(op, a, bt);
  if (bt !== b) bt.dispose();
  return out;
}
export const eq = (a: Tensor, b: TensorLike) => cmp('eq', a, b);
export const ne = (a: Tensor, b: TensorLike) => cmp('ne', a, b);
export const lt = (a: Tensor, b: TensorLike) => cmp('lt', a, b);
export const le = (a: Tensor, b: TensorLike) => cmp('le', a, b);
export const gt = (a: Tensor, b: TensorLike) => cmp('gt', a, b);
export const ge = (a: Tensor, b: TensorLike) => cmp('ge', a, b);

/**
 * cond != 0 ? a : b, all broadcast together (PyTorch's `torch.where`). The result takes the
 * promoted dtype of a and b; gradients flow to a where cond holds and to b elsewhere.
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const like = typeof a === 'number' ? (typeof b === 'number' ? cond : b) : a;
  const at = asTensor(a, like);
  const bt = asTensor(b, like);
  checkDevices('where', cond, at);
  checkDevices('where', at, bt);
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, at.shape), bt.shape);
  const dt = promoteTypes(at.dtype, bt.dtype);
  const ac = toDType(at, dt);
  const bc = toDType(bt, dt);
  const out = Tensor.empty(shape, dt, cond.device);
  const lay = (t: Tensor) => ({ shape, strides: broadcastStrides(t.shape, t.strides, shape), offset: t.offset });
  out.backend.where(cond.storage, lay(cond), ac.storage, lay(ac), bc.storage, lay(bc), out.storage);
  return record('where', out, [at, bt], (gy) => {
    const z = scalarLike(0, gy);
    return [sumTo(where(cond, gy, z), at.shape), sumTo(where(cond, z, gy), bt.shape)];
  });
}
