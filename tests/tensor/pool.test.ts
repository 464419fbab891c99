/**
 * max_pool2d, avg_pool2d, adaptive_avg_pool2d: hand-worked values (ties, NaN, -inf, padding,
 * ceil_mode, count_include_pad, divisor_override), gradcheck, PyTorch 1.13 fixtures
 * (tests/fixtures/conv_pool.json, made by gen_conv_pool.py), error cases.
 *
 * Fixture tolerance: |ours - torch| <= tol * (1 + |torch|) per element, with tol = 1e-10 when we
 * run in float64 and tol = 1e-5 in float32; max-pool indices must match exactly.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Generator, adaptive_avg_pool2d, arange, avg_pool2d, gradcheck, max_pool2d, randn, tensor, zeros, type Tensor } from '../../src/index.js';
import { max_pool2d_with_indices } from '../../src/tensor/ops/pool.js';
import type { DType } from '../../src/tensor/dtype.js';

interface Fix {
  shape: number[];
  data: (number | string)[];
}
interface PoolCase {
  name: string;
  x: Fix;
  opts: Record<string, unknown>;
  output_size?: number | [number, number];
  out: Fix;
  indices?: Fix;
  gout: Fix;
  grads: { x: Fix };
}
const FIXTURES = JSON.parse(readFileSync(new URL('../fixtures/conv_pool.json', import.meta.url), 'utf8')) as {
  cases: { max_pool2d: PoolCase[]; avg_pool2d: PoolCase[]; adaptive_avg_pool2d: PoolCase[]; max_pool2d_shapes: number[][] };
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
const t4 = (rows: number[][], requires_grad = false) => tensor([[rows]], { dtype: 'float64', requires_grad });
/** Backprops sum(y * g) for a (1, 1, h, w) g given as rows. */
const backwardWith = (y: Tensor, g: number[][]) => y.mul(t4(g)).sum().backward();

describe('max_pool2d, hand-worked', () => {
  it('k2 s2: first maximum of a tie wins, in value, index and gradient', () => {
    const x = t4([[1, 5, 2, 2], [5, 3, 0, 2], [-1, -2, 7, 7], [-3, -4, 7, 6]], true);
    const [y, idx] = max_pool2d_with_indices(x, 2);
    expect(y.toArray()).toEqual([[[[5, 2], [-1, 7]]]]);
    expect(idx.dtype).toBe('int32');
    expect(idx.toArray()).toEqual([[[[1, 2], [8, 10]]]]);
    backwardWith(y, [[1, 2], [3, 4]]);
    expect(x.grad!.toArray()).toEqual([[[[0, 1, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]]]);
  });
  it('overlapping windows accumulate the gradient of a shared maximum', () => {
    const x = t4([[1, 9, 2], [3, 4, 5]], true);
    const y = max_pool2d(x, 2, { stride: 1 });
    expect(y.toArray()).toEqual([[[[9, 9]]]]);
    y.sum().backward();
    expect(x.grad!.toArray()).toEqual([[[[0, 2, 0], [0, 0, 0]]]]);
  });
  it('NaN propagates; with several NaNs the last one in scan order is taken (PyTorch)', () => {
    const x = t4([[1, NaN, NaN, 5], [NaN, 2, 1, 2]], true);
    const [y, idx] = max_pool2d_with_indices(x, 2);
    const v = y.dataSync();
    expect(Number.isNaN(v[0]!) && Number.isNaN(v[1]!)).toBe(true);
    // window 0 holds NaNs at flat 1 and 4 -> 4; window 1 holds one NaN at flat 2
    expect(idx.toArray()).toEqual([[[[4, 2]]]]);
    backwardWith(y, [[1, 2]]);
    expect(x.grad!.toArray()).toEqual([[[[0, 0, 2, 0], [1, 0, 0, 0]]]]);
  });
  it('a NaN after a larger value still wins; a value after a NaN does not', () => {
    const [y, idx] = max_pool2d_with_indices(t4([[9, NaN, NaN, 9]]), [1, 2]);
    expect(Array.from(y.dataSync()).map(Number.isNaN)).toEqual([true, true]);
    expect(idx.toArray()).toEqual([[[[1, 2]]]]);
  });
  it('padding is -inf: negative inputs beat the padding', () => {
    const y = max_pool2d(t4([[-5, -6], [-7, -8]]), 2, { stride: 1, padding: 1 });
    expect(y.toArray()).toEqual([[[[-5, -5, -6], [-5, -5, -6], [-7, -7, -8]]]]);
  });
  it('windows of only -inf give -inf at their first in-input position, which gets the gradient', () => {
    const x = t4([[-Infinity, -Infinity], [-Infinity, -Infinity]], true);
    const [y, idx] = max_pool2d_with_indices(x, 2, { stride: 1, padding: 1 });
    expect(y.dataSync().every((v) => v === -Infinity)).toBe(true);
    expect(idx.toArray()).toEqual([[[[0, 0, 1], [0, 0, 1], [2, 2, 3]]]]);
    y.sum().backward();
    expect(x.grad!.toArray()).toEqual([[[[4, 2], [2, 1]]]]);
  });
  it('a dilated window with every tap in the padding gives -inf, index -1 and no gradient (PyTorch: -inf, no gradient)', () => {
    // H=2, KH=2, dilation 3, padding 1: the window taps rows -1 and 2, both outside the input
    const x = tensor([[[[5], [7]]]], { dtype: 'float64', requires_grad: true });
    const [y, idx] = max_pool2d_with_indices(x, [2, 1], { stride: 1, padding: [1, 0], dilation: [3, 1] });
    expect(y.toArray()).toEqual([[[[-Infinity]]]]);
    expect(idx.toArray()).toEqual([[[[-1]]]]);
    y.sum().backward();
    expect(x.grad!.toArray()).toEqual([[[[0], [0]]]]);
    // one row more and the same window reaches row 2
    expect(max_pool2d(tensor([[[[5], [7], [1]]]]), [2, 1], { stride: 1, padding: [1, 0], dilation: [3, 1] }).toArray()).toEqual([[[[1], [5]]]]);
  });
  it('dilation: taps skip columns; ties still go to the first', () => {
    const [y, idx] = max_pool2d_with_indices(t4([[3, 1, 4, 1, 5]]), [1, 2], { stride: 1, dilation: [1, 2] });
    expect(y.toArray()).toEqual([[[[4, 1, 5]]]]);
    expect(idx.toArray()).toEqual([[[[2, 1, 4]]]]);
  });
  it('ceil_mode adds a clipped last window on odd sizes', () => {
    const x = arange(25, undefined, 1, { dtype: 'float64' }).reshape(1, 1, 5, 5);
    expect(max_pool2d(x, 2).toArray()).toEqual([[[[6, 8], [16, 18]]]]);
    expect(max_pool2d(x, 2, { ceil_mode: true }).toArray()).toEqual([[[[6, 8, 9], [16, 18, 19], [21, 23, 24]]]]);
  });
  it('1x1 map, and batch of channels pooled independently (3 channels)', () => {
    expect(max_pool2d(tensor([[[[7]]]]), 1).toArray()).toEqual([[[[7]]]]);
    const x = arange(12, undefined, 1, { dtype: 'float64' }).reshape(1, 3, 2, 2);
    const [y, idx] = max_pool2d_with_indices(x, 2);
    expect(y.toArray()).toEqual([[[[3]], [[7]], [[11]]]]);
    expect(idx.toArray()).toEqual([[[[3]], [[3]], [[3]]]]); // indices are per input plane
  });
  it('unbatched input, stride 2 on an odd 3x3 map', () => {
    const x = arange(9, undefined, 1, { dtype: 'float64' }).reshape(1, 3, 3);
    const [y, idx] = max_pool2d_with_indices(x, 2, { stride: 2 });
    expect(y.toArray()).toEqual([[[4]]]);
    expect(idx.toArray()).toEqual([[[4]]]);
  });
  it('float32 storage', () => {
    const y = max_pool2d(tensor([[[[1.5, -2], [3.25, 0]]]]), 2);
    expect(y.dtype).toBe('float32');
    expect(y.toArray()).toEqual([[[[3.25]]]]);
  });
  it('disposing the returned indices does not break the backward', () => {
    const x = t4([[1, 2], [4, 3]], true);
    const [y, idx] = max_pool2d_with_indices(x, 2);
    idx.dispose();
    y.sum().backward();
    expect(x.grad!.toArray()).toEqual([[[[0, 0], [1, 0]]]]);
  });
  it('non-contiguous input', () => {
    const x = t4([[1, 5, 2, 2], [5, 3, 0, 2], [-1, -2, 7, 7], [-3, -4, 7, 6]]).transpose(2, 3);
    expect(max_pool2d(x, 2).toArray()).toEqual([[[[5, -1], [2, 7]]]]);
  });
});

describe('avg_pool2d, hand-worked', () => {
  const x = () => arange(1, 10, 1, { dtype: 'float64', requires_grad: true }).reshape(1, 1, 3, 3); // 1..9
  it('k2 s1', () => {
    expect(avg_pool2d(x(), 2, { stride: 1 }).toArray()).toEqual([[[[3, 4], [6, 7]]]]);
  });
  it('k3 s2 p1, count_include_pad true divides by 9, false by the 4 inputs', () => {
    // window sums 12, 16, 24, 28
    const inc = avg_pool2d(x(), 3, { stride: 2, padding: 1 });
    expectClose(inc.dataSync(), [12 / 9, 16 / 9, 24 / 9, 28 / 9], 1e-15, 'include');
    expect(avg_pool2d(x(), 3, { stride: 2, padding: 1, count_include_pad: false }).toArray()).toEqual([[[[3, 4], [6, 7]]]]);
    expect(avg_pool2d(x(), 3, { stride: 2, padding: 1, divisor_override: 2 }).toArray()).toEqual([[[[6, 8], [12, 14]]]]);
  });
  it('gradients for both count_include_pad values and divisor_override', () => {
    const pattern = [[1, 2, 1], [2, 4, 2], [1, 2, 1]];
    for (const [opts, div] of [[{ count_include_pad: true }, 9], [{ count_include_pad: false }, 4], [{ divisor_override: 2 }, 2]] as const) {
      const leaf = arange(1, 10, 1, { dtype: 'float64', requires_grad: true });
      avg_pool2d(leaf.reshape(1, 1, 3, 3), 3, { stride: 2, padding: 1, ...opts }).sum().backward();
      expectClose(leaf.grad!.dataSync(), pattern.flat().map((v) => v / div), 1e-15, `grad /${div}`);
    }
  });
  it('ceil_mode: the last window is clipped to input + padding for the divisor', () => {
    // W=4, k3 s2 p1 ceil -> windows [-1,2), [1,4), [3,5) (clipped at W + pad = 5)
    const x1 = t4([[1, 2, 3, 4]], true);
    const inc = avg_pool2d(x1, [1, 3], { stride: [1, 2], padding: [0, 1], ceil_mode: true });
    expect(inc.toArray()).toEqual([[[[1, 3, 2]]]]);
    const exc = avg_pool2d(x1, [1, 3], { stride: [1, 2], padding: [0, 1], ceil_mode: true, count_include_pad: false });
    expect(exc.toArray()).toEqual([[[[1.5, 3, 4]]]]);
    backwardWith(exc, [[1, 1, 1]]);
    expectClose(x1.grad!.dataSync(), [1 / 2, 1 / 2 + 1 / 3, 1 / 3, 1 / 3 + 1], 1e-15, 'grad exclude');
  });
  it('ceil_mode without padding on an odd size: the edge window averages what it has', () => {
    const y = avg_pool2d(t4([[1, 2, 3, 4, 5]]), [1, 2], { ceil_mode: true });
    expect(y.toArray()).toEqual([[[[1.5, 3.5, 5]]]]);
  });
  it('1x1 map and unbatched input', () => {
    expect(avg_pool2d(tensor([[[[7]]]]), 1).toArray()).toEqual([[[[7]]]]);
    expect(avg_pool2d(tensor([[[2, 4], [6, 8]]]), 2).toArray()).toEqual([[[5]]]);
  });
});

describe('adaptive_avg_pool2d, hand-worked', () => {
  it('5 -> 3: windows [0,2), [1,4), [3,5) overlap', () => {
    const x = t4([[1, 2, 3, 4, 5]], true);
    const y = adaptive_avg_pool2d(x, [1, 3]);
    expect(y.toArray()).toEqual([[[[1.5, 3, 4.5]]]]);
    y.sum().backward();
    expectClose(x.grad!.dataSync(), [1 / 2, 1 / 2 + 1 / 3, 1 / 3, 1 / 3 + 1 / 2, 1 / 2], 1e-15, 'grad');
  });
  it('7 -> 3: windows [0,3), [2,5), [4,7)', () => {
    expect(adaptive_avg_pool2d(t4([[1, 2, 3, 4, 5, 6, 7]]), [1, 3]).toArray()).toEqual([[[[2, 4, 6]]]]);
  });
  it('2-d: 5x7 -> 3 combines both rules; 1 is the global mean', () => {
    const x = arange(35, undefined, 1, { dtype: 'float64' }).reshape(1, 1, 5, 7); // x[h][w] = 7h + w
    // the mean of 7h + w over a box is 7 * mean(h) + mean(w): rows means 0.5, 2, 3.5; cols 1, 3, 5
    const want = [0.5, 2, 3.5].map((mh) => [1, 3, 5].map((mw) => 7 * mh + mw));
    expect(adaptive_avg_pool2d(x, 3).toArray()).toEqual([[want]]);
    expect(adaptive_avg_pool2d(x, 1).toArray()).toEqual([[[[17]]]]);
  });
  it('1x1 map, unbatched, and upsampling 2 -> 3', () => {
    expect(adaptive_avg_pool2d(tensor([[[[7]]]]), 1).toArray()).toEqual([[[[7]]]]);
    // windows [0,1), [0,2), [1,2)
    expect(adaptive_avg_pool2d(tensor([[[2, 4]]]), [1, 3]).toArray()).toEqual([[[2, 3, 4]]]);
  });
});

describe('pooling gradcheck (float64)', () => {
  const x = (shape: number[], seed: number) => randn(shape, gen(seed));
  const checks: [string, (t: Tensor) => Tensor, number[]][] = [
    ['max k3 s2 p1 on odd 7x7', (t) => max_pool2d(t, 3, { stride: 2, padding: 1 }), [2, 3, 7, 7]],
    ['max k2 s2 dilation 2 ceil', (t) => max_pool2d(t, 2, { stride: 2, dilation: 2, ceil_mode: true }), [1, 5, 6, 5]],
    ['max 2x2 map', (t) => max_pool2d(t, 2), [3, 2, 2, 2]],
    ['avg k3 s2 p1 include pad', (t) => avg_pool2d(t, 3, { stride: 2, padding: 1 }), [2, 3, 5, 5]],
    ['avg k3 s2 p1 exclude pad ceil', (t) => avg_pool2d(t, 3, { stride: 2, padding: 1, ceil_mode: true, count_include_pad: false }), [1, 2, 6, 6]],
    ['avg [3,2] divisor_override 3', (t) => avg_pool2d(t, [3, 2], { stride: [1, 2], padding: [1, 0], divisor_override: 3 }), [1, 2, 4, 5]],
    ['adaptive 5x7 -> 3', (t) => adaptive_avg_pool2d(t, 3), [2, 3, 5, 7]],
    ['adaptive 7x5 -> [3, 2]', (t) => adaptive_avg_pool2d(t, [3, 2]), [1, 2, 7, 5]],
    ['adaptive upsampling 3x2 -> [4, 5]', (t) => adaptive_avg_pool2d(t, [4, 5]), [1, 1, 3, 2]],
    ['unbatched max', (t) => max_pool2d(t, 2, { stride: 1 }), [3, 3, 3]],
  ];
  checks.forEach(([name, fn, shape], k) => it(name, () => expect(gradcheck(fn, [x(shape, 50 + k)])).toBe(true)));
});

describe('pooling against PyTorch 1.13 fixtures', () => {
  const ops: [keyof typeof FIXTURES.cases, (x: Tensor, c: PoolCase) => [Tensor, Tensor | null]][] = [
    ['max_pool2d', (x, c) => {
      const { kernel_size, ...opts } = c.opts as { kernel_size: number | [number, number] };
      return max_pool2d_with_indices(x, kernel_size, opts);
    }],
    ['avg_pool2d', (x, c) => {
      const { kernel_size, ...opts } = c.opts as { kernel_size: number | [number, number] };
      return [avg_pool2d(x, kernel_size, opts), null];
    }],
    ['adaptive_avg_pool2d', (x, c) => [adaptive_avg_pool2d(x, c.output_size!), null]],
  ];
  for (const [key, fn] of ops) {
    const cases = FIXTURES.cases[key] as PoolCase[];
    it(`${key} has cases`, () => expect(cases.length).toBeGreaterThanOrEqual(4));
    for (const dtype of ['float64', 'float32'] as const) {
      const tol = dtype === 'float64' ? 1e-10 : 1e-5;
      for (const c of cases) {
        it(`${key}: ${c.name} (${dtype})`, () => {
          const x = fromFix(c.x, dtype, true);
          const [y, idx] = fn(x, c);
          expect(y.shape).toEqual(c.out.shape);
          expectClose(y.dataSync(), nums(c.out), tol, `${c.name} out`);
          if (c.indices) expect(Array.from(idx!.dataSync())).toEqual(nums(c.indices));
          y.mul(fromFix(c.gout, dtype)).sum().backward();
          expectClose(x.grad!.dataSync(), nums(c.grads.x), tol, `${c.name} grad x`);
        });
      }
    }
  }
  it('max_pool2d output sizes (and errors) match PyTorch over a grid of H, k, stride, padding, dilation, ceil_mode', () => {
    const grid = FIXTURES.cases.max_pool2d_shapes;
    expect(grid.length).toBeGreaterThan(300);
    for (const [H, k, s, p, d, c, oh] of grid as [number, number, number, number, number, number, number][]) {
      const f = () => max_pool2d(zeros([1, 1, H, 1]), [k, 1], { stride: [s, 1], padding: [p, 0], dilation: [d, 1], ceil_mode: c === 1 });
      const label = `H=${H} k=${k} s=${s} p=${p} d=${d} ceil=${c}`;
      if (oh < 0) expect(f, label).toThrow(/max_pool2d: output size is too small/);
      else expect(f().shape[2], label).toBe(oh);
      if (d === 1) {
        const g = () => avg_pool2d(zeros([1, 1, H, 1]), [k, 1], { stride: [s, 1], padding: [p, 0], ceil_mode: c === 1 });
        if (oh < 0) expect(g, label).toThrow(/avg_pool2d: output size is too small/);
        else expect(g().shape[2], label).toBe(oh);
      }
    }
  });
});

describe('pooling errors name the op and the culprit', () => {
  const x = zeros([1, 2, 4, 4]);
  const cases: [string, () => unknown, RegExp][] = [
    ['max: 2-d input', () => max_pool2d(zeros([4, 4]), 2), /max_pool2d: .*3-d .*4-d.*\[4, 4\]/],
    ['max: 5-d input', () => max_pool2d(zeros([1, 1, 1, 4, 4]), 2), /max_pool2d: .*\[1, 1, 1, 4, 4\]/],
    ['max: int32 input', () => max_pool2d(zeros([1, 1, 4, 4], { dtype: 'int32' }), 2), /max_pool2d: .*floating-point.*int32/],
    ['max: kernel 0', () => max_pool2d(x, 0), /max_pool2d: kernel_size must be a positive integer.*got 0/],
    ['max: stride 0', () => max_pool2d(x, 2, { stride: 0 }), /max_pool2d: stride must be a positive integer.*got 0/],
    ['max: dilation 0', () => max_pool2d(x, 2, { dilation: [1, 0] }), /max_pool2d: dilation must be a positive integer.*\[1,0\]/],
    ['max: negative padding', () => max_pool2d(x, 2, { padding: -1 }), /max_pool2d: padding must be a non-negative integer/],
    ['max: padding > kernel/2', () => max_pool2d(x, 3, { padding: 2 }), /max_pool2d: pad should be at most half of kernel size.*\[2, 2\].*\[3, 3\]/],
    ['max: kernel larger than input', () => max_pool2d(x, 5), /max_pool2d: output size is too small.*\[1, 2, 4, 4\].*gives 0 x 0/],
    ['max: zero channels', () => max_pool2d(zeros([1, 0, 4, 4]), 2), /max_pool2d: expected non-zero sizes/],
    ['max_pool2d_with_indices names itself', () => max_pool2d_with_indices(x, 2, { stride: 0 }), /max_pool2d_with_indices: stride/],
    ['avg: padding > kernel/2', () => avg_pool2d(x, [2, 3], { padding: [2, 1] }), /avg_pool2d: pad should be at most half of kernel size/],
    ['avg: divisor_override 0', () => avg_pool2d(x, 2, { divisor_override: 0 }), /avg_pool2d: divisor_override must be a non-zero integer, got 0/],
    ['avg: divisor_override 1.5', () => avg_pool2d(x, 2, { divisor_override: 1.5 }), /avg_pool2d: divisor_override .*1.5/],
    ['avg: kernel larger than padded input', () => avg_pool2d(zeros([1, 1, 1, 1]), 3, { padding: 0 }), /avg_pool2d: output size is too small/],
    ['avg: 2-d input', () => avg_pool2d(zeros([4, 4]), 2), /avg_pool2d: .*\[4, 4\]/],
    ['adaptive: negative size', () => adaptive_avg_pool2d(x, [2, -1]), /adaptive_avg_pool2d: output_size must be a non-negative integer.*\[2,-1\]/],
    ['adaptive: 2-d input', () => adaptive_avg_pool2d(zeros([4, 4]), 2), /adaptive_avg_pool2d: .*\[4, 4\]/],
    ['adaptive: int32 input', () => adaptive_avg_pool2d(zeros([1, 1, 4, 4], { dtype: 'int32' }), 2), /adaptive_avg_pool2d: .*int32/],
  ];
  for (const [name, f, re] of cases) it(name, () => expect(f).toThrow(re));
});
