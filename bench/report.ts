/** Plain-text tables of a {@link BenchReport}, for the terminal and bench/README.md. */
import { widthLabel } from './shapes.js';
import type { BenchReport, Comparison, KernelResult, ModelResult } from './types.js';

function table(head: string[], rows: string[][], right: boolean[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (right[i] ? c.padStart(w[i]!) : c.padEnd(w[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

const f = (x: number | undefined, d = 1): string => (x === undefined || !Number.isFinite(x) ? '' : x.toFixed(d));
/** Milliseconds with about 3 significant digits. */
const ms = (x: number | undefined): string => {
  if (x === undefined || !Number.isFinite(x)) return '';
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toFixed(3);
};
const mib = (b: number | undefined): string => (b === undefined ? '' : (b / 2 ** 20).toFixed(0));

/** Display names of the engines. */
export const ENGINE: Record<string, string> = {
  'ours-webgpu': 'this lib, WebGPU',
  'tfjs-webgpu': 'tfjs 4.22, WebGPU',
  'ours-cpu': 'this lib, CPU ref',
  'tfjs-cpu': 'tfjs 4.22, cpu',
  'tfjs-wasm': 'tfjs 4.22, wasm',
  'torch-cpu': 'PyTorch, CPU',
  'torch-cuda': 'PyTorch, CUDA',
  torch: 'PyTorch',
};

const OURS_SHORT: Record<string, string> = { 'ours-webgpu': 'WebGPU', 'ours-cpu': 'CPU ref' };

/** The model records: one row per engine and configuration, with cold/median/min/max, img/s, memory and checks. */
export function modelTable(rows: ModelResult[]): string {
  const head = ['engine', 'mode', 'width', 'input', 'batch', 'thr', 'cold ms', 'median ms', 'min', 'max', 'n', 'img/s', 'GPU MiB', 'check'];
  const body = rows.map((r) => [
    ENGINE[r.engine] ?? r.engine,
    r.mode,
    widthLabel(r.width),
    `${r.size}x${r.size}`,
    String(r.batch),
    r.threads === undefined ? '' : String(r.threads),
    ms(r.coldMs),
    r.error ? 'ERROR' : ms(r.time?.median),
    ms(r.time?.min),
    ms(r.time?.max),
    r.time ? String(r.time.samples.length) : '',
    r.imagesPerSec === undefined ? '' : r.imagesPerSec >= 10 ? f(r.imagesPerSec, 1) : f(r.imagesPerSec, 2),
    mib(r.peakBytes),
    r.error ? r.error.split('\n')[0]!.slice(0, 100) : (r.check ?? ''),
  ]);
  return table(head, body, [false, false, false, false, true, true, true, true, true, true, true, true, true, false]);
}

/**
 * The one table of ratios: per configuration this library's median, each peer's median and
 * peer / ours (> 1: this library is faster), and for peers run alternately in the same process the
 * median of the per-pair ratios.
 */
export function comparisonTable(c: Comparison): string {
  const head = ['mode', 'width', 'input', 'batch', 'this library', 'ms', 'peer', 'thr', 'ms', 'peer/ours', 'paired'];
  const body: string[][] = [];
  for (const r of c.rows) {
    const cfg = [r.mode, widthLabel(r.width), `${r.size}x${r.size}`, String(r.batch), OURS_SHORT[r.ours] ?? r.ours, r.oursMs === undefined ? '-' : ms(r.oursMs)];
    const blank = cfg.map(() => '');
    if (!r.peers.length) body.push([...cfg, '', '', '', '', '']);
    r.peers.forEach((p, i) => {
      const peer = [ENGINE[p.engine] ?? p.engine, p.threads === undefined ? '' : String(p.threads)];
      const nums = p.error ? [`ERROR: ${p.error.slice(0, 60)}`, '', ''] : [ms(p.medianMs), f(p.ratio, 2), f(p.pairedRatio, 2)];
      body.push([...(i === 0 ? cfg : blank), ...peer, ...nums]);
    });
  }
  return table(head, body, [false, false, false, true, false, true, false, true, true, true, true]);
}

/** The alternated pairs (A = this library, B = a peer in the same process). */
export function pairTable(r: BenchReport): string {
  const head = ['A', 'B', 'mode', 'width', 'input', 'batch', 'A median ms', 'B median ms', 'B/A', 'paired B/A'];
  const body = r.pairs.map((p) => [ENGINE[p.a] ?? p.a, ENGINE[p.b] ?? p.b, p.mode, widthLabel(p.width), `${p.size}x${p.size}`, String(p.batch), ms(p.medianA), ms(p.medianB), f(p.ratio, 2), f(p.pairedRatio, 2)]);
  return table(head, body, [false, false, false, false, false, true, true, true, true, true]);
}

/** The kernel rows: time, GFLOP/s or GB/s, and the fraction of the run's measured peak. */
export function kernelTable(rows: KernelResult[]): string {
  const head = ['kernel', 'shape', 'median ms', 'min', 'max', 'GFLOP/s', 'GB/s', '% peak'];
  const body = rows.map((r) => [
    r.name + (r.note ? ' *' : ''),
    r.shape,
    r.error ? 'ERROR' : ms(r.time?.median),
    ms(r.time?.min),
    ms(r.time?.max),
    r.gflops === undefined ? '' : f(r.gflops, 2),
    r.gbps === undefined ? '' : f(r.gbps, 2),
    r.peakFraction === undefined ? (r.error ? r.error.split('\n')[0]!.slice(0, 60) : '') : `${(r.peakFraction * 100).toFixed(0)}%`,
  ]);
  return table(head, body, [false, false, true, true, true, true, true, false]);
}

/** The whole report as text: header, model records, the comparison table, kernels, notes. */
export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  out.push(`ResEmoteNet benchmarks, ${r.date}`);
  const kind = [r.adapter.architecture, r.adapter.isSoftware && r.adapter.architecture !== 'software' ? 'software' : ''].filter(Boolean).join(', ');
  out.push(`adapter: ${r.adapter.description || r.adapter.device} (vendor ${r.adapter.vendor}${kind ? `, ${kind}` : ''})`);
  out.push(`machine: ${r.machine.cpus} x ${r.machine.cpuModel}, ${r.machine.totalMemGiB} GiB; ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out.push(`command: ${r.command}`);
  for (const p of Array.isArray(r.params) ? r.params : []) {
    out.push(`parameters (${p.suite}, width ${widthLabel(p.width)}): this library ${p.ours ?? '-'}, tfjs ${p.tfjs ?? '-'}, PyTorch ${p.torch ?? '-'}, expected ${p.expected}`);
  }
  if (r.model.length) {
    out.push('', 'Model: ResEmoteNet (inference: eval mode, no_grad; train: forward + cross-entropy + backward + SGD momentum step; thr: CPU threads)');
    out.push(modelTable(r.model));
  }
  const extra = r.model.filter((m) => m.note || m.breakdown);
  for (const m of extra) {
    out.push(`${ENGINE[m.engine] ?? m.engine} ${m.mode} width ${widthLabel(m.width)} ${m.size}x${m.size} batch ${m.batch}: ${[m.note, m.breakdown].filter(Boolean).join('; ')}`);
  }
  if (r.comparison?.rows.length) {
    out.push('', 'Comparison: median ms per run (one batch); peer/ours > 1: this library is faster; paired: median of per-run ratios, for peers run alternately with this library in the same process');
    out.push(`adapter: ${r.comparison.adapter}; command: ${r.comparison.command}`);
    out.push(comparisonTable(r.comparison));
  }
  for (const s of r.skipped ?? []) out.push(`skipped ${ENGINE[s.engine] ?? s.engine}: ${s.reason}`);
  if (r.kernels.length) {
    const pk = r.peak;
    out.push('', `Kernels (peak = best measured in this run: ${f(pk.gflops, 2)} GFLOP/s from ${pk.gflopsSource ?? '-'}; ${f(pk.gbps, 2)} GB/s from ${pk.gbpsSource ?? '-'})`);
    out.push(kernelTable(r.kernels));
    const noted = r.kernels.filter((k) => k.note);
    for (const k of noted) out.push(`* ${k.name}: ${k.note}`);
  }
  if (r.notes.length) {
    out.push('', 'Notes');
    for (const n of r.notes) out.push(`- ${n}`);
  }
  out.push('', `wall time ${r.wallSeconds.toFixed(0)} s`);
  return out.join('\n');
}
