/**
 * Reductions over any set of dims, with keepdim (PyTorch semantics). The backend reduces the
 * last axis of a contiguous (outer, inner) matrix; reducing other dims permutes them last first.
 */
import type { ReduceOp } from '../../kernels/backend.js';
import { record } from '../autograd.js';
import { fmtShape, normDim, numel } from '../shape.js';
import { Tensor } from '../tensor.js';
import { binaryRaw, mulScalar } from './elementwise.js';
import { denseCopy, expand, reshape, restride } from './views.js';

/**
 * The sorted dims to reduce. Omitted (or an empty list, as PyTorch 1.x) means every dim; a 0-d
 * tensor accepts dim 0 / -1 and has nothing to reduce.
 */
function normDims(op: string, t: Tensor, dim?: number | number[]): number[] {
  t.assertAlive(op);
  if (dim === undefined || (Array.isArray(dim) && dim.length === 0)) return [...t.shape.keys()];
  const ds = (Array.isArray(dim) ? dim : [dim]).map((d) => normDim(op, d, t.ndim));
  if (new Set(ds).size !== ds.length) throw new RangeError(`${op}: dim ${JSON.stringify(dim)} appears more than once (tensor of shape ${fmtShape(t.shape)})`);
  if (t.ndim === 0) return [];
  return ds.sort((a, b) => a - b);
}

function keptShape(t: Tensor, dims: number[]): number[] {
  return t.shape.map((d, i) => (dims.includes(i) ? 1 : d));
}

/** @internal Reduces `dims` of t with a primitive; returns the keepdim-shaped result (no grad). */
export function reduceRaw(op: ReduceOp, t: Tensor, dims: number[]): Tensor {
  t.assertAlive(op);
  const keep = [...t.shape.keys()].filter((i) => !dims.includes(i));
  const inner = numel(dims.map((i) => t.shape[i]!));
  const outer = numel(keep.map((i) => t.shape[i]!));
  if (inner === 0 && op !== 'sum') throw new RangeError(`${op}: cannot reduce over a dimension of size 0 (shape [${t.shape.join(', ')}])`);
  const isArg = op === 'argmax' || op === 'argmin';
  // Reducing only size-1 dims changes nothing but the shape: a view, no kernel.
  const real = dims.filter((d) => t.shape[d] !== 1);
  if (real.length === 0 && !isArg && t.numel() > 0) return restride(t, keptShape(t, dims), t.strides, t.offset, op);
  // A trailing run of reduced dims of a contiguous tensor is reduced first, in place (no permute
  // copy), so that e.g. a conv bias gradient (sum over N, H, W) copies only the small (N, C) rest.
  if (!isArg && t.is_contiguous()) {
    let k = t.ndim;
    while (k > 0 && (real.includes(k - 1) || t.shape[k - 1] === 1)) k--;
    if (real.some((d) => d >= k) && real.some((d) => d < k)) {
      const first = reduceRaw(op, t, [...Array(t.ndim - k).keys()].map((i) => k + i));
      const rest = reduceRaw(op, first, real.filter((d) => d < k));
      if (rest !== first) first.dispose();
      return rest;
    }
  }
  // A float sum over the leading dim of a contiguous tensor (the batch dim of a bias gradient,
  // after its trailing dims were reduced above): a row of ones times the (N, rest) matrix, one
  // matmul reading the rows in place, instead of a transposed copy and a row reduction (on
  // lavapipe the strided copy of a 64 x 512 gradient alone took ~1 ms).
  if (op === 'sum' && t.dtype === 'float32' && t.is_contiguous() && real.length === 1 && real[0] === 0 && inner > 1 && outer > 0) {
    const ones = Tensor.fromArray(new Float32Array([1]), [1], 'float32', t.device);
    const out = Tensor.empty(keptShape(t, dims), t.dtype, t.device);
    out.backend.matmul(ones.storage, { shape: [1, 1, inner], strides: [0, 0, 0], offset: 0 }, t.storage, { shape: [1, inner, outer], strides: [0, outer, 1], offset: t.offset }, out.storage, 1, 1, outer, inner);
    ones.dispose();
    return out;
  }
  const perm = [...keep, ...dims];
  const p = t.ndim ? restride(t, perm.map((i) => t.shape[i]!), perm.map((i) => t.strides[i]!), t.offset, op) : t;
  const src = p._isDense ? p : denseCopy(p);
  const dtype = op === 'argmax' || op === 'argmin' ? 'int32' : t.dtype;
  const out = Tensor.empty(keptShape(t, dims), dtype, t.device);
  out.backend.reduce(op, src.storage, outer, inner, out.storage);
  if (src !== p) src.dispose();
  if (p !== t) p.dispose();
  return out;
}

function finish(out: Tensor, t: Tensor, dims: number[], keepdim: boolean): Tensor {
  if (keepdim) return out;
  const shape = t.shape.filter((_, i) => !dims.includes(i));
  return reshape(out, shape);
}

/** Sum over `dim` (all dims when omitted). */
export function sum(t: Tensor, dim?: number | number[], keepdim = false): Tensor {
  const dims = normDims('sum', t, dim);
  const out = record('sum', reduceRaw('sum', t, dims), [t], (gy) => [expand(gy, [...t.shape])]);
  return finish(out, t, dims, keepdim);
}

/** Mean over `dim` (all dims when omitted); floating dtypes only. */
export function mean(t: Tensor, dim?: number | number[], keepdim = false): Tensor {
  if (t.dtype === 'int32') throw new TypeError('mean: expects a floating-point tensor, got int32 (convert with .float())');
  const dims = normDims('mean', t, dim);
  const n = numel(dims.map((i) => t.shape[i]!));
  return mulScalar(sum(t, dims, keepdim), 1 / n);
}

function extremum(op: 'max' | 'min', t: Tensor, dim: number | number[] | undefined, keepdim: boolean): Tensor {
  const dims = normDims(op, t, dim);
  const raw = reduceRaw(op, t, dims);
  // Gradient split evenly among tied extrema (PyTorch's amax/amin and full max() rule); when the
  // result is NaN it goes to the NaN entries (PyTorch's evenly_distribute_backward).
  const out = record(op, raw, [t], (gy) => {
    const r = expand(raw, [...t.shape]);
    const eqm = binaryRaw('eq', t, r);
    const nanBoth = binaryRaw('mul', binaryRaw('ne', t, t), binaryRaw('ne', r, r));
    const mask = binaryRaw('add', eqm, nanBoth);
    const count = reduceRaw('sum', mask, dims);
    const w = binaryRaw('div', mask, count);
    return [binaryRaw('mul', w, expand(gy, [...t.shape]))];
  });
  return finish(out, t, dims, keepdim);
}

/** Maximum values over `dim` (all when omitted); NaN propagates. Ties share the gradient equally. */
export function max(t: Tensor, dim?: number | number[], keepdim = false): Tensor {
  return extremum('max', t, dim, keepdim);
}
/** Minimum values over `dim` (all when omitted); NaN propagates. */
export function min(t: Tensor, dim?: number | number[], keepdim = false): Tensor {
  return extremum('min', t, dim, keepdim);
}

/** int32 index of the first maximum along `dim` (of the flattened tensor when omitted). */
export function argmax(t: Tensor, dim?: number, keepdim = false): Tensor {
  return argext('argmax', t, dim, keepdim);
}
/** int32 index of the first minimum along `dim` (of the flattened tensor when omitted). */
export function argmin(t: Tensor, dim?: number, keepdim = false): Tensor {
  return argext('argmin', t, dim, keepdim);
}

function argext(op: 'argmax' | 'argmin', t: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  t.assertAlive(op);
  const d = t.detach();
  try {
    if (dim === undefined || t.ndim === 0) {
      if (dim !== undefined) normDim(op, dim, t.ndim);
      const out = reduceRaw(op, d, [...t.shape.keys()]);
      return reshape(out, keepdim ? t.shape.map(() => 1) : []);
    }
    const k = normDim(op, dim, t.ndim);
    return finish(reduceRaw(op, d, [k]), t, [k], keepdim);
  } finally {
    d.dispose();
  }
}
