import { describe, expect, it } from 'vitest';
import { gradcheck, log_softmax, randn, softmax, tensor, Generator, type Tensor } from '../../src/index.js';
import { closeTo } from '../helpers/close.js';
import { itMatchesTorch } from '../helpers/core_fixtures.js';

const P123 = [0.09003057317038046, 0.24472847105479767, 0.6652409557748219];
const L123 = [-2.4076059644443806, -1.4076059644443806, -0.4076059644443806];

describe('softmax / log_softmax values', () => {
  it('hand-worked values on each dim', () => {
    closeTo(softmax(tensor([1, 2, 3]), 0), P123, { rtol: 1e-6 });
    closeTo(log_softmax(tensor([1, 2, 3]), -1), L123, { rtol: 1e-6 });
    const x = tensor([[1, 1], [2, 2], [3, 3]]);
    closeTo(softmax(x, 0), [[P123[0]!, P123[0]!], [P123[1]!, P123[1]!], [P123[2]!, P123[2]!]], { rtol: 1e-6 });
    closeTo(softmax(x, 1), [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]], { rtol: 0, atol: 0 });
    const y = softmax(randn([2, 3, 4], { generator: new Generator(2) }), 1);
    closeTo(y.sum(1), [[1, 1, 1, 1], [1, 1, 1, 1]], { rtol: 1e-6 });
  });
  it('is stable for large logits; -inf gets probability 0; an all -inf row is NaN (as PyTorch)', () => {
    closeTo(softmax(tensor([1000, 1001, 1002]), 0), P123, { rtol: 1e-6 });
    closeTo(log_softmax(tensor([-1000, -999, -998]), 0), L123, { rtol: 1e-6 });
    expect(softmax(tensor([-Infinity, 0]), 0).toArray()).toEqual([0, 1]);
    expect(log_softmax(tensor([-Infinity, 0]), 0).toArray()).toEqual([-Infinity, 0]);
    expect(softmax(tensor([-Infinity, -Infinity]), 0).toArray()).toEqual([NaN, NaN]);
    expect(softmax(tensor([NaN, 1]), 0).toArray()).toEqual([NaN, NaN]);
  });
  it('0-d input, non-contiguous input, and errors', () => {
    expect(softmax(tensor(5), 0).toArray()).toBe(1);
    expect(log_softmax(tensor(5), -1).toArray()).toBe(0);
    const x = tensor([[1, 3], [2, 2], [3, 1]]).t(); // rows [1, 2, 3], [3, 2, 1]
    closeTo(softmax(x, 1), [P123, [...P123].reverse()], { rtol: 1e-6 });
    expect(() => softmax(tensor([1], { dtype: 'int32' }), 0)).toThrow(/softmax: expects a floating-point tensor, got int32 of shape \[1\]/);
    expect(() => log_softmax(tensor([[1]]), 2)).toThrow(/log_softmax: dim 2 is out of range for a tensor of 2 dims/);
  });
  it('hand-worked gradients: sum(softmax) has zero gradient; log_softmax picks onehot - p', () => {
    const x = tensor([1, 2, 3], { requires_grad: true });
    softmax(x, 0).sum().backward();
    closeTo(x.grad!, [0, 0, 0], { atol: 1e-7 });
    x.grad = null;
    log_softmax(x, 0).backward(tensor([0, 1, 0]));
    closeTo(x.grad!, [-P123[0]!, 1 - P123[1]!, -P123[2]!], { rtol: 1e-6 });
  });
});

describe('softmax gradcheck (float64)', () => {
  const gen = new Generator(4);
  const rn = (shape: number[]) => randn(shape, { dtype: 'float64', generator: gen });
  const cases: [number[], number][] = [
    [[5], 0],
    [[3, 4], 1],
    [[3, 4], 0],
    [[2, 3, 4], 1],
    [[2, 3, 4], -1],
    [[1, 3, 1], 1],
    [[], 0],
  ];
  for (const [name, f] of [
    ['softmax', softmax],
    ['log_softmax', log_softmax],
  ] as const) {
    it(`${name} over each dim, 0-d and size-1 dims`, () => {
      for (const [shape, dim] of cases) expect(gradcheck((x: Tensor) => f(x, dim), [rn(shape)])).toBe(true);
    });
    it(`${name} on non-contiguous input (permute, step slice)`, () => {
      expect(gradcheck((x: Tensor) => f(x.permute(2, 0, 1), 1), [rn([2, 3, 4])])).toBe(true);
      expect(gradcheck((x: Tensor) => f(x.slice(1, 0, 5, 2), 1), [rn([2, 5])])).toBe(true);
    });
  }
});

describe('softmax vs PyTorch fixtures', () => {
  itMatchesTorch((c) => c.op === 'softmax' || c.op === 'log_softmax');
});
