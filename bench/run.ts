/**
 * `npm run bench` — this library's kernels and ResEmoteNet on the machine's WebGPU adapter, next
 * to the peers a user would pick instead: TensorFlow.js on the same adapter (webgpu), on the CPU
 * (wasm SIMD, cpu) and PyTorch (bench/torch_model.py, when a Python with torch is found), with
 * the ratios in one table. See bench/README.md.
 *
 *   npm run bench                          # everything
 *   npm run bench -- --quick               # tiny sizes, 3 runs (under 2 minutes)
 *   npm run bench -- --only kernels        # or model, peers (comma-separated)
 *   npm run bench -- --only model,peers --suites quarter --no-torch
 *   npm run bench -- --only peers --torch-device cpu,cuda --torch-threads 1
 *   npm run bench -- --batch 1,16 --runs 7 --warmup 2 --json out.json
 *   npm run bench -- --readme              # also rewrite the table in bench/README.md
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { runBench } from './index.js';
import { formatReport } from './report.js';
import type { BenchReport, Sizes } from './types.js';

const intList = (v: string): number[] => {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (!xs.length || xs.some((x) => !Number.isInteger(x) || x < 1)) throw new InvalidArgumentError('expected positive integers, e.g. 1,16,64');
  return xs;
};
const posInt = (v: string): number => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < 1) throw new InvalidArgumentError('expected a positive integer');
  return x;
};
const nonNegInt = (v: string): number => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return x;
};

const program = new Command()
  .name('bench')
  .description("Benchmarks this library's WebGPU kernels and ResEmoteNet against TensorFlow.js (webgpu, wasm, cpu) and PyTorch")
  .option('--only <sections>', 'kernels, model, peers (comma-separated; default all)')
  .option('--suites <list>', 'model suites: full (width 1, 64x64), quarter (width 1/4, 48x48); default both')
  .option('--batch <list>', 'inference batch sizes of the full-width suite (default 1,16,64)', intList)
  .option('--peer-batch <list>', 'full-width inference batches at which tfjs-webgpu runs too (default 1)', intList)
  .option('--train-batch <n>', 'training batch size of the full-width suite (default 16)', posInt)
  .option('--no-wasm', 'peers: leave out the tfjs wasm backend')
  .option('--no-torch', 'peers: leave out PyTorch')
  .option('--torch-device <list>', "PyTorch devices, comma-separated: cpu, cuda (default cpu)")
  .option('--torch-threads <n>', "PyTorch CPU threads: a number or 'auto' (default: the fastest of 1, 2, 4, ... per configuration)")
  .option('--python <path>', 'the Python with torch (default: RESEMOTENET_PYTHON, /usr/bin/python3, python3)')
  .option('--torch-timeout <s>', 'seconds the PyTorch child may run (default 1800)', posInt)
  .option('--runs <n>', 'counted runs (default 5; kernels 7 within a time budget, at least 5)', posInt)
  .option('--warmup <n>', 'uncounted warm-up runs after the cold run (default 1)', nonNegInt)
  .option('--slow-runs <n>', 'counted runs of a model configuration whose cold run takes over 15 s (default 3)', posInt)
  .option('--quick', 'tiny sizes and 3 runs (under 2 minutes)')
  .option('--sizes <sizes>', "'full' (ResEmoteNet, batch 16) or 'tiny' (default: tiny with --quick)")
  .option('--json <path>', 'write the JSON here instead of bench/results/<date>-<adapter>.json and latest.json')
  .option('--readme', 'rewrite the results section of bench/README.md with this run')
  .parse();

const opts = program.opts<{
  only?: string;
  suites?: string;
  wasm: boolean;
  torch: boolean;
  torchDevice?: string;
  torchThreads?: string;
  python?: string;
  torchTimeout?: number;
  batch?: number[];
  peerBatch?: number[];
  trainBatch?: number;
  slowRuns?: number;
  runs?: number;
  warmup?: number;
  quick?: boolean;
  sizes?: string;
  json?: string;
  readme?: boolean;
}>();
if (opts.sizes && opts.sizes !== 'full' && opts.sizes !== 'tiny') program.error(`--sizes must be 'full' or 'tiny', got '${opts.sizes}'`);
if (opts.torchThreads && opts.torchThreads !== 'auto' && !/^[1-9]\d*$/.test(opts.torchThreads)) program.error(`--torch-threads must be a positive number or 'auto', got '${opts.torchThreads}'`);
const torchDevices = opts.torchDevice?.split(',').map((s) => s.trim()).filter(Boolean);
for (const d of torchDevices ?? []) if (!/^(cpu|cuda(:\d+)?)$/.test(d)) program.error(`--torch-device: expected cpu, cuda or cuda:N, got '${d}'`);

const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const report = await runBench({
  only: opts.only,
  suites: opts.suites,
  wasm: opts.wasm,
  torch: opts.torch,
  torchDevices,
  torchThreads: opts.torchThreads,
  python: opts.python,
  torchTimeoutS: opts.torchTimeout,
  batches: opts.batch,
  peerBatches: opts.peerBatch,
  trainBatch: opts.trainBatch,
  slowRuns: opts.slowRuns,
  runs: opts.runs,
  warmup: opts.warmup,
  quick: opts.quick,
  sizes: opts.sizes as Sizes | undefined,
  json: opts.json,
  command,
});
const text = formatReport(report);
console.log('\n' + text);
if (opts.readme) writeReadme(report, text);
// Dawn keeps the process alive while devices exist.
process.exit(0);

function writeReadme(r: BenchReport, text: string): void {
  const path = join(fileURLToPath(new URL('.', import.meta.url)), 'README.md');
  const start = '<!-- results:start -->';
  const end = '<!-- results:end -->';
  const block = `${start}\nLatest run on this machine: ${r.date.slice(0, 10)}, \`${r.command}\`, ${r.wallSeconds.toFixed(0)} s.\n\n\`\`\`text\n${text}\n\`\`\`\n${end}`;
  let md = readFileSync(path, 'utf8');
  const i = md.indexOf(start), j = md.indexOf(end);
  md = i >= 0 && j > i ? md.slice(0, i) + block + md.slice(j + end.length) : `${md.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, md);
  console.log(`updated ${path}`);
}
