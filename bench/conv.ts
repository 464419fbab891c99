/**
 * conv2d benchmark on the WebGPU backend: forward, input gradient and weight gradient.
 *
 *   XDG_RUNTIME_DIR=/tmp npx tsx bench/conv.ts [--all] [--runs 7] [--variant sg|tiled]
 *
 * Each case is timed as wall time around one call plus a readback (of a 4-element fence written
 * after the call: the queue runs in order), after one warm-up call (pipeline compilation, buffer
 * pool), median of --runs (default 7, at least 5) runs.
 * GFLOP/s = 2 * N * C_out * OH * OW * C_in/groups * KH * KW / time (the nominal count, padding
 * taps included, for all three ops). Two more columns help on a machine shared with other jobs,
 * where a software adapter's wall time is inflated: "cpu" = process CPU time / cores (includes
 * Node's event polling on the main thread) and "wrk" = CPU time of the non-main threads / cores
 * (Linux /proc; with lavapipe those threads run the kernels), the wall time an idle machine
 * would approach.
 * --all adds the other ResEmoteNet layer shapes (batch 16, input 3x64x64); --only <substr> keeps
 * the cases whose name contains it; --ops fwd,bwd-in,bwd-w picks ops; --splits n forces the
 * weight gradient's reduction splits (convTuning.splits).
 *
 * Floors (lavapipe, 2 cores): forward 16x128x16x16->256 3x3 p1 >= 12 GFLOP/s, forward
 * 16x1024x2x2->2048 3x3 s2 p1 >= 8 GFLOP/s, both gradients within 3x of the forward time.
 * (TensorFlow.js' WebGPU backend on the same adapter: 4.4 and 0.2 GFLOP/s forward.)
 *
 * Measured (llvmpipe, Mesa 25.0.7, LLVM 15.0.6, 256-bit lanes, 2 cores, sg variant, machine
 * shared with other jobs at load average ~9): see the table in src/kernels/webgpu/conv.ts.
 * Forward: 6.4 / 10.8 GFLOP/s wall, 28.7 / 52.9 GFLOP/s by worker-thread time; input gradient
 * 1.05x / 2.7x and weight gradient 1.1x / 3.25x the forward time (worker-thread time).
 */
import { initWebGPU, webgpuRuntime } from '../src/index.js';
import { getBackend } from '../src/tensor/device.js';
import type { Conv2dParams, Storage } from '../src/kernels/backend.js';
import { convTuning, convVariant } from '../src/kernels/webgpu/conv.js';
import { cpus } from 'node:os';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const opt = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : def;
};
const runs = Math.max(5, Number(opt('--runs', '7')));
const v = opt('--variant', 'auto');
if (v === 'sg' || v === 'tiled') convTuning.variant = v;
convTuning.splits = Number(opt('--splits', '0'));
const only = opt('--only', '');
const ops = opt('--ops', 'fwd,bwd-in,bwd-w').split(',');

function conv(N: number, C_in: number, H: number, C_out: number, k: number, s: number, pad: number): Conv2dParams {
  const OH = Math.floor((H + 2 * pad - k) / s) + 1;
  return { N, C_in, H, W: H, C_out, KH: k, KW: k, OH, OW: OH, strideH: s, strideW: s, padH: pad, padW: pad, dilationH: 1, dilationW: 1, groups: 1 };
}

const cases: [string, Conv2dParams][] = [
  ['16x128x16x16 -> 256, 3x3 p1', conv(16, 128, 16, 256, 3, 1, 1)],
  ['16x1024x2x2 -> 2048, 3x3 s2 p1', conv(16, 1024, 2, 2048, 3, 2, 1)],
];
if (flag('--all')) {
  cases.push(
    ['16x3x64x64 -> 64, 3x3 p1', conv(16, 3, 64, 64, 3, 1, 1)],
    ['16x64x32x32 -> 128, 3x3 p1', conv(16, 64, 32, 128, 3, 1, 1)],
    ['16x256x8x8 -> 512, 3x3 s2 p1', conv(16, 256, 8, 512, 3, 2, 1)],
    ['16x512x4x4 -> 512, 3x3 p1', conv(16, 512, 4, 512, 3, 1, 1)],
    ['16x256x8x8 -> 512, 1x1 s2', conv(16, 256, 8, 512, 1, 2, 0)],
    ['16x2048x1x1 -> 2048, 3x3 p1', conv(16, 2048, 1, 2048, 3, 1, 1)],
    ['16x1024x2x2 -> 1024, 3x3 p1', conv(16, 1024, 2, 1024, 3, 1, 1)],
    ['16x512x4x4 -> 1024, 3x3 s2 p1', conv(16, 512, 4, 1024, 3, 2, 1)],
  );
}
if (only) for (let i = cases.length - 1; i >= 0; i--) if (!cases[i]![0].includes(only)) cases.splice(i, 1);

const report = await initWebGPU();
const gpu = getBackend('webgpu');
const rt = webgpuRuntime();
const cores = cpus().length;
console.log(`adapter: ${report.description || report.device} (${report.isSoftware ? 'software' : 'hardware'}), variant ${convVariant(rt)}, ${cores} cores, ${runs} runs`);

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

// A 4-element storage read back after each call: the readback waits for all queued work (one
// queue, in order), without timing the transfer of a large output (the 2048x2048x3x3 weight
// gradient is 151 MB) on top of the kernel.
const fence = gpu.alloc('float32', 4);

/**
 * CPU time (ms) of every thread of this process except the main one, from /proc (Linux): with
 * lavapipe that is the rasterizer's worker threads, i.e. the kernels' own work, which another
 * job on the machine does not inflate the way it inflates wall time. -1 when unavailable.
 */
function workerCpuMs(): number {
  if (!existsSync('/proc/self/task')) return -1;
  let ticks = 0;
  for (const t of readdirSync('/proc/self/task')) {
    if (Number(t) === process.pid) continue;
    try {
      const st = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // thread exited
    }
  }
  return ticks * 10; // USER_HZ = 100
}

async function time(fn: () => void, out: Storage): Promise<{ wall: number; cpu: number; workers: number }> {
  fn();
  await gpu.read(out); // warm-up: compile pipelines, fill the buffer pool
  gpu.fill(fence, 0);
  const walls: number[] = [];
  const cpuT: number[] = [];
  const w0 = workerCpuMs();
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    gpu.fill(fence, r);
    await gpu.read(fence);
    walls.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpuT.push((c.user + c.system) / 1000 / cores);
  }
  const workers = w0 < 0 ? -1 : (workerCpuMs() - w0) / runs / cores;
  const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  return { wall: med(walls), cpu: med(cpuT), workers };
}

const pad = (s: string, n: number) => s.padEnd(n);
console.log(`${pad('shape', 32)} ${pad('op', 8)} ${pad('ms', 8)} ${pad('GFLOP/s', 8)} ${pad('cpu ms', 8)} ${pad('cpu GF/s', 9)} ${pad('wrk ms', 8)} ${pad('wrk GF/s', 9)} x fwd (wall, wrk)`);
for (const [name, p] of cases) {
  const flops = 2 * p.N * p.C_out * p.OH * p.OW * (p.C_in / p.groups) * p.KH * p.KW;
  const x = gpu.upload(rand(p.N * p.C_in * p.H * p.W), 'float32');
  const w = gpu.upload(rand((p.C_out * p.C_in * p.KH * p.KW) / p.groups).map((v) => v * 0.05), 'float32');
  const b = gpu.upload(rand(p.C_out), 'float32');
  const gy = gpu.upload(rand(p.N * p.C_out * p.OH * p.OW), 'float32');
  const out = gpu.alloc('float32', p.N * p.C_out * p.OH * p.OW);
  const gx = gpu.alloc('float32', p.N * p.C_in * p.H * p.W);
  const gw = gpu.alloc('float32', (p.C_out * p.C_in * p.KH * p.KW) / p.groups);
  const none = { wall: NaN, cpu: NaN, workers: NaN };
  const fwd = ops.includes('fwd') ? await time(() => gpu.conv2d(x, w, b, out, p), out) : none;
  const bi = ops.includes('bwd-in') ? await time(() => gpu.conv2dBackwardInput(gy, w, gx, p), gx) : none;
  const bw = ops.includes('bwd-w') ? await time(() => gpu.conv2dBackwardWeight(gy, x, gw, p), gw) : none;
  for (const [op, t] of [['forward', fwd], ['bwd-in', bi], ['bwd-w', bw]] as const) {
    if (Number.isNaN(t.wall)) continue;
    console.log(
      `${pad(name, 32)} ${pad(op, 8)} ${pad(t.wall.toFixed(1), 8)} ${pad((flops / t.wall / 1e6).toFixed(2), 8)} ${pad(t.cpu.toFixed(1), 8)} ${pad((flops / t.cpu / 1e6).toFixed(2), 9)} ` +
        `${pad(t.workers.toFixed(1), 8)} ${pad(t.workers > 0 ? (flops / t.workers / 1e6).toFixed(2) : '-', 9)} ${(t.wall / fwd.wall).toFixed(2)}, ${t.workers > 0 ? (t.workers / fwd.workers).toFixed(2) : '-'}`,
    );
  }
  for (const s of [x, w, b, gy, out, gx, gw]) gpu.free(s);
}
process.exit(0);
