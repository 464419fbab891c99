/**
 * Reference squeeze-excitation kernels over contiguous x (N, C, S), w1 (R, C), w2 (C, R):
 *   pooled[n, c] = mean_s x[n, c, s]
 *   hidden[n, r] = relu(sum_c w1[r, c] * pooled[n, c])
 *   gate[n, c]   = sigmoid(sum_r w2[c, r] * hidden[n, r])
 *   out[n, c, s] = x[n, c, s] * gate[n, c]
 * (the SE block of Hu et al., "Squeeze-and-Excitation Networks", with bias-free linears).
 * Plain loops, float64 intermediates.
 */
import type { SEParams, Storage } from '../backend.js';
import { arr } from './storage.js';

/** pooled (N*C) in float64: the spatial mean of every (n, c) plane. */
function pool(xs: ArrayLike<number>, p: SEParams): Float64Array {
  const pooled = new Float64Array(p.N * p.C);
  for (let nc = 0; nc < p.N * p.C; nc++) {
    let s = 0;
    for (let k = 0; k < p.S; k++) s += xs[nc * p.S + k]!;
    pooled[nc] = s / p.S;
  }
  return pooled;
}

export function seForward(x: Storage, w1: Storage, w2: Storage, out: Storage, hidden: Storage, gate: Storage, p: SEParams): void {
  const xs = arr(x), a = arr(w1), b = arr(w2), o = arr(out), h = arr(hidden), g = arr(gate);
  const { N, C, S, R } = p;
  const pooled = pool(xs, p);
  const hid = new Float64Array(N * R);
  for (let n = 0; n < N; n++) {
    for (let r = 0; r < R; r++) {
      let z = 0;
      for (let c = 0; c < C; c++) z += a[r * C + c]! * pooled[n * C + c]!;
      hid[n * R + r] = z > 0 ? z : 0;
      h[n * R + r] = hid[n * R + r]!;
    }
  }
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      let z = 0;
      for (let r = 0; r < R; r++) z += b[c * R + r]! * hid[n * R + r]!;
      const gt = 1 / (1 + Math.exp(-z));
      g[n * C + c] = gt;
      for (let s = 0; s < S; s++) o[(n * C + c) * S + s] = xs[(n * C + c) * S + s]! * gt;
    }
  }
}

/**
 * Chain rule through the four steps above, using the saved hidden (post-ReLU) and gate:
 *   dgate = sum_s gy * x;  dz2 = dgate * gate * (1 - gate);  gw2 = dz2^T hidden
 *   dhidden = dz2 w2;  dz1 = dhidden * [hidden > 0];  gw1 = dz1^T pooled
 *   gx = gy * gate + (dz1 w1) / S   (the pooled path spreads evenly over the S positions)
 */
export function seBackward(
  gy: Storage,
  x: Storage,
  w1: Storage,
  w2: Storage,
  hidden: Storage,
  gate: Storage,
  gx: Storage,
  gw1: Storage,
  gw2: Storage,
  p: SEParams,
): void {
  const gys = arr(gy), xs = arr(x), a = arr(w1), b = arr(w2), h = arr(hidden), g = arr(gate);
  const ox = arr(gx), oa = arr(gw1), ob = arr(gw2);
  const { N, C, S, R } = p;
  const pooled = pool(xs, p);
  const dz2 = new Float64Array(N * C);
  for (let nc = 0; nc < N * C; nc++) {
    let d = 0;
    for (let s = 0; s < S; s++) d += gys[nc * S + s]! * xs[nc * S + s]!;
    dz2[nc] = d * g[nc]! * (1 - g[nc]!);
  }
  for (let c = 0; c < C; c++) {
    for (let r = 0; r < R; r++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += dz2[n * C + c]! * h[n * R + r]!;
      ob[c * R + r] = s;
    }
  }
  const dz1 = new Float64Array(N * R);
  for (let n = 0; n < N; n++) {
    for (let r = 0; r < R; r++) {
      if (!(h[n * R + r]! > 0)) continue;
      let s = 0;
      for (let c = 0; c < C; c++) s += dz2[n * C + c]! * b[c * R + r]!;
      dz1[n * R + r] = s;
    }
  }
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += dz1[n * R + r]! * pooled[n * C + c]!;
      oa[r * C + c] = s;
    }
  }
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      let dp = 0;
      for (let r = 0; r < R; r++) dp += dz1[n * R + r]! * a[r * C + c]!;
      const spread = dp / S;
      const gt = g[n * C + c]!;
      for (let s = 0; s < S; s++) {
        const i = (n * C + c) * S + s;
        ox[i] = gys[i]! * gt + spread;
      }
    }
  }
}
