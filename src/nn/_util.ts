/**
 * @internal Helpers shared by src/nn: in-place writes into existing tensors (init, load_state_dict,
 * BatchNorm's counter, optimizer state), argument normalization and Python-style formatting for
 * reprs and error messages.
 */
import { Tensor } from '../tensor/tensor.js';
import { no_grad } from '../tensor/grad_mode.js';
import type { Device } from '../tensor/device.js';
import type { DType } from '../tensor/dtype.js';
import { fmtShape, shapesEqual } from '../tensor/shape.js';

export { fmtShape, shapesEqual };

/** A copy of `src` on `device` (and `dtype`), dense from element 0, cut from the graph. */
export function denseOn(src: Tensor, device: Device, dtype: DType = src.dtype, what = 'tensor'): Tensor {
  src.assertAlive(what);
  return no_grad(() => {
    if (src.device !== device) {
      if (src.device !== 'cpu') {
        throw new Error(`${what} is on '${src.device}' and must be read back asynchronously to reach '${device}'; move it to cpu first (await t.data())`);
      }
      const data = src.dataSync();
      const up = Tensor.fromArray(data, src.shape, src.dtype, device);
      if (up.dtype === dtype) return up;
      const c = Tensor.empty(src.shape, dtype, device);
      c.backend.copy(up.storage, up.layout, c.storage, c.layout);
      up.dispose();
      return c;
    }
    const out = Tensor.empty(src.shape, dtype, device);
    out.backend.copy(src.storage, src.layout, out.storage, out.layout);
    return out;
  });
}

/** True when `src` can be copied synchronously onto `device` (same device, or from cpu). */
export function canCopyTo(src: Tensor, device: Device): boolean {
  return src.device === device || src.device === 'cpu';
}

/**
 * Writes src's values into dst in place (PyTorch's `dst.copy_(src)` under no_grad): converts
 * dtype, crosses devices from cpu, and bumps dst._version. Shapes must be equal, except that a
 * one-element (1) source may fill a 0-d destination (PyTorch's load_state_dict rule).
 * @throws Error when src lives on another non-cpu device; RangeError when shapes differ.
 */
export function copyInto(dst: Tensor, src: Tensor, what = 'copy_'): void {
  dst.assertAlive(what);
  src.assertAlive(what);
  if (!shapesEqual(dst.shape, src.shape) && !(dst.ndim === 0 && src.numel() === 1)) {
    throw new RangeError(`${what}: cannot copy a tensor of shape ${fmtShape(src.shape)} into one of shape ${fmtShape(dst.shape)}`);
  }
  if (src._ref === dst._ref && src.offset === dst.offset && shapesEqual(src.strides, dst.strides) && shapesEqual(src.shape, dst.shape)) return;
  let s: Tensor;
  if (src.device === dst.device) {
    s = src;
  } else {
    if (src.device !== 'cpu') {
      throw new Error(`${what}: the source is on '${src.device}' and the destination on '${dst.device}'; move the source to cpu first (await t.data())`);
    }
    s = Tensor.fromArray(src.dataSync(), src.shape, src.dtype, dst.device);
  }
  const sl = shapesEqual(s.shape, dst.shape) ? s.layout : { shape: dst.shape, strides: [], offset: s.offset };
  dst.backend.copy(s.storage, sl, dst.storage, dst.layout);
  if (s !== src) s.dispose();
  dst._version++;
}

/** Sets every element of dst to `value` in place and bumps its version. */
export function fillInPlace(dst: Tensor, value: number): void {
  dst.assertAlive('fill_');
  if (dst._isDense) {
    dst.backend.fill(dst.storage, value);
  } else {
    const tmp = Tensor.empty(dst.shape, dst.dtype, dst.device);
    tmp.backend.fill(tmp.storage, value);
    dst.backend.copy(tmp.storage, tmp.layout, dst.storage, dst.layout);
    tmp.dispose();
  }
  dst._version++;
}

/** An int-or-pair argument as a pair, validated (integers >= min). */
export function pair(owner: string, what: string, v: number | readonly number[], min: number): [number, number] {
  const p = typeof v === 'number' ? [v, v] : [...v];
  if (p.length !== 2 || !p.every((d) => Number.isInteger(d) && d >= min)) {
    throw new RangeError(`${owner}: ${what} must be ${min <= 0 ? 'a non-negative' : 'a positive'} integer or a pair of them, got ${JSON.stringify(v)}`);
  }
  return [p[0]!, p[1]!];
}

/** Python's repr of a float (1e-05, 0.1, 1.0) for reprs that mirror PyTorch's. */
export function pyFloat(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return x.toFixed(1);
  if (x !== 0 && (Math.abs(x) < 1e-4 || Math.abs(x) >= 1e16)) {
    const [m, e] = x.toExponential().split('e') as [string, string];
    const exp = Number(e);
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return String(x);
}

/** Python's repr of a tuple of ints: (3, 3). */
export function pyTuple(v: readonly number[]): string {
  return v.length === 1 ? `(${v[0]},)` : `(${v.join(', ')})`;
}

/** Python's repr of a bool. */
export function pyBool(b: boolean): string {
  return b ? 'True' : 'False';
}

/** Python's floor modulo (the result has the divisor's sign). */
export function pyMod(a: number, m: number): number {
  return ((a % m) + m) % m;
}
