import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { nn, zeros } from '../../src/index.js';

const S = nn.optim.lr_scheduler;

interface Case {
  name: string;
  kind: 'sgd' | 'adam';
  max_lr: number | number[];
  total_steps: number;
  kwargs: Record<string, unknown>;
  lrs: number[][];
  momenta: number[][];
  state_dict: Record<string, unknown>;
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/onecycle.json', import.meta.url), 'utf8')) as { cases: Case[] };

/** Two groups with lr 0.1 and 0.05, as gen_onecycle.py's two_groups. */
function twoGroups(kind: 'sgd' | 'adam'): nn.optim.SGD | nn.optim.Adam {
  const groups = [{ params: [new nn.Parameter(zeros([1]))], lr: 0.1 }, { params: [new nn.Parameter(zeros([1]))], lr: 0.05 }];
  return kind === 'sgd' ? new nn.optim.SGD(groups, { lr: 0.1, momentum: 0.9 }) : new nn.optim.Adam(groups, { lr: 0.1, betas: [0.9, 0.99] });
}

const momentaOf = (o: nn.optim.SGD | nn.optim.Adam, kind: string) => o.param_groups.map((g) => (kind === 'adam' ? (g.betas as number[])[0]! : (g.momentum as number)));

function close(a: number[], e: number[], what: string): void {
  expect(a.length, what).toBe(e.length);
  a.forEach((v, i) => expect(Math.abs(v - e[i]!), `${what} [${i}]: ${v} vs ${e[i]}`).toBeLessThanOrEqual(1e-13 * Math.abs(e[i]!) + 1e-18));
}

function make(c: Case, o: nn.optim.SGD | nn.optim.Adam): nn.optim.lr_scheduler.OneCycleLR {
  return new S.OneCycleLR(o as never, c.max_lr, c.total_steps, c.kwargs as nn.optim.lr_scheduler.OneCycleLROptions);
}

describe('OneCycleLR equals PyTorch 1.13 step by step', () => {
  for (const c of fx.cases) {
    it(c.name, () => {
      const o = twoGroups(c.kind);
      const s = make(c, o);
      close(s.get_last_lr(), c.lrs[0]!, 'initial lr');
      close(momentaOf(o, c.kind), c.momenta[0]!, 'initial momentum');
      for (let i = 1; i <= c.total_steps; i++) {
        o.step();
        s.step();
        close(s.get_last_lr(), c.lrs[i]!, `lr after step ${i}`);
        close(momentaOf(o, c.kind), c.momenta[i]!, `momentum after step ${i}`);
      }
      const sd = s.state_dict();
      for (const k of ['total_steps', 'last_epoch', '_step_count', 'cycle_momentum', 'use_beta1']) expect(sd[k], k).toEqual(c.state_dict[k]);
      expect((sd._schedule_phases as { end_step: number }[]).map((p) => p.end_step)).toEqual((c.state_dict._schedule_phases as { end_step: number }[]).map((p) => p.end_step));
      expect(() => s.step()).toThrow(/Tried to step 21 times|Tried to step \d+ times/);
    });
  }

  it('a reloaded schedule (through JSON) continues identically', () => {
    const c = fx.cases[0]!;
    const o = twoGroups('sgd');
    const s = make(c, o);
    for (let i = 0; i < 7; i++) s.step();
    const sd = JSON.parse(JSON.stringify(s.state_dict())) as Record<string, unknown>;
    const o2 = twoGroups('sgd');
    const s2 = make(c, o2);
    s2.load_state_dict(sd);
    for (let i = 7; i < c.total_steps; i++) {
      s.step();
      s2.step();
      expect(s2.get_last_lr()).toEqual(s.get_last_lr());
      expect(momentaOf(o2, 'sgd')).toEqual(momentaOf(o, 'sgd'));
    }
  });

  it('rejects bad arguments before touching the optimizer', () => {
    const o = twoGroups('sgd');
    expect(() => new S.OneCycleLR(o as never, 0.1, 0)).toThrow(/total_steps/);
    expect(() => new S.OneCycleLR(o as never, 0.1, 10, { pct_start: 1.5 })).toThrow(/pct_start/);
    expect(() => new S.OneCycleLR(o as never, [0.1], 10)).toThrow(/expected 2 values for max_lr/);
    expect(() => new S.OneCycleLR(o as never, -1, 10)).toThrow(/max_lr/);
    expect(o.param_groups[0]!.lr).toBe(0.1);
    expect(o.param_groups[0]!.initial_lr).toBeUndefined();
  });
});
