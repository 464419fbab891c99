import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cross_entropy, gradcheck, log_softmax, mse_loss, nll_loss, no_grad, rand, randn, tensor, type Reduction, type Tensor } from '../../src/index.js';

interface Arr {
  shape: number[];
  data: number[];
}
interface CECase {
  name: string;
  logits: Arr;
  target: Arr;
  weight?: Arr;
  reduction: Reduction;
  ignore_index: number;
  label_smoothing: number;
  gy: Arr;
  out: Arr;
  glogits: Arr;
}
interface NLLCase {
  name: string;
  input: Arr;
  target: Arr;
  weight?: Arr;
  reduction: Reduction;
  ignore_index: number;
  gy: Arr;
  out: Arr;
  ginput: Arr;
}
interface MSECase {
  name: string;
  reduction: Reduction;
  input: Arr;
  target: Arr;
  gy: Arr;
  out: Arr;
  ginput: Arr;
  gtarget: Arr;
}
const FX = JSON.parse(readFileSync(new URL('../fixtures/bn_loss.json', import.meta.url), 'utf8')) as {
  cross_entropy: CECase[];
  nll_loss: NLLCase[];
  mse_loss: MSECase[];
};

const mk = (a: Arr, dtype: 'float32' | 'float64' = 'float64', requires_grad = false) =>
  tensor(Float64Array.from(a.data), { shape: a.shape, dtype, requires_grad });
const mkInt = (a: Arr) => tensor(Int32Array.from(a.data), { shape: a.shape });
const vals = (t: Tensor) => Array.from(no_grad(() => t.detach().clone()).dataSync());
const i32 = (v: number[]) => tensor(v, { dtype: 'int32' });
const f64 = (v: number[] | number[][]) => tensor(v, { dtype: 'float64' });

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) throw new Error(`element ${i}: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
  }
}

describe('cross_entropy: hand-worked values', () => {
  it('equal logits give ln C', () => {
    expectClose(vals(cross_entropy(f64([[0, 0, 0]]), i32([1]))), [Math.log(3)], 1e-15);
  });

  it('label smoothing mixes in the uniform distribution', () => {
    // softmax([0, ln 3]) = [1/4, 3/4]; target 1; eps = 0.2, C = 2:
    // loss = 0.8 * (-ln 3/4) + (0.2 / 2) * (-ln 1/4 - ln 3/4)
    const l = cross_entropy(f64([[0, Math.log(3)]]), i32([1]), { label_smoothing: 0.2 });
    expectClose(vals(l), [0.8 * -Math.log(0.75) + 0.1 * (-Math.log(0.25) - Math.log(0.75))], 1e-15);
  });

  it('weighted mean divides by the sum of weight[target]; ignored samples count nowhere', () => {
    const logits = f64([[0, Math.log(3)], [0, Math.log(3)], [5, 7]]);
    const w = f64([2, 0.5]);
    // sample 0: target 0, nll = ln 4, weight 2; sample 1: target 1, nll = -ln 3/4, weight 0.5; sample 2 ignored.
    const t = i32([0, 1, -100]);
    const want = (2 * Math.log(4) + 0.5 * -Math.log(0.75)) / 2.5;
    expectClose(vals(cross_entropy(logits, t, { weight: w })), [want], 1e-15);
    expectClose(vals(cross_entropy(logits, t, { weight: w, reduction: 'sum' })), [2 * Math.log(4) + 0.5 * -Math.log(0.75)], 1e-15);
    expectClose(vals(cross_entropy(logits, t, { weight: w, reduction: 'none' })), [2 * Math.log(4), 0.5 * -Math.log(0.75), 0], 1e-15);
  });

  it('label smoothing with class weights: the smoothing term is weighted per class, the mean divides by sum weight[target]', () => {
    const logits = f64([[0, Math.log(3)]]);
    const w = f64([2, 0.5]);
    const eps = 0.3;
    // (1 - eps) * w[1] * (-ln 3/4) + (eps / 2) * (w[0] * -ln 1/4 + w[1] * -ln 3/4), divided by w[1]
    const per = (1 - eps) * 0.5 * -Math.log(0.75) + (eps / 2) * (2 * -Math.log(0.25) + 0.5 * -Math.log(0.75));
    expectClose(vals(cross_entropy(logits, i32([1]), { weight: w, label_smoothing: eps, reduction: 'none' })), [per], 1e-15);
    expectClose(vals(cross_entropy(logits, i32([1]), { weight: w, label_smoothing: eps })), [per / 0.5], 1e-15);
  });

  it('gradient is softmax minus one-hot (over N for the mean)', () => {
    const x = tensor([[0, Math.log(3)], [0, 0]], { dtype: 'float64', requires_grad: true });
    cross_entropy(x, i32([0, 1])).backward();
    expectClose(vals(x.grad!), [(0.25 - 1) / 2, 0.75 / 2, 0.5 / 2, (0.5 - 1) / 2], 1e-15);
  });

  it('every sample ignored: mean is NaN and sum is 0, as PyTorch', () => {
    const x = randn([2, 3]);
    expect(Number.isNaN(cross_entropy(x, i32([-100, -100])).itemSync())).toBe(true);
    expect(cross_entropy(x, i32([-100, -100]), { reduction: 'sum', label_smoothing: 0.1 }).itemSync()).toBe(0);
  });

  it('logits of 1e4 stay finite and exact (float32)', () => {
    const x = tensor([[1e4, 0, -1e4], [1e4, 1e4, 0]], { requires_grad: true });
    const l = cross_entropy(x, i32([1, 0]), { reduction: 'none' });
    expectClose(vals(l), [1e4, Math.log(2)], 1e-3, 1e-6);
    l.sum().backward();
    expectClose(vals(x.grad!), [1, -1, 0, -0.5, 0.5, 0], 1e-6);
  });
});

describe('cross_entropy: PyTorch 1.13 fixtures (float64)', () => {
  for (const c of FX.cross_entropy) {
    it(c.name, () => {
      const x = mk(c.logits, 'float64', true);
      const out = cross_entropy(x, mkInt(c.target), {
        weight: c.weight ? mk(c.weight) : null,
        reduction: c.reduction,
        ignore_index: c.ignore_index,
        label_smoothing: c.label_smoothing,
      });
      expect(out.shape).toEqual(c.out.shape);
      // 1e4-scale logits give losses ~1e4: compare relatively there.
      expectClose(vals(out), c.out.data, 1e-10, 1e-12);
      out.mul(mk(c.gy)).sum().backward();
      expectClose(vals(x.grad!), c.glogits.data, 1e-10);
    });
  }
  it('ls_weight_ignore_mean in float32 (atol 1e-5, rtol 1e-5)', () => {
    const c = FX.cross_entropy.find((k) => k.name === 'ls_weight_ignore_mean')!;
    const x = mk(c.logits, 'float32', true);
    const out = cross_entropy(x, mkInt(c.target), { weight: mk(c.weight!, 'float32'), label_smoothing: c.label_smoothing });
    expectClose(vals(out), c.out.data, 1e-5, 1e-5);
    out.backward();
    expectClose(vals(x.grad!), c.glogits.data, 1e-5, 1e-5);
  });
});

describe('nll_loss and mse_loss: PyTorch 1.13 fixtures (float64)', () => {
  for (const c of FX.nll_loss) {
    it(`nll_loss ${c.name}`, () => {
      const x = mk(c.input, 'float64', true);
      const out = nll_loss(x, mkInt(c.target), { weight: c.weight ? mk(c.weight) : null, reduction: c.reduction, ignore_index: c.ignore_index });
      expect(out.shape).toEqual(c.out.shape);
      expectClose(vals(out), c.out.data, 1e-12);
      out.mul(mk(c.gy)).sum().backward();
      expectClose(vals(x.grad!), c.ginput.data, 1e-12);
    });
  }
  for (const c of FX.mse_loss) {
    it(`mse_loss ${c.name}`, () => {
      const a = mk(c.input, 'float64', true);
      const b = mk(c.target, 'float64', true);
      const out = mse_loss(a, b, { reduction: c.reduction });
      expect(out.shape).toEqual(c.out.shape);
      expectClose(vals(out), c.out.data, 1e-12);
      out.mul(mk(c.gy)).sum().backward();
      expectClose(vals(a.grad!), c.ginput.data, 1e-12);
      expectClose(vals(b.grad!), c.gtarget.data, 1e-12);
    });
  }
  it('nll_loss of log_softmax equals cross_entropy', () => {
    const x = randn([4, 6], { dtype: 'float64' });
    const t = i32([5, 0, 2, 2]);
    const w = rand([6], { dtype: 'float64' });
    expectClose(vals(nll_loss(log_softmax(x, 1), t, { weight: w })), vals(cross_entropy(x, t, { weight: w })), 1e-14);
  });
  it('nll_loss ignores -inf log-probabilities of non-target classes', () => {
    const lp = f64([[Math.log(0.5), Math.log(0.5), -Infinity]]);
    expectClose(vals(nll_loss(lp, i32([1]))), [Math.log(2)], 1e-15);
  });
  it('mse_loss hand value with broadcasting', () => {
    expectClose(vals(mse_loss(f64([[1, 2], [3, 4]]), f64([1, 0]))), [(0 + 4 + 4 + 16) / 4], 1e-15);
  });
});

describe('losses: gradcheck (float64)', () => {
  const o = { dtype: 'float64' as const };
  it('cross_entropy with weight, label smoothing and ignore_index, each reduction', () => {
    const t = i32([2, -100, 0, 4, 1]);
    const w = rand([5], o).add(0.2);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      expect(gradcheck((x) => cross_entropy(x, t, { weight: w, label_smoothing: 0.15, reduction }), [randn([5, 5], o)])).toBe(true);
    }
  });
  it('cross_entropy on (N, C, d1, d2) with C = 3', () => {
    const t = tensor(Int32Array.from([0, 2, 1, 1, 2, 0, 0, 1]), { shape: [2, 2, 2] });
    expect(gradcheck((x) => cross_entropy(x, t, { label_smoothing: 0.1 }), [randn([2, 3, 2, 2], o)])).toBe(true);
  });
  it('cross_entropy with batch 1 and an unbatched input', () => {
    expect(gradcheck((x) => cross_entropy(x, i32([3]), { label_smoothing: 0.05 }), [randn([1, 7], o)])).toBe(true);
    expect(gradcheck((x) => cross_entropy(x, tensor(2, { dtype: 'int32' })), [randn([7], o)])).toBe(true);
  });
  it('nll_loss with weight and ignore_index; mse_loss in both arguments', () => {
    const w = rand([4], o).add(0.2);
    expect(gradcheck((x) => nll_loss(x, i32([3, 1, 1]), { weight: w, ignore_index: 1 }), [randn([3, 4], o)])).toBe(true);
    expect(gradcheck((a, b) => mse_loss(a, b), [randn([3, 4], o), randn([3, 4], o)])).toBe(true);
  });
});

describe('losses: errors', () => {
  const x = randn([3, 4]);
  it('out-of-range targets throw naming the value', () => {
    expect(() => cross_entropy(x, i32([0, 4, 1]))).toThrow(/Target 4 is out of bounds/);
    expect(() => cross_entropy(x, i32([0, -1, 1]))).toThrow(/Target -1 is out of bounds/);
    expect(() => cross_entropy(x, i32([0, -100, 1]), { ignore_index: 3 })).toThrow(/Target -100 is out of bounds/);
    expect(() => nll_loss(x, i32([9, 0, 1]))).toThrow(/Target 9 is out of bounds/);
  });
  it('bad options and shapes', () => {
    expect(() => cross_entropy(x, i32([0, 1, 2]), { label_smoothing: 1.5 })).toThrow(/label_smoothing must be between 0.0 and 1.0. Got: 1.5/);
    expect(() => cross_entropy(x, i32([0, 1]))).toThrow(/target shape \[2\] does not match input \[3, 4\]/);
    expect(() => cross_entropy(x, tensor([0, 1, 2]))).toThrow(/target must hold int32 class indices, got float32/);
    expect(() => cross_entropy(x, i32([0, 1, 2]), { weight: tensor([1, 1, 1]) })).toThrow(/weight must have shape \[4\]/);
    expect(() => cross_entropy(x, i32([0, 1, 2]), { reduction: 'avg' as Reduction })).toThrow(/reduction must be/);
    expect(() => cross_entropy(tensor([[1, 2]], { dtype: 'int32' }), i32([0]))).toThrow(/input must be floating point/);
    expect(() => nll_loss(x, i32([0, 1, 2]), { weight: tensor([1, 1, 1, 1], { dtype: 'float64' }) })).toThrow(/dtype float64/);
    expect(() => mse_loss(randn([2, 3]), randn([4]))).toThrow(/cannot be broadcast/);
  });
});
