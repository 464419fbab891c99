import { describe, expect, it } from 'vitest';
import { tensor, rand, randn, arange, Tensor, getBackend, webgpuRuntime, where } from '../../src/index.js';
import type { Layout, Storage } from '../../src/kernels/backend.js';
import { gpuAvailable } from '../helpers/webgpu.js';

const hasGpu = await gpuAvailable();

async function same(cpu: Tensor, gpu: Tensor, rtol = 1e-6, atol = 1e-6) {
  expect(gpu.device).toBe('webgpu');
  expect(gpu.shape).toEqual(cpu.shape);
  const a = cpu.dataSync();
  const b = await gpu.data();
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (Number.isNaN(x)) expect(Number.isNaN(y)).toBe(true);
    else expect(Math.abs(x - y)).toBeLessThanOrEqual(atol + rtol * Math.abs(x));
  }
}

describe.runIf(hasGpu)('webgpu elementwise', () => {
  it('unary ops agree with cpu', async () => {
    const x = randn([3, 5, 7]).mul(3);
    const g = x.to('webgpu');
    await same(x.exp(), g.exp(), 1e-5);
    await same(x.abs().log(), g.abs().log(), 1e-5, 1e-5);
    await same(x.relu(), g.relu());
    await same(x.sigmoid(), g.sigmoid(), 1e-5);
    await same(x.tanh(), g.tanh(), 1e-5, 1e-6);
    await same(x.pow(3), g.pow(3), 1e-5);
    await same(x.abs().sqrt(), g.abs().sqrt(), 1e-6);
    await same(x.neg(), g.neg());
  });
  it('binary with broadcasting and strided views', async () => {
    const a = rand([4, 1, 6]);
    const b = rand([5, 1]);
    await same(a.add(b), a.to('webgpu').add(b.to('webgpu')));
    await same(a.mul(b).sub(a), a.to('webgpu').mul(b.to('webgpu')).sub(a.to('webgpu')));
    const p = rand([3, 4, 5]);
    const gp = p.to('webgpu');
    await same(p.permute(2, 0, 1).div(p.permute(2, 0, 1).add(1)), gp.permute(2, 0, 1).div(gp.permute(2, 0, 1).add(1)));
    await same(p.slice(1, 1, 4, 2).contiguous(), gp.slice(1, 1, 4, 2).contiguous());
  });
  it('int32 ops and dtype conversion', async () => {
    const i = arange(10);
    const g = i.to('webgpu');
    expect(Array.from(await g.add(g).data())).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(Array.from(await g.float().mul(0.5).int().data())).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    expect(Array.from(await tensor([1, 2, 3]).to('webgpu').eq(tensor([1, 0, 3]).to('webgpu')).data())).toEqual([1, 0, 1]);
  });
  it('relu_backward (the fused ReLU gradient) equals the cpu, with broadcasting and NaN gradients', async () => {
    const g = tensor([1.5, NaN, -2, 3, NaN, 7, 0.25, -1, 4]);
    const x = tensor([1, -1, 0, 2, 3, -0.5, 1e-30, -1e-30, NaN]);
    const run = async (dev: 'cpu' | 'webgpu') => {
      const out = tensor(new Float32Array(9)).to(dev);
      const lay = { shape: [9], strides: [1], offset: 0 };
      getBackend(dev).binary('relu_backward', g.to(dev).storage, lay, x.to(dev).storage, lay, out.storage);
      return Array.from(await out.data());
    };
    // PyTorch's threshold_backward(g, x, 0): x <= 0 ? 0 : g (NaN input passes g; NaN g at x <= 0 gives 0)
    const want = [1.5, 0, 0, 3, NaN, 0, 0.25, 0, 4];
    expect(await run('cpu')).toEqual(want);
    expect(await run('webgpu')).toEqual(want);
    // through autograd on a strided, broadcast input: x.relu() backward on both devices
    const xb = randn([3, 1, 5]);
    const w = rand([5, 4, 3]);
    const grads = await Promise.all((['cpu', 'webgpu'] as const).map(async (dev) => {
      const xi = xb.to(dev).detach().requires_grad_();
      xi.permute(2, 1, 0).relu().mul(w.to(dev)).sum().backward();
      return Array.from(await xi.grad!.data());
    }));
    // the broadcast dim sums 4 terms: float32 rounding may differ by the reduction order
    grads[0]!.forEach((v, i) => expect(Math.abs(grads[1]![i]! - v)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(v))));
    expect(grads[0]!.some((v) => v !== 0) && grads[0]!.some((v) => v === 0)).toBe(true);
  });
  it('NaN propagates through maximum and relu', async () => {
    const x = tensor([NaN, 1, -2]).to('webgpu');
    const m = await x.maximum(tensor([0, NaN, 0]).to('webgpu')).data();
    expect(Number.isNaN(m[0]!) && Number.isNaN(m[1]!) && m[2] === 0).toBe(true);
    const r = await x.relu().data();
    expect(Number.isNaN(r[0]!)).toBe(true);
  });
});

/**
 * The vec4 contiguous kernels (runContiguous in src/kernels/webgpu/elementwise.ts) and their
 * fallbacks, called on the backend directly so that offsets and lengths are exact.
 */
describe.runIf(hasGpu)('webgpu elementwise: contiguous vec4 paths', () => {
  const lay = (shape: number[], strides: number[], offset = 0): Layout => ({ shape, strides, offset });
  const c1 = (n: number, offset = 0): Layout => lay([n], [1], offset);
  const seq = (n: number, f = (i: number) => ((i * 37) % 101) - 50.5): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i));
  const gpu = () => getBackend('webgpu');
  async function readF(s: Storage): Promise<number[]> {
    return Array.from(await gpu().read(s));
  }

  it('odd lengths and unaligned offsets (unary, binary, copy)', async () => {
    const be = gpu();
    for (const n of [1, 2, 3, 4, 5, 7, 8, 13, 1001, 4099]) {
      for (const [oa, ob] of [[0, 0], [1, 0], [0, 3], [2, 1], [3, 3]] as const) {
        const A = seq(n + 8), B = seq(n + 8, (i) => i * 0.25 - 3);
        const a = be.upload(A, 'float32'), b = be.upload(B, 'float32');
        const out = be.alloc('float32', n);
        be.binary('sub', a, c1(n, oa), b, c1(n, ob), out);
        expect(await readF(out), `sub n=${n} offsets ${oa},${ob}`).toEqual(Array.from({ length: n }, (_, i) => Math.fround(A[i + oa]! - B[i + ob]!)));
        be.unary('relu', a, c1(n, oa), out);
        expect(await readF(out), `relu n=${n} offset ${oa}`).toEqual(Array.from({ length: n }, (_, i) => Math.max(0, A[i + oa]!)));
        be.unary('mul_scalar', b, c1(n, ob), out, 0.5);
        expect(await readF(out), `mul_scalar n=${n} offset ${ob}`).toEqual(Array.from({ length: n }, (_, i) => B[i + ob]! * 0.5));
        // Copy into a contiguous run at an unaligned destination offset: neighbours untouched.
        const D = seq(n + 8, () => 7);
        const d = be.upload(D, 'float32');
        be.copy(a, c1(n, oa), d, c1(n, ob));
        const want = Array.from(D);
        for (let i = 0; i < n; i++) want[i + ob] = A[i + oa]!;
        expect(await readF(d), `copy n=${n} ${oa} -> ${ob}`).toEqual(want);
        for (const s of [a, b, out, d]) be.free(s);
      }
    }
  });

  it('int32: add, exact copies of large values, float -> int conversion', async () => {
    const be = gpu();
    const n = 1003;
    const A = Int32Array.from({ length: n + 4 }, (_, i) => (i % 2 ? 1 : -1) * (2 ** 30 + i));
    const B = Int32Array.from({ length: n + 4 }, (_, i) => i * 3 - 7);
    const a = be.upload(A, 'int32'), b = be.upload(B, 'int32'), out = be.alloc('int32', n);
    be.binary('add', a, c1(n, 1), b, c1(n, 2), out);
    expect(Array.from(await be.read(out))).toEqual(Array.from({ length: n }, (_, i) => (A[i + 1]! + B[i + 2]!) | 0));
    be.copy(a, c1(n, 3), out, c1(n));
    expect(Array.from(await be.read(out))).toEqual(Array.from(A.subarray(3, 3 + n)));
    const F = Float32Array.from({ length: n }, (_, i) => (i - 500) * 0.75);
    const f = be.upload(F, 'float32');
    be.copy(f, c1(n), out, c1(n));
    expect(Array.from(await be.read(out))).toEqual(Array.from(F, (x) => Math.trunc(x) | 0));
    for (const s of [a, b, out, f]) be.free(s);
  });

  it('scalar (0-d / stride-0) broadcast on either side', async () => {
    const x = randn([3, 7, 5]);
    const g = x.to('webgpu');
    const s = tensor(2.5);
    await same(x.mul(s), g.mul(s.to('webgpu')));
    await same(s.sub(x), s.to('webgpu').sub(g));
    await same(x.add(tensor([1.5])), g.add(tensor([1.5]).to('webgpu')));
    const i = arange(11);
    expect(Array.from(await i.to('webgpu').mul(tensor(3, { dtype: 'int32' }).to('webgpu')).data())).toEqual(Array.from({ length: 11 }, (_, k) => 3 * k));
    // An unaligned single element: b at offset 5 with stride 0.
    const be = gpu();
    const n = 37;
    const A = seq(n), B = seq(8, (k) => k + 0.5);
    const a = be.upload(A, 'float32'), b = be.upload(B, 'float32'), out = be.alloc('float32', n);
    be.binary('mul', a, c1(n), b, lay([n], [0], 5), out);
    expect(await readF(out)).toEqual(Array.from(A, (v) => Math.fround(v * 5.5)));
    for (const st of [a, b, out]) be.free(st);
  });

  it('per-channel and repeating-row broadcasts (and shapes that fall back)', async () => {
    for (const [shape, bshape] of [
      [[2, 3, 4, 5], [1, 3, 1, 1]], // (N,C,H,W) + (1,C,1,1), H*W % 4 == 0
      [[3, 6, 2, 2], [1, 6, 1, 1]],
      [[2, 3, 7, 7], [1, 3, 1, 1]], // H*W odd: the general kernel
      [[5, 8], [8]], // (N,C) + (C): a repeating row
      [[5, 6], [6]], // row length not a multiple of 4
      [[4, 8], [4, 1]], // (N,C) + (N,1)
      [[3, 4, 8], [4, 1]],
    ] as [number[], number[]][]) {
      const a = randn(shape), b = randn(bshape);
      const ga = a.to('webgpu'), gb = b.to('webgpu');
      await same(a.add(b), ga.add(gb));
      await same(b.mul(a), gb.mul(ga));
      await same(a.maximum(b), ga.maximum(gb));
    }
    // Per-channel with a strided, offset channel operand (a column of a (C, 3) matrix).
    const be = gpu();
    const N = 2, C = 3, L = 8, n = N * C * L;
    const A = seq(n), B = seq(C * 3 + 2, (k) => k * 10);
    const a = be.upload(A, 'float32'), b = be.upload(B, 'float32'), out = be.alloc('float32', n);
    be.binary('add', a, lay([N, C, L], [C * L, L, 1]), b, lay([N, C, L], [0, 3, 0], 1), out);
    expect(await readF(out)).toEqual(Array.from(A, (v, i) => Math.fround(v + B[1 + 3 * (Math.floor(i / L) % C)]!)));
    for (const st of [a, b, out]) be.free(st);
  });

  it('where on contiguous operands', async () => {
    const c = tensor([1, 0, 1, 1, 0, 0, 1]), a = rand([7]), b = rand([7]);
    await same(where(c, a, b), where(c.to('webgpu'), a.to('webgpu'), b.to('webgpu')));
  });

  it('windows under a lowered binding limit (unaligned offsets, odd lengths, fill)', async () => {
    const lim = webgpuRuntime().limits as { maxStorageBufferBindingSize: number };
    const saved = lim.maxStorageBufferBindingSize;
    lim.maxStorageBufferBindingSize = 64 * 1024; // 16384 elements
    try {
      const be = gpu();
      const n = 100_003;
      const A = seq(n + 4), B = seq(n + 4, (i) => (i % 17) - 8);
      const a = be.upload(A, 'float32'), b = be.upload(B, 'float32'), out = be.alloc('float32', n);
      be.binary('mul', a, c1(n, 1), b, c1(n, 3), out);
      const got = await readF(out);
      expect(got.findIndex((v, i) => v !== Math.fround(A[i + 1]! * B[i + 3]!))).toBe(-1);
      be.unary('neg', a, c1(n), out);
      expect((await readF(out)).findIndex((v, i) => v !== -A[i]!)).toBe(-1);
      const d = be.alloc('float32', n + 4);
      be.fill(d, 9);
      expect((await readF(d)).every((v) => v === 9)).toBe(true);
      be.copy(a, c1(n, 2), d, c1(n, 1));
      const gd = await readF(d);
      expect(gd[0]).toBe(9);
      expect(gd.slice(n + 1)).toEqual([9, 9, 9]);
      expect(gd.slice(1, n + 1).findIndex((v, i) => v !== A[i + 2]!)).toBe(-1);
      const odd = be.alloc('int32', 16387);
      be.fill(odd, -3);
      expect(Array.from(await be.read(odd)).every((v) => v === -3)).toBe(true);
      for (const s of [a, b, out, d, odd]) be.free(s);
    } finally {
      lim.maxStorageBufferBindingSize = saved;
    }
  });
});

describe.runIf(hasGpu)('webgpu zeroing through the queue clear', () => {
  it('fill(0) and zeroRange write zeros exactly where asked, bump the version and drop derived copies', async () => {
    const be = getBackend('webgpu');
    const rt = webgpuRuntime();
    const n = 1003;
    const host = Float32Array.from({ length: n }, (_, i) => i + 1);
    const s = be.upload(host, 'float32') as unknown as { version: number; derived: unknown };
    const v0 = s.version;
    // a derived copy (as a packed weight) must go when the storage is cleared
    let made = 0;
    const key = 'test-derived';
    rt.cachedDerived(s as never, key, 1, () => {
      made++;
      return rt.alloc('float32', 4);
    });
    expect(made).toBe(1);
    rt.clear(s as never, 5, 10); // an unaligned range in the middle
    expect(s.version).toBe(v0 + 1);
    expect(s.derived).toBe(null);
    const got = await be.read(s as unknown as Storage);
    expect(Array.from(got.slice(0, 5))).toEqual([1, 2, 3, 4, 5]);
    expect(Array.from(got.slice(5, 15)).every((v) => Object.is(v, 0))).toBe(true);
    expect(got[15]).toBe(16);
    expect(got[n - 1]).toBe(n);
    // fill with +0 takes the clear, -0 the kernel (its bits are not zero); int32 zeros too
    be.fill(s as unknown as Storage, 0);
    expect((await be.read(s as unknown as Storage)).every((v) => Object.is(v, 0))).toBe(true);
    be.fill(s as unknown as Storage, -0);
    expect((await be.read(s as unknown as Storage)).every((v) => Object.is(v, -0))).toBe(true);
    const iv = be.upload(Int32Array.from({ length: 17 }, (_, i) => i - 8), 'int32');
    be.fill(iv, 0);
    expect(Array.from(await be.read(iv))).toEqual(new Array(17).fill(0));
    // errors name the op and the range, before any GPU work
    expect(() => rt.clear(s as never, 1000, 10)).toThrow(/clear: elements \[1000, 1010\) of a float32 storage of 1003/);
    be.free(iv);
    be.free(s as unknown as Storage);
    expect(() => rt.clear(s as never, 0, 1)).toThrow(/clear: the storage was freed/);
  });
});
