/**
 * Matmul benchmark for the WebGPU backend: GFLOP/s of both kernel families (and the auto choice)
 * on a few shapes, timed as wall time around dispatch + readback after a warm-up run (which
 * also compiles the pipeline).
 *
 *   npx tsx bench/matmul.ts [--reps 5] [--variants rb-sg,rb,tiled] [--shapes 1024x1024x1024,16x2048x1024]
 *                           [--wait sync|read]
 *
 * --wait sync (default) stops the clock when the GPU reports the work done (queue
 * onSubmittedWorkDone, through the runtime's sync()); --wait read also copies the whole result
 * back to the host, which adds the staging copy and map of M*N floats to every run.
 *
 * Shapes are MxKxN (optionally BxMxKxN, and a trailing T for a transposed B view as in
 * x @ W^T). Besides wall-clock GFLOP/s (best and median), on Linux it prints "cpu GFLOP/s":
 * FLOPs over the CPU time consumed by the process's threads other than the main one (on a
 * software adapter, lavapipe's workers) times the number of cores, an estimate of the rate on an
 * otherwise idle machine that stays meaningful when other jobs share the CPUs (averaged over all
 * timed runs; each shape runs at least --reps times and 0.5 s).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { getBackend, initWebGPU, webgpuRuntime } from '../src/index.js';
import { autoMatmulVariant, setMatmulVariant, type MatmulVariant } from '../src/kernels/webgpu/matmul.js';
import type { Layout } from '../src/kernels/backend.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

/** CPU milliseconds used by all threads but the main one (Linux; NaN elsewhere). */
function workerCpuMs(): number {
  try {
    let ticks = 0;
    for (const tid of readdirSync('/proc/self/task')) {
      if (Number(tid) === process.pid) continue;
      const st = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    }
    return ticks * 10; // USER_HZ = 100
  } catch {
    return NaN;
  }
}

const report = await initWebGPU();
const rt = webgpuRuntime();
const gpu = getBackend('webgpu');
const cores = availableParallelism();
const reps = Number(arg('reps', '5'));
const auto = autoMatmulVariant(rt);
const variants = arg('variants', 'rb-sg,rb,tiled').split(',') as MatmulVariant[];
const shapes = arg('shapes', '1024x1024x1024,1024x1024x1024T,16x2048x1024T,16x1024x512T,16x4096x4096,16x8192x2048T,64x64x64x64,512x512x512').split(',');

console.log(`adapter: ${report.description} (${report.vendor} ${report.architecture}), software=${report.isSoftware}, ${cores} cores`);
console.log(`auto variant on this adapter: ${auto}; reps ${reps}`);
console.log('variant  shape              best GF/s  median GF/s  cpu GF/s   first run (compile) ms');

for (const shape of shapes) {
  const tb = shape.endsWith('T');
  const dims = shape.replace(/T$/, '').split('x').map(Number);
  const [B, M, K, N] = dims.length === 4 ? (dims as [number, number, number, number]) : ([1, ...dims] as [number, number, number, number]);
  const flops = 2 * B * M * N * K;
  const a = gpu.upload(Float32Array.from({ length: B * M * K }, () => Math.random() - 0.5), 'float32');
  const b = gpu.upload(Float32Array.from({ length: B * K * N }, () => Math.random() - 0.5), 'float32');
  const out = gpu.alloc('float32', B * M * N);
  const al: Layout = { shape: [B, M, K], strides: [M * K, K, 1], offset: 0 };
  const bl: Layout = tb ? { shape: [B, K, N], strides: [K * N, 1, K], offset: 0 } : { shape: [B, K, N], strides: [K * N, N, 1], offset: 0 };
  for (const v of variants) {
    if (v === 'rb-sg' && !report.features.includes('subgroups')) continue;
    setMatmulVariant(v);
    const t0 = performance.now();
    gpu.matmul(a, al, b, bl, out, B, M, N, K);
    await gpu.read(out);
    const first = performance.now() - t0;
    const times: number[] = [];
    // Repeat until at least reps runs and 0.5 s of wall time, so the CPU-time ticks (10 ms) add up.
    const c0 = workerCpuMs();
    const start = performance.now();
    while (times.length < reps || performance.now() - start < 500) {
      const s = performance.now();
      gpu.matmul(a, al, b, bl, out, B, M, N, K);
      if (arg('wait', 'sync') === 'read') await gpu.read(out);
      else await gpu.sync();
      times.push(performance.now() - s);
    }
    const cpuMs = workerCpuMs() - c0;
    const runs = times.length;
    times.sort((x, y) => x - y);
    const gf = (ms: number) => (flops / ms / 1e6).toFixed(2);
    const cpu = Number.isFinite(cpuMs) && cpuMs > 0 ? (((flops * runs) / cpuMs / 1e6) * cores).toFixed(2) : 'n/a';
    const name = `${v}${v === auto ? '*' : ''}`;
    console.log(`${name.padEnd(8)} ${shape.padEnd(18)} ${gf(times[0]!).padStart(9)}  ${gf(times[Math.floor(times.length / 2)]!).padStart(11)}  ${cpu.padStart(8)}   ${first.toFixed(0)}`);
  }
  gpu.free(a);
  gpu.free(b);
  gpu.free(out);
}
setMatmulVariant('auto');
console.log('(* = the variant auto picks; shapes are [B x]M x K x N, T = transposed B view)');
