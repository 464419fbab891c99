import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getBackend } from '../../src/index.js';
import type { AdamParams, SGDParams, Storage } from '../../src/kernels/backend.js';

interface OptRun {
  kind: 'sgd' | 'adam' | 'adamw';
  config: {
    lr: number;
    momentum?: number;
    dampening?: number;
    nesterov?: boolean;
    weight_decay?: number;
    maximize?: boolean;
    betas?: [number, number];
    eps?: number;
    amsgrad?: boolean;
  };
  steps: { param: number[]; momentum_buffer?: number[]; exp_avg?: number[]; exp_avg_sq?: number[]; max_exp_avg_sq?: number[] }[];
}
const FX = JSON.parse(readFileSync(new URL('../fixtures/bn_loss.json', import.meta.url), 'utf8')) as {
  optim: { param0: number[]; grads: number[][]; runs: OptRun[] };
};

const cpu = getBackend('cpu');
type DT = 'float32' | 'float64';
const up = (v: number[], dt: DT = 'float64') => cpu.upload(Float64Array.from(v), dt);
const read = async (s: Storage) => Array.from(await cpu.read(s));

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) throw new Error(`element ${i}: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
  }
}

const sgd = (o: Partial<SGDParams> & { size: number; lr: number }): SGDParams => ({
  momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, firstStep: false, ...o,
});
const adam = (o: Partial<AdamParams> & { size: number; lr: number; step: number }): AdamParams => ({
  beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, amsgrad: false, maximize: false, ...o,
});

describe('sgdUpdate: hand-computed steps', () => {
  it('plain SGD with weight decay: p -= lr * (g + wd * p)', async () => {
    const p = up([1, -2]);
    cpu.sgdUpdate(p, up([0.5, 1]), null, sgd({ size: 2, lr: 0.1, weightDecay: 0.1 }));
    expectClose(await read(p), [1 - 0.1 * (0.5 + 0.1), -2 - 0.1 * (1 - 0.2)], 1e-15);
  });

  it('momentum: the first step copies the gradient into the buffer, later steps damp', async () => {
    const p = up([1]);
    const buf = up([123]); // garbage: the first step must overwrite it
    cpu.sgdUpdate(p, up([2]), buf, sgd({ size: 1, lr: 0.1, momentum: 0.9, dampening: 0.5, firstStep: true }));
    expect(await read(buf)).toEqual([2]); // no dampening on the first step
    expectClose(await read(p), [0.8], 1e-15);
    cpu.sgdUpdate(p, up([1]), buf, sgd({ size: 1, lr: 0.1, momentum: 0.9, dampening: 0.5 }));
    // buf = 0.9 * 2 + 0.5 * 1 = 2.3; p = 0.8 - 0.23
    expectClose(await read(buf), [2.3], 1e-15);
    expectClose(await read(p), [0.57], 1e-15);
  });

  it('nesterov steps with g + momentum * buf; maximize ascends', async () => {
    const p = up([0]);
    const buf = up([0]);
    cpu.sgdUpdate(p, up([1]), buf, sgd({ size: 1, lr: 1, momentum: 0.5, nesterov: true, firstStep: true }));
    expectClose(await read(p), [-(1 + 0.5 * 1)], 1e-15);
    const q = up([0]);
    cpu.sgdUpdate(q, up([3]), null, sgd({ size: 1, lr: 0.5, maximize: true }));
    expectClose(await read(q), [1.5], 1e-15);
  });
});

describe('adamUpdate: hand-computed steps', () => {
  it('first step: bias correction makes the step lr * g / (|g| + eps)', async () => {
    const p = up([1]);
    const m = up([0]), v = up([0]);
    cpu.adamUpdate(p, up([2]), m, v, null, adam({ size: 1, lr: 0.1, step: 1 }));
    expectClose(await read(m), [0.2], 1e-16);
    expectClose(await read(v), [0.004], 1e-16);
    // denom = sqrt(0.004) / sqrt(0.001) + 1e-8 = 2 + 1e-8; step size lr / 0.1 = 1
    expectClose(await read(p), [1 - 0.2 / (2 + 1e-8)], 1e-15);
  });

  it('AdamW decays the parameter before the Adam step; Adam adds wd * p to the gradient', async () => {
    const pw = up([2]);
    cpu.adamUpdate(pw, up([0]), up([0]), up([0]), null, adam({ size: 1, lr: 0.1, step: 1, weightDecay: 0.5, decoupled: true }));
    // zero gradient: only the decay acts (m = 0 gives no Adam step)
    expectClose(await read(pw), [2 * (1 - 0.05)], 1e-15);
    const pa = up([2]);
    const m = up([0]);
    cpu.adamUpdate(pa, up([0]), m, up([0]), null, adam({ size: 1, lr: 0.1, step: 1, weightDecay: 0.5 }));
    // effective gradient 0.5 * 2 = 1: m = 0.1, step = 0.1 * 1 / (1 + 1e-8)
    expectClose(await read(m), [0.1], 1e-16);
    expectClose(await read(pa), [2 - 0.1 / (1 + 1e-8)], 1e-15);
  });

  it('amsgrad normalizes by the running maximum of v', async () => {
    const p = up([0]);
    const m = up([0]), v = up([0]), vmax = up([0]);
    const o = { size: 1, lr: 1, beta1: 0, beta2: 0.5, eps: 0, amsgrad: true };
    cpu.adamUpdate(p, up([4]), m, v, vmax, adam({ ...o, step: 1 }));
    // v = 8, vmax = 8, denom = sqrt(8)/sqrt(0.5) = 4, step = m / denom = 1
    expectClose(await read(p), [-1], 1e-15);
    cpu.adamUpdate(p, up([1]), m, v, vmax, adam({ ...o, step: 2 }));
    // v = 4 + 0.5 = 4.5 but vmax stays 8; denom = sqrt(8)/sqrt(0.75)
    expectClose(await read(v), [4.5], 1e-15);
    expectClose(await read(vmax), [8], 1e-15);
    expectClose(await read(p), [-1 - 1 / (Math.sqrt(8) / Math.sqrt(0.75))], 1e-15);
  });
});

describe('optimizer kernels: PyTorch 1.13 fixtures (single-tensor implementation)', () => {
  const { param0, grads, runs } = FX.optim;
  const n = param0.length;

  async function replay(run: OptRun, dt: DT, check: (got: number[], want: number[]) => void): Promise<void> {
    const c = run.config;
    const p = up(param0, dt);
    if (run.kind === 'sgd') {
      const mom = c.momentum ?? 0;
      const buf = mom !== 0 ? cpu.alloc(dt, n) : null;
      for (let k = 0; k < grads.length; k++) {
        cpu.sgdUpdate(p, up(grads[k]!, dt), buf, {
          size: n, lr: c.lr, momentum: mom, dampening: c.dampening ?? 0, weightDecay: c.weight_decay ?? 0,
          nesterov: c.nesterov ?? false, maximize: c.maximize ?? false, firstStep: k === 0,
        });
        const want = run.steps[k]!;
        check(await read(p), want.param);
        if (buf) check(await read(buf), want.momentum_buffer!);
      }
      return;
    }
    const m = cpu.alloc(dt, n), v = cpu.alloc(dt, n);
    const vmax = c.amsgrad ? cpu.alloc(dt, n) : null;
    const wdDefault = run.kind === 'adamw' ? 0.01 : 0;
    for (let k = 0; k < grads.length; k++) {
      cpu.adamUpdate(p, up(grads[k]!, dt), m, v, vmax, {
        size: n, lr: c.lr, beta1: c.betas?.[0] ?? 0.9, beta2: c.betas?.[1] ?? 0.999, eps: c.eps ?? 1e-8,
        weightDecay: c.weight_decay ?? wdDefault, decoupled: run.kind === 'adamw', amsgrad: c.amsgrad ?? false,
        maximize: c.maximize ?? false, step: k + 1,
      });
      const want = run.steps[k]!;
      check(await read(p), want.param);
      check(await read(m), want.exp_avg!);
      check(await read(v), want.exp_avg_sq!);
      if (vmax) check(await read(vmax), want.max_exp_avg_sq!);
    }
  }

  for (const run of runs) {
    const label = `${run.kind} ${JSON.stringify(run.config)}`;
    it(`${label} (float64, atol 1e-12)`, async () => {
      await replay(run, 'float64', (got, want) => expectClose(got, want, 1e-12));
    });
    it(`${label} (float32 storages, atol 1e-5)`, async () => {
      await replay(run, 'float32', (got, want) => expectClose(got, want, 1e-5, 1e-5));
    });
  }
});
