/**
 * pad (F.pad, constant mode): hand-worked values, negative amounts (cropping), strided inputs,
 * int32, the gradient (hand-worked and finite differences in float64), errors, and webgpu
 * against the cpu on the same data (fill + strided copy run there as WGSL kernels).
 */
import { describe, expect, it } from 'vitest';
import { arange, gradcheck, pad, randn, tensor, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

const arr = async (t: Tensor) => (await t.toAsync('cpu')).toArray();

describe.each(DEVICES)('pad on %s', (device) => {
  it('pads the last dim, then the last two, with a value', async () => {
    const x = tensor([[1, 2], [3, 4]], { device });
    expect(await arr(pad(x, [1, 2]))).toEqual([[0, 1, 2, 0, 0], [0, 3, 4, 0, 0]]);
    expect(await arr(pad(x, [0, 1, 1, 0], 'constant', -1))).toEqual([[-1, -1, -1], [1, 2, -1], [3, 4, -1]]);
  });

  it('pads a leading dim (channels of NCHW), as BlazeFace widens its skip path', async () => {
    const x = arange(4, undefined, 1, { device }).reshape(1, 1, 2, 2).float();
    const y = pad(x, [0, 0, 0, 0, 0, 2]);
    expect(y.shape).toEqual([1, 3, 2, 2]);
    expect(await arr(y)).toEqual([[[[0, 1], [2, 3]], [[0, 0], [0, 0]], [[0, 0], [0, 0]]]]);
  });

  it('negative amounts crop, mixed with padding on the other side', async () => {
    const x = tensor([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], { device });
    expect(await arr(pad(x, [-1, 1, 1, -2]))).toEqual([[0, 0, 0, 0], [2, 3, 4, 0]]);
    expect(pad(x, [-2, -2]).shape).toEqual([3, 0]);
  });

  it('reads a strided, offset view', async () => {
    const base = arange(12, undefined, 1, { device }).reshape(3, 4).float();
    const v = base.t().narrow(0, 1, 2); // (2, 3): [[1, 5, 9], [2, 6, 10]]
    expect(await arr(pad(v, [1, 0, 0, 1], 'constant', 7))).toEqual([[7, 1, 5, 9], [7, 2, 6, 10], [7, 7, 7, 7]]);
  });

  it('keeps int32', async () => {
    const y = pad(tensor([1, 2], { dtype: 'int32', device }), [2, 1], 'constant', 9);
    expect(y.dtype).toBe('int32');
    expect(await arr(y)).toEqual([9, 9, 1, 2, 9]);
  });

  it('backward hands back the window over the surviving input (zero where cropped)', async () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]], { device, requires_grad: true });
    const y = pad(x, [1, -1, 0, 1]); // (3, 3): cols [pad, x0, x1], rows [x0, x1, pad]
    const w = tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]], { device });
    y.mul(w).sum().backward();
    expect(await arr(x.grad!)).toEqual([[2, 3, 0], [5, 6, 0]]);
  });
});

describe('pad', () => {
  it('gradcheck (float64), padding and cropping several dims', () => {
    const o = { dtype: 'float64' as const };
    expect(gradcheck((a) => pad(a, [2, -1, 1, 1, 0, 1], 'constant', 0.5), [randn([2, 3, 4], o)])).toBe(true);
  });

  it('rejects bad arguments before any work, naming the op and the values', () => {
    const x = randn([2, 3]);
    expect(() => pad(x, [1])).toThrow(/pad: padding must be a non-empty list of \(before, after\) pairs, got \[1\]/);
    expect(() => pad(x, [1, 1, 1, 1, 1, 1])).toThrow(/3 pairs but the input \[2, 3\] has only 2 dims/);
    expect(() => pad(x, [0.5, 1])).toThrow(/integers/);
    expect(() => pad(x, [-2, -2])).toThrow(/dim 1 of size 3 padded by \(-2, -2\) would have size -1/);
    expect(() => pad(x, [1, 1], 'reflect' as 'constant')).toThrow(/only mode 'constant'/);
    expect(() => pad(tensor([1], { dtype: 'int32' }), [1, 1], 'constant', 0.5)).toThrow(/not an integer but the input is int32/);
  });
});
