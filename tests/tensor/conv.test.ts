/**
 * conv2d: hand-worked values, gradcheck (x, weight, bias with stride/padding/dilation/groups),
 * PyTorch 1.13 fixtures (tests/fixtures/conv_pool.json, made by gen_conv_pool.py), error cases.
 *
 * Fixture tolerance: |ours - torch| <= tol * (1 + |torch|) per element, with tol = 1e-10 when we
 * run in float64 (only the summation order differs) and tol = 1e-5 in float32.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Generator, arange, conv2d, gradcheck, no_grad, randn, tensor, zeros, type Tensor } from '../../src/index.js';
import type { DType } from '../../src/tensor/dtype.js';

interface Fix {
  shape: number[];
  data: (number | string)[];
}
interface ConvCase {
  name: string;
  x: Fix;
  weight: Fix;
  bias: Fix | null;
  opts: { stride?: number | [number, number]; padding?: number | [number, number]; dilation?: number | [number, number]; groups?: number };
  out: Fix;
  gout: Fix;
  grads: Record<string, Fix>;
}
const FIXTURES = JSON.parse(readFileSync(new URL('../fixtures/conv_pool.json', import.meta.url), 'utf8')) as {
  cases: { conv2d: ConvCase[] };
};

const nums = (f: Fix) => f.data.map(Number);
const fromFix = (f: Fix, dtype: DType, requires_grad = false) => tensor(Float64Array.from(nums(f)), { shape: f.shape, dtype, requires_grad });

/** Elementwise |a - e| <= tol * (1 + |e|), NaN matching NaN and infinities matching exactly. */
function expectClose(actual: ArrayLike<number>, expected: number[], tol: number, label: string): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : Number.isFinite(e) ? Math.abs(a - e) <= tol * (1 + Math.abs(e)) : a === e;
    if (!ok) expect.fail(`${label}[${i}]: got ${a}, expected ${e} (tol ${tol})`);
  }
}

const gen = (seed: number) => ({ dtype: 'float64' as const, generator: new Generator(seed) });

describe('conv2d forward, hand-worked', () => {
  const x = () => arange(1, 10, 1, { dtype: 'float64' }).reshape(1, 1, 3, 3); // 1..9
  const w = () => tensor([[[[1, 2], [3, 4]]]], { dtype: 'float64' });

  it('valid 2x2 kernel on 3x3', () => {
    // out[i][j] = x[i][j] + 2 x[i][j+1] + 3 x[i+1][j] + 4 x[i+1][j+1]
    expect(conv2d(x(), w()).toArray()).toEqual([[[[37, 47], [67, 77]]]]);
  });
  it('bias is added per output channel', () => {
    const w2 = tensor([[[[1, 2], [3, 4]]], [[[0, 0], [0, 1]]]], { dtype: 'float64' });
    expect(conv2d(x(), w2, tensor([10, -1], { dtype: 'float64' })).toArray()).toEqual([[[[47, 57], [77, 87]], [[4, 5], [7, 8]]]]);
  });
  it('padding 1 with stride 2 (zero padding skipped)', () => {
    // windows start at rows/cols -1 and 1: (0,0) sees only x[0][0]*4, (0,1) x[0][1]*3 + x[0][2]*4, ...
    expect(conv2d(x(), w(), null, { padding: 1, stride: 2 }).toArray()).toEqual([[[[4, 18], [36, 77]]]]);
  });
  it('dilation 2 along W', () => {
    const x1 = tensor([[[[1, 2, 3, 4, 5]]]]);
    const w1 = tensor([[[[1, 10]]]]);
    expect(conv2d(x1, w1, null, { dilation: [1, 2] }).toArray()).toEqual([[[[31, 42, 53]]]]);
  });
  it('groups: each output channel sees only its own group of input channels', () => {
    const x2 = tensor([[[[2]], [[3]], [[5]], [[7]]]]); // (1, 4, 1, 1)
    const w2 = tensor([[[[1]], [[10]]], [[[100]], [[1000]]]]); // (2, 2, 1, 1), groups 2
    expect(conv2d(x2, w2, null, { groups: 2 }).toArray()).toEqual([[[[32]], [[7500]]]]);
    const wd = tensor([[[[1]]], [[[2]]], [[[3]]], [[[4]]]]); // depthwise (4, 1, 1, 1)
    expect(conv2d(x2, wd, null, { groups: 4 }).toArray()).toEqual([[[[2]], [[6]], [[15]], [[28]]]]);
  });
  it('float32 storage gives the same hand-worked values', () => {
    const o = conv2d(x().float(), w().float());
    expect(o.dtype).toBe('float32');
    expect(o.toArray()).toEqual([[[[37, 47], [67, 77]]]]);
  });
  it('unbatched (C, H, W) input gives a (C_out, OH, OW) output', () => {
    expect(conv2d(x().reshape(1, 3, 3), w()).toArray()).toEqual([[[37, 47], [67, 77]]]);
  });
  it('non-contiguous input and weight are handled (transposed views)', () => {
    const xt = arange(1, 10, 1, { dtype: 'float64' }).reshape(1, 1, 3, 3).transpose(2, 3); // x^T
    const wt = tensor([[[[1, 3], [2, 4]]]], { dtype: 'float64' }).transpose(2, 3); // == w
    expect(xt.is_contiguous()).toBe(false);
    const ref = conv2d(xt.contiguous(), w());
    expect(conv2d(xt, wt).toArray()).toEqual(ref.toArray());
    // x^T = [[1,4,7],[2,5,8],[3,6,9]]: out[0][0] = 1 + 8 + 6 + 20 = 35
    expect(ref.toArray()).toEqual([[[[35, 65], [45, 75]]]]);
  });
});

describe('conv2d backward, hand-worked', () => {
  it('gradients of sum(conv2d(x, w) + b) for 3x3 input and 2x2 kernel', () => {
    const x = arange(1, 10, 1, { dtype: 'float64' }).reshape(1, 1, 3, 3).requires_grad_();
    const w = tensor([[[[1, 2], [3, 4]]]], { dtype: 'float64', requires_grad: true });
    const b = tensor([0.5], { dtype: 'float64', requires_grad: true });
    conv2d(x, w, b).sum().backward();
    // d/dw[kh][kw] = sum of the inputs that tap meets; d/dx = sum of the taps covering x; d/db = #outputs
    expect(w.grad!.toArray()).toEqual([[[[12, 16], [24, 28]]]]);
    expect(x.grad!.toArray()).toEqual([[[[1, 3, 2], [4, 10, 6], [3, 7, 4]]]]);
    expect(b.grad!.toArray()).toEqual([4]);
  });
  it('only inputs that require grad get one', () => {
    const x = arange(1, 10, 1, { dtype: 'float64' }).reshape(1, 1, 3, 3);
    const w = tensor([[[[1, 2], [3, 4]]]], { dtype: 'float64', requires_grad: true });
    const b = tensor([0.5], { dtype: 'float64' });
    const y = conv2d(x, w, b);
    expect(y.requires_grad).toBe(true);
    y.sum().backward();
    expect(x.grad).toBeNull();
    expect(b.grad).toBeNull();
    expect(w.grad!.toArray()).toEqual([[[[12, 16], [24, 28]]]]);
    expect(no_grad(() => conv2d(x, w, b)).requires_grad).toBe(false);
  });
  it('gradient reaches a non-contiguous input with its own shape', () => {
    const base = arange(1, 10, 1, { dtype: 'float64' }).reshape(1, 1, 3, 3).requires_grad_();
    const xt = base.transpose(2, 3);
    conv2d(xt, tensor([[[[1, 2], [3, 4]]]], { dtype: 'float64' })).sum().backward();
    // the gradient w.r.t. x^T is [[1,3,2],[4,10,6],[3,7,4]]; base receives its transpose
    expect(base.grad!.toArray()).toEqual([[[[1, 4, 3], [3, 10, 7], [2, 6, 4]]]]);
  });
});

describe('conv2d gradcheck (float64)', () => {
  const cfgs: { name: string; x: number[]; w: number[]; bias: boolean; opts: Parameters<typeof conv2d>[3] }[] = [
    { name: 'plain 3x3', x: [2, 3, 5, 4], w: [2, 3, 3, 3], bias: true, opts: {} },
    { name: 'stride 2 padding 1 on odd 5x5', x: [1, 2, 5, 5], w: [3, 2, 3, 3], bias: true, opts: { stride: 2, padding: 1 } },
    { name: 'dilation [2,1], padding [2,0], stride [1,2]', x: [1, 2, 6, 5], w: [2, 2, 3, 2], bias: true, opts: { dilation: [2, 1], padding: [2, 0], stride: [1, 2] } },
    { name: 'groups 3, 6 -> 3 channels', x: [1, 6, 4, 4], w: [3, 2, 2, 2], bias: true, opts: { groups: 3, padding: 1 } },
    { name: 'depthwise 5 channels, no bias', x: [2, 5, 3, 3], w: [5, 1, 3, 3], bias: false, opts: { groups: 5, padding: 1 } },
    { name: '1x1 map', x: [1, 3, 1, 1], w: [2, 3, 1, 1], bias: true, opts: {} },
    { name: '2x2 map, 3x3 kernel, padding 1, stride 2', x: [1, 2, 2, 2], w: [2, 2, 3, 3], bias: true, opts: { padding: 1, stride: 2 } },
  ];
  cfgs.forEach((c, k) => {
    it(c.name, () => {
      const ins = [randn(c.x, gen(10 + k)), randn(c.w, gen(100 + k))];
      if (c.bias) ins.push(randn([c.w[0]!], gen(1000 + k)));
      const fn = (x: Tensor, w: Tensor, b?: Tensor) => conv2d(x, w, b ?? null, c.opts);
      expect(gradcheck(fn, ins)).toBe(true);
    });
  });
  it('unbatched input', () => {
    expect(gradcheck((x, w) => conv2d(x, w, null, { padding: 1 }), [randn([2, 3, 3], gen(7)), randn([3, 2, 2, 2], gen(8))])).toBe(true);
  });
});

describe('conv2d against PyTorch 1.13 fixtures', () => {
  const cases = FIXTURES.cases.conv2d;
  it('has the cases', () => expect(cases.length).toBeGreaterThanOrEqual(6));
  for (const dtype of ['float64', 'float32'] as const) {
    const tol = dtype === 'float64' ? 1e-10 : 1e-5;
    for (const c of cases) {
      it(`${c.name} (${dtype})`, () => {
        const x = fromFix(c.x, dtype, true);
        const w = fromFix(c.weight, dtype, true);
        const b = c.bias ? fromFix(c.bias, dtype, true) : null;
        const y = conv2d(x, w, b, c.opts);
        expect(y.shape).toEqual(c.out.shape);
        expectClose(y.dataSync(), nums(c.out), tol, `${c.name} out`);
        y.mul(fromFix(c.gout, dtype)).sum().backward();
        expectClose(x.grad!.dataSync(), nums(c.grads.x!), tol, `${c.name} grad x`);
        expectClose(w.grad!.dataSync(), nums(c.grads.weight!), tol, `${c.name} grad weight`);
        if (b) expectClose(b.grad!.dataSync(), nums(c.grads.bias!), tol, `${c.name} grad bias`);
      });
    }
  }
});

describe('conv2d errors name the op and the culprit', () => {
  const x = zeros([1, 4, 5, 5]);
  const w = zeros([2, 4, 3, 3]);
  const cases: [string, () => unknown, RegExp][] = [
    ['2-d input', () => conv2d(zeros([4, 5]), w), /conv2d: .*3-d .*4-d.*\[4, 5\]/],
    ['int32 input', () => conv2d(zeros([1, 4, 5, 5], { dtype: 'int32' }), w), /conv2d: .*floating-point.*int32/],
    ['dtype mismatch', () => conv2d(x, zeros([2, 4, 3, 3], { dtype: 'float64' })), /conv2d: .*same dtype.*float32, float64/],
    ['3-d weight', () => conv2d(x, zeros([2, 4, 3])), /conv2d: weight must be 4-d.*\[2, 4, 3\]/],
    ['channel mismatch', () => conv2d(x, zeros([2, 3, 3, 3])), /conv2d: given groups=1 and weight of shape \[2, 3, 3, 3\], expected input \[1, 4, 5, 5\] to have 3 channels, but got 4/],
    ['groups vs channels', () => conv2d(x, zeros([2, 4, 3, 3]), null, { groups: 2 }), /conv2d: given groups=2 .*to have 8 channels, but got 4/],
    ['out channels not divisible by groups', () => conv2d(x, zeros([3, 2, 3, 3]), null, { groups: 2 }), /conv2d: out channels 3 .*divisible by groups=2/],
    ['groups 0', () => conv2d(x, w, null, { groups: 0 }), /conv2d: groups must be a positive integer, got 0/],
    ['stride 0', () => conv2d(x, w, null, { stride: 0 }), /conv2d: stride must be a positive integer.*got 0/],
    ['negative padding', () => conv2d(x, w, null, { padding: [1, -1] }), /conv2d: padding must be a non-negative integer.*\[1,-1\]/],
    ['dilation 0', () => conv2d(x, w, null, { dilation: [0, 1] }), /conv2d: dilation must be a positive integer/],
    ['bias shape', () => conv2d(x, w, zeros([3])), /conv2d: bias must have shape \[2\].*got \[3\]/],
    ['kernel larger than padded input', () => conv2d(zeros([1, 4, 2, 5]), w), /conv2d: padded input size per channel \(2 x 5\) is smaller than the dilated kernel size \(3 x 3\)/],
    ['dilated kernel larger than input', () => conv2d(x, w, null, { dilation: 3 }), /conv2d: .*\(5 x 5\) is smaller than the dilated kernel size \(7 x 7\)/],
    ['zero spatial size', () => conv2d(zeros([1, 4, 0, 5]), w), /conv2d: expected non-zero sizes/],
  ];
  for (const [name, f, re] of cases) it(name, () => expect(f).toThrow(re));
  it('disposed input', () => {
    const d = zeros([1, 4, 5, 5]);
    d.dispose();
    expect(() => conv2d(d, w)).toThrow(/conv2d: .*disposed/);
  });
});
