import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { batch_norm, gradcheck, no_grad, ones, rand, randn, tensor, zeros, type Tensor } from '../../src/index.js';
import { batch_norm_relu } from '../../src/tensor/ops/batchnorm.js';
import { DEVICES } from '../helpers/devices.js';

interface Arr {
  shape: number[];
  data: number[];
}
interface BNCase {
  name: string;
  training: boolean;
  momentum: number;
  eps: number;
  x: Arr;
  weight?: Arr;
  bias?: Arr;
  running_mean?: Arr;
  running_var?: Arr;
  gy: Arr;
  y: Arr;
  gx: Arr;
  gweight?: Arr;
  gbias?: Arr;
  running_mean_after?: Arr;
  running_var_after?: Arr;
}
const FX = JSON.parse(readFileSync(new URL('../fixtures/bn_loss.json', import.meta.url), 'utf8')) as { batch_norm: BNCase[] };

const mk = (a: Arr, dtype: 'float32' | 'float64' = 'float64', requires_grad = false) =>
  tensor(Float64Array.from(a.data), { shape: a.shape, dtype, requires_grad });
/** Values in row-major order (through a dense copy, whatever the view). */
const vals = (t: Tensor) => Array.from(no_grad(() => t.detach().clone()).dataSync());

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

describe('batch_norm: hand-worked values', () => {
  // x (N=2, C=2, S=2): channel 0 holds 1, 2, 3, 4; channel 1 holds 10, 10, 10, 14.
  const x = () => tensor([[[1, 2], [10, 10]], [[3, 4], [10, 14]]], { dtype: 'float64' });

  it('training normalizes with the batch mean and biased variance and updates running stats with the unbiased one', () => {
    const rm = tensor([0, 1], { dtype: 'float64' });
    const rv = tensor([1, 2], { dtype: 'float64' });
    const y = batch_norm(x(), rm, rv, null, null, true, 0.1, 0);
    // channel 0: mean 2.5, biased var 1.25; channel 1: mean 11, biased var 3 (unbiased 5/3 and 4).
    const s0 = Math.sqrt(1.25), s1 = Math.sqrt(3);
    expectClose(vals(y), [-1.5 / s0, -0.5 / s0, -1 / s1, -1 / s1, 0.5 / s0, 1.5 / s0, -1 / s1, 3 / s1], 1e-15);
    expectClose(vals(rm), [0.9 * 0 + 0.1 * 2.5, 0.9 * 1 + 0.1 * 11], 1e-15);
    expectClose(vals(rv), [0.9 * 1 + 0.1 * (5 / 3), 0.9 * 2 + 0.1 * 4], 1e-15);
    expect(rm._version).toBe(1);
    expect(rv._version).toBe(1);
  });

  it('applies weight and bias per channel', () => {
    const y = batch_norm(x(), null, null, tensor([2, -1], { dtype: 'float64' }), tensor([0.5, 3], { dtype: 'float64' }), true, 0.1, 0);
    const s0 = Math.sqrt(1.25), s1 = Math.sqrt(3);
    expectClose(vals(y), [2 * (-1.5 / s0) + 0.5, 2 * (-0.5 / s0) + 0.5, 1 / s1 + 3, 1 / s1 + 3, 2 * (0.5 / s0) + 0.5, 2 * (1.5 / s0) + 0.5, 1 / s1 + 3, -3 / s1 + 3], 1e-14);
  });

  it('eval uses the running statistics and leaves them alone', () => {
    const rm = tensor([1, 10], { dtype: 'float64' });
    const rv = tensor([4, 0.25], { dtype: 'float64' });
    const y = batch_norm(x(), rm, rv, null, null, false, 0.1, 0);
    expectClose(vals(y), [0, 0.5, 0, 0, 1, 1.5, 0, 8], 1e-15);
    expect(vals(rm)).toEqual([1, 10]);
    expect(vals(rv)).toEqual([4, 0.25]);
    expect(rm._version).toBe(0);
    expect(rv._version).toBe(0);
  });

  it('computes the variance stably (two-pass) for values far from zero', () => {
    // float64 values 1e8 + k: the naive E[x^2] - E[x]^2 loses every digit here.
    const big = tensor([[1e8], [1e8 + 1], [1e8 + 2], [1e8 + 3]], { dtype: 'float64' });
    const rv = tensor([0], { dtype: 'float64' });
    const rm = tensor([0], { dtype: 'float64' });
    const y = batch_norm(big, rm, rv, null, null, true, 1, 0);
    const s = Math.sqrt(1.25);
    expectClose(vals(y), [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s], 1e-12);
    expectClose(vals(rv), [5 / 3], 1e-12);
    expectClose(vals(rm), [1e8 + 1.5], 1e-6);
  });

  it('the backward of a constant upstream gradient through the batch statistics is zero for x', () => {
    const xi = x().requires_grad_(true);
    const w = tensor([2, 3], { dtype: 'float64', requires_grad: true });
    const b = tensor([0, 0], { dtype: 'float64', requires_grad: true });
    batch_norm(xi, null, null, w, b, true, 0.1, 0).sum().backward();
    // sum(y) = N*S*bias regardless of x: dL/dx = 0, dL/dweight = sum(xhat) = 0, dL/dbias = N*S = 4.
    expectClose(vals(xi.grad!), new Array(8).fill(0), 1e-14);
    expectClose(vals(w.grad!), [0, 0], 1e-14);
    expectClose(vals(b.grad!), [4, 4], 1e-15);
  });
});

describe('batch_norm: PyTorch 1.13 fixtures (float64, atol 1e-10)', () => {
  for (const c of FX.batch_norm) {
    it(c.name, () => {
      const x = mk(c.x, 'float64', true);
      const w = c.weight ? mk(c.weight, 'float64', true) : null;
      const b = c.bias ? mk(c.bias, 'float64', true) : null;
      const rm = c.running_mean ? mk(c.running_mean) : null;
      const rv = c.running_var ? mk(c.running_var) : null;
      const y = batch_norm(x, rm, rv, w, b, c.training, c.momentum, c.eps);
      expect(y.shape).toEqual(c.x.shape);
      expectClose(vals(y), c.y.data, 1e-10);
      y.mul(mk(c.gy)).sum().backward();
      expectClose(vals(x.grad!), c.gx.data, 1e-10);
      if (w) expectClose(vals(w.grad!), c.gweight!.data, 1e-10);
      if (b) expectClose(vals(b.grad!), c.gbias!.data, 1e-10);
      if (rm) expectClose(vals(rm), c.running_mean_after!.data, 1e-12);
      if (rv) expectClose(vals(rv), c.running_var_after!.data, 1e-12);
      if (rm) expect(rm._version).toBe(c.training ? 1 : 0);
    });
  }

  it('train_4d_C5 in float32 (atol 1e-5, rtol 1e-5)', () => {
    const c = FX.batch_norm[0]!;
    const x = mk(c.x, 'float32', true);
    const w = mk(c.weight!, 'float32', true);
    const b = mk(c.bias!, 'float32', true);
    const rm = mk(c.running_mean!, 'float32');
    const rv = mk(c.running_var!, 'float32');
    const y = batch_norm(x, rm, rv, w, b, true, c.momentum, c.eps);
    expect(y.dtype).toBe('float32');
    expectClose(vals(y), c.y.data, 1e-5, 1e-5);
    y.mul(mk(c.gy, 'float32')).sum().backward();
    expectClose(vals(x.grad!), c.gx.data, 1e-5, 1e-5);
    expectClose(vals(w.grad!), c.gweight!.data, 1e-5, 1e-5);
    expectClose(vals(b.grad!), c.gbias!.data, 1e-5, 1e-5);
    expectClose(vals(rm), c.running_mean_after!.data, 1e-6, 1e-6);
    expectClose(vals(rv), c.running_var_after!.data, 1e-6, 1e-6);
  });
});

describe('batch_norm: gradcheck (float64)', () => {
  const opts = { dtype: 'float64' as const };
  it('training, affine, 4-d with C = 5', () => {
    const x = randn([3, 5, 2, 2], opts);
    const w = rand([5], opts).add(0.5);
    const b = randn([5], opts);
    expect(gradcheck((xi, wi, bi) => batch_norm(xi, null, null, wi, bi, true), [x, w, b])).toBe(true);
  });
  it('training with running stats given, batch 1', () => {
    const rm = zeros([3], opts);
    const rv = ones([3], opts);
    expect(gradcheck((xi, wi, bi) => batch_norm(xi, rm, rv, wi, bi, true, 0.1, 1e-5), [randn([1, 3, 2, 2], opts), rand([3], opts), randn([3], opts)])).toBe(true);
  });
  it('training, 1x1 maps, no affine', () => {
    expect(gradcheck((xi) => batch_norm(xi, null, null, null, null, true), [randn([4, 3, 1, 1], opts)])).toBe(true);
  });
  it('training, 2-d input (BatchNorm1d)', () => {
    expect(gradcheck((xi, wi, bi) => batch_norm(xi, null, null, wi, bi, true, 0.1, 1e-3), [randn([5, 7], opts), rand([7], opts), randn([7], opts)])).toBe(true);
  });
  it('eval: statistics are constants', () => {
    const rm = randn([5], opts);
    const rv = rand([5], opts).add(0.5);
    expect(gradcheck((xi, wi, bi) => batch_norm(xi, rm, rv, wi, bi, false), [randn([2, 5, 3, 1], opts), rand([5], opts), randn([5], opts)])).toBe(true);
  });
  it('gradient reaches only the inputs that require it', () => {
    const x = randn([2, 3, 2], opts);
    const w = rand([3], { ...opts, requires_grad: true });
    batch_norm(x, null, null, w, null, true).mul(randn([2, 3, 2], opts)).sum().backward();
    expect(w.grad!.shape).toEqual([3]);
    expect(x.grad).toBeNull();
  });
});

describe('batch_norm: layouts and edge cases', () => {
  it('a non-contiguous input gives the same result as its contiguous copy', () => {
    const base = randn([3, 2, 4], { dtype: 'float64' });
    const xp = base.permute(1, 0, 2).detach(); // (2, 3, 4) strided
    const a = batch_norm(xp, null, null, null, null, true);
    const b = batch_norm(xp.contiguous().clone(), null, null, null, null, true);
    expectClose(vals(a), vals(b), 1e-15);
  });

  it('updates strided running statistics in place through their views', () => {
    const buf = zeros([3, 2], { dtype: 'float64' });
    const rm = buf.select(1, 0); // strides [2]
    const rvBuf = ones([3, 2], { dtype: 'float64' });
    const rv = rvBuf.select(1, 1);
    const x = tensor([[1, 2, 3], [3, 6, 9]], { dtype: 'float64' });
    batch_norm(x, rm, rv, null, null, true, 0.5, 0);
    // means 2, 4, 6; unbiased variances 2, 8, 18.
    expect(vals(buf)).toEqual([1, 0, 2, 0, 3, 0]);
    expect(vals(rvBuf)).toEqual([1, 1.5, 1, 4.5, 1, 9.5]);
    expect(rm._version).toBe(1);
  });

  it('batch 1 with spatial size > 1 trains; a single value per channel throws', () => {
    expect(() => batch_norm(randn([1, 3, 2, 1]), null, null, null, null, true)).not.toThrow();
    expect(() => batch_norm(randn([1, 3]), null, null, null, null, true)).toThrow(/Expected more than 1 value per channel when training, got input size \[1, 3\]/);
    expect(() => batch_norm(randn([1, 3, 1, 1]), zeros([3]), ones([3]), null, null, true)).toThrow(/more than 1 value per channel/);
    // eval mode is fine with one value per channel
    expect(vals(batch_norm(tensor([[2, 4]]), zeros([2]), ones([2]), null, null, false, 0.1, 0))).toEqual([2, 4]);
  });

  it('an empty batch gives an empty output and leaves the running stats alone', () => {
    const rm = zeros([3]);
    const y = batch_norm(zeros([0, 3, 2]), rm, ones([3]), null, null, true);
    expect(y.shape).toEqual([0, 3, 2]);
    expect(rm._version).toBe(0);
  });

  it('rejects bad arguments before doing any work', () => {
    const x = randn([2, 3, 4]);
    expect(() => batch_norm(x, zeros([4]), ones([4]), null, null, true)).toThrow(/running_mean should contain 3 elements.*\[4\]/);
    expect(() => batch_norm(x, null, null, ones([2]), null, true)).toThrow(/weight should contain 3 elements/);
    expect(() => batch_norm(x, null, null, null, null, false)).toThrow(/must be defined in evaluation mode/);
    expect(() => batch_norm(x, zeros([3]), null, null, null, true)).toThrow(/must be given together/);
    expect(() => batch_norm(randn([3]), null, null, null, null, true)).toThrow(/at least 2 dims, got \[3\]/);
    expect(() => batch_norm(tensor([[1, 2], [3, 4]], { dtype: 'int32' }), null, null, null, null, true)).toThrow(/int32/);
    expect(() => batch_norm(x, null, null, ones([3], { dtype: 'float64' }), null, true)).toThrow(/weight has dtype float64 but the input has dtype float32/);
    const rm = zeros([3]);
    expect(() => batch_norm(randn([1, 3]), rm, ones([3]), null, null, true)).toThrow();
    expect(rm._version).toBe(0);
  });
});

describe.each(DEVICES)('batch_norm_relu (fused eval batch_norm + relu) on %s', (device) => {
  it('equals relu(batch_norm(...)) in evaluation mode, NaN included, for dense and strided inputs', async () => {
    const x0 = randn([3, 5, 4, 6]);
    const xd = x0.dataSync() as Float32Array;
    xd[7] = NaN;
    const xs = tensor(xd, { shape: [3, 5, 4, 6] }).to(device);
    const rm = randn([5]).to(device), rv = rand([5]).add(0.5).to(device), w = randn([5]).to(device), b = randn([5]).to(device);
    for (const x of [xs, xs.permute(0, 1, 3, 2)]) {
      for (const [ww, bb] of [[w, b], [null, null]] as const) {
        const want = await batch_norm(x, rm, rv, ww, bb, false, 0.1, 1e-3).relu().data();
        const got = await no_grad(() => batch_norm_relu(x, rm, rv, ww, bb, 1e-3)).data();
        expect(got.length).toBe(want.length);
        let negatives = 0;
        for (let i = 0; i < want.length; i++) {
          if (Number.isNaN(want[i]!)) expect(Number.isNaN(got[i]!), `element ${i}`).toBe(true);
          else expect(Math.abs(got[i]! - want[i]!), `element ${i}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!)));
          if (got[i] === 0) negatives++;
        }
        expect(negatives).toBeGreaterThan(10); // the relu did clamp
      }
    }
  });

  it('with inputs that require grad it records relu(batch_norm) (same gradients)', async () => {
    const x0 = randn([2, 3, 4, 4]), rm = randn([3]).to(device), rv = rand([3]).add(0.5).to(device), w0 = randn([3]), gy = randn([2, 3, 4, 4]).to(device);
    const grads = async (f: (x: Tensor, w: Tensor) => Tensor): Promise<Float32Array[]> => {
      // fresh leaves per run (on cpu, .to('cpu') is the same tensor and grads would accumulate)
      const x = x0.detach().clone().to(device).requires_grad_(), w = w0.detach().clone().to(device).requires_grad_();
      f(x, w).mul(gy).sum().backward();
      return [(await x.grad!.data()) as Float32Array, (await w.grad!.data()) as Float32Array];
    };
    const got = await grads((x, w) => batch_norm_relu(x, rm, rv, w, null));
    const want = await grads((x, w) => batch_norm(x, rm, rv, w, null, false).relu());
    for (let k = 0; k < 2; k++) {
      expect(got[k]!.length).toBe(want[k]!.length);
      for (let i = 0; i < want[k]!.length; i++) expect(got[k]![i]).toBeCloseTo(want[k]![i]!, 5);
    }
    expect(want[0]!.some((v) => v !== 0)).toBe(true);
  });

  it('errors like batch_norm on a wrong statistics length', () => {
    expect(() => no_grad(() => batch_norm_relu(randn([2, 3, 4]).to(device), zeros([4]).to(device), ones([4]).to(device)))).toThrow(/batch_norm: running_mean/);
  });
});
