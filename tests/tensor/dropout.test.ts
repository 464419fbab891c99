import { describe, expect, it } from 'vitest';
import { Generator, default_generator, dropout, gradcheck, manual_seed, no_grad, ones, rand, randn, tensor, type Tensor } from '../../src/index.js';

const vals = (t: Tensor) => Array.from(no_grad(() => t.detach().clone()).dataSync());

describe('dropout', () => {
  it('keeps exactly the elements whose uniform draw is >= p, scaled by 1/(1-p)', () => {
    const p = 0.4;
    const x = randn([5, 7], { dtype: 'float64' });
    const y = dropout(x, p, true, new Generator(42));
    const u = vals(rand([5, 7], { dtype: 'float64', generator: new Generator(42) }));
    const xs = vals(x);
    const ys = vals(y);
    let kept = 0;
    u.forEach((ui, i) => {
      if (ui >= p) {
        kept++;
        expect(ys[i]).toBeCloseTo(xs[i]! / (1 - p), 14);
      } else expect(ys[i] === 0).toBe(true); // 0 or -0 (x * 0), as PyTorch
    });
    // both outcomes occur, so the comparison above tested something
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(35);
  });

  it('the same seed gives the same mask; another seed another', () => {
    const x = ones([64]);
    const a = vals(dropout(x, 0.5, true, new Generator(7)));
    const b = vals(dropout(x, 0.5, true, new Generator(7)));
    const c = vals(dropout(x, 0.5, true, new Generator(8)));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Set(a)).toEqual(new Set([0, 2]));
  });

  it('uses and advances the default generator when none is given', () => {
    manual_seed(123);
    const a = vals(dropout(ones([10]), 0.5));
    expect(default_generator.offset).toBe(3); // ceil(10 / 4) Philox blocks
    const b = vals(dropout(ones([10]), 0.5));
    manual_seed(123);
    expect(vals(dropout(ones([10]), 0.5))).toEqual(a);
    expect(vals(dropout(ones([10]), 0.5))).toEqual(b);
  });

  it('keeps about 1 - p of a large tensor, with mean preserved', () => {
    const y = vals(dropout(ones([20000]), 0.3, true, new Generator(2024)));
    const kept = y.filter((v) => v !== 0).length / y.length;
    expect(Math.abs(kept - 0.7)).toBeLessThan(0.02);
    const mean = y.reduce((s, v) => s + v, 0) / y.length;
    expect(Math.abs(mean - 1)).toBeLessThan(0.03);
  });

  it('is the identity when not training or p == 0, and draws no numbers', () => {
    const x = randn([3, 4]);
    const g = new Generator(1);
    expect(dropout(x, 0.5, false, g)).toBe(x);
    expect(dropout(x, 0, true, g)).toBe(x);
    expect(g.offset).toBe(0);
  });

  it('p == 1 gives zeros (NaN stays NaN, as x * 0)', () => {
    expect(vals(dropout(tensor([1, -2, 3]), 1))).toEqual([0, -0, 0]);
    expect(Number.isNaN(vals(dropout(tensor([NaN]), 1))[0])).toBe(true);
  });

  it('rejects p outside [0, 1] and int32 input', () => {
    expect(() => dropout(ones([2]), 1.5)).toThrow(/dropout probability has to be between 0 and 1, but got 1.5/);
    expect(() => dropout(ones([2]), -0.1)).toThrow(/but got -0.1/);
    expect(() => dropout(ones([2]), NaN)).toThrow(/but got NaN/);
    expect(() => dropout(tensor([1, 2], { dtype: 'int32' }), 0.5)).toThrow(/int32/);
  });

  it('backward is the mask scaled by 1/(1-p)', () => {
    const x = randn([4, 5], { dtype: 'float64', requires_grad: true });
    const y = dropout(x, 0.25, true, new Generator(9));
    y.sum().backward();
    const ys = vals(y), xs = vals(x), g = vals(x.grad!);
    g.forEach((gi, i) => expect(gi).toBeCloseTo(ys[i] === 0 && xs[i] !== 0 ? 0 : 1 / 0.75, 14));
    expect(g.some((v) => v === 0)).toBe(true);
  });

  it('gradcheck with a fixed generator (float64)', () => {
    expect(gradcheck((x) => dropout(x, 0.3, true, new Generator(5)), [randn([3, 6], { dtype: 'float64' })])).toBe(true);
  });

  it('works on strided views', () => {
    const base = randn([4, 6], { dtype: 'float64' });
    const v = base.t();
    const y = dropout(v, 0.5, true, new Generator(3));
    const yc = dropout(v.clone(), 0.5, true, new Generator(3));
    expect(vals(y)).toEqual(vals(yc));
  });
});
