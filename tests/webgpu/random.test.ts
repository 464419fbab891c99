/**
 * WebGPU Philox4x32-10 random fill against the cpu reference (src/tensor/philox.ts,
 * src/kernels/cpu/random.ts). Uniform floats must be bit-identical; normals come from the same
 * words through f32 log/sqrt/cos/sin, so |gpu - cpu| <= 2e-6 * (1 + |z|) (a few f32 ulps of
 * the Box-Muller terms; |z| < 6).
 */
import { describe, expect, it } from 'vitest';
import { getBackend, manual_seed, rand, randn, type TypedArray } from '../../src/index.js';
import type { RandomParams } from '../../src/kernels/backend.js';
import { normalPair, philox4x32, uniformFromBits } from '../../src/tensor/philox.js';
import { webgpuRuntime } from '../../src/index.js';
import { gpuAvailable } from '../helpers/webgpu.js';

const hasGpu = await gpuAvailable();

async function both(n: number, p: RandomParams): Promise<[TypedArray, TypedArray]> {
  const cpu = getBackend('cpu'), gpu = getBackend('webgpu');
  const c = cpu.alloc('float32', n);
  cpu.random(c, p);
  const g = gpu.alloc('float32', n);
  gpu.random(g, p);
  const got = await gpu.read(g);
  gpu.free(g);
  return [got, await cpu.read(c)];
}

function firstMismatch(got: TypedArray, want: TypedArray, normal: boolean): number {
  for (let i = 0; i < want.length; i++) {
    const ok = normal ? Math.abs(got[i]! - want[i]!) <= 2e-6 * (1 + Math.abs(want[i]!)) : Object.is(got[i], want[i]);
    if (!ok) return i;
  }
  return -1;
}

/** The reference value of element i (block offset + floor(i/4), word i%4). */
function refValue(i: number, p: RandomParams): number {
  const w = new Uint32Array(4);
  const c = p.offset + Math.floor(i / 4);
  philox4x32(c % 4294967296, Math.floor(c / 4294967296), p.seed[0], p.seed[1], w);
  const j = i % 4;
  if (p.kind === 'uniform') return Math.fround(uniformFromBits(w[j]!));
  const pair = j < 2 ? normalPair(w[0]!, w[1]!) : normalPair(w[2]!, w[3]!);
  return Math.fround(pair[j % 2]!);
}

describe.runIf(hasGpu)('webgpu random', () => {
  it('uniform is bit-identical and normal matches, for sizes, seeds and offsets (incl. a 2^32 carry)', async () => {
    const seeds: [number, number][] = [
      [0, 0],
      [42, 0],
      [0xdeadbeef, 0x12345678],
      [0xffffffff, 0xffffffff],
    ];
    const offsets = [0, 1, 12345, 4294967296 - 3, 2 ** 40 + 7];
    for (const kind of ['uniform', 'normal'] as const) {
      for (const seed of seeds) {
        for (const offset of offsets) {
          for (const n of [1, 3, 4, 5, 1031]) {
            const p: RandomParams = { kind, seed, offset };
            const [got, want] = await both(n, p);
            const bad = firstMismatch(got, want, kind === 'normal');
            expect(bad, `${kind} n=${n} seed=${seed} offset=${offset}: element ${bad} ${got[bad]} vs ${want[bad]}`).toBe(-1);
          }
        }
      }
    }
  });

  it('a large fill matches the reference everywhere (1M normals)', async () => {
    const p: RandomParams = { kind: 'normal', seed: [7, 9], offset: 3 };
    const [got, want] = await both(1 << 20, p);
    expect(firstMismatch(got, want, true)).toBe(-1);
    // Sanity of the distribution: mean ~ 0, variance ~ 1.
    let s = 0, s2 = 0;
    for (const v of got) {
      s += v;
      s2 += v * v;
    }
    expect(Math.abs(s / got.length)).toBeLessThan(0.01);
    expect(Math.abs(s2 / got.length - 1)).toBeLessThan(0.01);
  });

  it('windows under a lowered binding limit continue the counter', async () => {
    const lim = webgpuRuntime().limits as { maxStorageBufferBindingSize: number };
    const saved = lim.maxStorageBufferBindingSize;
    lim.maxStorageBufferBindingSize = 256 * 1024; // 65536 elements per window
    try {
      for (const kind of ['uniform', 'normal'] as const) {
        const [got, want] = await both(200_003, { kind, seed: [1, 2], offset: 4294967296 - 20_000 });
        expect(firstMismatch(got, want, kind === 'normal')).toBe(-1);
      }
    } finally {
      lim.maxStorageBufferBindingSize = saved;
    }
  });

  it('a tensor above 128 MiB (34M floats) is filled in windows, matching the reference', async () => {
    const gpu = getBackend('webgpu');
    const n = 34_000_001; // 136 MB > 128 MiB
    const p: RandomParams = { kind: 'uniform', seed: [123, 456], offset: 10 };
    const g = gpu.alloc('float32', n);
    gpu.random(g, p);
    const got = await gpu.read(g);
    gpu.free(g);
    const limitElems = webgpuRuntime().limits.maxStorageBufferBindingSize / 4;
    // Around every window boundary, the start, the end, and a spread of samples.
    const idx: number[] = [0, 1, 2, 3, 4, n - 5, n - 4, n - 3, n - 2, n - 1];
    for (let b = 65536; b < n; b += 65536) if (b % limitElems < 70_000 || limitElems - (b % limitElems) < 70_000) idx.push(b - 1, b, b + 1);
    for (let k = 0; k < 20_000; k++) idx.push(Math.floor((k / 20_000) * n));
    let bad = -1;
    for (const i of idx) if (!Object.is(got[i], refValue(i, p))) bad = i;
    expect(bad, `element ${bad}`).toBe(-1);
  });

  it('through tensor ops: rand / randn with the same generator state on both devices', async () => {
    manual_seed(2024);
    const a = rand([5, 7]);
    const b = randn([3, 1001]);
    manual_seed(2024);
    const ga = rand([5, 7], { device: 'webgpu' });
    const gb = randn([3, 1001], { device: 'webgpu' });
    expect(firstMismatch(await ga.data(), a.dataSync(), false)).toBe(-1);
    expect(firstMismatch(await gb.data(), b.dataSync(), true)).toBe(-1);
  });

  it('dropout_mask is bit-identical to the cpu and equals (rand() >= p) * scale', async () => {
    for (const [n, p, offset] of [[1003, 0.5, 0], [4096, 0.2, 12345], [77, 0.1, 2 ** 32 - 3], [20, 0.9, 7]] as const) {
      const scale = 1 / (1 - p);
      const params: RandomParams = { kind: 'dropout_mask', seed: [99, 5], offset, p, scale };
      const [got, want] = await both(n, params);
      expect(firstMismatch(got, want, false)).toBe(-1);
      const u = (await both(n, { kind: 'uniform', seed: [99, 5], offset }))[1];
      let kept = 0;
      for (let i = 0; i < n; i++) {
        const k = u[i]! >= Math.fround(p);
        kept += +k;
        expect(want[i]).toBe(k ? Math.fround(scale) : 0);
      }
      expect(kept > 0 && kept < n).toBe(true);
    }
  });

  it('dropout gives the same output and gradient on both devices', async () => {
    const { dropout, Generator, randn: rn } = await import('../../src/index.js');
    const x = rn([4, 33]);
    const res = await Promise.all((['cpu', 'webgpu'] as const).map(async (dev) => {
      const xi = x.to(dev).detach().requires_grad_();
      const y = dropout(xi, 0.3, true, new Generator(5));
      y.mul(y).sum().backward();
      return [Array.from(await y.data()), Array.from(await xi.grad!.data())];
    }));
    expect(res[1]![0]).toEqual(res[0]![0]);
    res[0]![1]!.forEach((v, i) => expect(Math.abs(res[1]![1]![i]! - v)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(v))));
  });
});
