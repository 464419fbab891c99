import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { nn, tensor, zeros, tidy, no_grad, is_grad_enabled, getBackend, manual_seed, randn, Tensor } from '../../src/index.js';

const { SGD, Adam, AdamW } = nn.optim;
type AnyOpt = nn.optim.Optimizer;

interface Arr {
  shape: number[];
  data: number[];
}
interface OptimCase {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW';
  kwargs: Record<string, unknown>;
  groups: Record<string, unknown>[] | null;
  p0: Arr[];
  grads: Arr[][];
  after: Arr[][];
  state: Record<string, Record<string, Arr | number | null>>;
  param_groups: Record<string, unknown>[];
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/nn_optim.json', import.meta.url), 'utf8')) as { optim: OptimCase[] };

const f64 = (a: Arr) => tensor(Float64Array.from(a.data), { shape: a.shape });
const vals = (t: Tensor) => Array.from(t.dataSync());

function expectClose(a: ArrayLike<number>, b: readonly number[], rtol = 1e-12, what = ''): void {
  expect(a.length, what).toBe(b.length);
  for (let i = 0; i < b.length; i++) {
    expect(Math.abs(a[i]! - b[i]!), `${what}[${i}]: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(rtol * Math.max(1, Math.abs(b[i]!)));
  }
}

/** One float64 parameter with a given value and a gradient set by hand. */
function param(v: number[]): nn.Parameter {
  return new nn.Parameter(tensor(Float64Array.from(v)));
}
function setGrad(p: Tensor, g: number[]): void {
  p.grad?.dispose();
  p.grad = tensor(Float64Array.from(g));
}

function makeOpt(c: OptimCase, params: Tensor[]): AnyOpt {
  const Ctor = { SGD, Adam, AdamW }[c.optimizer] as unknown as new (p: unknown, o: unknown) => AnyOpt;
  const p = c.groups ? c.groups.map((g, i) => ({ params: [params[i]!], ...g })) : params;
  return new Ctor(p, c.kwargs);
}

describe('optimizers: hand-computed steps (PyTorch 1.13 formulas)', () => {
  it('SGD: plain, momentum, dampening, nesterov, weight decay, maximize', () => {
    const run = (opts: nn.optim.SGDOptions, p0: number, grads: number[]) => {
      const p = param([p0]);
      const opt = new SGD([p], opts);
      const out: number[] = [];
      for (const g of grads) {
        setGrad(p, [g]);
        opt.step();
        out.push(vals(p)[0]!);
      }
      return out;
    };
    expectClose(run({ lr: 0.1 }, 1, [1, 1]), [0.9, 0.8]);
    // buf1 = g = 1; buf2 = 0.9*1 + 1 = 1.9
    expectClose(run({ lr: 0.1, momentum: 0.9 }, 1, [1, 1]), [0.9, 0.71]);
    // buf2 = 0.9*1 + (1 - 0.5)*1 = 1.4
    expectClose(run({ lr: 0.1, momentum: 0.9, dampening: 0.5 }, 1, [1, 1]), [0.9, 0.76]);
    // d1 = 1 + 0.9*1 = 1.9; buf2 = 1.9, d2 = 1 + 0.9*1.9 = 2.71
    expectClose(run({ lr: 0.1, momentum: 0.9, nesterov: true }, 1, [1, 1]), [0.81, 0.539]);
    // d = g + wd*p = 1 + 0.5*2 = 2
    expectClose(run({ lr: 0.1, weight_decay: 0.5 }, 2, [1]), [1.8]);
    // maximize (1.13): d = -g + wd*p = -1 + 0.5*2 = 0 -> unchanged; without wd: p + lr*g
    expectClose(run({ lr: 0.1, weight_decay: 0.5, maximize: true }, 2, [1]), [2]);
    expectClose(run({ lr: 0.1, maximize: true }, 2, [1]), [2.1]);
  });

  it('Adam and AdamW: first steps', () => {
    // step 1, g = 0.5: m = 0.05, v = 0.00025; step_size = 0.1/0.1 = 1; denom = sqrt(v)/sqrt(0.001) + eps = 0.5 + 1e-8
    const p = param([1]);
    const opt = new Adam([p], { lr: 0.1 });
    setGrad(p, [0.5]);
    opt.step();
    expectClose(vals(p), [1 - 0.05 / (0.5 + 1e-8)]);
    const st = opt.state.get(p)!;
    expect(st.step).toBe(1);
    expectClose(vals(st.exp_avg as Tensor), [0.05]);
    expectClose(vals(st.exp_avg_sq as Tensor), [0.00025]);
    // step 2, g = -1: m = 0.045 - 0.1 = -0.055; v = 0.00024975 + 0.001 = 0.00124975
    setGrad(p, [-1]);
    opt.step();
    const m = 0.9 * 0.05 + 0.1 * -1;
    const v = 0.999 * 0.00025 + 0.001;
    const expected = 1 - 0.05 / (0.5 + 1e-8) - ((0.1 / (1 - 0.81)) * m) / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** 2) + 1e-8);
    expectClose(vals(p), [expected]);
    // AdamW: p *= 1 - lr*wd first
    const q = param([1]);
    const w = new AdamW([q], { lr: 0.1, weight_decay: 0.1 });
    setGrad(q, [0.5]);
    w.step();
    expectClose(vals(q), [0.99 - 0.05 / (0.5 + 1e-8)]);
    // Adam with weight_decay adds wd*p to the gradient: g = 0.5 + 0.5*1 = 1 -> same normalized step
    const r = param([1]);
    const a2 = new Adam([r], { lr: 0.1, weight_decay: 0.5 });
    setGrad(r, [0.5]);
    a2.step();
    expectClose(vals(r), [1 - 0.1 / (1 + 1e-8)]);
  });

  it('AdamW defaults to weight_decay 1e-2, Adam to 0; defaults as PyTorch', () => {
    const p = param([1]);
    expect(new AdamW([p]).param_groups[0]).toMatchObject({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 1e-2, amsgrad: false, maximize: false });
    expect(new Adam([p]).param_groups[0]!.weight_decay).toBe(0);
    expect(new SGD([p], { lr: 0.1 }).param_groups[0]).toMatchObject({ lr: 0.1, momentum: 0, dampening: 0, weight_decay: 0, nesterov: false, maximize: false });
  });
});

describe('optimizers: trajectories equal PyTorch 1.13 (float64 fixture)', () => {
  for (const c of fx.optim) {
    it(c.name, () => {
      const params = c.p0.map((a) => new nn.Parameter(f64(a)));
      const opt = makeOpt(c, params);
      c.grads.forEach((gs, step) => {
        params.forEach((p, i) => {
          p.grad?.dispose();
          p.grad = f64(gs[i]!);
        });
        opt.step();
        params.forEach((p, i) => expectClose(vals(p), c.after[step]![i]!.data, 1e-12, `${c.name} step ${step + 1} param ${i}`));
      });
      // state_dict layout and values
      const sd = opt.state_dict();
      expect(Object.keys(sd.state)).toEqual(Object.keys(c.state));
      for (const [id, st] of Object.entries(c.state)) {
        const mine = sd.state[Number(id)]!;
        expect(Object.keys(mine).sort()).toEqual(Object.keys(st).sort());
        for (const [k, v] of Object.entries(st)) {
          if (v === null || typeof v === 'number') expect(mine[k]).toBe(v);
          else expectClose(vals(mine[k] as Tensor), v.data, 1e-12, `${c.name} state ${id}.${k}`);
        }
      }
      expect(sd.param_groups).toEqual(c.param_groups);
    });
  }
});

describe('optimizer state_dict / load_state_dict', () => {
  function trained(): { params: nn.Parameter[]; opt: InstanceType<typeof Adam> } {
    const params = [param([1, 2, 3]), param([-1])];
    const opt = new Adam([{ params: [params[0]!] }, { params: [params[1]!], lr: 0.05 }], { lr: 0.1, amsgrad: true });
    for (let s = 0; s < 2; s++) {
      setGrad(params[0]!, [0.1 * s + 0.3, -0.2, 0.5]);
      setGrad(params[1]!, [1 - s]);
      opt.step();
    }
    return { params, opt };
  }

  it("has PyTorch's layout", () => {
    const { opt } = trained();
    const sd = opt.state_dict();
    expect(sd.param_groups).toEqual([
      { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad: true, maximize: false, params: [0] },
      { lr: 0.05, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad: true, maximize: false, params: [1] },
    ]);
    expect(Object.keys(sd.state[0]!)).toEqual(['step', 'exp_avg', 'exp_avg_sq', 'max_exp_avg_sq']);
    expect(sd.state[1]!.step).toBe(2);
  });

  it('a loaded optimizer continues exactly like the original; the load copies', () => {
    const { params, opt } = trained();
    const copies = params.map((p) => new nn.Parameter(p.detach().clone()));
    const opt2 = new Adam([{ params: [copies[0]!] }, { params: [copies[1]!] }], { lr: 0.5 });
    const sd = opt.state_dict();
    opt2.load_state_dict(sd);
    expect(opt2.param_groups[1]!.lr).toBe(0.05);
    expect(opt2.param_groups[0]!.params[0]).toBe(copies[0]);
    expect(opt2.state.get(copies[0]!)!.exp_avg).not.toBe(sd.state[0]!.exp_avg);
    for (let s = 0; s < 3; s++) {
      for (const [ps, o] of [[params, opt], [copies, opt2]] as const) {
        setGrad(ps[0]!, [0.7, -0.1 * s, 0.2]);
        setGrad(ps[1]!, [0.3]);
        o.step();
      }
    }
    expect(vals(copies[0]!)).toEqual(vals(params[0]!));
    expect(vals(copies[1]!)).toEqual(vals(params[1]!));
  });

  it('validates before changing anything', () => {
    const { opt } = trained();
    const sd = opt.state_dict();
    const p = param([0, 0, 0]);
    const q = param([0]);
    const fresh = new Adam([{ params: [p] }, { params: [q] }], { lr: 0.3 });
    expect(() => fresh.load_state_dict({ ...sd, param_groups: [sd.param_groups[0]!] })).toThrow(/different number of parameter groups/);
    expect(() => fresh.load_state_dict({ ...sd, param_groups: [sd.param_groups[0]!, { ...sd.param_groups[1]!, params: [1, 2] }] })).toThrow(/doesn't match the size of optimizer's group/);
    const badState = { ...sd.state, 1: { ...sd.state[1]!, exp_avg: zeros([2], { dtype: 'float64' }) } };
    expect(() => fresh.load_state_dict({ ...sd, state: badState })).toThrow(/state\['exp_avg'\] of parameter 1 has shape \[2\], but the parameter's is \[1\]/);
    expect(() => fresh.load_state_dict({ ...sd, state: { ...sd.state, 7: {} } })).toThrow(/state for parameter 7/);
    const badGroup = { ...sd, param_groups: [sd.param_groups[0]!, { ...sd.param_groups[1]!, betas: [0.9, 1.5] }] };
    expect(() => fresh.load_state_dict(badGroup)).toThrow(/Invalid beta parameter at index 1: 1.5/);
    expect(fresh.state.size).toBe(0);
    expect(fresh.param_groups.map((g) => g.lr)).toEqual([0.3, 0.3]);
  });

  it('SGD stores momentum_buffer = null when momentum is 0, as PyTorch', () => {
    const p = param([1]);
    const opt = new SGD([p], { lr: 0.1 });
    setGrad(p, [1]);
    opt.step();
    expect(opt.state_dict().state).toEqual({ 0: { momentum_buffer: null } });
    const q = param([1]);
    const o2 = new SGD([q], { lr: 0.1, momentum: 0.9 });
    o2.load_state_dict(opt.state_dict());
    expect(o2.param_groups[0]!.momentum).toBe(0);
  });
});

describe('optimizer behaviour', () => {
  it('validates hyperparameters and params like PyTorch', () => {
    const p = param([1]);
    expect(() => new SGD([p])).toThrow(/didn't specify a value of required optimization parameter lr/);
    expect(new SGD([{ params: [p], lr: 0.2 }]).param_groups[0]!.lr).toBe(0.2);
    expect(() => new SGD([p], { lr: -1 })).toThrow(/Invalid learning rate: -1/);
    expect(() => new SGD([p], { lr: 0.1, momentum: -0.5 })).toThrow(/Invalid momentum value: -0.5/);
    expect(() => new SGD([p], { lr: 0.1, weight_decay: -1 })).toThrow(/Invalid weight_decay value/);
    expect(() => new SGD([p], { lr: 0.1, nesterov: true })).toThrow(/Nesterov momentum requires a momentum and zero dampening/);
    expect(() => new Adam([p], { betas: [1, 0.9] })).toThrow(/Invalid beta parameter at index 0: 1/);
    expect(() => new Adam([p], { eps: -1 })).toThrow(/Invalid epsilon value/);
    expect(() => new SGD([], { lr: 0.1 })).toThrow(/empty parameter list/);
    expect(() => new SGD(p as unknown as Tensor[], { lr: 0.1 })).toThrow(/iterable of Tensors or dicts, but got a Tensor/);
    expect(() => new SGD([p.mul(2)], { lr: 0.1 })).toThrow(/can't optimize a non-leaf Tensor/);
    expect(() => new SGD([{ params: [p] }, { params: [p] }], { lr: 0.1 })).toThrow(/more than one parameter group/);
    expect(() => new SGD([3 as unknown as Tensor], { lr: 0.1 })).toThrow(/can only optimize Tensors/);
    const o = new SGD([p], { lr: 0.1 });
    const q = param([2]);
    o.add_param_group({ params: q, momentum: 0.5 });
    expect(o.param_groups[1]).toMatchObject({ lr: 0.1, momentum: 0.5 });
    expect(o.param_groups[1]!.params).toEqual([q]);
  });

  it('skips parameters without grad, follows lr changes, zero_grad clears', () => {
    const p = param([1]);
    const q = param([5]);
    const opt = new SGD([p, q], { lr: 0.5 });
    setGrad(p, [1]);
    opt.step();
    expect([vals(p)[0], vals(q)[0]]).toEqual([0.5, 5]);
    expect(opt.state.has(q)).toBe(false);
    opt.param_groups[0]!.lr = 0;
    opt.step();
    expect(vals(p)).toEqual([0.5]);
    const g = p.grad!;
    opt.zero_grad(false);
    expect(vals(p.grad!)).toEqual([0]);
    opt.zero_grad();
    expect(p.grad).toBeNull();
    expect(g.isDisposed).toBe(true);
  });

  it('step(closure) evaluates the closure with grad on, the update without, and bumps _version', () => {
    const p = param([3]);
    const opt = new SGD([p], { lr: 0.1 });
    const v0 = p._version;
    const loss = no_grad(() =>
      opt.step(() => {
        expect(is_grad_enabled()).toBe(true);
        opt.zero_grad();
        const l = p.mul(p).sum();
        l.backward();
        return l.itemSync();
      }),
    );
    expect(loss).toBe(9);
    expectClose(vals(p), [3 - 0.1 * 6]);
    expect(p._version).toBe(v0 + 1);
    expect(p.grad_fn).toBeNull();
    expect(opt.step()).toBeUndefined();
  });

  it('state survives tidy(); strided parameters are updated through their view', () => {
    const p = param([1, 2]);
    const opt = new AdamW([p]);
    tidy(() => {
      p.mul(tensor(Float64Array.from([1, 1]))).sum().backward();
      opt.step();
    });
    const st = opt.state.get(p)!;
    expect((st.exp_avg as Tensor).isDisposed || (st.exp_avg_sq as Tensor).isDisposed).toBe(false);
    expect(p.grad!.isDisposed).toBe(false);
    // A parameter that is a transposed view of a (3, 2) storage.
    const base = tensor([[1, 2], [3, 4], [5, 6]]);
    const v = new nn.Parameter(base.t());
    expect(v._isDense).toBe(false);
    const sgd = new SGD([v], { lr: 0.1, momentum: 0.9 });
    v.mul(tensor([[1, 2, 3], [4, 5, 6]])).sum().backward();
    sgd.step();
    expectClose(Array.from(base.dataSync()), [0.9, 1.6, 2.8, 3.5, 4.7, 5.4], 1e-6);
    expect(v.toArray()).toEqual(base.t().toArray());
  });
});

describe('memory', () => {
  it('training steps inside tidy() keep the number of live storages flat', () => {
    manual_seed(0);
    const model = new nn.Sequential(new nn.Linear(4, 8), new nn.BatchNorm1d(8), new nn.ReLU(), new nn.Linear(8, 3));
    const x = randn([6, 4]);
    const y = tensor([0, 1, 2, 0, 1, 2], { dtype: 'int32' });
    const crit = new nn.CrossEntropyLoss();
    for (const opt of [new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weight_decay: 1e-3 }), new AdamW(model.parameters(), { amsgrad: true })]) {
      const b = getBackend('cpu') as unknown as Record<string, (...a: unknown[]) => unknown>;
      const live = new Set<unknown>();
      const orig = { alloc: b.alloc!, upload: b.upload!, free: b.free! };
      b.alloc = (...a) => {
        const s = orig.alloc.apply(b, a);
        live.add(s);
        return s;
      };
      b.upload = (...a) => {
        const s = orig.upload.apply(b, a);
        live.add(s);
        return s;
      };
      b.free = (...a) => {
        live.delete(a[0]);
        return orig.free.apply(b, a);
      };
      const counts: number[] = [];
      try {
        for (let step = 0; step < 6; step++) {
          tidy(() => {
            opt.zero_grad();
            crit.call(model.call(x), y).backward();
            opt.step();
          });
          counts.push(live.size);
        }
      } finally {
        delete b.alloc;
        delete b.upload;
        delete b.free;
      }
      // After the first step (state and grads created), nothing accumulates.
      expect(counts.slice(1).every((c) => c <= counts[1]!), counts.join(',')).toBe(true);
    }
  });
});
