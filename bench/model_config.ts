/**
 * One model configuration (a mode, geometry and batch) measured on several engines in one
 * process: each engine's cold run, then warm-ups and counted runs alternated round-robin
 * (A B C A B C), then one result record per engine and one pair record per peer against the
 * first engine (this library).
 */
import { alternateAll, errorMessage, repeat, round, type Stats } from './harness.js';
import type { Engine, ModelResult, PairResult } from './types.js';

/** An engine at a configuration: its result record (filled in here) and its timed closure. */
export interface EngineRun {
  result: ModelResult;
  /** Runs once and returns its own elapsed ms; null when the engine does not run here. */
  fn: (() => Promise<number>) | null;
  /** The key of this engine's check in `checks()`. */
  who: string;
  /** Called after the counted runs, before the record is finished (e.g. to read peak memory). */
  after?: (r: ModelResult) => void | Promise<void>;
}

export interface ConfigOptions {
  runs: number;
  warmup: number;
  /** A configuration whose slowest cold run exceeds this (ms) gets no warm-up and `slowRuns` counted runs. */
  slowMs: number;
  slowRuns: number;
  log: (s: string) => void;
}

/**
 * Measures one configuration. The first entry is this library; pairs are recorded for every
 * other engine that ran, against it. Results and pairs are appended to `out`.
 * @param before called once before the cold runs (e.g. to reset a peak-memory counter).
 * @param checks per engine key, a description of its last output (finite, matches ours, loss).
 */
export async function runConfig(
  o: ConfigOptions,
  out: { model: ModelResult[]; pairs: PairResult[] },
  engines: EngineRun[],
  checks: () => Map<string, string>,
  before?: () => void,
): Promise<void> {
  before?.();
  // Cold runs first (time to first result, pipeline compilation included).
  const live: EngineRun[] = [];
  for (const e of engines) {
    if (!e.fn || e.result.error) continue;
    try {
      e.result.coldMs = round(await e.fn(), 4);
      live.push(e);
    } catch (err) {
      e.result.error = errorMessage(err);
    }
  }
  // Slow configurations (minutes per run for tfjs-webgpu on a software adapter) get fewer runs.
  const slowest = Math.max(0, ...live.map((e) => e.result.coldMs ?? 0));
  const slow = slowest > o.slowMs && o.slowRuns < o.runs;
  const runs = slow ? o.slowRuns : o.runs;
  const warmup = slow ? 0 : o.warmup;
  if (slow) {
    for (const e of live) e.result.note = `slow configuration (cold run ${(slowest / 1000).toFixed(0)} s > ${(o.slowMs / 1000).toFixed(0)} s): no warm-up, ${runs} counted runs`;
  }
  const st = new Map<EngineRun, Stats>();
  const paired = new Map<EngineRun, number>();
  try {
    if (live.length > 1) {
      const alt = await alternateAll(
        live.map((e) => e.fn!),
        warmup,
        runs,
      );
      live.forEach((e, i) => {
        st.set(e, alt.stats[i]!);
        if (alt.pairedRatios[i] !== undefined) paired.set(e, alt.pairedRatios[i]!);
      });
    } else if (live.length === 1) st.set(live[0]!, await repeat(live[0]!.fn!, warmup, runs));
  } catch (err) {
    const msg = errorMessage(err);
    for (const e of live) e.result.error = msg;
  }
  const c = checks();
  for (const e of engines) {
    const r = e.result;
    if (!e.fn && !r.error) continue;
    const s = st.get(e);
    if (s) {
      r.time = s;
      r.imagesPerSec = round((r.batch * 1000) / s.median, 4);
    }
    if (live.includes(e)) await e.after?.(r);
    const chk = c.get(e.who);
    if (chk) r.check = chk;
    out.model.push(r);
    o.log(`    ${r.engine.padEnd(12)} ${r.error ? `ERROR ${r.error.split('\n')[0]}` : `cold ${r.coldMs?.toFixed(0)} ms, median ${s?.median.toFixed(1)} ms, ${r.imagesPerSec?.toFixed(2)} img/s${chk ? `, ${chk}` : ''}`}`);
  }
  // Pairs only against this library (the first entry), never peer against peer.
  const a = engines[0];
  const sa = a && st.get(a);
  if (!a || !sa) return;
  for (const b of live.filter((e) => e !== a)) {
    const sb = st.get(b);
    if (!sb) continue;
    out.pairs.push({
      a: a.result.engine as Engine,
      b: b.result.engine as Engine,
      mode: a.result.mode,
      batch: a.result.batch,
      width: a.result.width,
      size: a.result.size,
      medianA: round(sa.median, 4),
      medianB: round(sb.median, 4),
      ratio: round(sb.median / sa.median, 3),
      pairedRatio: round(paired.get(b) ?? NaN, 3),
    });
  }
}
