/**
 * Where a ResEmoteNet training step spends its time, per backend primitive.
 *
 *   XDG_RUNTIME_DIR=/tmp npx tsx bench/profile_step.ts [--batch 16] [--width 1] [--size 64] [--infer] [--reps 5] [--phase backward] [--top 30]
 *
 * Autograd records a step's dispatches synchronously, so a wait cannot be put between two
 * primitives of `backward()`. Instead this script runs one real training step (forward +
 * cross_entropy, backward, SGD) with every backend call RECORDED (method, storage sizes,
 * layouts and parameters, phase), then REPLAYS each distinct call on fresh buffers of the same
 * sizes: one warm-up, then `reps` timed calls, each with a `sync()` after it (median). The
 * replay's data is synthetic (small values; int32 buffers zero: valid pool indices and class
 * targets), which does not change the work of these kernels. Rows are grouped by (method,
 * shape) and weighted by how often the step calls them. CPU time (process.cpuUsage: Dawn's and
 * lavapipe's worker threads included) is reported next to wall time: the machine is shared.
 * The phase times of the real step (first line) run outside tidy (a wait between phases cannot
 * be inside one), so the cold step's intermediates are still held and the recorded step creates
 * fresh buffers (zeroed by the driver): they read high; the replayed sums are the numbers to use.
 */
import { initWebGPU, webgpuRuntime } from '../src/kernels/webgpu/index.js';
import { getBackend } from '../src/tensor/device.js';
import type { Backend, Storage } from '../src/kernels/backend.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { cross_entropy, manual_seed, no_grad, tensor } from '../src/tensor/index.js';
import { ResEmoteNet } from '../src/resemotenet/model.js';
import { SGD } from '../src/nn/optim/sgd.js';
import { randomArray, randomInts } from './harness.js';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
};
const B = Number(arg('batch', '16'));
const REPS = Number(arg('reps', '5'));
const PHASE = arg('phase', 'all');
const TOP = Number(arg('top', '40'));
const WIDTH = Number(arg('width', '1'));
const SIZE = Number(arg('size', '64'));
/** --infer: profile an eval-mode forward under no_grad (inference) instead of a training step. */
const INFER = process.argv.includes('--infer');

await initWebGPU();
const be = getBackend('webgpu') as Backend & Record<string, unknown>;
const rt = webgpuRuntime();
console.log(`adapter: ${rt.report.description ?? ''} ${rt.report.isSoftware ? '(software)' : ''}`);

const SKIP = new Set(['alloc', 'upload', 'read', 'free', 'sync', 'constructor']);
type Rec = { method: string; phase: string; args: unknown[] };
const recs: Rec[] = [];
let phase = 'setup';
let recording = false;

const isStorage = (a: unknown): a is Storage => !!a && typeof a === 'object' && 'dtype' in a && 'size' in a && (a as { device?: string }).device === 'webgpu';
const proto = Object.getPrototypeOf(be) as Record<string, unknown>;
for (const name of Object.getOwnPropertyNames(proto)) {
  const f = proto[name];
  if (SKIP.has(name) || typeof f !== 'function') continue;
  be[name] = function (this: unknown, ...args: unknown[]) {
    if (recording) {
      recs.push({
        method: name,
        phase,
        args: args.map((a) => {
          if (isStorage(a)) return { __s: true, dtype: a.dtype, size: a.size };
          if (a === null || typeof a !== 'object') return a;
          // storages inside a parameter object (e.g. conv2dBatchNormEval's residual) as descriptors too
          const o: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(a)) o[k] = isStorage(v) ? { __s: true, dtype: v.dtype, size: v.size } : structuredClone(v);
          return o;
        }),
      });
    }
    return (f as (...x: unknown[]) => unknown).apply(be, args);
  };
}

manual_seed(0);
const model = new ResEmoteNet({ device: 'webgpu', width: WIDTH });
if (INFER) model.eval();
else model.train();
const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
const x = tensor(randomArray(B * 3 * SIZE * SIZE, 7), { shape: [B, 3, SIZE, SIZE], device: 'webgpu' });
const t = tensor(randomInts(B, 7, 8), { shape: [B], dtype: 'int32', device: 'webgpu' });

async function step(rec: boolean): Promise<Record<string, number>> {
  const ms: Record<string, number> = {};
  if (INFER) {
    await be.sync();
    recording = rec;
    phase = 'forward';
    const t0 = performance.now();
    const out = no_grad(() => model.call(x) as Tensor);
    await out.data();
    ms.forward = performance.now() - t0;
    recording = false;
    out.dispose();
    return ms;
  }
  opt.zero_grad();
  await be.sync();
  recording = rec;
  phase = 'forward';
  let t0 = performance.now();
  const out = model.call(x) as Tensor;
  const l = cross_entropy(out, t);
  await be.sync();
  ms.forward = performance.now() - t0;
  phase = 'backward';
  t0 = performance.now();
  l.backward();
  await be.sync();
  ms.backward = performance.now() - t0;
  phase = 'sgd';
  t0 = performance.now();
  opt.step();
  await be.sync();
  ms.sgd = performance.now() - t0;
  recording = false;
  l.dispose();
  out.dispose();
  return ms;
}

await step(false); // cold: pipelines
const c0 = process.cpuUsage();
const phases = await step(true);
const cpu = process.cpuUsage(c0);
if (INFER) console.log(`inference forward (batch ${B}, eval, no_grad, to the logits' readback): ${phases.forward!.toFixed(1)} ms; ${recs.length} primitive calls`);
else console.log(
  `step (batch ${B}, a wait after each phase): forward+loss ${phases.forward!.toFixed(0)} ms, backward ${phases.backward!.toFixed(0)} ms, SGD ${phases.sgd!.toFixed(0)} ms; ` +
    `process CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms; ${recs.length} primitive calls`,
);
opt.zero_grad();

// ---- replay ----
const describe = (r: Rec): string => {
  const parts: string[] = [];
  for (const a of r.args) {
    if (a && typeof a === 'object' && (a as { __s?: boolean }).__s) parts.push(`${(a as { dtype: string }).dtype === 'int32' ? 'i' : 'f'}${(a as { size: number }).size}`);
    else if (a && typeof a === 'object' && 'shape' in (a as object)) parts.push(`[${(a as { shape: number[] }).shape.join(',')}]/[${(a as { strides: number[] }).strides.join(',')}]`);
    else if (a && typeof a === 'object') {
      const o = a as Record<string, unknown>;
      if ('KH' in o && 'C_in' in o) parts.push(`${o.N}x${o.C_in}x${o.H}x${o.W}->${o.C_out} ${o.KH}x${o.KW} s${o.strideH} p${o.padH}`);
      else if ('KH' in o) parts.push(`${o.N}x${o.C}x${o.H}x${o.W} k${o.KH} s${o.strideH} p${o.padH}`);
      else parts.push(JSON.stringify(o).slice(0, 60));
    } else parts.push(String(a));
  }
  return parts.join(' ');
};
const groups = new Map<string, { rec: Rec; count: number; phase: string; desc: string }>();
for (const r of recs) {
  if (PHASE !== 'all' && r.phase !== PHASE) continue;
  const desc = describe(r);
  const key = `${r.phase}|${r.method}|${desc}`;
  const g = groups.get(key);
  if (g) g.count++;
  else groups.set(key, { rec: r, count: 1, phase: r.phase, desc });
}

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
interface Row {
  phase: string;
  method: string;
  desc: string;
  count: number;
  ms: number;
  cpuMs: number;
}
const rows: Row[] = [];
for (const g of groups.values()) {
  const bufs: Storage[] = [];
  const materialize = (a: unknown): unknown => {
    if (a && typeof a === 'object' && (a as { __s?: boolean }).__s) {
      const { dtype, size } = a as { dtype: 'float32' | 'int32'; size: number };
      const s = be.alloc(dtype, size);
      be.fill(s, dtype === 'int32' ? 0 : 0.01);
      bufs.push(s);
      return s;
    }
    return a;
  };
  const args = g.rec.args.map((a) => {
    if (a && typeof a === 'object' && (a as { __s?: boolean }).__s) return materialize(a);
    if (a && typeof a === 'object' && !Array.isArray(a) && Object.values(a).some((v) => v && typeof v === 'object' && (v as { __s?: boolean }).__s)) {
      return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, materialize(v)]));
    }
    return a;
  });
  const call = () => (be[g.rec.method] as (...x: unknown[]) => unknown).apply(be, args);
  call();
  await be.sync();
  const ts: number[] = [];
  const cs: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const c = process.cpuUsage();
    const t0 = performance.now();
    call();
    await be.sync();
    ts.push(performance.now() - t0);
    const d = process.cpuUsage(c);
    cs.push((d.user + d.system) / 1000);
  }
  for (const s of bufs) be.free(s);
  rows.push({ phase: g.phase, method: g.rec.method, desc: g.desc, count: g.count, ms: median(ts), cpuMs: median(cs) });
}

const byPhase = new Map<string, { ms: number; cpu: number }>();
for (const r of rows) {
  const p = byPhase.get(r.phase) ?? { ms: 0, cpu: 0 };
  p.ms += r.ms * r.count;
  p.cpu += r.cpuMs * r.count;
  byPhase.set(r.phase, p);
}
console.log(`replayed sums (median of ${REPS} per call x calls): ` + [...byPhase].map(([k, v]) => `${k} ${v.ms.toFixed(0)} ms (cpu ${v.cpu.toFixed(0)})`).join(', '));

const byMethod = new Map<string, { ms: number; cpu: number; n: number }>();
for (const r of rows) {
  const k = `${r.phase} ${r.method}`;
  const m = byMethod.get(k) ?? { ms: 0, cpu: 0, n: 0 };
  m.ms += r.ms * r.count;
  m.cpu += r.cpuMs * r.count;
  m.n += r.count;
  byMethod.set(k, m);
}
console.log('\nper primitive (total over the step):');
for (const [k, v] of [...byMethod].sort((a, b) => b[1].ms - a[1].ms)) console.log(`  ${k.padEnd(36)} ${v.ms.toFixed(1).padStart(8)} ms  cpu ${v.cpu.toFixed(1).padStart(8)} ms  ${v.n} calls`);

console.log(`\ntop ${TOP} call shapes (ms per call x calls = total):`);
for (const r of [...rows].sort((a, b) => b.ms * b.count - a.ms * a.count).slice(0, TOP)) {
  console.log(`  ${(r.ms * r.count).toFixed(1).padStart(8)} ms  cpu ${(r.cpuMs * r.count).toFixed(1).padStart(8)}  ${r.count}x ${r.ms.toFixed(1)}  ${r.phase} ${r.method} ${r.desc}`);
}
process.exit(0);
