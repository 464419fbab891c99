/** Reference softmax / log_softmax over the last axis and their backward; float64 math. */
import type { Storage } from '../backend.js';
import { arr } from './storage.js';

export function softmax(x: Storage, out: Storage, outer: number, inner: number, log: boolean): void {
  const xs = arr(x), o = arr(out);
  for (let r = 0; r < outer; r++) {
    const b = r * inner;
    let m = -Infinity;
    for (let i = 0; i < inner; i++) m = Math.max(m, xs[b + i]!);
    if (m === -Infinity) m = 0;
    let s = 0;
    for (let i = 0; i < inner; i++) s += Math.exp(xs[b + i]! - m);
    const lse = Math.log(s);
    for (let i = 0; i < inner; i++) o[b + i] = log ? xs[b + i]! - m - lse : Math.exp(xs[b + i]! - m) / s;
  }
}

/** softmax: gx = y * (gy - sum(gy * y)); log_softmax: gx = gy - exp(y) * sum(gy). */
export function softmaxBackward(gy: Storage, y: Storage, gx: Storage, outer: number, inner: number, log: boolean): void {
  const g = arr(gy), ys = arr(y), o = arr(gx);
  for (let r = 0; r < outer; r++) {
    const b = r * inner;
    let s = 0;
    for (let i = 0; i < inner; i++) s += log ? g[b + i]! : g[b + i]! * ys[b + i]!;
    for (let i = 0; i < inner; i++) o[b + i] = log ? g[b + i]! - Math.exp(ys[b + i]!) * s : ys[b + i]! * (g[b + i]! - s);
  }
}
