/**
 * The one table of ratios: per configuration (mode, width, input size, batch), this library's
 * median and every peer's, with peer / ours (> 1: this library is faster). Built from the model
 * records of a run; peers compare with this library on WebGPU, except tfjs's cpu backend, which
 * compares with this library's CPU reference.
 */
import { round } from './harness.js';
import type { Comparison, ComparisonPeer, ComparisonRow, Engine, ModelResult, PairResult } from './types.js';

/** The order of peers within a row. */
export const PEER_ORDER: Engine[] = ['tfjs-webgpu', 'tfjs-wasm', 'torch-cpu', 'torch-cuda', 'tfjs-cpu'];
const OURS: Engine[] = ['ours-webgpu', 'ours-cpu'];

/** This library's engine a peer is compared with. */
export const oursFor = (peer: Engine): Engine => (peer === 'tfjs-cpu' ? 'ours-cpu' : 'ours-webgpu');

const key = (ours: Engine, r: { mode: string; width: number; size: number; batch: number }) => `${ours}|${r.mode}|${r.width}|${r.size}|${r.batch}`;

/**
 * Builds the comparison from a run's model records and alternated pairs.
 * @param adapter the WebGPU adapter, as printed; @param command the command line of the run.
 */
export function buildComparison(model: ModelResult[], pairs: PairResult[], adapter: string, command: string): Comparison {
  const rows = new Map<string, ComparisonRow>();
  const rowFor = (ours: Engine, r: ModelResult): ComparisonRow => {
    const k = key(ours, r);
    let row = rows.get(k);
    if (!row) {
      row = { mode: r.mode, width: r.width, size: r.size, batch: r.batch, ours, peers: [] };
      rows.set(k, row);
    }
    return row;
  };
  for (const r of model) {
    if (!OURS.includes(r.engine)) continue;
    const row = rowFor(r.engine, r);
    if (r.time && !r.error) row.oursMs = round(r.time.median, 4);
  }
  for (const r of model) {
    if (OURS.includes(r.engine)) continue;
    const row = rowFor(oursFor(r.engine), r);
    const p: ComparisonPeer = { engine: r.engine };
    if (r.error) p.error = r.error.split('\n')[0]!.slice(0, 200);
    else if (r.time) {
      p.medianMs = round(r.time.median, 4);
      if (row.oursMs) p.ratio = round(r.time.median / row.oursMs, 3);
    }
    const pair = pairs.find((q) => q.a === row.ours && q.b === r.engine && key(row.ours, q) === key(row.ours, r));
    if (pair && Number.isFinite(pair.pairedRatio)) p.pairedRatio = pair.pairedRatio;
    if (r.threads !== undefined) p.threads = r.threads;
    row.peers.push(p);
  }
  for (const row of rows.values()) row.peers.sort((a, b) => PEER_ORDER.indexOf(a.engine) - PEER_ORDER.indexOf(b.engine));
  return { adapter, command, rows: [...rows.values()] };
}
