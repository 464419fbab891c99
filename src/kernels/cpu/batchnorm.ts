/**
 * Reference batch-norm kernels over x viewed as contiguous (N, C, S): per channel c the
 * statistics run over the N*S values x[n, c, s]. Plain loops, float64 accumulation, two-pass
 * variance. Definition: PyTorch's torch.nn.functional.batch_norm / torch.nn.BatchNorm2d docs
 * (biased variance to normalize, unbiased variance for running_var).
 */
import type { BatchNormParams, Storage } from '../backend.js';
import { arr } from './storage.js';

/** Flat index of x[n, c, s] in a contiguous (N, C, S). */
function at(p: BatchNormParams, n: number, c: number, s: number): number {
  return (n * p.C + c) * p.S + s;
}

export function batchNormTrain(
  x: Storage,
  weight: Storage | null,
  bias: Storage | null,
  runningMean: Storage | null,
  runningVar: Storage | null,
  out: Storage,
  saveMean: Storage,
  saveInvstd: Storage,
  p: BatchNormParams,
): void {
  const xs = arr(x), o = arr(out), sm = arr(saveMean), si = arr(saveInvstd);
  const w = weight ? arr(weight) : null;
  const b = bias ? arr(bias) : null;
  const rm = runningMean ? arr(runningMean) : null;
  const rv = runningVar ? arr(runningVar) : null;
  const count = p.N * p.S;
  for (let c = 0; c < p.C; c++) {
    // pass 1: mean
    let sum = 0;
    for (let n = 0; n < p.N; n++) for (let s = 0; s < p.S; s++) sum += xs[at(p, n, c, s)]!;
    const mean = sum / count;
    // pass 2: sum of squared deviations
    let m2 = 0;
    for (let n = 0; n < p.N; n++) {
      for (let s = 0; s < p.S; s++) {
        const d = xs[at(p, n, c, s)]! - mean;
        m2 += d * d;
      }
    }
    const varBiased = m2 / count;
    const invstd = 1 / Math.sqrt(varBiased + p.eps);
    sm[c] = mean;
    si[c] = invstd;
    const scale = w ? w[c]! : 1;
    const shift = b ? b[c]! : 0;
    for (let n = 0; n < p.N; n++) {
      for (let s = 0; s < p.S; s++) {
        const i = at(p, n, c, s);
        o[i] = (xs[i]! - mean) * invstd * scale + shift;
      }
    }
    if (rm) rm[c] = (1 - p.momentum) * rm[c]! + p.momentum * mean;
    if (rv) {
      // Unbiased variance; the front end rejects count == 1 in training.
      const varUnbiased = count > 1 ? m2 / (count - 1) : NaN;
      rv[c] = (1 - p.momentum) * rv[c]! + p.momentum * varUnbiased;
    }
  }
}

export function batchNormEval(
  x: Storage,
  weight: Storage | null,
  bias: Storage | null,
  runningMean: Storage,
  runningVar: Storage,
  out: Storage,
  p: BatchNormParams,
): void {
  const xs = arr(x), o = arr(out), rm = arr(runningMean), rv = arr(runningVar);
  const w = weight ? arr(weight) : null;
  const b = bias ? arr(bias) : null;
  for (let c = 0; c < p.C; c++) {
    const mean = rm[c]!;
    const invstd = 1 / Math.sqrt(rv[c]! + p.eps);
    const scale = w ? w[c]! : 1;
    const shift = b ? b[c]! : 0;
    for (let n = 0; n < p.N; n++) {
      for (let s = 0; s < p.S; s++) {
        const i = at(p, n, c, s);
        const v = (xs[i]! - mean) * invstd * scale + shift;
        o[i] = p.relu && v < 0 ? 0 : v;
      }
    }
  }
}

/**
 * With xhat = (x - mean) * invstd and M = N*S:
 *   gbias[c] = sum gy,  gweight[c] = sum gy * xhat,
 *   training: gx = w * invstd / M * (M * gy - sum(gy) - xhat * sum(gy * xhat))
 *   eval:     gx = w * invstd * gy  (statistics are constants)
 */
export function batchNormBackward(
  gy: Storage,
  x: Storage,
  weight: Storage | null,
  saveMean: Storage,
  saveInvstd: Storage,
  gx: Storage,
  gweight: Storage | null,
  gbias: Storage | null,
  p: BatchNormParams,
  training: boolean,
): void {
  const g = arr(gy), xs = arr(x), sm = arr(saveMean), si = arr(saveInvstd), o = arr(gx);
  const w = weight ? arr(weight) : null;
  const gw = gweight ? arr(gweight) : null;
  const gb = gbias ? arr(gbias) : null;
  const count = p.N * p.S;
  for (let c = 0; c < p.C; c++) {
    const mean = sm[c]!;
    const invstd = si[c]!;
    let sumG = 0;
    let sumGXhat = 0;
    for (let n = 0; n < p.N; n++) {
      for (let s = 0; s < p.S; s++) {
        const i = at(p, n, c, s);
        sumG += g[i]!;
        sumGXhat += g[i]! * (xs[i]! - mean) * invstd;
      }
    }
    if (gb) gb[c] = sumG;
    if (gw) gw[c] = sumGXhat;
    const scale = (w ? w[c]! : 1) * invstd;
    for (let n = 0; n < p.N; n++) {
      for (let s = 0; s < p.S; s++) {
        const i = at(p, n, c, s);
        if (training) {
          const xhat = (xs[i]! - mean) * invstd;
          o[i] = (scale / count) * (count * g[i]! - sumG - xhat * sumGXhat);
        } else {
          o[i] = scale * g[i]!;
        }
      }
    }
  }
}
