/** Reference reductions over the last axis of a contiguous (outer, inner); sums in float64. */
import type { ReduceOp, Storage } from '../backend.js';
import { arr } from './storage.js';

export function reduce(op: ReduceOp, x: Storage, outer: number, inner: number, out: Storage): void {
  const xs = arr(x), o = arr(out);
  for (let r = 0; r < outer; r++) {
    const base = r * inner;
    if (op === 'sum') {
      let s = 0;
      for (let i = 0; i < inner; i++) s += xs[base + i]!;
      o[r] = s;
      continue;
    }
    const isMax = op === 'max' || op === 'argmax';
    let best = xs[base]!;
    let bi = 0;
    for (let i = 1; i < inner && !Number.isNaN(best); i++) {
      const v = xs[base + i]!;
      // NaN wins (propagates); otherwise the first extremum is kept on ties.
      if (Number.isNaN(v) || (isMax ? v > best : v < best)) {
        best = v;
        bi = i;
      }
    }
    o[r] = op === 'argmax' || op === 'argmin' ? bi : best;
  }
}
