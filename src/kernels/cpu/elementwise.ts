/** Reference elementwise kernels: one obvious loop each. */
import type { BinaryOp, Layout, Storage, UnaryOp } from '../backend.js';
import { offsets } from './layout.js';
import { arr } from './storage.js';

type F1 = (x: number, p: number) => number;
const UNARY: Record<UnaryOp, F1> = {
  identity: (x) => x,
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  relu: (x) => (x > 0 ? x : Number.isNaN(x) ? x : 0),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: Math.tanh,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN),
  pow_scalar: (x, p) => Math.pow(x, p),
  mul_scalar: (x, p) => x * p,
  add_scalar: (x, p) => x + p,
  step: (x) => (x > 0 ? 1 : 0),
};

type F2 = (a: number, b: number) => number;
const BINARY: Record<BinaryOp, F2> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  pow: Math.pow,
  eq: (a, b) => +(a === b),
  ne: (a, b) => +(a !== b),
  lt: (a, b) => +(a < b),
  le: (a, b) => +(a <= b),
  gt: (a, b) => +(a > b),
  ge: (a, b) => +(a >= b),
  relu_backward: (a, b) => (b <= 0 ? 0 : a),
};

/** Integer results truncate toward zero (int32 division included), as C. */
function store(out: Storage): (i: number, v: number) => void {
  const o = arr(out);
  return out.dtype === 'int32' ? (i, v) => (o[i] = Math.trunc(v)) : (i, v) => (o[i] = v);
}

/** Whether a layout reads a plain contiguous run (the loops below then skip the offset table). */
function dense(l: Layout): boolean {
  let acc = 1;
  for (let d = l.shape.length - 1; d >= 0; d--) {
    if (l.shape[d] !== 1 && l.strides[d] !== acc) return false;
    acc *= l.shape[d]!;
  }
  return true;
}

export function unary(op: UnaryOp, x: Storage, xl: Layout, out: Storage, param = 0): void {
  const f = UNARY[op];
  const xs = arr(x);
  const o = arr(out);
  const trunc = out.dtype === 'int32';
  if (dense(xl) && !trunc) {
    const n = o.length, base = xl.offset;
    for (let i = 0; i < n; i++) o[i] = f(xs[base + i]!, param);
    return;
  }
  const put = store(out);
  offsets(xl).forEach((off, i) => put(i, f(xs[off]!, param)));
}

export function binary(op: BinaryOp, a: Storage, al: Layout, b: Storage, bl: Layout, out: Storage): void {
  const f = BINARY[op];
  const as = arr(a), bs = arr(b);
  if (dense(al) && dense(bl) && out.dtype !== 'int32') {
    const o = arr(out);
    const n = o.length, ao = al.offset, bo = bl.offset;
    for (let i = 0; i < n; i++) o[i] = f(as[ao + i]!, bs[bo + i]!);
    return;
  }
  const bo = offsets(bl);
  const put = store(out);
  offsets(al).forEach((off, i) => put(i, f(as[off]!, bs[bo[i]!]!)));
}

export function where(c: Storage, cl: Layout, a: Storage, al: Layout, b: Storage, bl: Layout, out: Storage): void {
  const cs = arr(c), as = arr(a), bs = arr(b);
  const ao = offsets(al), bo = offsets(bl);
  const put = store(out);
  offsets(cl).forEach((off, i) => put(i, cs[off] !== 0 ? as[ao[i]!]! : bs[bo[i]!]!));
}

export function copy(src: Storage, sl: Layout, dst: Storage, dl: Layout): void {
  const s = arr(src), d = arr(dst);
  const trunc = dst.dtype === 'int32';
  if (dense(sl) && dense(dl) && !trunc) {
    const n = sl.shape.reduce((p, q) => p * q, 1);
    d.set(s.subarray(sl.offset, sl.offset + n), dl.offset);
    return;
  }
  const so = offsets(sl);
  offsets(dl).forEach((off, i) => (d[off] = trunc ? Math.trunc(s[so[i]!]!) : s[so[i]!]!));
}

export function fill(s: Storage, value: number): void {
  arr(s).fill(s.dtype === 'int32' ? Math.trunc(value) : value);
}
