/**
 * Elementwise / optimizer micro-benchmark on the WebGPU backend (lavapipe or a real GPU).
 *
 *   XDG_RUNTIME_DIR=/tmp npx tsx bench/elementwise.ts [--n 16777216] [--runs 5] [--warmup 1] [--only add,relu]
 *
 * Each row: one cold call, `warmup` uncounted calls, then `runs` counted samples of
 * (record the call, then wait for a 1-element readback that depends on the queue: wall time and
 * process CPU time, which includes lavapipe's worker threads). Bytes are the minimal traffic
 * (read every input once, write every output once). Reports the median GB/s.
 */
import { getBackend, initWebGPU } from '../src/index.js';
import type { Backend, Layout, Storage } from '../src/kernels/backend.js';
import type { GpuRuntime, GpuStorage } from '../src/kernels/webgpu/runtime.js';
import { randomArray, stats } from './harness.js';

const args = process.argv.slice(2);
const arg = (k: string, d: string): string => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : d;
};
const N = Number(arg('n', String(16 * 1024 * 1024)));
const RUNS = Number(arg('runs', '5'));
const WARMUP = Number(arg('warmup', '1'));
const ONLY = arg('only', '')
  .split(',')
  .filter((s) => s);

const contig = (shape: number[], offset = 0): Layout => {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return { shape, strides, offset };
};

interface Row {
  name: string;
  bytes: number;
  setup: (be: Backend, rt: GpuRuntime, keep: (s: Storage) => Storage) => () => void;
}

const up = (be: Backend, n: number, seed: number) => be.upload(randomArray(n, seed), 'float32');
const sgdP = { size: N, lr: 1e-3, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, firstStep: false };

// Per-channel broadcast shape (N, C, H, W) with C = 64: N*C*H*W = N_total.
const C = 64, HW = 64 * 64;
const NB = Math.max(1, Math.floor(N / (C * HW)));

const rows: Row[] = [
  {
    name: 'copyBufferToBuffer (reference)',
    bytes: 8 * N,
    setup: (be, rt, k) => {
      const a = k(up(be, N, 1)) as GpuStorage, c = k(be.alloc('float32', N)) as GpuStorage;
      return () => rt.copyBuffer(a.buffer, 0, c.buffer, 0, 4 * N);
    },
  },
  {
    name: 'copy (be.copy, contiguous)',
    bytes: 8 * N,
    setup: (be, _rt, k) => {
      const a = k(up(be, N, 1)), c = k(be.alloc('float32', N));
      return () => be.copy(a, contig([N]), c, contig([N]));
    },
  },
  {
    name: 'copy from a view at offset 1',
    bytes: 8 * (N - 4),
    setup: (be, _rt, k) => {
      const a = k(up(be, N, 1)), c = k(be.alloc('float32', N));
      return () => be.copy(a, contig([N - 4], 1), c, contig([N - 4]));
    },
  },
  {
    name: 'add',
    bytes: 12 * N,
    setup: (be, _rt, k) => {
      const a = k(up(be, N, 1)), b = k(up(be, N, 2)), c = k(be.alloc('float32', N));
      return () => be.binary('add', a, contig([N]), b, contig([N]), c);
    },
  },
  {
    name: 'relu',
    bytes: 8 * N,
    setup: (be, _rt, k) => {
      const a = k(up(be, N, 1)), c = k(be.alloc('float32', N));
      return () => be.unary('relu', a, contig([N]), c);
    },
  },
  {
    name: 'mul_scalar',
    bytes: 8 * N,
    setup: (be, _rt, k) => {
      const a = k(up(be, N, 1)), c = k(be.alloc('float32', N));
      return () => be.unary('mul_scalar', a, contig([N]), c, 0.5);
    },
  },
  {
    name: 'mul by a 0-d tensor (stride-0 b)',
    bytes: 8 * N,
    setup: (be, _rt, k) => {
      const a = k(up(be, N, 1)), b = k(up(be, 1, 2)), c = k(be.alloc('float32', N));
      return () => be.binary('mul', a, contig([N]), b, { shape: [N], strides: [0], offset: 0 }, c);
    },
  },
  {
    name: `add per-channel (${NB},${C},64,64)+(1,${C},1,1)`,
    bytes: 8 * NB * C * HW,
    setup: (be, _rt, k) => {
      const n = NB * C * HW;
      const a = k(up(be, n, 1)), b = k(up(be, C, 2)), c = k(be.alloc('float32', n));
      const shape = [NB, C, 64, 64];
      return () => be.binary('add', a, contig(shape), b, { shape, strides: [0, 1, 0, 0], offset: 0 }, c);
    },
  },
  {
    name: 'sgd momentum step',
    bytes: 20 * N,
    setup: (be, _rt, k) => {
      const p = k(up(be, N, 1)), g = k(up(be, N, 2)), m = k(up(be, N, 3));
      return () => be.sgdUpdate(p, g, m, sgdP);
    },
  },
  {
    name: 'adam step',
    bytes: 28 * N,
    setup: (be, _rt, k) => {
      const p = k(up(be, N, 1)), g = k(up(be, N, 2)), m = k(up(be, N, 3)), v = k(be.alloc('float32', N));
      be.fill(v, 0.01);
      return () =>
        be.adamUpdate(p, g, m, v, null, { size: N, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, amsgrad: false, maximize: false, step: 3 });
    },
  },
];

async function main(): Promise<void> {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const rep = await initWebGPU();
  const be = getBackend('webgpu');
  const rt = (be as unknown as { rt: GpuRuntime }).rt;
  console.log(`adapter: ${rep.description || rep.device} (${rep.vendor}); n = ${N}; runs = ${RUNS}, warmup = ${WARMUP}`);
  console.log(`${'kernel'.padEnd(42)} ${'median ms'.padStart(10)} ${'min ms'.padStart(9)} ${'GB/s'.padStart(7)} ${'cpu ms'.padStart(9)}`);
  const probe = be.alloc('float32', 1);
  const wait = async () => {
    // A readback of one element: queued after all recorded work.
    await be.read(probe);
  };
  for (const r of rows) {
    if (ONLY.length && !ONLY.some((o) => r.name.includes(o))) continue;
    const arena: Storage[] = [];
    const call = r.setup(be, rt, (s) => (arena.push(s), s));
    await be.sync();
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < 1 + WARMUP + RUNS; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      call();
      await wait();
      const t = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (i > WARMUP) {
        wall.push(t);
        cpu.push((c.user + c.system) / 1000);
      }
    }
    await be.sync();
    const s = stats(wall), sc = stats(cpu);
    const gbps = r.bytes / (s.median / 1000) / 1e9;
    console.log(`${r.name.padEnd(42)} ${s.median.toFixed(1).padStart(10)} ${s.min.toFixed(1).padStart(9)} ${gbps.toFixed(2).padStart(7)} ${sc.median.toFixed(0).padStart(9)}`);
    for (const st of arena) be.free(st);
  }
  be.free(probe);
}

await main();
