/** Strided indexing for the reference kernels. */
import type { Layout } from '../backend.js';

/** Storage offset of every element of a layout, in row-major order of its shape. */
export function offsets(l: Layout): Int32Array | Float64Array {
  const n = l.shape.reduce((a, b) => a * b, 1);
  const out = n < 2 ** 31 ? new Int32Array(n) : new Float64Array(n);
  const nd = l.shape.length;
  const idx = new Array<number>(nd).fill(0);
  let off = l.offset;
  for (let i = 0; i < n; i++) {
    out[i] = off;
    // increment the multi-index, last dim fastest
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]!++;
      off += l.strides[d]!;
      if (idx[d]! < l.shape[d]!) break;
      off -= l.strides[d]! * l.shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}
