/**
 * WebGPU reductions (sum/max/min/argmax/argmin over the last axis) cross-checked against the cpu
 * reference backend, primitive by primitive and through tensor ops.
 * Tolerances: max/min/argmax/argmin and every int32 result must be exact; float32 sums are tree
 * reductions in f32 against the reference's f64 loop, so |gpu - cpu| <= 1e-6 * sum(|x|) + 1e-6
 * (a few f32 rounding steps relative to the magnitude of the summed terms).
 * Sums run twice: through the workgroup-memory tree kernel and through the subgroup kernel
 * (software adapters' path, shaders/reduce_sg.wgsl) where the adapter has fixed-size subgroups.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBackend, tensor, randn, type TypedArray } from '../../src/index.js';
import type { ReduceOp } from '../../src/kernels/backend.js';
import { webgpuRuntime } from '../../src/index.js';
import { gpuAvailable } from '../helpers/webgpu.js';
import { sgSize, sgTuning } from '../../src/kernels/webgpu/subgroups.js';

const hasGpu = await gpuAvailable();

/** Deterministic pseudo-random numbers (LCG) so failures reproduce. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function randomData(n: number, seed: number, dtype: 'float32' | 'int32', scale = 10): TypedArray {
  const r = lcg(seed);
  // Plain loops: Float32Array.from with a callback is slow for millions of elements.
  const a = dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
  if (dtype === 'int32') for (let i = 0; i < n; i++) a[i] = Math.floor((r() * 2 - 1) * scale);
  else for (let i = 0; i < n; i++) a[i] = (r() * 2 - 1) * scale;
  return a;
}

/** Runs one reduction on both backends; returns [gpu, cpu] results. */
async function both(op: ReduceOp, data: TypedArray, dtype: 'float32' | 'int32', outer: number, inner: number): Promise<[TypedArray, TypedArray]> {
  const cpu = getBackend('cpu'), gpu = getBackend('webgpu');
  const odt = op === 'argmax' || op === 'argmin' ? 'int32' : dtype;
  const cx = cpu.upload(data, dtype), co = cpu.alloc(odt, outer);
  cpu.reduce(op, cx, outer, inner, co);
  const gx = gpu.upload(data, dtype), go = gpu.alloc(odt, outer);
  gpu.reduce(op, gx, outer, inner, go);
  const res = await gpu.read(go);
  gpu.free(gx);
  gpu.free(go);
  return [res, await cpu.read(co)];
}

function expectClose(op: ReduceOp, g: TypedArray, c: TypedArray, data: TypedArray, inner: number, dtype: string): void {
  expect(g.length).toBe(c.length);
  for (let r = 0; r < c.length; r++) {
    const want = c[r]!, got = g[r]!;
    if (got === want) continue;
    if (Number.isNaN(want)) {
      expect(Number.isNaN(got), `${op} row ${r}: expected NaN, got ${got}`).toBe(true);
    } else if (op === 'sum' && dtype === 'float32') {
      let mag = 0;
      for (let i = 0; i < inner; i++) mag += Math.abs(data[r * inner + i]!);
      expect(Math.abs(got - want), `${op} row ${r}: ${got} vs ${want}`).toBeLessThanOrEqual(1e-6 * mag + 1e-6);
    } else {
      expect(got, `${op} row ${r} (inner ${inner})`).toBe(want);
    }
  }
}

const OPS: ReduceOp[] = ['sum', 'max', 'min', 'argmax', 'argmin'];

const paths: ('tree' | 'sg')[] = hasGpu && sgSize(webgpuRuntime()) ? ['tree', 'sg'] : ['tree'];

describe.runIf(hasGpu).each(paths)('webgpu reduce (%s sums)', (path) => {
  beforeAll(() => {
    sgTuning.reduce = path === 'sg';
  });
  afterAll(() => {
    sgTuning.reduce = 'auto';
  });

  it('float32 and int32, many shapes (short rows, long rows, multi-pass rows)', async () => {
    const shapes: [number, number][] = [
      [1, 1],
      [1, 2],
      [3, 1],
      [1, 7],
      [13, 5],
      [1000, 3],
      [37, 100],
      [9, 1000],
      [2, 4096],
      [3, 4097],
      [2, 70000],
    ];
    let seed = 1;
    for (const [outer, inner] of shapes) {
      for (const dtype of ['float32', 'int32'] as const) {
        const data = randomData(outer * inner, seed++, dtype, dtype === 'int32' ? 1000 : 10);
        for (const op of OPS) {
          const [g, c] = await both(op, data, dtype, outer, inner);
          expectClose(op, g, c, data, inner, dtype);
        }
      }
    }
  });

  it('NaN propagates in max/min/argmax/argmin; ties keep the first index; -inf rows', async () => {
    const inner = 9000; // two passes: ties and NaNs fall in different segments
    const rows = 6;
    const d = new Float32Array(rows * inner).fill(0.5);
    d[0 * inner + 8000] = 7; // row 0: max 7 at 8000 and 8500 (tie in another segment) -> 8000
    d[0 * inner + 8500] = 7;
    d[0 * inner + 10] = -3; // min -3 at 10 and 4200 -> 10
    d[0 * inner + 4200] = -3;
    d[1 * inner + 5000] = NaN; // row 1: first NaN at 5000 wins over a later max and an earlier NaN-free min
    d[1 * inner + 7000] = NaN;
    d[1 * inner + 8999] = 100;
    d[2 * inner + 0] = NaN; // row 2: NaN first
    d.fill(-Infinity, 3 * inner, 4 * inner); // row 3: all -inf -> max -inf, argmax 0
    d.fill(2, 4 * inner, 5 * inner); // row 4: all equal -> index 0
    d[5 * inner + 8999] = Infinity; // row 5: +inf at the very end
    for (const op of OPS) {
      const [g, c] = await both(op, d, 'float32', rows, inner);
      expectClose(op, g, c, d, inner, 'float32');
    }
    const [am] = await both('argmax', d, 'float32', rows, inner);
    expect(Array.from(am)).toEqual([8000, 5000, 0, 0, 0, 8999]);
    const [an] = await both('argmin', d, 'float32', rows, inner);
    expect(Array.from(an)).toEqual([10, 5000, 0, 0, 0, 0]);
    // Short rows (many rows per workgroup).
    const s = Float32Array.from([1, 3, 3, 2, NaN, 1, 5, NaN, 5, -1, -1, -1]);
    for (const op of OPS) {
      const [g, c] = await both(op, s, 'float32', 4, 3);
      expectClose(op, g, c, s, 3, 'float32');
    }
  });

  it('outer = 1 with inner > 1M (two passes) and int32 extremes', async () => {
    const inner = (1 << 20) * 3 + 17;
    const data = randomData(inner, 99, 'float32', 1);
    (data as Float32Array)[2_500_001] = 5; // argmax far into the row
    (data as Float32Array)[3_000_000] = 5;
    for (const op of OPS) {
      const [g, c] = await both(op, data, 'float32', 1, inner);
      expectClose(op, g, c, data, inner, 'float32');
    }
    const ints = Int32Array.from([2147483647, -2147483648, 5, 2147483647, -2147483648]);
    for (const op of ['max', 'min', 'argmax', 'argmin'] as const) {
      const [g, c] = await both(op, ints, 'int32', 1, 5);
      expect(Array.from(g)).toEqual(Array.from(c));
    }
  });

  it('a dispatch of more than 65,535 workgroups (16.8M rows of 1)', async () => {
    const outer = 65540 * 256; // 256 rows per workgroup -> 65,540 workgroups
    const data = randomData(outer, 5, 'float32', 1);
    const [g, c] = await both('sum', data, 'float32', outer, 1);
    let mismatches = 0;
    for (let i = 0; i < outer; i++) if (g[i] !== c[i]) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('inputs above the storage-binding limit are reduced in windows', async () => {
    // Lower the binding limit for this test so that the windowed path runs on small data.
    const lim = webgpuRuntime().limits as { maxStorageBufferBindingSize: number };
    const saved = lim.maxStorageBufferBindingSize;
    lim.maxStorageBufferBindingSize = 64 * 1024; // 16384 elements
    try {
      for (const [outer, inner] of [
        [1, 100_000],
        [300, 333],
        [50_000, 1],
      ] as [number, number][]) {
        const data = randomData(outer * inner, outer + inner, 'float32');
        for (const op of OPS) {
          const [g, c] = await both(op, data, 'float32', outer, inner);
          expectClose(op, g, c, data, inner, 'float32');
        }
      }
    } finally {
      lim.maxStorageBufferBindingSize = saved;
    }
  });

  it('through tensor ops', async () => {
    const x = randn([4, 5, 6]);
    const g = x.to('webgpu');
    const pairs: [() => ReturnType<typeof x.sum>, () => ReturnType<typeof x.sum>, number][] = [
      [() => x.sum(), () => g.sum(), 1e-5],
      [() => x.sum(1), () => g.sum(1), 1e-5],
      [() => x.max(2), () => g.max(2), 0],
      [() => x.min(0), () => g.min(0), 0],
      [() => x.argmax(1), () => g.argmax(1), 0],
      [() => x.argmin(-1), () => g.argmin(-1), 0],
      [() => x.mean([0, 2]), () => g.mean([0, 2]), 1e-6],
    ];
    for (const [fc, fg, tol] of pairs) {
      const a = fc().dataSync();
      const b = await fg().data();
      expect(b.length).toBe(a.length);
      for (let i = 0; i < a.length; i++) expect(Math.abs(b[i]! - a[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(a[i]!)));
    }
    const i = tensor([[3, 9, 9], [4, 1, 4]], { dtype: 'int32' }).to('webgpu');
    expect(Array.from(await i.sum(1).data())).toEqual([21, 9]);
    expect(Array.from(await i.argmax(1).data())).toEqual([1, 0]);
  });
});

describe.runIf(hasGpu)('webgpu reduce path choice', () => {
  it('software adapters with fixed-size subgroups sum through the sg kernel (so the sg cases above ran)', () => {
    const rt = webgpuRuntime();
    if (rt.report.isSoftware && process.env.CI === 'true') expect(sgSize(rt), 'lavapipe in CI is expected to offer fixed 8-lane subgroups').toBeGreaterThan(0);
    expect(paths.includes('sg')).toBe(sgSize(rt) > 0);
  });
});

describe.runIf(hasGpu)('sum over the leading dim of a contiguous tensor (a row of ones times the matrix)', () => {
  it('equals the cpu sums: matrices, bias-gradient shapes, offset views; int32 keeps the row reduction', async () => {
    const cases = [randn([64, 512]), randn([3, 5]), randn([16, 256, 1, 1]), randn([7, 4, 3]), randn([2, 1])];
    for (const c of cases) {
      const want = c.sum(0).dataSync();
      const got = await c.to('webgpu').sum(0).data();
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `${c.shape} element ${i}`).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(want[i]!)));
    }
    // a bias gradient: sum over (N, H, W) with H = W = 1, and a contiguous view starting past element 0
    const g = randn([64, 128, 1, 1]);
    const wantB = g.sum([0, 2, 3]).dataSync();
    const gotB = await g.to('webgpu').sum([0, 2, 3]).data();
    for (let i = 0; i < wantB.length; i++) expect(Math.abs(gotB[i]! - wantB[i]!)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(wantB[i]!)));
    const big = randn([10, 6]);
    const view = big.to('webgpu').narrow(0, 3, 5);
    const wantV = big.narrow(0, 3, 5).sum(0).dataSync();
    const gotV = await view.sum(0).data();
    for (let i = 0; i < wantV.length; i++) expect(Math.abs(gotV[i]! - wantV[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(wantV[i]!)));
    const ints = tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'int32' }).to('webgpu');
    expect(Array.from(await ints.sum(0).data())).toEqual([5, 7, 9]);
  });
});
