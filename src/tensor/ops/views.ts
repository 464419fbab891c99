/**
 * View ops: results share storage with their input wherever PyTorch's do (reshape of a
 * contiguous tensor, view, permute/transpose, expand, narrow/slice/select, squeeze/unsqueeze,
 * flatten, detach). Each records its backward so gradients flow through views.
 */
import { record } from '../autograd.js';
import { fmtShape, isContiguous, normDim, numel, contiguousStrides, shapesEqual } from '../shape.js';
import { Tensor } from '../tensor.js';
import { sumTo } from './reduce_util.js';

export { normDim as normDimOf };

/** @internal A new Tensor object over t's storage with another layout (no grad recorded). */
export function restride(t: Tensor, shape: readonly number[], strides: readonly number[], offset: number, op = 'view'): Tensor {
  t.assertAlive(op);
  return new Tensor(t._ref, shape, strides, offset);
}

/** A copy of t laid out contiguously from element 0 of a fresh storage (no grad recorded). */
export function denseCopy(t: Tensor): Tensor {
  t.assertAlive('contiguous');
  const out = Tensor.empty(t.shape, t.dtype, t.device);
  out.backend.copy(t.storage, t.layout, out.storage, out.layout);
  return out;
}

/** A view of t cut from the autograd graph (PyTorch's `detach`). */
export function detach(t: Tensor): Tensor {
  return restride(t, t.shape, t.strides, t.offset, 'detach');
}

/** A differentiable copy with its own storage (PyTorch's `clone`). */
export function clone(t: Tensor): Tensor {
  t.assertAlive('clone');
  return record('clone', denseCopy(t), [t], (gy) => [gy]);
}

/**
 * A contiguous tensor with t's values: t itself when already contiguous (as PyTorch), else a copy.
 * Callers that dispose must compare the result with t.
 */
export function contiguous(t: Tensor): Tensor {
  t.assertAlive('contiguous');
  if (t.is_contiguous()) return t;
  return record('contiguous', denseCopy(t), [t], (gy) => [gy]);
}

/** Resolves one -1 in a requested shape; throws naming `op` when sizes disagree. */
function inferShape(op: string, t: Tensor, shape: readonly number[]): number[] {
  const n = t.numel();
  let infer = -1;
  let known = 1;
  shape.forEach((d, i) => {
    if (d === -1) {
      if (infer >= 0) throw new RangeError(`${op}: only one dimension can be -1, got ${fmtShape(shape)}`);
      infer = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`${op}: invalid size ${d} in ${fmtShape(shape)}`);
    } else known *= d;
  });
  const out = [...shape];
  if (infer >= 0) {
    if (known === 0 || n % known !== 0) {
      throw new RangeError(`${op}: shape ${fmtShape(shape)} is invalid for input of shape ${fmtShape(t.shape)} (size ${n})`);
    }
    out[infer] = n / known;
  } else if (known !== n) {
    throw new RangeError(`${op}: shape ${fmtShape(shape)} is invalid for input of shape ${fmtShape(t.shape)} (size ${n})`);
  }
  return out;
}

/**
 * Strides for viewing (shape, strides) as `target` without a copy, or null when impossible
 * (PyTorch's `computeStride`: dims merged only where they are laid out contiguously).
 */
function viewStrides(shape: readonly number[], strides: readonly number[], target: readonly number[]): number[] | null {
  if (numel(shape) === 0 || shape.length === 0) return contiguousStrides(target);
  const out = new Array<number>(target.length);
  let viewD = target.length - 1;
  let base = strides[strides.length - 1]!;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d]!;
    // A chunk ends where the next-outer dim is not laid out right after this one.
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * base)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || target[viewD] === 1)) {
        out[viewD] = viewNumel * base;
        viewNumel *= target[viewD]!;
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        base = strides[d - 1]!;
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? out : null;
}

/** A view with a new shape; throws when t's strides do not allow it (use reshape). */
export function view(t: Tensor, shape: readonly number[]): Tensor {
  t.assertAlive('view');
  const target = inferShape('view', t, shape);
  const st = isContiguous(t.shape, t.strides) ? contiguousStrides(target) : viewStrides(t.shape, t.strides, target);
  if (!st) {
    throw new Error(`view: size ${fmtShape(target)} is not compatible with input of shape ${fmtShape(t.shape)} and strides ${fmtShape(t.strides)}; use reshape()`);
  }
  const inShape = t.shape;
  return record('view', restride(t, target, st, t.offset), [t], (gy) => [reshape(gy, inShape)]);
}

/** reshape: a view when possible, else a contiguous copy (PyTorch semantics). */
export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  t.assertAlive('reshape');
  const target = inferShape('reshape', t, shape);
  if (shapesEqual(target, t.shape)) return view(t, target);
  const st = isContiguous(t.shape, t.strides) ? contiguousStrides(target) : viewStrides(t.shape, t.strides, target);
  if (st) return view(t, target);
  // Not viewable: copy. The intermediate copy is only a graph node (its backward needs no data).
  const c = contiguous(t);
  const out = view(c, target);
  if (c !== t) c.dispose();
  return out;
}

/** Reorders dims; `dims` must be a permutation of 0..ndim-1 (negative allowed). */
export function permute(t: Tensor, dims: readonly number[]): Tensor {
  t.assertAlive('permute');
  if (dims.length !== t.ndim) {
    throw new RangeError(`permute: got ${dims.length} dims ${fmtShape(dims)} for a tensor of ${t.ndim} dims ${fmtShape(t.shape)}`);
  }
  const d = dims.map((x) => normDim('permute', x, t.ndim));
  if (new Set(d).size !== d.length) throw new RangeError(`permute: repeated dim in ${fmtShape(dims)}`);
  const inv = new Array<number>(d.length);
  d.forEach((x, i) => (inv[x] = i));
  const out = restride(t, d.map((x) => t.shape[x]!), d.map((x) => t.strides[x]!), t.offset, 'permute');
  return record('permute', out, [t], (gy) => [permute(gy, inv)]);
}

export function transpose(t: Tensor, d0: number, d1: number): Tensor {
  const a = normDim('transpose', d0, t.ndim);
  const b = normDim('transpose', d1, t.ndim);
  if (t.ndim === 0) return permute(t, []);
  const dims = [...t.shape.keys()];
  dims[a] = b;
  dims[b] = a;
  return permute(t, dims);
}

/** Broadcasts size-1 dims (and new leading dims) to `shape` without copying; -1 keeps a size. */
export function expand(t: Tensor, shape: readonly number[]): Tensor {
  t.assertAlive('expand');
  if (shape.length < t.ndim) {
    throw new RangeError(`expand: target ${fmtShape(shape)} has fewer dims than the tensor ${fmtShape(t.shape)}`);
  }
  const off = shape.length - t.ndim;
  const outShape: number[] = [];
  const strides: number[] = [];
  shape.forEach((s, i) => {
    const j = i - off;
    const cur = j >= 0 ? t.shape[j]! : 1;
    const size = s === -1 ? cur : s;
    if (j < 0 && s === -1) throw new RangeError(`expand: -1 is not allowed for a new leading dim in ${fmtShape(shape)}`);
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`expand: invalid size ${s} in target ${fmtShape(shape)} (tensor of shape ${fmtShape(t.shape)})`);
    if (cur !== size && cur !== 1) {
      throw new RangeError(`expand: the size ${cur} of dim ${j} of ${fmtShape(t.shape)} must be 1 to expand to ${size} (target ${fmtShape(shape)})`);
    }
    outShape.push(size);
    strides.push(j < 0 || (cur === 1 && size !== 1) ? 0 : t.strides[j]!);
  });
  const inShape = t.shape;
  return record('expand', restride(t, outShape, strides, t.offset, 'expand'), [t], (gy) => [sumTo(gy, inShape)]);
}

/** Python-style slice `start:end:step` on `dim` (negative indices count from the end, clamped). */
export function slice(t: Tensor, dim: number, start?: number, end?: number, step = 1): Tensor {
  t.assertAlive('slice');
  noScalar('slice', t);
  const d = normDim('slice', dim, t.ndim);
  if (!Number.isInteger(step) || step <= 0) throw new RangeError(`slice: step must be a positive integer, got ${step} (tensor of shape ${fmtShape(t.shape)})`);
  for (const v of [start, end]) {
    if (v !== undefined && !Number.isInteger(v)) throw new RangeError(`slice: start/end must be integers, got ${v} (tensor of shape ${fmtShape(t.shape)})`);
  }
  const n = t.shape[d]!;
  const norm = (v: number | undefined, dflt: number) => {
    if (v === undefined) return dflt;
    const x = v < 0 ? v + n : v;
    return Math.min(Math.max(x, 0), n);
  };
  const s = norm(start, 0);
  const e = Math.max(norm(end, n), s);
  const len = Math.ceil((e - s) / step);
  const shape = [...t.shape];
  shape[d] = len;
  const strides = [...t.strides];
  strides[d] = t.strides[d]! * step;
  const out = restride(t, shape, strides, len === 0 ? t.offset : t.offset + s * t.strides[d]!, 'slice');
  const inShape = t.shape;
  return record('slice', out, [t], (gy) => {
    const g = zerosLike(inShape, gy);
    const dst = slice(g, d, s, e, step);
    g.backend.copy(gy.storage, gy.layout, g.storage, dst.layout);
    dst.dispose();
    return [g];
  });
}

/** `length` elements of `dim` from `start` (PyTorch's `narrow`; start may be negative). */
export function narrow(t: Tensor, dim: number, start: number, length: number): Tensor {
  t.assertAlive('narrow');
  noScalar('narrow', t);
  const d = normDim('narrow', dim, t.ndim);
  const n = t.shape[d]!;
  const s = start < 0 ? start + n : start;
  if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > n) {
    throw new RangeError(`narrow: start ${start} and length ${length} are out of range for dim ${d} of size ${n} (shape ${fmtShape(t.shape)})`);
  }
  return slice(t, d, s, s + length);
}

/** Picks index `index` of `dim` and drops the dim (PyTorch's `select`, `x[i]`). */
export function select(t: Tensor, dim: number, index: number): Tensor {
  t.assertAlive('select');
  noScalar('select', t);
  const d = normDim('select', dim, t.ndim);
  const n = t.shape[d]!;
  const i = index < 0 ? index + n : index;
  if (!Number.isInteger(i) || i < 0 || i >= n) {
    throw new RangeError(`select: index ${index} is out of range for dim ${d} of size ${n} (shape ${fmtShape(t.shape)})`);
  }
  const s = narrow(t, d, i, 1);
  const out = squeeze(s, d);
  s.dispose();
  return out;
}

/** Removes size-1 dims (all, or just `dim` if it has size 1). */
export function squeeze(t: Tensor, dim?: number): Tensor {
  t.assertAlive('squeeze');
  let keepDims: number[];
  if (dim === undefined) keepDims = [...t.shape.keys()].filter((i) => t.shape[i] !== 1);
  else {
    const d = normDim('squeeze', dim, t.ndim);
    keepDims = [...t.shape.keys()].filter((i) => i !== d || t.shape[i] !== 1);
  }
  const inShape = t.shape;
  const out = restride(t, keepDims.map((i) => t.shape[i]!), keepDims.map((i) => t.strides[i]!), t.offset, 'squeeze');
  return record('squeeze', out, [t], (gy) => [reshape(gy, inShape)]);
}

/** Inserts a size-1 dim at `dim` (in -(ndim+1)..ndim). */
export function unsqueeze(t: Tensor, dim: number): Tensor {
  t.assertAlive('unsqueeze');
  const d = normDim('unsqueeze', dim, t.ndim + 1);
  const shape = [...t.shape];
  const strides = [...t.strides];
  const st = d < t.ndim ? t.strides[d]! * t.shape[d]! : 1;
  shape.splice(d, 0, 1);
  strides.splice(d, 0, st);
  const inShape = t.shape;
  return record('unsqueeze', restride(t, shape, strides, t.offset, 'unsqueeze'), [t], (gy) => [reshape(gy, inShape)]);
}

/** Merges dims start_dim..end_dim into one (a view when the layout allows). */
export function flatten(t: Tensor, startDim = 0, endDim = -1): Tensor {
  t.assertAlive('flatten');
  if (t.ndim === 0) return reshape(t, [1]);
  const s = normDim('flatten', startDim, t.ndim);
  const e = normDim('flatten', endDim, t.ndim);
  if (s > e) throw new RangeError(`flatten: start_dim ${startDim} comes after end_dim ${endDim} (tensor of shape ${fmtShape(t.shape)})`);
  const shape = [...t.shape.slice(0, s), numel(t.shape.slice(s, e + 1)), ...t.shape.slice(e + 1)];
  return reshape(t, shape);
}

function noScalar(op: string, t: Tensor): void {
  if (t.ndim === 0) throw new RangeError(`${op}: cannot be applied to a 0-dim tensor (shape [])`);
}

/** A zero-filled contiguous tensor of `shape` with like's dtype and device (internal helper). */
export function zerosLike(shape: readonly number[], like: Tensor): Tensor {
  const z = Tensor.empty(shape, like.dtype, like.device);
  z.backend.fill(z.storage, 0);
  return z;
}
