/**
 * Where a ResEmoteNet training step (or inference forward) spends its GPU time, per DISPATCH:
 * records every dispatch of one real step (buffers kept alive: frees are held back for that step),
 * then replays each dispatch `reps` times in one submit and takes the median of 3 such batches, so
 * per-call sync costs vanish (bench/profile_step.ts replays per backend primitive with a wait after
 * each, which inflates small calls). Prints the sum, the step's own wall time, the totals per
 * pipeline and the slowest dispatches; `--json FILE` writes [ms, "op pipeline", workgroups] per
 * dispatch, e.g. to compare a run under LP_NUM_THREADS=1 (a dispatch whose time does not halve
 * with 2 threads has too few workgroups). Replays run warm (the data in cache), so the sum is a
 * little below the step's wall time.
 *
 *   XDG_RUNTIME_DIR=/tmp npx tsx bench/step_dispatches.ts [--width 0.25] [--size 48] [--batch 64] [--infer] [--reps 10] [--top 25] [--json FILE]
 */
import { writeFileSync } from 'node:fs';
import { initWebGPU, webgpuRuntime } from '../src/kernels/webgpu/index.js';
import { cross_entropy, manual_seed, no_grad, randn, tensor, tidy } from '../src/tensor/index.js';
import { ResEmoteNet } from '../src/resemotenet/model.js';
import { SGD } from '../src/nn/optim/sgd.js';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
};
const W = Number(arg('width', '0.25'));
const S = Number(arg('size', '48'));
const B = Number(arg('batch', '64'));
const REPS = Number(arg('reps', '10'));
const TOP = Number(arg('top', '25'));
const JSON_OUT = arg('json', '');
const INFER = process.argv.includes('--infer');

await initWebGPU();
type Rt = {
  pipeline: (key: string, make: () => string) => unknown;
  dispatch: (...a: unknown[]) => void;
  free: (s: unknown) => void;
  sync: () => Promise<void>;
  report: { description?: string };
};
const rt = webgpuRuntime() as unknown as Rt;
const names = new Map<unknown, string>();
const pipeline = rt.pipeline.bind(rt);
rt.pipeline = (key, make) => {
  const p = pipeline(key, make);
  names.set(p, key);
  return p;
};
const dispatch = rt.dispatch.bind(rt);
let log: unknown[][] | null = null;
rt.dispatch = (...a) => {
  log?.push(a);
  dispatch(...a);
};
const free = rt.free.bind(rt);

manual_seed(0);
const m = new ResEmoteNet({ width: W, device: 'webgpu' });
if (INFER) m.eval();
else m.train();
const opt = new SGD(m.parameters(), { lr: 0.01, momentum: 0.9 });
const x = randn([B, 3, S, S], { device: 'webgpu' });
const y = tensor(new Int32Array(B).map((_, i) => i % 7), { dtype: 'int32', device: 'webgpu' });
const step = () =>
  tidy(() => {
    if (INFER) return no_grad(() => m.call(x).sum());
    opt.zero_grad();
    const l = cross_entropy(m.call(x), y);
    l.backward();
    opt.step();
    return l;
  });
let wall = 0;
for (let r = 0; r < 4; r++) {
  if (r === 3) {
    log = [];
    rt.free = () => {}; // keep every buffer of the recorded step alive for the replays
  }
  const t0 = performance.now();
  const l = step();
  await l.item();
  l.dispose();
  wall = performance.now() - t0;
}
rt.free = free;
const recorded = log!;
log = null;

const rows: [number, string, number][] = [];
for (const a of recorded) {
  const ts: number[] = [];
  for (let k = 0; k < 3; k++) {
    await rt.sync();
    const t0 = performance.now();
    for (let i = 0; i < REPS; i++) dispatch(...a);
    await rt.sync();
    ts.push((performance.now() - t0) / REPS);
  }
  ts.sort((p, q) => p - q);
  const wg = a[4] as number | number[];
  rows.push([ts[1]!, `${a[0] as string} ${names.get(a[1]) ?? '?'}`, typeof wg === 'number' ? wg : wg[0]! * wg[1]! * wg[2]!]);
}

const sum = rows.reduce((s, r) => s + r[0], 0);
console.log(`adapter: ${rt.report.description ?? ''}; ${INFER ? 'inference' : 'training step'}, width ${W}, ${S}x${S}, batch ${B}`);
console.log(`${rows.length} dispatches; replayed (median of 3 batches of ${REPS}) sum ${sum.toFixed(1)} ms; the recorded step took ${wall.toFixed(1)} ms`);
const per = new Map<string, [number, number]>();
for (const [t, k] of rows) {
  const key = k.split('{')[0]!;
  const e = per.get(key) ?? [0, 0];
  per.set(key, [e[0] + t, e[1] + 1]);
}
console.log('\nper pipeline:');
for (const [k, [t, n]] of [...per].sort((p, q) => q[1][0] - p[1][0]).slice(0, TOP)) console.log(`  ${t.toFixed(2).padStart(8)} ms  ${String(n).padStart(3)}x  ${k}`);
console.log('\nslowest dispatches:');
for (const [t, k, w] of [...rows].sort((p, q) => q[0] - p[0]).slice(0, TOP)) console.log(`  ${t.toFixed(2).padStart(8)} ms  ${String(w).padStart(6)} workgroups  ${k.slice(0, 110)}`);
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(rows));
