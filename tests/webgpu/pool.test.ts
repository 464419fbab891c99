/**
 * WebGPU pooling (max_pool2d with indices, avg_pool2d, adaptive_avg_pool2d, and their
 * backward passes) cross-checked against the CPU reference backend on the same uploaded data.
 *
 * Also the PyTorch 1.13 fixtures (tests/fixtures/conv_pool.json: ceil_mode, ties, NaN, -inf)
 * through the front end's pooling ops with autograd on webgpu tensors, 1e-5 * (1 + |torch|).
 *
 * Tolerances: max_pool2d values and indices must match exactly (NaN where the reference has NaN),
 * and so must its gradient up to float32 summation (1e-6 relative: each gx element sums the gy
 * of at most KH*KW windows); average pooling: 1e-5 relative + 1e-6 absolute (float32 window sums
 * of <= 64 values against float64).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getBackend } from '../../src/tensor/device.js';
import { adaptive_avg_pool2d, avg_pool2d, max_pool2d, tensor, type Tensor } from '../../src/index.js';
import type { AdaptivePool2dParams, Backend, Pool2dParams, Storage } from '../../src/kernels/backend.js';
import { webgpuRuntime } from '../../src/index.js';
import { poolTuning } from '../../src/kernels/webgpu/pool.js';
import { gpuAvailable } from '../helpers/webgpu.js';

const hasGpu = await gpuAvailable();

let seed = 777;
function rnd(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed / 2 ** 32) * 2 - 1;
}
function irand(lo: number, hi: number): number {
  return lo + Math.floor(((rnd() + 1) / 2) * (hi - lo + 1));
}

function pool(N: number, C: number, H: number, W: number, K: [number, number], s: [number, number], pd: [number, number], dl: [number, number] = [1, 1], countIncludePad = true, divisorOverride = 0): Pool2dParams {
  const OH = Math.floor((H + 2 * pd[0] - dl[0] * (K[0] - 1) - 1) / s[0]) + 1;
  const OW = Math.floor((W + 2 * pd[1] - dl[1] * (K[1] - 1) - 1) / s[1]) + 1;
  return { N, C, H, W, OH, OW, KH: K[0], KW: K[1], strideH: s[0], strideW: s[1], padH: pd[0], padW: pd[1], dilationH: dl[0], dilationW: dl[1], countIncludePad, divisorOverride };
}

function close(what: string, ref: ArrayLike<number>, got: ArrayLike<number>, rtol: number, atol: number): void {
  expect(got.length, what).toBe(ref.length);
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!, g = got[i]!;
    if (Number.isNaN(r)) {
      if (!Number.isNaN(g)) expect.fail(`${what}[${i}]: expected NaN, got ${g}`);
    } else if (!(r === g || Math.abs(r - g) <= atol + rtol * Math.abs(r))) {
      expect.fail(`${what}[${i}]: expected ${r}, got ${g}`);
    }
  }
}

async function run(be: Backend, f: (be: Backend, s: Storage[]) => Storage[], inputs: Float32Array[]): Promise<ArrayLike<number>[]> {
  const ins = inputs.map((a) => be.upload(a, 'float32'));
  const outs = f(be, ins);
  const res: ArrayLike<number>[] = [];
  for (const o of outs) res.push(await be.read(o));
  for (const s of [...ins, ...outs]) be.free(s);
  return res;
}

/** max (values, indices, gx) and avg (values, gx) on both backends. */
async function checkPool(p: Pool2dParams, x: Float32Array): Promise<void> {
  const tag = JSON.stringify(p);
  const n = p.N * p.C * p.OH * p.OW;
  const gy = Float32Array.from({ length: n }, rnd);
  const f = (be: Backend, [xs, g]: Storage[]): Storage[] => {
    const out = be.alloc('float32', n), idx = be.alloc('int32', n), gx = be.alloc('float32', x.length);
    be.maxPool2d(xs!, out, idx, p);
    be.maxPool2dBackward(g!, idx, gx, p);
    return [out, idx, gx];
  };
  const ref = await run(getBackend('cpu'), f, [x, gy]);
  const got = await run(getBackend('webgpu'), f, [x, gy]);
  close(`${tag} max`, ref[0]!, got[0]!, 0, 0);
  close(`${tag} indices`, ref[1]!, got[1]!, 0, 0);
  close(`${tag} max gx`, ref[2]!, got[2]!, 1e-6, 1e-7);
  const xf = x.map((v) => (Number.isFinite(v) ? v : 0.25));
  const fa = (be: Backend, [xs, g]: Storage[]): Storage[] => {
    const out = be.alloc('float32', n), gx = be.alloc('float32', x.length);
    be.avgPool2d(xs!, out, p);
    be.avgPool2dBackward(g!, gx, p);
    return [out, gx];
  };
  const aref = await run(getBackend('cpu'), fa, [xf, gy]);
  const agot = await run(getBackend('webgpu'), fa, [xf, gy]);
  close(`${tag} avg`, aref[0]!, agot[0]!, 1e-5, 1e-6);
  close(`${tag} avg gx`, aref[1]!, agot[1]!, 1e-5, 1e-6);
}

describe.runIf(hasGpu)('webgpu pooling', () => {
  it('max and avg pooling on awkward shapes, with ties, -inf and NaN', async () => {
    const shapes = [
      pool(2, 3, 7, 6, [2, 2], [2, 2], [0, 0]), // odd size, windows do not cover the last row
      pool(1, 2, 9, 8, [3, 3], [2, 2], [1, 1], [1, 1], false), // padding, count_include_pad = false
      pool(3, 2, 10, 11, [3, 2], [1, 2], [1, 1], [2, 1], true, 5), // dilation, divisor_override
      pool(2, 4, 5, 5, [3, 3], [3, 3], [1, 1], [1, 1], false),
      pool(1, 1, 1, 1, [1, 1], [1, 1], [0, 0]), // 1x1
      pool(16, 3, 2, 2, [2, 2], [2, 2], [0, 0]), // 2x2 -> 1x1
      pool(2, 2, 6, 6, [3, 3], [1, 1], [1, 1]), // overlapping windows: gx gathers several windows
    ];
    for (const p of shapes) {
      const n = p.N * p.C * p.H * p.W;
      // values on a coarse grid: many ties (first maximum must win); some -inf and NaN
      const x = Float32Array.from({ length: n }, () => Math.round(rnd() * 3) / 2);
      for (let i = 0; i < n; i += 7) x[i] = -Infinity;
      for (let i = 3; i < n; i += 23) x[i] = NaN;
      await checkPool(p, x);
    }
  });

  it('max_pool2d backward over non-overlapping windows: per-window scatter, vectorized 2x2/2, gather agree with cpu', async () => {
    const shapes = [
      pool(2, 3, 8, 12, [2, 2], [2, 2], [0, 0]), // exact 2x2/2 tiling, W % 4 == 0: vectorized kernel
      pool(3, 5, 4, 4, [2, 2], [2, 2], [0, 0]), // odd plane count
      pool(2, 3, 7, 9, [2, 2], [2, 2], [0, 0]), // odd sizes: last row and column uncovered (zero-filled)
      pool(2, 3, 8, 6, [2, 2], [2, 2], [0, 0]), // W % 4 != 0: generic scatter
      pool(2, 2, 10, 11, [2, 2], [3, 3], [0, 0]), // stride > kernel: gaps between windows
      pool(2, 2, 9, 9, [3, 3], [3, 3], [1, 1]), // kernel == stride with padding
      pool(1, 2, 9, 10, [2, 2], [3, 3], [0, 0], [2, 2]), // dilated windows that still do not overlap
      pool(2, 2, 6, 8, [1, 2], [1, 2], [0, 0]), // 1x2 windows
    ];
    try {
      for (const mode of ['auto', 'scatter', 'gather'] as const) {
        poolTuning.maxBackward = mode;
        for (const p of shapes) {
          const n = p.N * p.C * p.H * p.W;
          const x = Float32Array.from({ length: n }, () => Math.round(rnd() * 3) / 2); // ties
          for (let i = 0; i < n; i += 7) x[i] = -Infinity;
          for (let i = 3; i < n; i += 23) x[i] = NaN;
          // dirty the pool so that a missing zero-fill shows
          const junk = getBackend('webgpu').upload(Float32Array.from({ length: n }, () => 99), 'float32');
          getBackend('webgpu').free(junk);
          await checkPool(p, x);
        }
      }
    } finally {
      poolTuning.maxBackward = 'auto';
    }
  });

  it('windows of only -inf, and several NaNs in one window (last NaN gives the index)', async () => {
    // 4x4 with 2x2/2: the paired-output forward kernel (pool_max_2x2.wgsl) and the general one
    const p = pool(1, 1, 4, 4, [2, 2], [2, 2], [0, 0]);
    const x = Float32Array.from([-Infinity, -Infinity, 1, NaN, -Infinity, -Infinity, NaN, 2, 5, 5, 0, 0, 5, 5, 0, 0]);
    try {
      for (const paired of [true, false]) {
        poolTuning.maxForward2x2 = paired;
        await checkPool(p, x);
        const idx = getBackend('webgpu').alloc('int32', 4);
        const out = getBackend('webgpu').alloc('float32', 4);
        const xs = getBackend('webgpu').upload(x, 'float32');
        getBackend('webgpu').maxPool2d(xs, out, idx, p);
        expect(Array.from(await getBackend('webgpu').read(idx))).toEqual([0, 6, 8, 10]);
        const o = await getBackend('webgpu').read(out);
        expect(o[0]).toBe(-Infinity);
        expect(Number.isNaN(o[1]!)).toBe(true);
      }
    } finally {
      poolTuning.maxForward2x2 = true;
    }
  });

  it('random shapes', async () => {
    for (let t = 0; t < 8; t++) {
      const K: [number, number] = [irand(1, 3), irand(1, 3)];
      const dl: [number, number] = [irand(1, 2), irand(1, 2)];
      const pd: [number, number] = [irand(0, Math.floor(K[0] / 2)), irand(0, Math.floor(K[1] / 2))];
      const H = irand(dl[0] * (K[0] - 1) + 1, 12), W = irand(dl[1] * (K[1] - 1) + 1, 12);
      const p = pool(irand(1, 3), irand(1, 4), H, W, K, [irand(1, 3), irand(1, 3)], pd, dl, rnd() > 0, rnd() > 0.6 ? irand(1, 7) : 0);
      await checkPool(p, Float32Array.from({ length: p.N * p.C * H * W }, rnd));
    }
  });

  it('adaptive average pooling (down- and upsampling) and its gradient', async () => {
    for (const [N, C, H, W, OH, OW] of [[2, 3, 7, 9, 3, 4], [1, 2, 5, 5, 7, 6], [16, 4, 8, 8, 1, 1], [1, 1, 3, 3, 3, 3], [2, 2, 1, 1, 2, 3]] as const) {
      const p: AdaptivePool2dParams = { N, C, H, W, OH, OW };
      const x = Float32Array.from({ length: N * C * H * W }, rnd), gy = Float32Array.from({ length: N * C * OH * OW }, rnd);
      const f = (be: Backend, [xs, g]: Storage[]): Storage[] => {
        const out = be.alloc('float32', gy.length), gx = be.alloc('float32', x.length);
        be.adaptiveAvgPool2d(xs!, out, p);
        be.adaptiveAvgPool2dBackward(g!, gx, p);
        return [out, gx];
      };
      const ref = await run(getBackend('cpu'), f, [x, gy]);
      const got = await run(getBackend('webgpu'), f, [x, gy]);
      close(`${JSON.stringify(p)} adaptive`, ref[0]!, got[0]!, 1e-5, 1e-6);
      close(`${JSON.stringify(p)} adaptive gx`, ref[1]!, got[1]!, 1e-5, 1e-6);
    }
  });

  it('a dispatch over 65,535 workgroups (spread over a 2-d grid)', async () => {
    // 1 x 17 x 512 x 520 = 4.5M elements: one invocation each (64 per workgroup) = 70k workgroups
    const p = pool(1, 17, 512, 520, [1, 1], [1, 1], [0, 0]);
    const n = p.N * p.C * p.H * p.W;
    expect(Math.ceil(n / 64)).toBeGreaterThan(webgpuRuntime().limits.maxComputeWorkgroupsPerDimension);
    const x = Float32Array.from({ length: n }, (_, i) => (i % 1000) - 500);
    const gy = Float32Array.from({ length: n }, (_, i) => i % 7);
    const gpu = getBackend('webgpu');
    const xs = gpu.upload(x, 'float32'), gs = gpu.upload(gy, 'float32');
    const out = gpu.alloc('float32', n), idx = gpu.alloc('int32', n), gx = gpu.alloc('float32', n);
    gpu.maxPool2d(xs, out, idx, p);
    gpu.maxPool2dBackward(gs, idx, gx, p);
    const o = await gpu.read(out), ix = await gpu.read(idx), g = await gpu.read(gx);
    // 1x1 windows: identity, index = position in the plane, gradient passes through
    for (let i = 0; i < n; i += 997) {
      expect(o[i]).toBe(x[i]);
      expect(ix[i]).toBe(i % (p.H * p.W));
      expect(g[i]).toBe(gy[i]);
    }
    expect(o[n - 1]).toBe(x[n - 1]);
    expect(g[n - 1]).toBe(gy[n - 1]);
    for (const s of [xs, gs, out, idx, gx]) gpu.free(s);
  });

  it('PyTorch fixtures through the front end (pooling + autograd on webgpu tensors)', async () => {
    interface Fix {
      shape: number[];
      data: (number | string)[];
    }
    interface Case {
      name: string;
      x: Fix;
      opts?: Record<string, unknown>;
      output_size?: number | [number, number];
      out: Fix;
      gout: Fix;
      grads: Record<string, Fix>;
    }
    const F = JSON.parse(readFileSync(new URL('../fixtures/conv_pool.json', import.meta.url), 'utf8')) as { cases: Record<string, Case[]> };
    const t = (f: Fix, requires_grad = false) => tensor(Float32Array.from(f.data.map(Number)), { shape: f.shape, dtype: 'float32', device: 'webgpu', requires_grad });
    const near = (what: string, got: ArrayLike<number>, f: Fix) => {
      const e = f.data.map(Number);
      expect(got.length, what).toBe(e.length);
      for (let i = 0; i < e.length; i++) {
        const ok = Number.isNaN(e[i]!) ? Number.isNaN(got[i]!) : got[i] === e[i] || Math.abs(got[i]! - e[i]!) <= 1e-5 * (1 + Math.abs(e[i]!));
        if (!ok) expect.fail(`${what}[${i}]: got ${got[i]}, torch ${e[i]}`);
      }
    };
    const ops: Record<string, (x: Tensor, c: Case) => Tensor> = {
      max_pool2d: (x, c) => {
        const { kernel_size, ...o } = c.opts as { kernel_size: number | [number, number] };
        return max_pool2d(x, kernel_size, o);
      },
      avg_pool2d: (x, c) => {
        const { kernel_size, ...o } = c.opts as { kernel_size: number | [number, number] };
        return avg_pool2d(x, kernel_size, o);
      },
      adaptive_avg_pool2d: (x, c) => adaptive_avg_pool2d(x, c.output_size!),
    };
    for (const [op, f] of Object.entries(ops)) {
      expect(F.cases[op]!.length).toBeGreaterThanOrEqual(4);
      for (const c of F.cases[op]!) {
        const x = t(c.x, true);
        const y = f(x, c);
        expect(y.device).toBe('webgpu');
        near(`${op} ${c.name} out`, await y.data(), c.out);
        y.backward(t(c.gout));
        near(`${op} ${c.name} grad x`, await x.grad!.data(), c.grads.x!);
      }
    }
  });
});
