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
  x.assertAlive(name);
  const out = unaryRaw(op, x, param);
  return record(name, out, [x], (gy) => [grad(gy, out)]);
}

/** Ops with a floating result (exp, log, ...) read int32 input as float32, as PyTorch. */
function floatInput(name: string, x: Tensor): Tensor {
  x.assertAlive(name);
  return x.dtype === 'int32' ? toDType(x, 'float32') : x;
}

/** An int32 tensor combined with a non-integer number computes in float32 (PyTorch's promotion). */
function promoteForScalar(name: string, x: Tensor, s: number): Tensor {
  x.assertAlive(name);
  return x.dtype === 'int32' && !Number.isInteger(s) ? toDType(x, 'float32') : x;
}

// ---------------- unary ----------------

/** -x */
export function neg(x: Tensor): Tensor {
  return unaryOp('neg', 'neg', x, (gy) => neg(gy));
}
/** e^x */
export function exp(x: Tensor): Tensor {
  return unaryOp('exp', 'exp', floatInput('exp', x), (gy, y) => mul(gy, y));
}
/** Natural log; -inf at 0 and NaN below, as IEEE. */
export function log(x: Tensor): Tensor {
  x = floatInput('log', x);
  return unaryOp('log', 'log', x, (gy) => div(gy, x));
}
export function sqrt(x: Tensor): Tensor {
  return unaryOp('sqrt', 'sqrt', floatInput('sqrt', x), (gy, y) => div(gy, mulScalar(y, 2)));
}
/** 1/sqrt(x) */
export function rsqrt(x: Tensor): Tensor {
  return unaryOp('rsqrt', 'rsqrt', floatInput('rsqrt', x), (gy, y) => mul(gy, mulScalar(unaryRaw('pow_scalar', y, 3), -0.5)));
}
/** |x|; the gradient at 0 is 0 (sign(0)), as PyTorch. */
export function abs(x: Tensor): Tensor {
  return unaryOp('abs', 'abs', x, (gy) => mul(gy, unaryRaw('sign', x)));
}
/** max(x, 0); gradient 0 at x = 0, as PyTorch. */
export function relu(x: Tensor): Tensor {
  // one fused kernel (not mul(gy, step(x))): a dispatch less per ReLU in every backward pass
  return unaryOp('relu', 'relu', x, (gy) => binaryRaw('relu_backward', gy, x));
}
/** 1 / (1 + e^-x) */
export function sigmoid(x: Tensor): Tensor {
  return unaryOp('sigmoid', 'sigmoid', floatInput('sigmoid', x), (gy, y) => mul(gy, mul(y, rsubScalar(1, y))));
}
export function tanh(x: Tensor): Tensor {
  return unaryOp('tanh', 'tanh', floatInput('tanh', x), (gy, y) => mul(gy, rsubScalar(1, mul(y, y))));
}
/** -1, 0 or 1; zero gradient. */
export function sign(x: Tensor): Tensor {
  x.assertAlive('sign');
  return unaryRaw('sign', x);
}
/** x * s for a number s. */
export function mulScalar(x: Tensor, s: number): Tensor {
  x = promoteForScalar('mul', x, s);
  return unaryOp('mul', 'mul_scalar', x, (gy) => mulScalar(gy, s), s);
}
/** x + s for a number s. */
export function addScalar(x: Tensor, s: number): Tensor {
  x = promoteForScalar('add', x, s);
  return unaryOp('add', 'add_scalar', x, (gy) => gy, s);
}
/** s - x for a number s. */
export function rsubScalar(s: number, x: Tensor): Tensor {
  return addScalar(neg(x), s);
}
/** x ** p for a number p. */
export function powScalar(x: Tensor, p: number): Tensor {
  if (x.dtype === 'int32' && Number.isInteger(p) && p < 0) {
    throw new RangeError(`pow: integers to negative integer powers are not allowed (int32 tensor of shape ${fmtShape(x.shape)}, exponent ${p})`);
  }
  x = promoteForScalar('pow', x, p);
  return unaryOp('pow', 'pow_scalar', x, (gy) => (p === 0 ? mulScalar(gy, 0) : mul(gy, mulScalar(unaryRaw('pow_scalar', x, p - 1), p))), p);
}

/**
 * Clamps to [min, max] (either may be omitted; min > max gives max everywhere, as PyTorch).
 * NaN stays NaN. The gradient passes where min <= x <= max (bounds included) and is 0 elsewhere.
 */
export function clamp(x: Tensor, min?: number, max?: number): Tensor {
  if (min === undefined && max === undefined) throw new Error(`clamp: at least one of min and max must be given (tensor of shape ${fmtShape(x.shape)})`);
  x.assertAlive('clamp');
  if ((min !== undefined && !Number.isInteger(min)) || (max !== undefined && !Number.isInteger(max))) {
    x = promoteForScalar('clamp', x, 0.5);
  }
  let y = x;
  if (min !== undefined) {
    const m = scalarLike(min, x);
    y = binaryRaw('maximum', y, m);
    m.dispose();
  }
  if (max !== undefined) {
    const m = scalarLike(max, x);
    const y2 = binaryRaw('minimum', y, m);
    m.dispose();
    if (y !== x) y.dispose();
    y = y2;
  }
  return record('clamp', y, [x], (gy) => {
    const lo = min !== undefined ? binaryRaw('ge', x, scalarLike(min, x)) : null;
    const hi = max !== undefined ? binaryRaw('le', x, scalarLike(max, x)) : null;
    const mask = lo && hi ? binaryRaw('mul', lo, hi) : (lo ?? hi)!;
    return [binaryRaw('mul', gy, mask)];
  });
}

// ---------------- binary ----------------

/** a + alpha * b, broadcasting. */
export function add(a: Tensor, b: TensorLike, alpha = 1): Tensor {
  a.assertAlive('add');
  if (typeof b === 'number') return addScalar(a, b * alpha);
  const bb = alpha === 1 ? b : mulScalar(b, alpha);
  const out = binaryRaw('add', a, bb);
  return record('add', out, [a, bb], (gy) => [sumTo(gy, a.shape), sumTo(gy, bb.shape)]);
}
/** a - alpha * b, broadcasting. */
export function sub(a: Tensor, b: TensorLike, alpha = 1): Tensor {
  a.assertAlive('sub');
  if (typeof b === 'number') return addScalar(a, -b * alpha);
  const bb = alpha === 1 ? b : mulScalar(b, alpha);
  const out = binaryRaw('sub', a, bb);
  return record('sub', out, [a, bb], (gy) => [sumTo(gy, a.shape), sumTo(neg(gy), bb.shape)]);
}
/** a * b, broadcasting. */
export function mul(a: Tensor, b: TensorLike): Tensor {
  a.assertAlive('mul');
  if (typeof b === 'number') return mulScalar(a, b);
  const out = binaryRaw('mul', a, b);
  return record('mul', out, [a, b], (gy) => [
    a.requires_grad ? sumTo(binaryRaw('mul', gy, b), a.shape) : null,
    b.requires_grad ? sumTo(binaryRaw('mul', gy, a), b.shape) : null,
  ]);
}
/** a / b (true division, so int32 / int32 is float32 as in PyTorch), broadcasting. */
export function div(a: Tensor, b: TensorLike): Tensor {
  a.assertAlive('div');
  if (a.dtype === 'int32' && (typeof b === 'number' || b.dtype === 'int32')) a = toDType(a, 'float32');
  const bt = asTensor(b, a);
  const out = binaryRaw('div', a, bt);
  return record('div', out, [a, bt], (gy) => [
    a.requires_grad ? sumTo(binaryRaw('div', gy, bt), a.shape) : null,
    bt.requires_grad ? sumTo(neg(binaryRaw('div', binaryRaw('mul', gy, out), bt)), bt.shape) : null,
  ]);
}
/**
 * a ** b, broadcasting; a number exponent uses the scalar kernel. Gradients follow PyTorch:
 * d/da is 0 where b == 0, and d/db is 0 where a == 0 and b >= 0 (instead of 0 * log 0 = NaN).
 */
export function pow(a: Tensor, b: TensorLike): Tensor {
  if (typeof b === 'number') return powScalar(a, b);
  const out = binaryRaw('pow', a, b);
  return record('pow', out, [a, b], (gy) => {
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requires_grad) {
      const d = binaryRaw('mul', gy, binaryRaw('mul', b, binaryRaw('pow', a, addScalar(b, -1))));
      ga = sumTo(where(eq(b, 0), 0, d), a.shape);
    }
    if (b.requires_grad) {
      const d = binaryRaw('mul', gy, binaryRaw('mul', out, log(a)));
      const zeroBase = binaryRaw('mul', eq(a, 0), ge(b, 0));
      gb = sumTo(where(zeroBase, 0, d), b.shape);
    }
    return [ga, gb];
  });
}

function minmax(name: 'maximum' | 'minimum', a: Tensor, b: TensorLike): Tensor {
  a.assertAlive(name);
  const bt = asTensor(b, a);
  const out = binaryRaw(name, a, bt);
  // PyTorch: where(a == b, gy / 2, gy), zeroed for the losing side (a NaN compares false
  // everywhere, so both sides then get gy).
  return record(name, out, [a, bt], (gy) => {
    const half = mulScalar(binaryRaw('eq', a, bt), 0.5);
    const aLoses = binaryRaw(name === 'maximum' ? 'lt' : 'gt', a, bt);
    const bLoses = binaryRaw(name === 'maximum' ? 'gt' : 'lt', a, bt);
    const wa = rsubScalar(1, binaryRaw('add', aLoses, half));
    const wb = rsubScalar(1, binaryRaw('add', bLoses, half));
    return [
      a.requires_grad ? sumTo(binaryRaw('mul', gy, wa), a.shape) : null,
      bt.requires_grad ? sumTo(binaryRaw('mul', gy, wb), bt.shape) : null,
    ];
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
  a.assertAlive(op);
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
  cond.assertAlive('where');
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
