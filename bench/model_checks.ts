/** Checks of model outputs across engines: layout conversion, finiteness and logit differences. */

/** (N, C, H, W) -> (N, H, W, C), for tfjs's native layout. */
export function nchwToNhwc(a: Float32Array, N: number, C: number, H: number, W: number): Float32Array {
  const o = new Float32Array(a.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) o[((n * H + h) * W + w) * C + c] = a[((n * C + c) * H + h) * W + w]!;
  return o;
}

/** Largest |a[i] - b[i]|; NaN when the lengths differ. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return a.length === b.length ? m : NaN;
}

/** Largest |a[i]|. */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** True when every value is finite. */
export function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

/** 'finite' or 'NON-FINITE output'. */
export const finiteCheck = (a: ArrayLike<number>): string => (allFinite(a) ? 'finite' : 'NON-FINITE output');

/**
 * Compares logits of two engines, relative to the largest logit of `a`; says MISMATCH above 1e-2.
 * Returns '' when either is missing.
 */
export function compareLogits(name: string, a: ArrayLike<number> | null, b: ArrayLike<number> | null): string {
  if (!a || !b) return '';
  const d = maxAbsDiff(a, b);
  const rel = d / Math.max(1e-6, maxAbs(a));
  return `max |${name}| ${d.toExponential(2)} (rel ${rel.toExponential(1)})${rel > 1e-2 || Number.isNaN(d) ? ' MISMATCH' : ''}`;
}

/** 'loss 1.934 (finite)' or 'NON-FINITE loss NaN'. */
export const lossCheck = (v: number): string => (Number.isFinite(v) ? `loss ${v.toFixed(3)} (finite)` : `NON-FINITE loss ${v}`);
