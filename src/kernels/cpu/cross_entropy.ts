/**
 * Reference cross-entropy kernels over contiguous logits (N, C) and int32 targets (N), as
 * PyTorch 1.13's F.cross_entropy defines the per-sample loss (aten LossNLL.cpp,
 * cross_entropy_loss_label_smoothing), with lp = log_softmax(logits[i]), t = target[i],
 * eps = label_smoothing and w the class weights (all ones when absent):
 *   loss[i] = (1 - eps) * w[t] * (-lp[t]) + (eps / C) * sum_c w[c] * (-lp[c])
 *   wsum[i] = w[t]
 * and loss[i] = wsum[i] = 0 where t == ignore_index. The front end forms the reductions
 * ('mean' is sum(loss) / sum(wsum), as PyTorch). log_softmax subtracts the row max first, so
 * logits of 1e4 are fine. Plain loops, float64 math.
 */
import type { CrossEntropyParams, Storage } from '../backend.js';
import { arr } from './storage.js';

/** The target of row i, checked (the front end validates on cpu; this guards direct calls). */
function targetOf(ts: ArrayLike<number>, i: number, p: CrossEntropyParams): number {
  const t = ts[i]!;
  if (t !== p.ignoreIndex && (t < 0 || t >= p.C)) {
    throw new RangeError(`crossEntropy: target ${t} at sample ${i} is out of bounds for ${p.C} classes`);
  }
  return t;
}

/** log-sum-exp of row i (max subtracted first). */
function logSumExp(xs: ArrayLike<number>, i: number, C: number): { max: number; lse: number } {
  let m = -Infinity;
  for (let c = 0; c < C; c++) m = Math.max(m, xs[i * C + c]!);
  if (m === -Infinity) m = 0;
  let s = 0;
  for (let c = 0; c < C; c++) s += Math.exp(xs[i * C + c]! - m);
  return { max: m, lse: m + Math.log(s) };
}

export function crossEntropy(logits: Storage, targets: Storage, weight: Storage | null, loss: Storage, wsum: Storage, p: CrossEntropyParams): void {
  const xs = arr(logits), ts = arr(targets), l = arr(loss), ws = arr(wsum);
  const w = weight ? arr(weight) : null;
  const { N, C } = p;
  const eps = p.labelSmoothing;
  for (let i = 0; i < N; i++) {
    const t = targetOf(ts, i, p);
    if (t === p.ignoreIndex) {
      l[i] = 0;
      ws[i] = 0;
      continue;
    }
    const { lse } = logSumExp(xs, i, C);
    const wt = w ? w[t]! : 1;
    let v = (1 - eps) * wt * (lse - xs[i * C + t]!);
    if (eps !== 0) {
      let smooth = 0;
      for (let c = 0; c < C; c++) smooth += (w ? w[c]! : 1) * (lse - xs[i * C + c]!);
      v += (eps / C) * smooth;
    }
    l[i] = v;
    ws[i] = wt;
  }
}

/**
 * d loss[i] / d logits[i, c] = p_c * ((1 - eps) * w[t] + (eps / C) * sum_k w[k])
 *                              - (1 - eps) * w[t] * [c == t] - (eps / C) * w[c],
 * with p = softmax(logits[i]); scaled by gloss[i]; zero rows for ignored samples.
 */
export function crossEntropyBackward(
  logits: Storage,
  targets: Storage,
  weight: Storage | null,
  gloss: Storage,
  glogits: Storage,
  p: CrossEntropyParams,
): void {
  const xs = arr(logits), ts = arr(targets), gl = arr(gloss), o = arr(glogits);
  const w = weight ? arr(weight) : null;
  const { N, C } = p;
  const eps = p.labelSmoothing;
  let wTotal = 0;
  for (let c = 0; c < C; c++) wTotal += w ? w[c]! : 1;
  for (let i = 0; i < N; i++) {
    const t = targetOf(ts, i, p);
    if (t === p.ignoreIndex) {
      for (let c = 0; c < C; c++) o[i * C + c] = 0;
      continue;
    }
    const { lse } = logSumExp(xs, i, C);
    const wt = w ? w[t]! : 1;
    const coef = (1 - eps) * wt + (eps / C) * wTotal;
    for (let c = 0; c < C; c++) {
      const prob = Math.exp(xs[i * C + c]! - lse);
      let d = prob * coef - (eps / C) * (w ? w[c]! : 1);
      if (c === t) d -= (1 - eps) * wt;
      o[i * C + c] = gl[i]! * d;
    }
  }
}
