/**
 * WebGPU fused optimizer steps (sgdUpdate, adamUpdate) against the cpu reference
 * (src/kernels/cpu/optim.ts, PyTorch semantics), over several steps and every option.
 * Tolerance: the reference computes each element in f64 and rounds once, the kernel in f32, so
 * |gpu - cpu| <= 1e-6 * (1 + |value|) for params and buffers after a few steps (a handful of
 * f32 roundings of terms no larger than the values themselves; Adam's m / (sqrt(v) + eps) is
 * well conditioned for these magnitudes).
 */
import { describe, expect, it } from 'vitest';
import { getBackend, type TypedArray } from '../../src/index.js';
import type { AdamParams, Backend, SGDParams, Storage } from '../../src/kernels/backend.js';
import { webgpuRuntime } from '../../src/index.js';
import { gpuAvailable } from '../helpers/webgpu.js';

const hasGpu = await gpuAvailable();

function randomData(n: number, seed: number, scale = 1): Float32Array {
  // A plain loop (Float32Array.from with a callback takes seconds for 38M elements).
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 4294967296 * 2 - 1) * scale;
  }
  return a;
}

function firstBad(got: TypedArray, want: TypedArray, tol = 1e-6): number {
  for (let i = 0; i < want.length; i++) if (!(Math.abs(got[i]! - want[i]!) <= tol * (1 + Math.abs(want[i]!)))) return i;
  return -1;
}

/** The same state on both backends. */
function upload2(data: Float32Array): [Storage, Storage] {
  return [getBackend('cpu').upload(data, 'float32'), getBackend('webgpu').upload(data, 'float32')];
}

async function expectSame(what: string, c: Storage, g: Storage): Promise<void> {
  const want = await getBackend('cpu').read(c), got = await getBackend('webgpu').read(g);
  const bad = firstBad(got, want);
  expect(bad, `${what}: element ${bad} ${got[bad]} vs ${want[bad]}`).toBe(-1);
}

describe.runIf(hasGpu)('webgpu optimizers', () => {
  it('SGD: momentum, dampening, nesterov, weight decay, maximize, first and later steps', async () => {
    const n = 1000;
    const configs: Omit<SGDParams, 'size' | 'firstStep'>[] = [
      { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false },
      { lr: 0.05, momentum: 0, dampening: 0, weightDecay: 0.01, nesterov: false, maximize: true },
      { lr: 0.01, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false },
      { lr: 0.01, momentum: 0.9, dampening: 0.1, weightDecay: 1e-4, nesterov: false, maximize: false },
      { lr: 0.02, momentum: 0.8, dampening: 0, weightDecay: 5e-4, nesterov: true, maximize: true },
    ];
    let seed = 1;
    for (const cfg of configs) {
      const [cp, gp] = upload2(randomData(n, seed++));
      const [cb, gb] = upload2(new Float32Array(n));
      for (let step = 0; step < 3; step++) {
        const grad = randomData(n, seed++, 2);
        const [cg, gg] = upload2(grad);
        const p: SGDParams = { ...cfg, size: n, firstStep: step === 0 };
        const useBuf = cfg.momentum !== 0;
        getBackend('cpu').sgdUpdate(cp, cg, useBuf ? cb : null, p);
        getBackend('webgpu').sgdUpdate(gp, gg, useBuf ? gb : null, p);
      }
      await expectSame(`sgd ${JSON.stringify(cfg)} param`, cp, gp);
      if (cfg.momentum !== 0) await expectSame(`sgd ${JSON.stringify(cfg)} momentum buffer`, cb, gb);
    }
  });

  it('SGD: elements whose gradient and buffer are +0 keep their bits (the skipped path), the rest update', async () => {
    // Conv weights whose taps never meet the input get exactly zero gradients: the kernel skips
    // their param load and both stores. Bit-exact against the reference, signed zeros included:
    // -0 params stay -0, a -0 gradient or buffer takes the full path, maximize negates +0 to -0.
    const n = 4099; // a partial last vec4
    const w = randomData(n, 7);
    for (let i = 0; i < n; i += 5) w[i] = -0;
    w[3] = Number.NaN;
    const g = randomData(n, 8, 2), b = randomData(n, 9, 0.5);
    for (let i = 0; i < n; i++) {
      if (i % 9 !== 4) g[i] = 0; // the pattern of a 3x3 conv's center tap
      if (i % 9 !== 4 && i % 7 !== 0) b[i] = 0;
    }
    g[33] = -0; // a -0 gradient at a dead tap: the full path (same values)
    b[25] = -0; // a -0 buffer at a dead tap: the reference stores +0 there (0.9 * -0 + 0)
    // zeros, NaNs and values the reference leaves unchanged must match bit for bit; the others
    // within the f32-vs-f64 tolerance (the kernel rounds in f32)
    const check = (what: string, before: Float32Array, want: TypedArray, got: TypedArray) => {
      const wb = new Uint32Array(Float32Array.from(want as Float32Array).buffer), gb = new Uint32Array(Float32Array.from(got as Float32Array).buffer);
      const ib = new Uint32Array(before.buffer);
      const bad = Array.from(wb).findIndex((v, i) => {
        const exact = want[i] === 0 || Number.isNaN(want[i]!) || v === ib[i];
        return exact ? gb[i] !== v : !(Math.abs(got[i]! - want[i]!) <= 1e-6 * (1 + Math.abs(want[i]!)));
      });
      expect(bad, `${what}: element ${bad} ${got[bad]} vs ${want[bad]}`).toBe(-1);
    };
    const cases: Omit<SGDParams, 'size' | 'firstStep'>[] = [
      { lr: 0.01, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false },
      { lr: 0.01, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: true, maximize: false },
      { lr: 0.01, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: true },
      { lr: 0.01, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false },
      { lr: 0.01, momentum: 0.9, dampening: 0, weightDecay: 1e-3, nesterov: false, maximize: false },
    ];
    for (const cfg of cases) {
      for (const firstStep of [false, true]) {
        const b0 = firstStep ? new Float32Array(n) : b.slice();
        const [cp, gp] = upload2(w.slice());
        const [cg, gg] = upload2(g.slice());
        const [cb, gb] = upload2(b0.slice());
        const p: SGDParams = { ...cfg, size: n, firstStep };
        const useBuf = cfg.momentum !== 0;
        getBackend('cpu').sgdUpdate(cp, cg, useBuf ? cb : null, p);
        getBackend('webgpu').sgdUpdate(gp, gg, useBuf ? gb : null, p);
        const what = `sgd ${JSON.stringify(cfg)} first ${firstStep}`;
        const got = await getBackend('webgpu').read(gp);
        check(`${what} param`, w, await getBackend('cpu').read(cp), got);
        if (useBuf) check(`${what} buffer`, b0, await getBackend('cpu').read(cb), await getBackend('webgpu').read(gb));
        // a -0 param with a zero gradient and buffer stays -0; so does a zero-gradient weight
        if (cfg.weightDecay === 0 && !cfg.maximize) expect(Object.is(got[5], -0) && got[1] === w[1], what).toBe(true);
      }
    }
  });

  it('Adam / AdamW: weight decay, amsgrad, maximize, bias correction over steps', async () => {
    const n = 777;
    const configs: Omit<AdamParams, 'size' | 'step'>[] = [
      { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, amsgrad: false, maximize: false },
      { lr: 1e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1, decoupled: false, amsgrad: true, maximize: false },
      { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: true, amsgrad: false, maximize: true },
      { lr: 5e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.05, decoupled: true, amsgrad: true, maximize: false },
    ];
    let seed = 100;
    for (const cfg of configs) {
      const [cp, gp] = upload2(randomData(n, seed++));
      const [cm, gm] = upload2(new Float32Array(n));
      const [cv, gv] = upload2(new Float32Array(n));
      const [cx, gx] = upload2(new Float32Array(n));
      for (let step = 1; step <= 4; step++) {
        // Gradients of varying scale so that amsgrad's running max matters.
        const [cg, gg] = upload2(randomData(n, seed++, step % 2 ? 3 : 0.5));
        const p: AdamParams = { ...cfg, size: n, step };
        getBackend('cpu').adamUpdate(cp, cg, cm, cv, cfg.amsgrad ? cx : null, p);
        getBackend('webgpu').adamUpdate(gp, gg, gm, gv, cfg.amsgrad ? gx : null, p);
      }
      const what = `adam ${JSON.stringify(cfg)}`;
      await expectSame(`${what} param`, cp, gp);
      await expectSame(`${what} exp_avg`, cm, gm);
      await expectSame(`${what} exp_avg_sq`, cv, gv);
      if (cfg.amsgrad) await expectSame(`${what} max_exp_avg_sq`, cx, gx);
    }
  });

  it('windows under a lowered binding limit (SGD with momentum, AdamW with amsgrad)', async () => {
    const lim = webgpuRuntime().limits as { maxStorageBufferBindingSize: number };
    const saved = lim.maxStorageBufferBindingSize;
    lim.maxStorageBufferBindingSize = 64 * 1024; // 16384 elements
    try {
      const n = 100_003;
      const [cp, gp] = upload2(randomData(n, 1));
      const [cb, gb] = upload2(randomData(n, 2));
      const [cg, gg] = upload2(randomData(n, 3));
      const sp: SGDParams = { size: n, lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 1e-3, nesterov: true, maximize: false, firstStep: false };
      getBackend('cpu').sgdUpdate(cp, cg, cb, sp);
      getBackend('webgpu').sgdUpdate(gp, gg, gb, sp);
      await expectSame('windowed sgd param', cp, gp);
      await expectSame('windowed sgd buffer', cb, gb);
      const [cm, gm] = upload2(new Float32Array(n));
      const [cv, gv] = upload2(new Float32Array(n));
      const [cx, gx] = upload2(new Float32Array(n));
      const ap: AdamParams = { size: n, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: true, amsgrad: true, maximize: false, step: 1 };
      getBackend('cpu').adamUpdate(cp, cg, cm, cv, cx, ap);
      getBackend('webgpu').adamUpdate(gp, gg, gm, gv, gx, ap);
      await expectSame('windowed adam param', cp, gp);
      await expectSame('windowed adam max_exp_avg_sq', cx, gx);
    } finally {
      lim.maxStorageBufferBindingSize = saved;
    }
  });

  it('a 2048x2048x3x3 float32 weight (151 MB > 128 MiB): SGD with momentum in windows', async () => {
    const n = 2048 * 2048 * 9;
    const cpu: Backend = getBackend('cpu'), gpu: Backend = getBackend('webgpu');
    const w = randomData(n, 11), g = randomData(n, 12), b = randomData(n, 13, 0.1);
    const gw = gpu.upload(w, 'float32'), gg = gpu.upload(g, 'float32'), gb = gpu.upload(b, 'float32');
    const p: SGDParams = { size: n, lr: 0.01, momentum: 0.9, dampening: 0, weightDecay: 5e-4, nesterov: false, maximize: false, firstStep: false };
    gpu.sgdUpdate(gw, gg, gb, p);
    // Reference in place on the host arrays (the cpu storages wrap them without copying).
    const cw = cpu.upload(w, 'float32'), cg = cpu.upload(g, 'float32'), cb = cpu.upload(b, 'float32');
    cpu.sgdUpdate(cw, cg, cb, p);
    const gotW = await gpu.read(gw);
    expect(firstBad(gotW, await cpu.read(cw))).toBe(-1);
    gpu.free(gw);
    const gotB = await gpu.read(gb);
    expect(firstBad(gotB, await cpu.read(cb))).toBe(-1);
    gpu.free(gg);
    gpu.free(gb);
  });
});
