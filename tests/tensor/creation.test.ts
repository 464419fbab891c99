import { describe, expect, it } from 'vitest';
import { arange, full, full_like, linspace, ones, ones_like, tensor, zeros, zeros_like } from '../../src/index.js';
import { closeTo } from '../helpers/close.js';
import { coreFixture } from '../helpers/core_fixtures.js';

describe('tensor()', () => {
  it('infers the shape of nested arrays; numbers are 0-d; float32 by default', () => {
    const t = tensor([[[1, 2]], [[3, 4]], [[5, 6]]]);
    expect(t.shape).toEqual([3, 1, 2]);
    expect(t.dtype).toBe('float32');
    expect(t.device).toBe('cpu');
    expect(t.toArray()).toEqual([[[1, 2]], [[3, 4]], [[5, 6]]]);
    const s = tensor(2.5);
    expect(s.shape).toEqual([]);
    expect(s.itemSync()).toBe(2.5);
    expect(tensor([]).shape).toEqual([0]);
    expect(tensor([[], []]).shape).toEqual([2, 0]);
  });
  it('dtype option: int32 truncates toward zero, float32 rounds, float64 keeps', () => {
    expect(tensor([1.7, -1.7], { dtype: 'int32' }).toArray()).toEqual([1, -1]);
    expect(tensor([0.1]).toArray()).toEqual([Math.fround(0.1)]);
    expect(tensor([0.1], { dtype: 'float64' }).toArray()).toEqual([0.1]);
  });
  it('rejects ragged arrays and non-numbers', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(/tensor: ragged nested array: expected length 2 at depth 1/);
    expect(() => tensor([[1, 2], 3] as never)).toThrow(/tensor: ragged nested array/);
    expect(() => tensor(['a'] as never)).toThrow(/tensor: expected a number at depth 1, got string/);
  });
  it('typed arrays give their dtype, take a shape, and are copied', () => {
    const f = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = tensor(f, { shape: [2, 3] });
    expect(t.dtype).toBe('float32');
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    f[0] = 100;
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(tensor(new Int32Array([1, 2])).dtype).toBe('int32');
    expect(tensor(new Float64Array([0.1])).dtype).toBe('float64');
    expect(tensor(new Float64Array([0.1])).toArray()).toEqual([0.1]);
    expect(tensor(new Float64Array([1.9, -2.9]), { dtype: 'int32' }).toArray()).toEqual([1, -2]);
    expect(tensor(new Int32Array([3]), { dtype: 'float32' }).dtype).toBe('float32');
    expect(() => tensor(new Float32Array(5), { shape: [2, 3] })).toThrow(/tensor: shape \[2, 3\] does not match 5 elements/);
  });
  it('requires_grad option', () => {
    expect(tensor([1], { requires_grad: true }).requires_grad).toBe(true);
    expect(() => tensor([1], { dtype: 'int32', requires_grad: true })).toThrow(/requires_grad_: only floating-point tensors can require gradients \(dtype is int32/);
  });
});

describe('constant creation', () => {
  it('zeros / ones / full with number or array shapes', () => {
    expect(zeros([2, 3]).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(ones(3).toArray()).toEqual([1, 1, 1]);
    expect(ones([]).toArray()).toBe(1);
    expect(full([2], 7.5).toArray()).toEqual([7.5, 7.5]);
    expect(full([2], 7.5, { dtype: 'int32' }).toArray()).toEqual([7, 7]);
    expect(zeros([2, 0, 3]).numel()).toBe(0);
    expect(zeros([1], { dtype: 'float64' }).dtype).toBe('float64');
    expect(() => zeros([2, -1])).toThrow(/zeros|full: invalid shape \[2, -1\]/);
    expect(() => ones([1.5])).toThrow(/invalid shape \[1.5\]/);
  });
  it('*_like take shape, dtype and device, overridable', () => {
    const i = tensor([[1, 2]], { dtype: 'int32' });
    expect(zeros_like(i).dtype).toBe('int32');
    expect(zeros_like(i).shape).toEqual([1, 2]);
    expect(ones_like(i, { dtype: 'float32' }).dtype).toBe('float32');
    expect(full_like(i, 3).toArray()).toEqual([[3, 3]]);
  });
});

describe('arange / linspace', () => {
  const fx = () => coreFixture().creation_float32;
  it('arange: one argument, integer dtype inference, float steps, negative steps, empty ranges', () => {
    expect(arange(5).toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(arange(5).dtype).toBe('int32');
    expect(arange(2, 8, 3).toArray()).toEqual([2, 5]);
    expect(arange(5, 0, -2).toArray()).toEqual([5, 3, 1]);
    expect(arange(0, 5, -1).shape).toEqual([0]);
    expect(arange(3, 3).shape).toEqual([0]);
    expect(arange(0, 1, 0.25).dtype).toBe('float32');
    expect(arange(0, 1, 0.25).toArray()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(arange(3, undefined, 1, { dtype: 'float64' }).dtype).toBe('float64');
    expect(() => arange(0, 1, 0)).toThrow(/arange: step must be nonzero/);
    expect(() => arange(0, Infinity)).toThrow(/arange: start, end and step must be finite/);
  });
  it('arange matches torch.arange for fractional steps (length and values)', () => {
    closeTo(arange(0, 1, 0.1), fx()['arange_0_1_0.1']!, { rtol: 1e-7, atol: 1e-7 });
    closeTo(arange(-3, 7, 2.5), fx()['arange_-3_7_2.5']!, { rtol: 0, atol: 0 });
  });
  it('linspace: exact endpoints, 1 and 0 steps, matches torch.linspace', () => {
    const l = linspace(0.1, 0.7, 7);
    expect(l.shape).toEqual([7]);
    const a = l.toArray() as number[];
    expect(a[0]).toBe(Math.fround(0.1));
    expect(a[6]).toBe(Math.fround(0.7));
    closeTo(l, fx()['linspace_0.1_0.7_7']!, { rtol: 1e-7, atol: 0 });
    closeTo(linspace(-1, 1, 7), fx()['linspace_-1_1_7']!, { rtol: 1e-7, atol: 1e-7 });
    expect(linspace(3, 9, 1).toArray()).toEqual([3]);
    expect(linspace(3, 9, 0).shape).toEqual([0]);
    expect(linspace(2, -2, 5).toArray()).toEqual([2, 1, 0, -1, -2]);
    expect(() => linspace(0, 1, -1)).toThrow(/linspace: steps must be a non-negative integer, got -1/);
  });
});
