/**
 * WebGPU batch_norm (training forward with running-stat update, eval forward, backward in
 * training and eval mode, with and without affine parameters) cross-checked against the CPU
 * reference backend on the same uploaded data, on small awkward shapes, the ResEmoteNet extremes
 * (C = 64 over 16 x 64 x 64 = 65536 values per channel; C = 2048 over 16 x 1 x 1), and data with
 * a large mean (stability of the variance: a naive E[x^2] - E[x]^2 in float32 fails there).
 *
 * Tolerances (the CPU computes in float64 from the same float32 inputs):
 *   statistics (save_mean, save_invstd, running_mean, running_var): 1e-4 relative + 1e-6;
 *   normalized output: 1e-4 relative + 1e-5 + 2 ulp(max |x|) * max |w * invstd| (float32 rounding
 *     of x - mean where |x| >> std);
 *   gradients: 1e-3 relative + 1e-4 (+ the same ulp term for gx, times sqrt(N*S) for gweight).
 * Every case runs through the workgroup-memory kernels and, where the adapter has fixed-size
 * subgroups, through the sg kernels (software adapters' path: one-dispatch kernels for channels
 * of at most 4096 values, bn_reduce_sg above that; vec4 loads when S % 4 == 0).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBackend } from '../../src/tensor/device.js';
import type { Backend, BatchNormParams, Storage } from '../../src/kernels/backend.js';
import { gpuAvailable } from '../helpers/webgpu.js';
import { webgpuRuntime } from '../../src/index.js';
import { sgSize, sgTuning } from '../../src/kernels/webgpu/subgroups.js';
import { BatchNorm2d } from '../../src/nn/layers/batchnorm.js';
import { randn, tensor } from '../../src/tensor/index.js';

const hasGpu = await gpuAvailable();

let seed = 4242;
function rnd(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed / 2 ** 32) * 2 - 1;
}

function ulp32(v: number): number {
  return Math.abs(v) < 1e-30 ? 1e-45 : 2 ** (Math.floor(Math.log2(Math.abs(v))) - 23);
}

function close(what: string, ref: ArrayLike<number>, got: ArrayLike<number>, rtol: number, atol: number): void {
  expect(got.length, what).toBe(ref.length);
  let worst = 0, at = -1;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!, g = got[i]!;
    if (Number.isNaN(r) && Number.isNaN(g)) continue;
    const excess = Math.abs(r - g) - (atol + rtol * Math.abs(r));
    if (!(excess <= worst)) {
      worst = excess;
      at = i;
    }
  }
  if (at >= 0) expect.fail(`${what}[${at}]: expected ${ref[at]}, got ${got[at]} (rtol ${rtol}, atol ${atol})`);
}

interface Case {
  p: BatchNormParams;
  x: Float32Array;
  gy: Float32Array;
  w: Float32Array;
  b: Float32Array;
  rm: Float32Array;
  rv: Float32Array;
}

function makeCase(N: number, C: number, S: number, offset: number, spread = 1): Case {
  const n = N * C * S;
  return {
    p: { N, C, S, eps: 1e-5, momentum: 0.1 },
    x: Float32Array.from({ length: n }, (_, i) => offset + (Math.floor(i / S) % C) * 0.1 + rnd() * spread),
    gy: Float32Array.from({ length: n }, rnd),
    w: Float32Array.from({ length: C }, () => 1 + 0.5 * rnd()),
    b: Float32Array.from({ length: C }, rnd),
    rm: Float32Array.from({ length: C }, rnd),
    rv: Float32Array.from({ length: C }, () => 1 + 0.5 * rnd()),
  };
}

/** Runs every batch-norm primitive on one backend; returns the named results. */
async function runAll(be: Backend, c: Case, affine: boolean): Promise<Record<string, ArrayLike<number>>> {
  const { p } = c;
  const up = (a: Float32Array) => be.upload(a, 'float32');
  const x = up(c.x), gy = up(c.gy), rm = up(c.rm), rv = up(c.rv);
  const w = affine ? up(c.w) : null, b = affine ? up(c.b) : null;
  const n = c.x.length;
  const out = be.alloc('float32', n), sm = be.alloc('float32', p.C), si = be.alloc('float32', p.C);
  const eout = be.alloc('float32', n), gx = be.alloc('float32', n), gw = be.alloc('float32', p.C), gb = be.alloc('float32', p.C);
  const egx = be.alloc('float32', n), egw = be.alloc('float32', p.C), egb = be.alloc('float32', p.C);
  be.batchNormTrain(x, w, b, rm, rv, out, sm, si, p);
  be.batchNormBackward(gy, x, w, sm, si, gx, affine ? gw : null, affine ? gb : null, p, true);
  be.batchNormEval(x, w, b, rm, rv, eout, p);
  // eval-mode backward: the statistics are the running ones, as constants
  const rmv = Float32Array.from(await be.read(rm)), rvv = Float32Array.from(await be.read(rv));
  const em = up(rmv), ei = up(rvv.map((v) => 1 / Math.sqrt(v + p.eps)));
  be.batchNormBackward(gy, x, w, em, ei, egx, affine ? egw : null, affine ? egb : null, p, false);
  const res: Record<string, ArrayLike<number>> = {
    out: await be.read(out),
    saveMean: await be.read(sm),
    saveInvstd: await be.read(si),
    runningMean: rmv,
    runningVar: rvv,
    evalOut: await be.read(eout),
    gx: await be.read(gx),
    evalGx: await be.read(egx),
  };
  if (affine) Object.assign(res, { gweight: await be.read(gw), gbias: await be.read(gb), evalGweight: await be.read(egw), evalGbias: await be.read(egb) });
  for (const s of [x, gy, rm, rv, w, b, out, sm, si, eout, gx, gw, gb, egx, egw, egb, em, ei]) if (s) be.free(s as Storage);
  return res;
}

async function check(c: Case): Promise<void> {
  for (const affine of [true, false]) {
    const ref = await runAll(getBackend('cpu'), c, affine);
    const got = await runAll(getBackend('webgpu'), c, affine);
    const tag = `N${c.p.N} C${c.p.C} S${c.p.S} affine=${affine}`;
    let maxX = 0;
    for (const v of c.x) maxX = Math.max(maxX, Math.abs(v));
    let maxScale = 0;
    const inv = ref.saveInvstd!;
    for (let ch = 0; ch < c.p.C; ch++) maxScale = Math.max(maxScale, inv[ch]! * (affine ? Math.abs(c.w[ch]!) : 1));
    const xErr = 2 * ulp32(maxX) * maxScale; // float32 rounding of x - mean, scaled
    const count = c.p.N * c.p.S;
    for (const k of ['saveMean', 'saveInvstd', 'runningMean', 'runningVar']) close(`${tag} ${k}`, ref[k]!, got[k]!, 1e-4, 1e-6);
    for (const k of ['out', 'evalOut']) close(`${tag} ${k}`, ref[k]!, got[k]!, 1e-4, 1e-5 + xErr);
    close(`${tag} gx`, ref.gx!, got.gx!, 1e-3, 1e-4 + 4 * xErr);
    close(`${tag} evalGx`, ref.evalGx!, got.evalGx!, 1e-3, 1e-4);
    if (affine) {
      for (const k of ['gbias', 'evalGbias']) close(`${tag} ${k}`, ref[k]!, got[k]!, 1e-3, 1e-4);
      for (const k of ['gweight', 'evalGweight']) close(`${tag} ${k}`, ref[k]!, got[k]!, 1e-3, 1e-4 + xErr * Math.sqrt(count) * 4);
    }
  }
}

const paths: ('tree' | 'sg')[] = hasGpu && sgSize(webgpuRuntime()) ? ['tree', 'sg'] : ['tree'];

describe.runIf(hasGpu).each(paths)('webgpu batch_norm (%s kernels)', (path) => {
  beforeAll(() => {
    sgTuning.batchNorm = path === 'sg';
  });
  afterAll(() => {
    sgTuning.batchNorm = 'auto';
  });

  it('small and awkward shapes (S = 1, S not a multiple of 4, odd channel counts)', async () => {
    for (const [N, C, S] of [[2, 3, 5], [4, 6, 64], [16, 8, 1], [3, 5, 130], [1, 4, 3], [2, 7, 65], [5, 3, 256]] as const) await check(makeCase(N, C, S, 0));
  });

  it('channels around the one-dispatch limit (4096 values), with and without vec4 planes', async () => {
    for (const [N, C, S] of [[64, 9, 64], [65, 3, 64], [16, 5, 257], [64, 20, 36], [4, 11, 1025]] as const) await check(makeCase(N, C, S, 0.25));
  });

  it('ResEmoteNet extremes: C = 64 over 16 x 64 x 64 values, C = 2048 over 16 x 1 x 1', async () => {
    await check(makeCase(16, 64, 4096, 0.5));
    await check(makeCase(16, 2048, 1, -0.5));
  });

  it('stable variance for data with a large mean (Welford/Chan, not E[x^2] - E[x]^2)', async () => {
    // mean ~1000 or ~10000 with std ~0.6: E[x^2] ~ 1e8 has float32 ulp 8, far above the variance
    for (const off of [1000, 10000]) await check(makeCase(16, 4, 1024, off));
    for (const off of [1000, 10000]) await check(makeCase(4, 3, 1000, off)); // one-dispatch sizes
  });

  it('a single value per channel: unbiased running variance is NaN like the reference', async () => {
    await check(makeCase(1, 3, 1, 0));
  });
});

describe.runIf(hasGpu)('webgpu batch_norm eval coefficients cache', () => {
  it('repeated eval calls reuse the coefficients; a write to weight, bias, running_mean or running_var is seen', async () => {
    const c = makeCase(2, 5, 9, 0.3);
    const gpu = getBackend('webgpu') as Backend, cpu = getBackend('cpu') as Backend;
    const up = (be: Backend) => ({ x: be.upload(c.x, 'float32'), w: be.upload(c.w, 'float32'), b: be.upload(c.b, 'float32'), rm: be.upload(c.rm, 'float32'), rv: be.upload(c.rv, 'float32') });
    const G = up(gpu), C = up(cpu);
    const evalOn = async (be: Backend, s: typeof G): Promise<ArrayLike<number>> => {
      const out = be.alloc('float32', c.x.length);
      be.batchNormEval(s.x, s.w, s.b, s.rm, s.rv, out, c.p);
      const r = await be.read(out);
      be.free(out);
      return r;
    };
    const coefCopy = () => ((G.rv as unknown as { derived: Map<string, { copy: unknown }> | null }).derived?.get('bn_coef')?.copy ?? null);
    const same = async (what: string) => close(what, await evalOn(cpu, C), await evalOn(gpu, G), 1e-5, 1e-5);
    await same('1st call');
    const kept = coefCopy();
    expect(kept).not.toBeNull();
    await same('2nd call');
    expect(coefCopy()).toBe(kept);
    for (const k of ['w', 'b', 'rm'] as const) {
      gpu.fill(G[k], 0.75);
      cpu.fill(C[k], 0.75);
      await same(`after writing ${k}`);
      expect(coefCopy()).not.toBe(kept);
    }
    gpu.fill(G.rv, 2);
    cpu.fill(C.rv, 2);
    expect(coefCopy()).toBeNull(); // dropped by the write
    await same('after writing running_var');
    for (const s of [...Object.values(G)]) gpu.free(s);
  });
});

describe.runIf(hasGpu)('webgpu BatchNorm2d num_batches_tracked', () => {
  // whether the module knows the count on the host (then an increment is one fill)
  const known = (bn: BatchNorm2d) => (bn as unknown as { _nbtHost: { value: number } | null })._nbtHost?.value ?? null;

  it('counts training calls: known on the host from construction, across to(), and from a cpu checkpoint', async () => {
    const bn = new BatchNorm2d(3).to('webgpu');
    expect(known(bn)).toBe(0);
    const x = randn([4, 3, 2, 2]).to('webgpu');
    for (let i = 0; i < 3; i++) bn.call(x);
    expect(known(bn)).toBe(3);
    expect(await bn.num_batches_tracked!.item()).toBe(3);
    bn.load_state_dict({ ...bn.state_dict(), num_batches_tracked: tensor(7, { dtype: 'int32' }) });
    expect(known(bn)).toBe(7);
    bn.call(x);
    expect(await bn.num_batches_tracked!.item()).toBe(8);
    bn.eval();
    bn.call(x);
    expect(await bn.num_batches_tracked!.item()).toBe(8);
  });

  it('a count loaded from a webgpu tensor is unknown on the host: the increment adds on the device', async () => {
    const bn = new BatchNorm2d(3, { device: 'webgpu' });
    const x = randn([4, 3, 2, 2]).to('webgpu');
    bn.load_state_dict({ ...bn.state_dict(), num_batches_tracked: tensor(5, { dtype: 'int32' }).to('webgpu') });
    expect(known(bn)).toBeNull();
    bn.call(x);
    bn.call(x);
    expect(await bn.num_batches_tracked!.item()).toBe(7);
    bn.reset_running_stats();
    expect(known(bn)).toBe(0);
    bn.call(x);
    expect(await bn.num_batches_tracked!.item()).toBe(1);
  });
});
