/** Shape, stride and broadcasting arithmetic. Pure functions; no tensors here. */

export type Shape = readonly number[];

/** Number of elements of a shape (1 for a scalar `[]`). */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-contiguous) strides of a shape, in elements. */
export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** True when `strides` are the row-major strides of `shape` (size-1 dims are ignored). */
export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== acc) return false;
    acc *= shape[i]!;
  }
  return true;
}

/** Normalizes a possibly negative dim into [0, ndim); throws naming `op` when out of range. */
export function normDim(op: string, dim: number, ndim: number): number {
  const lo = -Math.max(ndim, 1);
  const hi = Math.max(ndim, 1) - 1;
  if (!Number.isInteger(dim) || dim < lo || dim > hi) {
    throw new RangeError(`${op}: dim ${dim} is out of range for a tensor of ${ndim} dims (expected ${lo}..${hi})`);
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

/** NumPy/PyTorch broadcast of two shapes; throws naming `op` and both shapes when incompatible. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(`${op}: shapes [${a.join(', ')}] and [${b.join(', ')}] cannot be broadcast together (dim ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides that read a tensor of `shape`/`strides` as if it had the (broadcast) `target` shape. */
export function broadcastStrides(shape: Shape, strides: readonly number[], target: Shape): number[] {
  const out = new Array<number>(target.length).fill(0);
  const off = target.length - shape.length;
  for (let i = 0; i < shape.length; i++) {
    out[off + i] = shape[i] === 1 && target[off + i] !== 1 ? 0 : strides[i]!;
  }
  return out;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function fmtShape(s: Shape): string {
  return `[${s.join(', ')}]`;
}

/** Checks that every entry of a shape is a non-negative integer. */
export function checkShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`${op}: invalid shape ${fmtShape(shape)}`);
  }
}
