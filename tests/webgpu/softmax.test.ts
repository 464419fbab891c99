/**
 * WebGPU softmax / log_softmax (+ backward) and cross entropy (+ backward) cross-checked against
 * the cpu reference backend, primitive by primitive and through tensor ops.
 * Tolerances (f32 tree reductions vs the reference's f64), per element:
 *   softmax: 1e-6 + 1e-5 * y;  log_softmax: 1e-5 + 3e-7 * max|x| of the row (x - max is rounded
 *   once in f32, which is what matters for logits of 1e4);
 *   backward: 1e-5 * (1 + sum over the row of |gy * y| (softmax) or |gy| (log_softmax));
 *   cross entropy loss: 1e-5 * (1 + |loss| + eps * mean_c |w_c (x_c - max)|), i.e. relative to the
 *   magnitude of the terms summed; its gradient: 1e-5 * |gloss| * (1 + sum_c w_c).
 */
import { describe, expect, it } from 'vitest';
import { cross_entropy, nll_loss, getBackend, tensor, webgpuRuntime, type TypedArray } from '../../src/index.js';
import type { CrossEntropyParams } from '../../src/kernels/backend.js';
import { gpuAvailable } from '../helpers/webgpu.js';

const hasGpu = await gpuAvailable();

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function randomData(n: number, seed: number, scale: number): Float32Array {
  const r = lcg(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

async function softmaxBoth(x: Float32Array, outer: number, inner: number, log: boolean): Promise<[TypedArray, TypedArray]> {
  const cpu = getBackend('cpu'), gpu = getBackend('webgpu');
  const co = cpu.alloc('float32', x.length);
  cpu.softmax(cpu.upload(x, 'float32'), co, outer, inner, log);
  const gx = gpu.upload(x, 'float32'), go = gpu.alloc('float32', x.length);
  gpu.softmax(gx, go, outer, inner, log);
  const got = await gpu.read(go);
  gpu.free(gx);
  gpu.free(go);
  return [got, await cpu.read(co)];
}

async function checkSoftmax(x: Float32Array, outer: number, inner: number): Promise<void> {
  for (const log of [false, true]) {
    const [got, want] = await softmaxBoth(x, outer, inner, log);
    for (let r = 0; r < outer; r++) {
      let mx = 0;
      for (let i = 0; i < inner; i++) mx = Math.max(mx, Math.abs(x[r * inner + i]!));
      for (let i = 0; i < inner; i++) {
        const k = r * inner + i, w = want[k]!, g = got[k]!;
        if (Number.isNaN(w)) {
          expect(Number.isNaN(g), `row ${r} col ${i}: expected NaN, got ${g}`).toBe(true);
          continue;
        }
        if (g === w) continue;
        const tol = log ? 1e-5 + 3e-7 * mx : 1e-6 + 1e-5 * Math.abs(w);
        // One expect per failure only: vitest's expect is slow per call.
        if (!(Math.abs(g - w) <= tol)) expect(Math.abs(g - w), `${log ? 'log_' : ''}softmax (${outer}x${inner}) row ${r} col ${i}: ${g} vs ${w}`).toBeLessThanOrEqual(tol);
      }
    }
  }
}

async function checkSoftmaxBackward(x: Float32Array, gy: Float32Array, outer: number, inner: number): Promise<void> {
  const cpu = getBackend('cpu'), gpu = getBackend('webgpu');
  for (const log of [false, true]) {
    // y from the cpu forward, so both backwards see the same input.
    const cy = cpu.alloc('float32', x.length);
    cpu.softmax(cpu.upload(x, 'float32'), cy, outer, inner, log);
    const y = (await cpu.read(cy)) as Float32Array;
    const cg = cpu.alloc('float32', x.length);
    cpu.softmaxBackward(cpu.upload(gy, 'float32'), cy, cg, outer, inner, log);
    const want = await cpu.read(cg);
    const ggy = gpu.upload(gy, 'float32'), gyy = gpu.upload(y, 'float32'), gg = gpu.alloc('float32', x.length);
    gpu.softmaxBackward(ggy, gyy, gg, outer, inner, log);
    const got = await gpu.read(gg);
    [ggy, gyy, gg].forEach((s) => gpu.free(s));
    for (let r = 0; r < outer; r++) {
      let S = 0;
      for (let i = 0; i < inner; i++) S += Math.abs(gy[r * inner + i]! * (log ? 1 : y[r * inner + i]!));
      for (let i = 0; i < inner; i++) {
        const k = r * inner + i;
        const d = Math.abs(got[k]! - want[k]!);
        if (!(d <= 1e-5 * (1 + S))) expect(d, `backward log=${log} (${outer}x${inner}) row ${r} col ${i}`).toBeLessThanOrEqual(1e-5 * (1 + S));
      }
    }
  }
}

interface CECase {
  N: number;
  C: number;
  scale: number;
  eps: number;
  weighted: boolean;
  ignore: number;
  /** Fraction of targets set to ignore_index. */
  ignoredFrac: number;
}

async function checkCE(c: CECase, seed: number): Promise<void> {
  const cpu = getBackend('cpu'), gpu = getBackend('webgpu');
  const r = lcg(seed);
  const x = randomData(c.N * c.C, seed, c.scale);
  const t = Int32Array.from({ length: c.N }, () => (r() < c.ignoredFrac ? c.ignore : Math.floor(r() * c.C)));
  const w = c.weighted ? Float32Array.from({ length: c.C }, () => 0.1 + 2 * r()) : null;
  const gl = randomData(c.N, seed + 1, 2);
  const p: CrossEntropyParams = { N: c.N, C: c.C, ignoreIndex: c.ignore, labelSmoothing: c.eps };

  const cl = cpu.alloc('float32', c.N), cw = cpu.alloc('float32', c.N), cgx = cpu.alloc('float32', c.N * c.C);
  const cx = cpu.upload(x, 'float32'), ct = cpu.upload(t, 'int32'), cwt = w ? cpu.upload(w, 'float32') : null;
  cpu.crossEntropy(cx, ct, cwt, cl, cw, p);
  cpu.crossEntropyBackward(cx, ct, cwt, cpu.upload(gl, 'float32'), cgx, p);

  const gx = gpu.upload(x, 'float32'), gt = gpu.upload(t, 'int32'), gwt = w ? gpu.upload(w, 'float32') : null;
  const gloss = gpu.alloc('float32', c.N), gws = gpu.alloc('float32', c.N), ggx = gpu.alloc('float32', c.N * c.C), ggl = gpu.upload(gl, 'float32');
  gpu.crossEntropy(gx, gt, gwt, gloss, gws, p);
  gpu.crossEntropyBackward(gx, gt, gwt, ggl, ggx, p);
  const [lossG, wsG, gradG] = [await gpu.read(gloss), await gpu.read(gws), await gpu.read(ggx)];
  [gx, gt, gloss, gws, ggx, ggl, ...(gwt ? [gwt] : [])].forEach((s) => gpu.free(s));
  const [lossC, wsC, gradC] = [await cpu.read(cl), await cpu.read(cw), await cpu.read(cgx)];

  let wTotal = 0;
  for (let k = 0; k < c.C; k++) wTotal += w ? w[k]! : 1;
  const what = `N=${c.N} C=${c.C} scale=${c.scale} eps=${c.eps} weighted=${c.weighted}`;
  for (let i = 0; i < c.N; i++) {
    let m = -Infinity;
    for (let k = 0; k < c.C; k++) m = Math.max(m, x[i * c.C + k]!);
    let spread = 0;
    for (let k = 0; k < c.C; k++) spread += Math.abs((w ? w[k]! : 1) * (x[i * c.C + k]! - m));
    const tol = 1e-5 * (1 + Math.abs(lossC[i]!) + (c.eps * spread) / c.C);
    const dl = Math.abs(lossG[i]! - lossC[i]!);
    if (!(dl <= tol)) expect(dl, `${what} loss[${i}] ${lossG[i]} vs ${lossC[i]}`).toBeLessThanOrEqual(tol);
    if (wsG[i] !== wsC[i]) expect(wsG[i], `${what} wsum[${i}]`).toBe(wsC[i]);
    const gtol = 1e-5 * Math.abs(gl[i]!) * (1 + wTotal);
    for (let k = 0; k < c.C; k++) {
      const j = i * c.C + k;
      const d = Math.abs(gradG[j]! - gradC[j]!);
      if (!(d <= gtol)) expect(d, `${what} grad[${i}, ${k}] ${gradG[j]} vs ${gradC[j]}`).toBeLessThanOrEqual(gtol);
    }
  }
}

describe.runIf(hasGpu)('webgpu softmax and cross entropy', () => {
  it('softmax / log_softmax forward: short rows, long rows, 1x1, logits of 1e4', async () => {
    let seed = 1;
    for (const [outer, inner, scale] of [
      [1, 1, 1],
      [5, 3, 3],
      [1000, 10, 5],
      [7, 1000, 20],
      [3, 4099, 2],
      [2, 100_000, 1],
      [4, 33, 1e4],
    ] as [number, number, number][]) {
      await checkSoftmax(randomData(outer * inner, seed++, scale), outer, inner);
    }
  });

  it('softmax special values: -inf entries, an all -inf row, NaN, +inf', async () => {
    const inner = 5;
    const x = Float32Array.from([
      ...[1, -Infinity, 2, 3, -Infinity],
      ...[-Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
      ...[1, NaN, 2, 3, 4],
      ...[1, Infinity, 2, 3, 4],
      ...[1e4, -1e4, 1e4, 0, 9999],
    ]);
    await checkSoftmax(x, 5, inner);
  });

  it('softmax / log_softmax backward', async () => {
    let seed = 50;
    for (const [outer, inner, scale] of [
      [1, 1, 1],
      [300, 7, 3],
      [6, 2000, 5],
      [2, 70_000, 1],
    ] as [number, number, number][]) {
      await checkSoftmaxBackward(randomData(outer * inner, seed, scale), randomData(outer * inner, seed + 1, 1), outer, inner);
      seed += 2;
    }
  });

  it('cross entropy forward/backward: weights, label smoothing, ignore_index, logits of 1e4', async () => {
    const cases: CECase[] = [
      { N: 1, C: 1, scale: 1, eps: 0, weighted: false, ignore: -100, ignoredFrac: 0 },
      { N: 37, C: 7, scale: 3, eps: 0, weighted: false, ignore: -100, ignoredFrac: 0.2 },
      { N: 37, C: 7, scale: 3, eps: 0.1, weighted: true, ignore: -100, ignoredFrac: 0.2 },
      { N: 500, C: 10, scale: 5, eps: 0.2, weighted: true, ignore: 3, ignoredFrac: 0.1 },
      { N: 9, C: 1000, scale: 4, eps: 0.1, weighted: false, ignore: -1, ignoredFrac: 0.3 },
      { N: 3, C: 20_000, scale: 2, eps: 0.05, weighted: true, ignore: -100, ignoredFrac: 0 },
      { N: 64, C: 7, scale: 1e4, eps: 0, weighted: true, ignore: -100, ignoredFrac: 0 },
      { N: 64, C: 7, scale: 1e4, eps: 0.1, weighted: false, ignore: -100, ignoredFrac: 0.1 },
    ];
    let seed = 10;
    for (const c of cases) await checkCE(c, seed++);
  });

  it('rows above the storage-binding limit are processed in windows', async () => {
    const lim = webgpuRuntime().limits as { maxStorageBufferBindingSize: number };
    const saved = lim.maxStorageBufferBindingSize;
    lim.maxStorageBufferBindingSize = 64 * 1024; // 16384 elements
    try {
      await checkSoftmax(randomData(300 * 333, 3, 4), 300, 333);
      await checkSoftmaxBackward(randomData(100 * 500, 4, 4), randomData(100 * 500, 5, 1), 100, 500);
      await checkCE({ N: 20_000, C: 3, scale: 3, eps: 0.1, weighted: true, ignore: -100, ignoredFrac: 0.1 }, 77);
    } finally {
      lim.maxStorageBufferBindingSize = saved;
    }
  });

  it('an out-of-range target raises a device-side check at the next readback, then the runtime recovers', async () => {
    const x = tensor(randomData(3 * 4, 12, 2), { shape: [3, 4] }).to('webgpu');
    // target 4 with C = 4: the loss is NaN on the GPU, and the next readback (of anything) throws
    const bad = cross_entropy(x, tensor([0, 4, 1], { dtype: 'int32' }).to('webgpu'));
    const other = x.sum();
    await expect(other.data()).rejects.toThrow(/cross_entropy: a target is out of bounds \(not in \[0, 4\) and not ignore_index -100\).*detected on the GPU/);
    // the flag was cleared: later work reads back normally, and valid targets give a finite loss
    expect(Number.isFinite((await x.sum().data())[0]!)).toBe(true);
    const good = cross_entropy(x, tensor([0, 3, -100], { dtype: 'int32' }).to('webgpu'));
    expect(Number.isFinite((await good.data())[0]!)).toBe(true);
    // sync() reports it too; a negative target that is not ignore_index counts as out of bounds
    const neg = cross_entropy(x, tensor([0, -1, 1], { dtype: 'int32' }).to('webgpu'), { reduction: 'none' });
    await expect(getBackend('webgpu').sync()).rejects.toThrow(/cross_entropy: a target is out of bounds/);
    await getBackend('webgpu').sync();
    // two readbacks in flight: the first reports the failure, the second (recorded after the
    // first cleared the flag) reads normally; 40 concurrent reads all return their values
    const bad2 = cross_entropy(x, tensor([7, 0, 1], { dtype: 'int32' }).to('webgpu'));
    const results = await Promise.allSettled([x.sum().data(), x.mean().data()]);
    expect(results[0].status).toBe('rejected');
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/cross_entropy: a target is out of bounds/);
    expect(results[1].status).toBe('fulfilled');
    const many = await Promise.all(Array.from({ length: 40 }, (_, i) => x.mul(i).sum().data()));
    const s0 = (await x.sum().data())[0]!;
    many.forEach((v, i) => expect(Math.abs(v[0]! - i * s0)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(i * s0))));
    // nll_loss: the targets are checked by their own kernel; valid ones (and ignore_index) pass
    const lp = x.log_softmax(1);
    const nll = nll_loss(lp, tensor([3, 0, 4], { dtype: 'int32' }).to('webgpu'));
    await expect(nll.data()).rejects.toThrow(/nll_loss: a target is out of bounds \(not in \[0, 4\) and not ignore_index -100\)/);
    const nllOk = nll_loss(lp, tensor([3, -100, 0], { dtype: 'int32' }).to('webgpu'));
    const cpuOk = nll_loss(await lp.toAsync('cpu'), tensor([3, -100, 0], { dtype: 'int32' }));
    expect(Math.abs((await nllOk.data())[0]! - cpuOk.dataSync()[0]!)).toBeLessThanOrEqual(1e-6);
    // the backend primitive directly, on both devices
    const idx = tensor([0, 5, 2], { dtype: 'int32' });
    expect(() => getBackend('cpu').checkIndex(idx.storage, 5, -1, 'op: bad index')).toThrow(/op: bad index \(element 1 is 5\)/);
    const gidx = idx.to('webgpu');
    getBackend('webgpu').checkIndex(gidx.storage, 6, -1, 'op: bad index');
    await getBackend('webgpu').sync();
    getBackend('webgpu').checkIndex(gidx.storage, 5, 5, 'op: bad index'); // 5 is the ignore value
    await getBackend('webgpu').sync();
    getBackend('webgpu').checkIndex(gidx.storage, 5, -1, 'op: bad index');
    await expect(getBackend('webgpu').sync()).rejects.toThrow(/op: bad index/);
    for (const t of [bad, bad2, other, good, neg, lp, nll, nllOk, gidx, x]) t.dispose();
  });

  it('through tensor ops: softmax, log_softmax and cross_entropy with autograd', async () => {
    const x = tensor(randomData(6 * 5, 8, 3), { shape: [6, 5] });
    for (const dim of [1, 0]) {
      const a = x.softmax(dim).dataSync();
      const b = await x.to('webgpu').softmax(dim).data();
      for (let i = 0; i < a.length; i++) expect(Math.abs(b[i]! - a[i]!)).toBeLessThanOrEqual(1e-6 + 1e-5 * a[i]!);
    }
    const t = tensor([0, 4, -100, 2, 1, 3], { dtype: 'int32' });
    const w = tensor([1, 2, 0.5, 1, 3]);
    const run = async (dev: 'cpu' | 'webgpu') => {
      const xi = x.to(dev).detach().requires_grad_();
      const loss = cross_entropy(xi, t.to(dev), { weight: w.to(dev), label_smoothing: 0.1 });
      loss.backward();
      return { loss: (await loss.data())[0]!, grad: await xi.grad!.data() };
    };
    const c = await run('cpu'), g = await run('webgpu');
    expect(Math.abs(g.loss - c.loss)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(c.loss)));
    for (let i = 0; i < c.grad.length; i++) expect(Math.abs(g.grad[i]! - c.grad[i]!)).toBeLessThanOrEqual(1e-5);
  });
});
