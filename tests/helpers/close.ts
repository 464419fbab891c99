/**
 * Numeric assertions shared by the test suites.
 *
 * `closeTo(actual, expected, { rtol, atol })` passes when every element satisfies
 * |actual - expected| <= atol + rtol * |expected| (NaN matches NaN, an infinity matches the same
 * infinity). Both sides may be a Tensor (cpu), a number, a (nested) array or a typed array; they
 * are flattened in row-major order. When both carry a shape (Tensor, nested array) the shapes
 * must agree too. On failure it throws listing the first mismatches.
 */
import { Tensor } from '../../src/index.js';

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

type Numeric = Tensor | number | ArrayLike<number> | readonly unknown[];

function shapeOf(v: Numeric): number[] | null {
  if (v instanceof Tensor) return [...v.shape];
  if (typeof v === 'number') return [];
  if (Array.isArray(v)) {
    const s: number[] = [];
    let cur: unknown = v;
    while (Array.isArray(cur)) {
      s.push(cur.length);
      cur = cur[0];
    }
    return s;
  }
  return null;
}

/** Row-major numbers of any accepted value. */
export function flat(v: Numeric): number[] {
  if (v instanceof Tensor) return Array.from(v.dataSync());
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return (v as unknown[]).flat(Infinity as 1) as number[];
  return Array.from(v as ArrayLike<number>);
}

export function closeTo(actual: Numeric, expected: Numeric, tol: Tolerance = {}): void {
  const rtol = tol.rtol ?? 1e-5;
  const atol = tol.atol ?? 1e-6;
  const sa = shapeOf(actual);
  const se = shapeOf(expected);
  if (sa && se && (actual instanceof Tensor || Array.isArray(actual)) && (expected instanceof Tensor || Array.isArray(expected))) {
    if (sa.length !== se.length || sa.some((d, i) => d !== se[i])) {
      throw new Error(`closeTo: shape [${sa.join(', ')}] differs from expected [${se.join(', ')}]`);
    }
  }
  const a = flat(actual);
  const e = flat(expected);
  if (a.length !== e.length) throw new Error(`closeTo: ${a.length} elements, expected ${e.length}`);
  const bad: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = e[i]!;
    const ok = Number.isNaN(y) ? Number.isNaN(x) : !Number.isFinite(y) ? x === y : Math.abs(x - y) <= atol + rtol * Math.abs(y);
    if (!ok && bad.length < 8) bad.push(`[${i}] ${x} vs ${y} (|diff| ${Math.abs(x - y)})`);
  }
  if (bad.length) throw new Error(`closeTo (rtol ${rtol}, atol ${atol}) failed:\n  ${bad.join('\n  ')}`);
}

/** A small seeded PRNG (mulberry32) for choosing test shapes and values reproducibly. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random shape of `ndim` dims with sizes in [1, maxSize]. */
export function randomShape(r: () => number, ndim: number, maxSize = 3): number[] {
  return Array.from({ length: ndim }, () => 1 + Math.floor(r() * maxSize));
}

/** A shape that broadcasts against `shape`: some dims set to 1, some leading dims dropped. */
export function broadcastPartner(r: () => number, shape: readonly number[]): number[] {
  const drop = Math.floor(r() * (shape.length + 1));
  return shape.slice(drop).map((d) => (r() < 0.4 ? 1 : d));
}
