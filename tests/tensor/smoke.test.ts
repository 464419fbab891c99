import { describe, expect, it } from 'vitest';
import { tensor, zeros, arange, rand, gradcheck, matmul, softmax } from '../../src/index.js';

describe('smoke', () => {
  it('adds with broadcasting and backprops', () => {
    const a = tensor([[1, 2, 3], [4, 5, 6]], { requires_grad: true });
    const b = tensor([10, 20, 30], { requires_grad: true });
    const c = a.add(b).mul(a).sum();
    c.backward();
    expect(c.itemSync()).toBe(11 * 1 + 22 * 2 + 33 * 3 + 14 * 4 + 25 * 5 + 36 * 6);
    expect(a.grad!.toArray()).toEqual([[12, 24, 36], [18, 30, 42]]);
    expect(b.grad!.toArray()).toEqual([5, 7, 9]);
  });
  it('gradchecks matmul and softmax', () => {
    const a = rand([2, 3, 4]);
    const b = rand([4, 5]);
    expect(gradcheck((x, y) => softmax(matmul(x, y), 1), [a, b])).toBe(true);
  });
  it('views', () => {
    const x = arange(24).reshape(2, 3, 4);
    expect(x.permute(2, 0, 1).contiguous().reshape(4, 6).toArray()).toEqual([
      [0, 4, 8, 12, 16, 20], [1, 5, 9, 13, 17, 21], [2, 6, 10, 14, 18, 22], [3, 7, 11, 15, 19, 23],
    ]);
    expect(x.slice(2, 1, 4, 2).toArray()).toEqual([[[1, 3], [5, 7], [9, 11]], [[13, 15], [17, 19], [21, 23]]]);
    expect(zeros([2, 2]).sum().itemSync()).toBe(0);
  });
});
