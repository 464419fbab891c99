/**
 * The speed issue's floors, this library against PyTorch CPU in ALTERNATION: on a shared VM whose
 * speed drifts by 10-20 % over minutes, `npm run bench` (PyTorch in one child process after this
 * library's runs) can catch the two in different phases; here each round runs this library's
 * timed runs and then one PyTorch child at the same configuration, and the ratio is taken per
 * round (median of the per-round ratios, beside the medians of all runs).
 *
 *   XDG_RUNTIME_DIR=/tmp npx tsx bench/floors.ts [--rounds 5] [--runs 3] [--only train-quarter,infer-b1] [--out FILE]
 *
 * Configurations (the issue's floors, and the shipped model's batch-1 latency, reported):
 *   train-quarter  training step, width 1/4, 48x48, batch 64   (floor 1: ratio >= 1)
 *   train-full     training step, width 1, 64x64, batch 16     (floor 2: ratio >= 1)
 *   infer-b16      inference, width 1, 64x64, batch 16         (floor 3: ratio >= 1)
 *   infer-b1       inference, width 1, 64x64, batch 1          (floor 4: <= 40 ms)
 *   infer-quarter-b1 inference, width 1/4, 48x48, batch 1      (reported)
 * Protocol per side and round: one uncounted run, then `runs` timed runs, as bench/model.ts
 * (inference: eval, no_grad, up to the logits' readback; training: zero_grad, forward,
 * cross_entropy, backward, SGD(lr 0.01, momentum 0.9) step, up to the loss's readback). PyTorch:
 * bench/torch_model.py with `--threads auto` (its fastest thread count), a fresh process per
 * round (its build and cold run are not timed). Ratio = PyTorch ms / this library's ms (> 1: this
 * library is faster). Writes the samples to bench/results/floors-<time>.json (or --out).
 */
import { writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { initWebGPU, webgpuRuntime } from '../src/kernels/webgpu/index.js';
import { cross_entropy, manual_seed, no_grad, tensor, tidy } from '../src/tensor/index.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { ResEmoteNet } from '../src/resemotenet/model.js';
import { SGD } from '../src/nn/optim/sgd.js';
import { findTorchPython } from './torch_peer.js';
import { randomArray, randomInts, stats, type Stats } from './harness.js';

interface Config {
  name: string;
  mode: 'infer' | 'train';
  width: number;
  size: number;
  batch: number;
  floor: string;
}

const CONFIGS: Config[] = [
  { name: 'train-quarter', mode: 'train', width: 0.25, size: 48, batch: 64, floor: '1: ratio >= 1' },
  { name: 'train-full', mode: 'train', width: 1, size: 64, batch: 16, floor: '2: ratio >= 1' },
  { name: 'infer-b16', mode: 'infer', width: 1, size: 64, batch: 16, floor: '3: ratio >= 1' },
  { name: 'infer-b1', mode: 'infer', width: 1, size: 64, batch: 1, floor: '4: <= 40 ms' },
  { name: 'infer-quarter-b1', mode: 'infer', width: 0.25, size: 48, batch: 1, floor: 'reported' },
];

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const ROUNDS = Number(arg('rounds') ?? 5);
const RUNS = Number(arg('runs') ?? 3);
const ONLY = arg('only')?.split(',');
if (!(ROUNDS >= 1 && RUNS >= 1)) throw new RangeError('floors: --rounds and --runs must be >= 1');
for (const n of ONLY ?? []) if (!CONFIGS.some((c) => c.name === n)) throw new RangeError(`floors: unknown configuration '${n}' (${CONFIGS.map((c) => c.name).join(', ')})`);

const found = await findTorchPython();
if (!('python' in found)) throw new Error(`floors: needs a Python with torch (${found.reason})`);
const PYTHON = found.python;
const report = await initWebGPU();
const SCRIPT = fileURLToPath(new URL('./torch_model.py', import.meta.url));
const widthArg = (w: number) => (w === 0.25 ? '1/4' : String(w));
console.log(`adapter: ${report.description} (${webgpuRuntime().report.isSoftware ? 'software' : 'hardware'}); PyTorch ${found.torch} (${found.python}); ${ROUNDS} rounds x ${RUNS} runs per side`);

/** This library's timed closure for a configuration (model, input and optimizer built once). */
function ours(c: Config): { run: () => Promise<number>; dispose: () => void } {
  manual_seed(0);
  const model = new ResEmoteNet({ width: c.width, device: 'webgpu' });
  const x = tensor(randomArray(c.batch * 3 * c.size * c.size, 100 + c.batch), { shape: [c.batch, 3, c.size, c.size], device: 'webgpu' });
  if (c.mode === 'infer') {
    model.eval();
    return {
      run: async () => {
        const t0 = performance.now();
        const y = tidy(() => no_grad(() => model.call(x) as Tensor));
        await y.data();
        const ms = performance.now() - t0;
        y.dispose();
        return ms;
      },
      dispose: () => x.dispose(),
    };
  }
  model.train();
  const labels = tensor(randomInts(c.batch, 7, 100 + c.batch), { shape: [c.batch], dtype: 'int32', device: 'webgpu' });
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  return {
    run: async () => {
      const t0 = performance.now();
      const l = tidy(() => {
        opt.zero_grad();
        const loss = cross_entropy(model.call(x) as Tensor, labels);
        loss.backward();
        opt.step();
        return loss;
      });
      await l.item();
      const ms = performance.now() - t0;
      l.dispose();
      return ms;
    },
    dispose: () => {
      x.dispose();
      labels.dispose();
    },
  };
}

/** One PyTorch child: `runs` timed runs after one warm-up; its samples (ms). */
function torchRound(c: Config): number[] {
  const cfg = `${c.mode}:${widthArg(c.width)}:${c.size}:${c.batch}`;
  const r = spawnSync(PYTHON, [SCRIPT, '--configs', cfg, '--runs', String(RUNS), '--warmup', '1', '--threads', 'auto'], { encoding: 'utf8', timeout: 600_000 });
  const rec = r.status === 0 ? (JSON.parse(r.stdout) as { results: { time?: Stats; error?: string }[] }).results[0] : undefined;
  if (!rec?.time) throw new Error(`floors: PyTorch failed at ${cfg}: ${rec?.error ?? r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  return rec.time.samples;
}

const median = (a: number[]): number => stats(a).median;
const rows: Record<string, unknown>[] = [];
for (const c of CONFIGS.filter((k) => !ONLY || ONLY.includes(k.name))) {
  const side = ours(c);
  await side.run(); // cold: pipelines, packed weights
  const oursMs: number[][] = [];
  const torchMs: number[][] = [];
  for (let r = 0; r < ROUNDS; r++) {
    await side.run();
    const o: number[] = [];
    for (let i = 0; i < RUNS; i++) o.push(await side.run());
    oursMs.push(o);
    torchMs.push(torchRound(c));
    console.log(`  ${c.name} round ${r + 1}: this library ${o.map((v) => v.toFixed(1)).join(' ')} ms | PyTorch ${torchMs[r]!.map((v) => v.toFixed(1)).join(' ')} ms`);
  }
  side.dispose();
  const ratios = oursMs.map((o, r) => median(torchMs[r]!) / median(o));
  const row = {
    name: c.name,
    floor: c.floor,
    mode: c.mode,
    width: c.width,
    size: c.size,
    batch: c.batch,
    oursMedianMs: median(oursMs.flat()),
    torchMedianMs: median(torchMs.flat()),
    pairedRatio: median(ratios),
    ratioRange: [Math.min(...ratios), Math.max(...ratios)],
    oursMs,
    torchMs,
  };
  rows.push(row);
  console.log(
    `${c.name} (floor ${c.floor}): this library ${row.oursMedianMs.toFixed(1)} ms, PyTorch ${row.torchMedianMs.toFixed(1)} ms; ` +
      `PyTorch/ours per round ${ratios.map((v) => v.toFixed(2)).join(' ')}, median ${row.pairedRatio.toFixed(2)}`,
  );
}
const when = new Date().toISOString();
const out = arg('out') ?? fileURLToPath(new URL(`./results/floors-${when.replace(/[:.]/g, '-').slice(0, 19)}Z.json`, import.meta.url));
const command = `npx tsx bench/floors.ts ${process.argv.slice(2).join(' ')}`.trim();
writeFileSync(out, JSON.stringify({ when, command, adapter: report.description, torch: found.torch, rounds: ROUNDS, runs: RUNS, rows }, null, 1) + '\n');
console.log(`wrote ${out}`);
