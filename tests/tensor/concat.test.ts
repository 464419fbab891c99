import { describe, expect, it } from 'vitest';
import { arange, cat, gradcheck, no_grad, randn, stack, tensor, zeros, type Tensor } from '../../src/index.js';

const vals = (t: Tensor) => Array.from(no_grad(() => t.detach().clone()).dataSync());
const arr = (t: Tensor) => no_grad(() => t.detach().clone()).toArray();

describe('cat', () => {
  const a = tensor([[1, 2, 3], [4, 5, 6]]);
  const b = tensor([[7, 8, 9]]);
  const c = tensor([[10], [20]]);

  it('concatenates along dim 0, 1 and -1', () => {
    expect(arr(cat([a, b]))).toEqual([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    expect(arr(cat([a, c], 1))).toEqual([[1, 2, 3, 10], [4, 5, 6, 20]]);
    expect(arr(cat([c, a, c], -1))).toEqual([[10, 1, 2, 3, 10], [20, 4, 5, 6, 20]]);
  });

  it('reads strided and offset views correctly', () => {
    const base = arange(12).reshape(3, 4).float();
    const t = base.t(); // (4, 3), strided
    const s = base.narrow(0, 1, 2); // offset 4
    expect(arr(cat([t, tensor([[100, 200, 300]])]))).toEqual([[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11], [100, 200, 300]]);
    expect(arr(cat([s, s], 1))).toEqual([[4, 5, 6, 7, 4, 5, 6, 7], [8, 9, 10, 11, 8, 9, 10, 11]]);
  });

  it('handles zero-size parts and skips legacy 1-d empty tensors, as PyTorch', () => {
    expect(arr(cat([a, zeros([0, 3]), b]))).toEqual([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    expect(arr(cat([zeros([0]), a, zeros([0])], 1))).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(cat([zeros([0]), zeros([0])]).shape).toEqual([0]);
  });

  it('works with int32', () => {
    const r = cat([tensor([1, 2], { dtype: 'int32' }), tensor([3], { dtype: 'int32' })]);
    expect(r.dtype).toBe('int32');
    expect(vals(r)).toEqual([1, 2, 3]);
  });

  it('backward hands each input its slice of the gradient', () => {
    const x = tensor([[1, 2], [3, 4]], { requires_grad: true });
    const y = tensor([[5], [6]], { requires_grad: true });
    const z = tensor([[0, 0, 0]]); // no grad
    const out = cat([cat([x, y], 1), z], 0);
    out.mul(tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]])).sum().backward();
    expect(arr(x.grad!)).toEqual([[1, 2], [4, 5]]);
    expect(arr(y.grad!)).toEqual([[3], [6]]);
    expect(x.grad!._isDense).toBe(true);
  });

  it('the same tensor twice receives the sum of both slices', () => {
    const x = tensor([1, 2], { requires_grad: true });
    cat([x, x]).mul(tensor([1, 10, 100, 1000])).sum().backward();
    expect(vals(x.grad!)).toEqual([101, 1010]);
  });

  it('gradcheck (float64) along a middle dim with unequal sizes', () => {
    const o = { dtype: 'float64' as const };
    expect(gradcheck((p, q, r) => cat([p, q, r], 1), [randn([2, 3, 2], o), randn([2, 1, 2], o), randn([2, 4, 2], o)])).toBe(true);
  });

  it('rejects bad input', () => {
    expect(() => cat([])).toThrow(/non-empty list/);
    expect(() => cat([a, tensor([[1, 2]])])).toThrow(/sizes of tensors must match except in dimension 0: expected size 3 but got size 2 in dimension 1 for tensor at position 1/);
    expect(() => cat([a, tensor([1, 2, 3])])).toThrow(/same number of dimensions: got 2 \(position 0\) and 1 \(position 1\)/);
    expect(() => cat([a, tensor([[1, 2, 3]], { dtype: 'float64' })])).toThrow(/dtype float32 \(position 0\), got float64 at position 1/);
    expect(() => cat([tensor(1), tensor(2)])).toThrow(/zero-dimensional tensor \(at position 0\)/);
    expect(() => cat([a, b], 2)).toThrow(/dim 2 is out of range/);
  });
});

describe('stack', () => {
  const a = tensor([1, 2, 3]);
  const b = tensor([4, 5, 6]);

  it('stacks along a new dim 0, 1 and -1', () => {
    expect(arr(stack([a, b]))).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(arr(stack([a, b], 1))).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(arr(stack([a, b], -1))).toEqual([[1, 4], [2, 5], [3, 6]]);
    const m = stack([tensor([[1, 2], [3, 4]]), tensor([[5, 6], [7, 8]])], 1);
    expect(m.shape).toEqual([2, 2, 2]);
    expect(arr(m)).toEqual([[[1, 2], [5, 6]], [[3, 4], [7, 8]]]);
  });

  it('stacks 0-d tensors into a vector', () => {
    expect(arr(stack([tensor(1), tensor(2), tensor(3)]))).toEqual([1, 2, 3]);
  });

  it('gradcheck (float64)', () => {
    const o = { dtype: 'float64' as const };
    expect(gradcheck((p, q) => stack([p, q, p], 2), [randn([2, 3], o), randn([2, 3], o)])).toBe(true);
  });

  it('rejects bad input', () => {
    expect(() => stack([])).toThrow(/non-empty list/);
    expect(() => stack([a, tensor([1, 2])])).toThrow(/stack: expects each tensor to be equal size, but got \[3\] at entry 0 and \[2\] at entry 1/);
    expect(() => stack([a, b], 2)).toThrow(/dim 2 is out of range/);
    expect(() => stack([a, tensor([1, 2, 3], { dtype: 'int32' })])).toThrow(/dtype float32 \(entry 0\), got int32 at entry 1/);
  });
});
