import { describe, expect, it } from 'vitest';
import { arange, argmax, argmin, gradcheck, max, mean, min, randn, sum, tensor, Generator, type Tensor } from '../../src/index.js';
import { closeTo } from '../helpers/close.js';
import { itMatchesTorch } from '../helpers/core_fixtures.js';

// x[i][j][k] = 12 i + 4 j + k
const x24 = () => arange(24, undefined, 1, { dtype: 'float32' }).reshape(2, 3, 4);

describe('sum / mean', () => {
  it('over all, one, several and negative dims, with and without keepdim', () => {
    const x = x24();
    expect(x.sum().toArray()).toBe(276);
    expect(x.sum().shape).toEqual([]);
    expect(x.sum(0).toArray()).toEqual([[12, 14, 16, 18], [20, 22, 24, 26], [28, 30, 32, 34]]);
    expect(x.sum(-1).toArray()).toEqual([[6, 22, 38], [54, 70, 86]]);
    expect(x.sum([0, 2]).toArray()).toEqual([60, 92, 124]);
    expect(x.sum([2, 0], true).toArray()).toEqual([[[60], [92], [124]]]);
    expect(x.sum(1, true).shape).toEqual([2, 1, 4]);
    expect(x.sum([0, 1, 2], true).shape).toEqual([1, 1, 1]);
    expect(x.sum([]).toArray()).toBe(276); // PyTorch 1.x: an empty dim list reduces everything
    expect(x.mean().toArray()).toBe(11.5);
    expect(x.mean(1).toArray()).toEqual([[4, 5, 6, 7], [16, 17, 18, 19]]);
    expect(x.mean([0, -1], true).toArray()).toEqual([[[7.5], [11.5], [15.5]]]);
  });
  it('non-contiguous input (permute, step slice)', () => {
    const x = x24();
    expect(x.permute(2, 0, 1).sum(0).toArray()).toEqual([[6, 22, 38], [54, 70, 86]]);
    expect(x.slice(2, 1, 4, 2).sum(2).toArray()).toEqual([[4, 12, 20], [28, 36, 44]]);
    expect(x.narrow(0, 1, 1).sum().toArray()).toBe(210);
  });
  it('0-d tensors accept dim 0 / -1; size-0 dims sum to 0 and mean to NaN', () => {
    const s = tensor(3);
    expect(s.sum(0).toArray()).toBe(3);
    expect(s.sum(-1, true).shape).toEqual([]);
    expect(s.mean(0).toArray()).toBe(3);
    expect(s.max(0).toArray()).toBe(3);
    expect(s.argmax(0).toArray()).toBe(0);
    const e = tensor([[]]).reshape(2, 0);
    expect(e.sum(1).toArray()).toEqual([0, 0]);
    expect(e.sum().toArray()).toBe(0);
    expect(e.mean().toArray()).toBeNaN();
    expect(() => e.max(1)).toThrow(/max: cannot reduce over a dimension of size 0 \(shape \[2, 0\]\)/);
  });
  it('NaN propagates through sum; int32 sums stay int32; mean of int32 throws', () => {
    expect(tensor([1, NaN, 2]).sum().toArray()).toBeNaN();
    const i = tensor([1, 2, 3], { dtype: 'int32' });
    expect(i.sum().dtype).toBe('int32');
    expect(i.sum().toArray()).toBe(6);
    expect(() => i.mean()).toThrow(/mean: expects a floating-point tensor, got int32/);
  });
  it('sums accumulate in float64 before rounding to float32', () => {
    // 2^24 + 1 + 1 is exact in float64 but not by pairwise float32 adds from the left.
    const t = tensor([16777216, 1, 1]);
    expect(t.sum().toArray()).toBe(16777218);
  });
});

describe('max / min / argmax / argmin', () => {
  it('values over dims with keepdim', () => {
    const x = tensor([[3, 1, 4], [1, 5, 9], [2, 6, 5]]);
    expect(max(x).toArray()).toBe(9);
    expect(min(x).toArray()).toBe(1);
    expect(max(x, 0).toArray()).toEqual([3, 6, 9]);
    expect(min(x, 1, true).toArray()).toEqual([[1], [1], [2]]);
    expect(max(x24(), [0, 2]).toArray()).toEqual([15, 19, 23]);
    expect(min(x24(), [1, 2], true).toArray()).toEqual([[[0]], [[12]]]);
  });
  it('NaN propagates in max/min; argmax/argmin point at the first NaN', () => {
    const x = tensor([[1, NaN, 3, NaN], [4, 5, 6, 7]]);
    expect(max(x, 1).toArray()).toEqual([NaN, 7]);
    expect(min(x, 1).toArray()).toEqual([NaN, 4]);
    expect(max(x).toArray()).toBeNaN();
    expect(argmax(x, 1).toArray()).toEqual([1, 3]);
    expect(argmin(x, 1).toArray()).toEqual([1, 0]);
    expect(max(tensor([NaN, 1]), 0).toArray()).toBeNaN();
  });
  it('argmax / argmin: first index on ties, int32, keepdim, flattened when dim omitted', () => {
    const x = tensor([[2, 7, 7], [7, 1, 1]]);
    const a = argmax(x, 1);
    expect(a.dtype).toBe('int32');
    expect(a.toArray()).toEqual([1, 0]);
    expect(argmin(x, 1).toArray()).toEqual([0, 1]);
    expect(argmax(x, 0, true).toArray()).toEqual([[1, 0, 0]]);
    expect(argmax(x).toArray()).toBe(1);
    expect(argmin(x).toArray()).toBe(4);
    expect(argmax(x, undefined, true).shape).toEqual([1, 1]);
    expect(argmax(x.t(), 0).toArray()).toEqual([1, 0]);
    expect(x.argmax(-1).toArray()).toEqual([1, 0]);
  });
  it('gradient is shared evenly among ties; a NaN result sends it to the NaN entries', () => {
    const x = tensor([[1, 3, 3], [2, 0, 1]], { requires_grad: true });
    max(x, 1).backward(tensor([6, 6]));
    expect(x.grad!.toArray()).toEqual([[0, 3, 3], [6, 0, 0]]);
    x.grad = null;
    min(x).backward();
    expect(x.grad!.toArray()).toEqual([[0, 0, 0], [0, 1, 0]]);
    const y = tensor([1, 5, 5, 5], { requires_grad: true });
    max(y).backward();
    closeTo(y.grad!, [0, 1 / 3, 1 / 3, 1 / 3]);
    const z = tensor([1, NaN, 3], { requires_grad: true });
    max(z).backward();
    expect(z.grad!.toArray()).toEqual([0, 1, 0]);
  });
  it('sum and mean gradients', () => {
    const x = tensor([[1, 2], [3, 4]], { requires_grad: true });
    sum(x, 0).backward(tensor([1, 2]));
    expect(x.grad!.toArray()).toEqual([[1, 2], [1, 2]]);
    x.grad = null;
    mean(x).backward();
    expect(x.grad!.toArray()).toEqual([[0.25, 0.25], [0.25, 0.25]]);
    x.grad = null;
    mean(x, 1, true).backward(tensor([[2], [4]]));
    expect(x.grad!.toArray()).toEqual([[1, 1], [2, 2]]);
  });
});

describe('reduction gradcheck (float64)', () => {
  const gen = new Generator(3);
  const rn = (shape: number[]) => randn(shape, { dtype: 'float64', generator: gen });
  const dimsets: [number[], number | number[] | undefined][] = [
    [[2, 3, 4], undefined],
    [[2, 3, 4], 1],
    [[2, 3, 4], [0, 2]],
    [[2, 3, 4], -1],
    [[1, 3, 1], [0, 2]],
    [[], undefined],
    [[], 0],
  ];
  for (const [name, f] of [
    ['sum', sum],
    ['mean', mean],
    ['max', max],
    ['min', min],
  ] as const) {
    it(`${name} over dims, keepdim, 0-d and non-contiguous inputs`, () => {
      for (const [shape, dim] of dimsets) {
        for (const keepdim of [false, true]) {
          expect(gradcheck((x) => f(x, dim, keepdim), [rn(shape)])).toBe(true);
        }
      }
      expect(gradcheck((x) => f(x.permute(1, 2, 0), [0, 1]), [rn([2, 3, 4])])).toBe(true);
      expect(gradcheck((x) => f(x.slice(1, 1, 5, 2), 1), [rn([3, 5])])).toBe(true);
    });
  }
  it('max over an expanded (stride-0) input sums the tie shares back', () => {
    expect(gradcheck((x: Tensor) => max(x.unsqueeze(1).expand(3, 2), 0), [rn([3])])).toBe(true);
  });
});

describe('reductions vs PyTorch fixtures', () => {
  itMatchesTorch((c) => ['sum', 'mean', 'max', 'min', 'argmax', 'argmin'].includes(c.op));
});
