/**
 * WebGPU batched matmul cross-checked against the cpu reference, for both kernel families
 * (register-blocked `rb` / `rb-sg` and shared-memory `tiled`) on strided layouts: contiguous,
 * transposed views, broadcast batches, padded (unaligned) views and aligned padded views.
 * Tolerance: |gpu - cpu| <= 1e-5 * (|A| @ |B|) + 1e-6 elementwise, i.e. relative to the
 * magnitude of the summed products (f32 accumulation of K terms vs the reference's f64).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { getBackend, randn, webgpuRuntime, type TypedArray } from '../../src/index.js';
import type { Layout } from '../../src/kernels/backend.js';
import { SMALL, setMatmulVariant, type MatmulVariant } from '../../src/kernels/webgpu/matmul.js';
import { gpuAvailable } from '../helpers/webgpu.js';

const hasGpu = await gpuAvailable();

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** How an operand (batch, rows, cols) is laid out in its storage. */
type Mode = 'row' | 'col' | 'bcast' | 'pad' | 'pad4';

function layoutOf(mode: Mode, B: number, R: number, Cc: number): { layout: Layout; size: number } {
  switch (mode) {
    case 'row':
      return { layout: { shape: [B, R, Cc], strides: [R * Cc, Cc, 1], offset: 0 }, size: B * R * Cc };
    case 'col': // a transposed view of a contiguous (B, Cc, R)
      return { layout: { shape: [B, R, Cc], strides: [R * Cc, 1, R], offset: 0 }, size: B * R * Cc };
    case 'bcast': // one matrix shared by every batch item
      return { layout: { shape: [B, R, Cc], strides: [0, Cc, 1], offset: 0 }, size: R * Cc };
    case 'pad': {
      // rows padded by 3 elements, offset 5: nothing aligned to vec4
      const rs = Cc + 3, bs = R * rs + 1;
      return { layout: { shape: [B, R, Cc], strides: [bs, rs, 1], offset: 5 }, size: 5 + B * bs };
    }
    case 'pad4': {
      // rows padded to a multiple of 4 plus 4, offset 8: vec4-aligned with a partial last vec4
      const rs = Math.ceil(Cc / 4) * 4 + 4, bs = R * rs;
      return { layout: { shape: [B, R, Cc], strides: [bs, rs, 1], offset: 8 }, size: 8 + B * bs };
    }
  }
}

async function check(B: number, M: number, N: number, K: number, ma: Mode, mb: Mode, seed: number): Promise<void> {
  const cpu = getBackend('cpu'), gpu = getBackend('webgpu');
  const A = layoutOf(ma, B, M, K), Bl = layoutOf(mb, B, K, N);
  const r = lcg(seed);
  const da = Float32Array.from({ length: A.size }, () => r() * 2 - 1);
  const db = Float32Array.from({ length: Bl.size }, () => r() * 2 - 1);
  const ref = cpu.alloc('float32', B * M * N);
  cpu.matmul(cpu.upload(da, 'float32'), A.layout, cpu.upload(db, 'float32'), Bl.layout, ref, B, M, N, K);
  const mag = cpu.alloc('float32', B * M * N);
  cpu.matmul(cpu.upload(da.map(Math.abs), 'float32'), A.layout, cpu.upload(db.map(Math.abs), 'float32'), Bl.layout, mag, B, M, N, K);
  const ga = gpu.upload(da, 'float32'), gb = gpu.upload(db, 'float32'), go = gpu.alloc('float32', B * M * N);
  gpu.matmul(ga, A.layout, gb, Bl.layout, go, B, M, N, K);
  const got = await gpu.read(go);
  gpu.free(ga);
  gpu.free(gb);
  gpu.free(go);
  const want = (await cpu.read(ref)) as TypedArray, m = (await cpu.read(mag)) as TypedArray;
  let bad = -1;
  for (let i = 0; i < want.length && bad < 0; i++) if (!(Math.abs(got[i]! - want[i]!) <= 1e-5 * m[i]! + 1e-6)) bad = i;
  expect(bad, `B=${B} M=${M} N=${N} K=${K} A:${ma} B:${mb}: element ${bad} is ${got[bad]}, expected ${want[bad]}`).toBe(-1);
}

// Small problems (<= 2^20 multiply-adds) all run on one generic pipeline; larger ones on
// pipelines specialized by layout (vec4 or scalar loads) and rows per block, tested below.
const SHAPES: [number, number, number, number][] = [
  // B, M, N, K
  [1, 1, 1, 1],
  [1, 1, 9, 6], // M = 1
  [2, 5, 1, 7], // N = 1
  [3, 4, 6, 1], // K = 1
  [1, 17, 33, 9],
  [2, 16, 40, 64],
  [1, 37, 70, 130],
  [4, 7, 35, 18], // M <= 8: 8-row blocks
];

describe.runIf(hasGpu)('webgpu matmul', () => {
  afterEach(() => setMatmulVariant('auto'));

  it('auto variant, small problems: all layouts, odd and edge shapes', async () => {
    let seed = 1;
    const modes: [Mode, Mode][] = [
      ['row', 'row'],
      ['row', 'col'],
      ['col', 'row'],
      ['col', 'col'],
      ['pad', 'pad'],
      ['pad4', 'pad4'],
      ['bcast', 'row'],
      ['row', 'bcast'],
    ];
    for (const [B, M, N, K] of SHAPES) for (const [ma, mb] of modes) await check(B, M, N, K, ma, mb, seed++);
  });

  // Each specialization compiles for seconds on lavapipe (cached on disk by Mesa afterwards), so
  // this covers each load path once rather than every combination.
  it('auto variant, specialized pipelines: vec4 and scalar loads, partial k slices, 8 and 16 rows', async () => {
    expect(37 * 70 * 452).toBeGreaterThan(SMALL);
    const cases: [number, number, number, number, Mode, Mode][] = [
      [1, 37, 70, 452, 'row', 'row'], // A vec4 along k, B vec4 along n
      [1, 37, 70, 452, 'row', 'col'], // B transposed: vec4 along k
      [1, 37, 70, 452, 'col', 'row'], // A transposed: scalar loads
      [3, 37, 70, 452, 'bcast', 'col'],
      [2, 21, 45, 601, 'pad4', 'pad4'], // aligned views, K % 4 = 1: masked last slice
      [2, 21, 45, 601, 'pad', 'pad'],
      [2, 5, 300, 800, 'row', 'col'], // M <= 8: 8-row blocks
      [1, 7, 1, 200_000, 'row', 'row'], // N = 1, long K
    ];
    let seed = 500;
    for (const [B, M, N, K, ma, mb] of cases) await check(B, M, N, K, ma, mb, seed++);
  });

  for (const v of ['rb', 'tiled', 'rb-sg'] as MatmulVariant[]) {
    it(`forced variant ${v}`, async () => {
      if (v === 'rb-sg' && !webgpuRuntime().report.features.includes('subgroups')) return;
      setMatmulVariant(v);
      let seed = 100;
      for (const [B, M, N, K] of [[1, 2, 1, 4], [2, 5, 1, 8], [1, 70, 67, 36], [3, 64, 64, 16], [2, 9, 130, 4]] as const) {
        await check(B, M, N, K, 'row', 'col', seed++);
        await check(B, M, N, K, 'col', 'row', seed++);
      }
    });
  }

  it('K = 0 gives zeros; B in the thousands; a grid of more than 65,535 workgroups', async () => {
    const gpu = getBackend('webgpu');
    const o = gpu.upload(new Float32Array(6).fill(7), 'float32');
    const e = gpu.alloc('float32', 1);
    const l0: Layout = { shape: [1, 2, 0], strides: [0, 0, 1], offset: 0 };
    const l1: Layout = { shape: [1, 0, 3], strides: [0, 3, 1], offset: 0 };
    gpu.matmul(e, l0, e, l1, o, 1, 2, 3, 0);
    expect(Array.from(await gpu.read(o))).toEqual([0, 0, 0, 0, 0, 0]);
    await check(3000, 3, 2, 4, 'row', 'row', 7);
    await check(70_000, 1, 1, 2, 'row', 'row', 8); // 70,000 workgroups (auto family)
    // The tiled family decomposes its grid the same way; 256-invocation workgroups with barriers
    // cost ~0.3 ms each on lavapipe, so check it on a smaller batch.
    setMatmulVariant('tiled');
    await check(300, 3, 2, 4, 'row', 'col', 9);
  });

  it('operands above the storage-binding limit are split', async () => {
    const lim = webgpuRuntime().limits as { maxStorageBufferBindingSize: number };
    const saved = lim.maxStorageBufferBindingSize;
    lim.maxStorageBufferBindingSize = 64 * 1024; // 16384 elements
    try {
      await check(1, 700, 5, 40, 'row', 'row', 21); // A (28k elements): split by rows
      await check(1, 6, 600, 40, 'row', 'col', 22); // B (24k): split by columns
      await check(9, 40, 30, 20, 'row', 'row', 23); // out and A over several batches
    } finally {
      lim.maxStorageBufferBindingSize = saved;
    }
  });

  it('through tensor ops (broadcast batches, vectors, x @ W^T)', async () => {
    const s = randn([5, 8]);
    const pairs = [
      [s, s.transpose(0, 1)], // one storage bound twice
      [randn([3, 1, 4, 5]), randn([2, 5, 6])],
      [randn([7]), randn([7])],
      [randn([7]), randn([2, 7, 3])],
      [randn([16, 32]), randn([24, 32]).transpose(0, 1)],
    ] as const;
    for (const [a, b] of pairs) {
      const want = a.matmul(b).dataSync();
      const got = await a.to('webgpu').matmul(b.to('webgpu')).data();
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(want[i]!)));
    }
  });

  it('x @ W^T with <= 4 rows and an unchanged weight: the conv GEMV on the cached weight from the 2nd call', async () => {
    for (const [M, K, N] of [[1, 2048, 40], [3, 37, 9], [4, 64, 1], [2, 5, 100]] as const) {
      const a = randn([M, K]), w = randn([N, K]);
      const want = a.matmul(w.transpose(0, 1)).dataSync();
      const ag = a.to('webgpu'), wg = w.to('webgpu');
      for (let call = 0; call < 3; call++) {
        const got = await ag.matmul(wg.transpose(0, 1)).data();
        expect(got.length).toBe(want.length);
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `M${M} K${K} N${N} call ${call} element ${i}`).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(want[i]!)));
      }
      const keys = [...((wg.storage as unknown as { derived: Map<string, unknown> | null }).derived?.keys() ?? [])];
      if (webgpuRuntime().report.isSoftware) expect(keys.some((k) => k.startsWith('conv_sg_gemv')), `M${M} K${K} N${N}: ${keys.join(', ')}`).toBe(true);
    }
  });
});
