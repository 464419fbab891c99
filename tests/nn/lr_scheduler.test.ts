import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { nn, zeros, tensor } from '../../src/index.js';

const { SGD } = nn.optim;
const S = nn.optim.lr_scheduler;

interface SchedCase {
  name: string;
  steps: number;
  metrics: number[] | null;
  epochs: number[] | null;
  lrs: number[][];
  state_dict: Record<string, unknown>;
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/nn_optim.json', import.meta.url), 'utf8')) as { sched: SchedCase[] };

/** Two groups with lr 0.1 and 0.05, as gen_nn.py's two_group_opt. */
function twoGroups(): nn.optim.SGD {
  const a = new nn.Parameter(zeros([1]));
  const b = new nn.Parameter(zeros([1]));
  return new SGD([{ params: [a], lr: 0.1 }, { params: [b], lr: 0.05 }], { lr: 0.1, momentum: 0.9 });
}

type Sched = nn.optim.lr_scheduler.LRScheduler | nn.optim.lr_scheduler.ReduceLROnPlateau;
const makers: Record<string, (o: nn.optim.SGD) => Sched> = {
  step_lr: (o) => new S.StepLR(o, 3, { gamma: 0.5 }),
  multistep_lr: (o) => new S.MultiStepLR(o, [2, 5, 5, 9], { gamma: 0.3 }),
  cosine_tmax5: (o) => new S.CosineAnnealingLR(o, 5, { eta_min: 0.01 }),
  cosine_tmax3_eta0: (o) => new S.CosineAnnealingLR(o, 3),
  cosine_resumed: (o) => {
    for (const g of o.param_groups) g.initial_lr = g.lr * 2;
    return new S.CosineAnnealingLR(o, 6, { eta_min: 0.001, last_epoch: 2 });
  },
  step_lr_epoch_arg: (o) => new S.StepLR(o, 2, { gamma: 0.5 }),
  plateau_min_rel: (o) => new S.ReduceLROnPlateau(o, { mode: 'min', factor: 0.5, patience: 2, threshold: 0.01, cooldown: 1, min_lr: [0.004, 0.01] }),
  plateau_max_abs: (o) => new S.ReduceLROnPlateau(o, { mode: 'max', factor: 0.2, patience: 1, threshold: 0.04, threshold_mode: 'abs', min_lr: 0.001 }),
};

function stepOnce(s: Sched, c: SchedCase, i: number): void {
  if (s instanceof S.ReduceLROnPlateau) s.step(c.metrics![i]!);
  else if (c.epochs) s.step(c.epochs[i]!);
  else s.step();
}

/** Same value up to the last bits (Math.cos / Math.pow may differ from glibc's in the last ulp). */
function expectLrs(actual: number[], expected: number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]!), `${what} group ${i}: ${a} vs ${expected[i]}`).toBeLessThanOrEqual(1e-14 * Math.abs(expected[i]!) + 1e-18));
}

function fromPy(v: unknown): unknown {
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  return v;
}

describe('LR schedulers step by step equal PyTorch 1.13', () => {
  for (const c of fx.sched) {
    it(c.name, () => {
      const opt = twoGroups();
      const s = makers[c.name]!(opt);
      expectLrs(s.get_last_lr(), c.lrs[0]!, `${c.name} initial`);
      for (let i = 0; i < c.steps; i++) {
        opt.step();
        stepOnce(s, c, i);
        expectLrs(s.get_last_lr(), c.lrs[i + 1]!, `${c.name} step ${i + 1}`);
        expectLrs(opt.param_groups.map((g) => g.lr), c.lrs[i + 1]!, `${c.name} step ${i + 1} (groups)`);
      }
      const sd = s.state_dict();
      expect(Object.keys(sd).sort()).toEqual(Object.keys(c.state_dict).sort());
      for (const [k, v] of Object.entries(c.state_dict)) {
        const mine = sd[k];
        if (Array.isArray(v)) expectLrs(mine as number[], v as number[], `${c.name} state ${k}`);
        else if (typeof v === 'number' && typeof mine === 'number' && !Number.isInteger(v)) expectLrs([mine], [v], `${c.name} state ${k}`);
        else expect(mine, `${c.name} state ${k}`).toEqual(fromPy(v));
      }
    });
  }
});

describe('LR scheduler state_dict round trip', () => {
  for (const c of fx.sched) {
    it(`${c.name}: a reloaded scheduler continues identically`, () => {
      const half = Math.floor(c.steps / 2);
      const opt = twoGroups();
      const s = makers[c.name]!(opt);
      for (let i = 0; i < half; i++) stepOnce(s, c, i);
      const sd = JSON.parse(JSON.stringify(s.state_dict())) as Record<string, unknown>; // through JSON, as a checkpoint would
      const opt2 = twoGroups();
      opt2.param_groups.forEach((g, i) => Object.assign(g, { lr: opt.param_groups[i]!.lr, initial_lr: opt.param_groups[i]!.initial_lr }));
      const s2 = makers[c.name]!(opt2);
      opt2.param_groups.forEach((g, i) => (g.lr = opt.param_groups[i]!.lr));
      s2.load_state_dict(sd);
      expect(s2.get_last_lr()).toEqual(s.get_last_lr());
      for (let i = half; i < c.steps; i++) {
        stepOnce(s, c, i);
        stepOnce(s2, c, i);
        expect(s2.get_last_lr()).toEqual(s.get_last_lr());
      }
    });
  }
});

describe('LR scheduler errors and details', () => {
  it('validates arguments like PyTorch', () => {
    const opt = twoGroups();
    expect(() => new S.StepLR(opt, 0)).toThrow(/step_size must be a positive integer/);
    expect(() => new S.CosineAnnealingLR(twoGroups(), 5, { last_epoch: 3 })).toThrow(/param 'initial_lr' is not specified in param_groups\[0\] when resuming/);
    expect(() => new S.CosineAnnealingLR(opt, 0)).toThrow(/T_max must be positive/);
    expect(() => new S.MultiStepLR(opt, [1.5])).toThrow(/milestones must be non-negative integers/);
    expect(() => new S.ReduceLROnPlateau(opt, { factor: 1 })).toThrow(/Factor should be < 1.0/);
    expect(() => new S.ReduceLROnPlateau(opt, { mode: 'avg' as 'min' })).toThrow(/mode avg is unknown/);
    expect(() => new S.ReduceLROnPlateau(opt, { threshold_mode: 'x' as 'rel' })).toThrow(/threshold mode x is unknown/);
    expect(() => new S.ReduceLROnPlateau(opt, { min_lr: [0.1] })).toThrow(/expected 2 min_lrs, got 1/);
    expect(() => new S.StepLR({} as nn.optim.SGD, 1)).toThrow(/is not an Optimizer/);
  });

  it('sets initial_lr once and records base_lrs; load_state_dict type-checks before assigning', () => {
    const opt = twoGroups();
    const s = new S.StepLR(opt, 2);
    expect(opt.param_groups.map((g) => g.initial_lr)).toEqual([0.1, 0.05]);
    expect(s.base_lrs).toEqual([0.1, 0.05]);
    expect(s.last_epoch).toBe(0);
    expect(() => s.load_state_dict({ last_epoch: 5, base_lrs: 'x' })).toThrow(/'base_lrs' should be array, got string/);
    expect(s.last_epoch).toBe(0);
    s.load_state_dict({ last_epoch: 3, some_future_key: 1 });
    expect(s.last_epoch).toBe(3);
    expect('some_future_key' in s).toBe(false);
    expect(Object.keys(s.state_dict())).not.toContain('optimizer');
  });

  it('ReduceLROnPlateau accepts a one-element tensor metric and reports lrs before stepping', () => {
    const opt = twoGroups();
    const s = new S.ReduceLROnPlateau(opt, { patience: 0 });
    expect(s.get_last_lr()).toEqual([0.1, 0.05]);
    s.step(tensor(1));
    s.step(tensor([2]));
    expect(s.get_last_lr()).toEqual([0.1 * 0.1, 0.05 * 0.1]);
    expect(s.best).toBe(1);
  });
});
