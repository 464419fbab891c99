/**
 * Timing: wall time around a wait on the device (a readback or queue.onSubmittedWorkDone),
 * warm-up runs not counted, median/min/max over the counted runs, and A/B alternation so that
 * two engines see the same machine noise.
 */

export interface Stats {
  /** Milliseconds per call. */
  median: number;
  min: number;
  max: number;
  mean: number;
  /** Counted samples (ms per call), in run order. */
  samples: number[];
}

export function stats(samples: number[]): Stats {
  if (samples.length === 0) throw new Error('stats: no samples');
  const s = [...samples].sort((a, b) => a - b);
  const m = s.length >> 1;
  const median = s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  return {
    median,
    min: s[0]!,
    max: s[s.length - 1]!,
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
    samples: samples.map((x) => round(x, 4)),
  };
}

export const round = (x: number, digits = 3): number => {
  if (!Number.isFinite(x) || x === 0) return x;
  const p = 10 ** Math.max(0, digits - Math.ceil(Math.log10(Math.abs(x))));
  return Math.round(x * p) / p;
};

export const now = (): number => performance.now();

export interface MeasureOptions {
  warmup: number;
  runs: number;
  /**
   * Samples shorter than this are repeated `inner` times before the wait (the time per call is
   * sample / inner), so per-submit overhead does not dominate tiny kernels. 0 disables.
   */
  minSampleMs?: number;
  maxInner?: number;
  /** Stop counting early (never below `minRuns`) once this much time was spent on counted runs. */
  budgetMs?: number;
  minRuns?: number;
}

export interface Measured {
  stats: Stats;
  /** Calls per sample. */
  inner: number;
  /** The first call, including pipeline compilation (ms). */
  coldMs: number;
}

/**
 * Times `call` (records work) followed by `wait` (waits for the device).
 * The first call is reported as cold; warm-up runs follow; then `runs` counted samples.
 */
export async function measure(call: () => void | Promise<void>, wait: () => Promise<void>, o: MeasureOptions): Promise<Measured> {
  let t = now();
  await call();
  await wait();
  const coldMs = now() - t;
  // One more uncounted call to estimate the warm time for choosing `inner`.
  t = now();
  await call();
  await wait();
  const warm = now() - t;
  let inner = 1;
  if (o.minSampleMs && warm < o.minSampleMs) inner = Math.min(o.maxInner ?? 64, Math.max(1, Math.ceil(o.minSampleMs / Math.max(warm, 1e-3))));
  const sample = async () => {
    const t0 = now();
    for (let i = 0; i < inner; i++) await call();
    await wait();
    return (now() - t0) / inner;
  };
  for (let i = 1; i < o.warmup; i++) await sample();
  const samples: number[] = [];
  const start = now();
  const minRuns = o.minRuns ?? o.runs;
  for (let i = 0; i < o.runs; i++) {
    samples.push(await sample());
    if (o.budgetMs !== undefined && samples.length >= minRuns && now() - start > o.budgetMs) break;
  }
  return { stats: stats(samples), inner, coldMs };
}

export interface Alternated {
  a: Stats;
  b: Stats;
  /** Median over run pairs of b_i / a_i (robust to slow drift of the machine). */
  pairedRatio: number;
}

/**
 * Runs two timed closures alternately (A B A B ...) after `warmup` uncounted runs of each.
 * Each closure returns its own elapsed milliseconds (so it can exclude setup).
 */
export async function alternate(a: () => Promise<number>, b: () => Promise<number>, warmup: number, runs: number): Promise<Alternated> {
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const sa: number[] = [];
  const sb: number[] = [];
  for (let i = 0; i < runs; i++) {
    sa.push(await a());
    sb.push(await b());
  }
  const ratios = sa.map((x, i) => sb[i]! / x);
  return { a: stats(sa), b: stats(sb), pairedRatio: stats(ratios).median };
}

export interface AlternatedAll {
  /** Stats of each closure, in the order given. */
  stats: Stats[];
  /** For each closure i > 0: median over rounds of t_i / t_0 (index 0 is undefined). */
  pairedRatios: (number | undefined)[];
}

/**
 * Runs several timed closures round-robin (A B C A B C ...) after `warmup` uncounted rounds, so
 * that every engine sees the same machine noise. Each closure returns its own elapsed ms.
 */
export async function alternateAll(fns: (() => Promise<number>)[], warmup: number, runs: number): Promise<AlternatedAll> {
  for (let i = 0; i < warmup; i++) for (const f of fns) await f();
  const samples: number[][] = fns.map(() => []);
  for (let i = 0; i < runs; i++) for (let k = 0; k < fns.length; k++) samples[k]!.push(await fns[k]!());
  const pairedRatios = samples.map((s, k) => (k === 0 ? undefined : stats(s.map((x, i) => x / samples[0]![i]!)).median));
  return { stats: samples.map((s) => stats(s)), pairedRatios };
}

/** Runs one timed closure `warmup` + `runs` times. */
export async function repeat(a: () => Promise<number>, warmup: number, runs: number): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await a();
  const s: number[] = [];
  for (let i = 0; i < runs; i++) s.push(await a());
  return stats(s);
}

/** A deterministic pseudo-random Float32Array in [-scale, scale) (xorshift; no device RNG needed). */
export function randomArray(n: number, seed = 1, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    a[i] = (x / 4294967296 - 0.5) * 2 * scale;
  }
  return a;
}

/** Deterministic pseudo-random class labels in [0, high). */
export function randomInts(n: number, high: number, seed = 7): Int32Array {
  const f = randomArray(n, seed, 1);
  return Int32Array.from(f, (v) => Math.min(high - 1, Math.floor(((v + 1) / 2) * high)));
}

/** The message of a thrown value, cut to 400 characters. */
export function errorMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.length > 400 ? `${m.slice(0, 400)}...` : m;
}
