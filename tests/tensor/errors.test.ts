import { describe, expect, it } from 'vitest';
import {
  add, argmax, linear, matmul, maximum, mean, rand, softmax, sum, tensor, where, zeros, Tensor,
} from '../../src/index.js';
import type { Backend, Storage } from '../../src/kernels/backend.js';
import { StorageRef } from '../../src/tensor/memory.js';

/** A tensor that claims to live on 'webgpu' (never touched: device checks come first). */
function fakeGpuTensor(shape: number[]): Tensor {
  const storage: Storage = { device: 'webgpu', dtype: 'float32', size: shape.reduce((a, b) => a * b, 1) };
  const backend = { name: 'webgpu', free() {} } as unknown as Backend;
  return new Tensor(new StorageRef(backend, storage), shape);
}

describe('shape mismatches name the op and both shapes', () => {
  it('broadcasting', () => {
    const a = zeros([2, 3]);
    const b = zeros([4]);
    expect(() => a.add(b)).toThrow(/^add: shapes \[2, 3\] and \[4\] cannot be broadcast together \(dim 1: 3 vs 4\)$/);
    expect(() => a.sub(b)).toThrow(/^sub: shapes \[2, 3\] and \[4\]/);
    expect(() => a.mul(b)).toThrow(/^mul: shapes \[2, 3\] and \[4\]/);
    expect(() => a.div(b)).toThrow(/^div: shapes \[2, 3\] and \[4\]/);
    expect(() => a.pow(b)).toThrow(/^pow: shapes \[2, 3\] and \[4\]/);
    expect(() => maximum(a, b)).toThrow(/^maximum: shapes \[2, 3\] and \[4\]/);
    expect(() => a.lt(b)).toThrow(/^lt: shapes \[2, 3\] and \[4\]/);
    expect(() => where(zeros([3]), a, b)).toThrow(/^where: shapes \[2, 3\] and \[4\]/);
    expect(zeros([2, 1, 3]).add(zeros([5, 1])).shape).toEqual([2, 5, 3]);
    expect(() => zeros([2, 3, 1]).add(zeros([5, 2]))).toThrow(/^add: shapes \[2, 3, 1\] and \[5, 2\] cannot be broadcast together \(dim 1: 3 vs 5\)$/);
  });
  it('matmul and linear', () => {
    expect(() => matmul(zeros([2, 3]), zeros([2, 3]))).toThrow(/^matmul: shapes \[2, 3\] and \[2, 3\] cannot be multiplied \(3 vs 2\)$/);
    expect(() => matmul(zeros([3]), zeros([4]))).toThrow(/matmul: shapes \[3\] and \[4\] cannot be multiplied/);
    expect(() => linear(zeros([2, 3]), zeros([4, 2]))).toThrow(/linear: input \[2, 3\] has 3 features but weight \[4, 2\] expects 2/);
  });
  it('bad reshape / view / expand', () => {
    const x = zeros([2, 3]);
    expect(() => x.reshape(4)).toThrow(/^reshape: shape \[4\] is invalid for input of shape \[2, 3\] \(size 6\)$/);
    expect(() => x.view(4, -1)).toThrow(/^view: shape \[4, -1\] is invalid for input of shape \[2, 3\] \(size 6\)$/);
    expect(() => x.t().view(6)).toThrow(/^view: size \[6\] is not compatible with input of shape \[3, 2\] and strides \[1, 3\]; use reshape\(\)$/);
    expect(() => x.reshape(-2, 3)).toThrow(/reshape: invalid size -2 in \[-2, 3\]/);
    expect(() => x.expand(2, 4)).toThrow(/expand: the size 3 of dim 1 of \[2, 3\] must be 1 to expand to 4 \(target \[2, 4\]\)/);
    expect(() => zeros([1]).expand(-2)).toThrow(/expand: invalid size -2 in target \[-2\] \(tensor of shape \[1\]\)/);
  });
  it('backward gradient shape', () => {
    const x = zeros([2], { requires_grad: true });
    expect(() => x.mul(2).backward(zeros([3]))).toThrow(/backward: gradient shape \[3\] does not match output shape \[2\]/);
  });
});

describe('out-of-range dims and indices', () => {
  const x = zeros([2, 3, 4]);
  const range = (op: string, dim: number) => new RegExp(`^${op}: dim ${dim} is out of range for a tensor of 3 dims \\(expected -3\\.\\.2\\)$`);
  it('reductions and softmax', () => {
    expect(() => sum(x, 3)).toThrow(range('sum', 3));
    expect(() => mean(x, -4)).toThrow(range('mean', -4));
    expect(() => x.max(5)).toThrow(range('max', 5));
    expect(() => argmax(x, 3)).toThrow(range('argmax', 3));
    expect(() => softmax(x, 3)).toThrow(range('softmax', 3));
    expect(() => x.log_softmax(-4)).toThrow(range('log_softmax', -4));
    expect(() => sum(x, [0, 0])).toThrow(/sum: dim \[0,0\] appears more than once \(tensor of shape \[2, 3, 4\]\)/);
    expect(() => sum(x, 1.5)).toThrow(/sum: dim 1.5 is out of range/);
  });
  it('view ops', () => {
    expect(() => x.transpose(0, 3)).toThrow(range('transpose', 3));
    expect(() => x.permute(0, 1, 3)).toThrow(range('permute', 3));
    expect(() => x.permute(0, 1)).toThrow(/permute: got 2 dims \[0, 1\] for a tensor of 3 dims \[2, 3, 4\]/);
    expect(() => x.permute(0, 1, 1)).toThrow(/permute: repeated dim in \[0, 1, 1\]/);
    expect(() => x.squeeze(3)).toThrow(range('squeeze', 3));
    expect(() => x.unsqueeze(-5)).toThrow(/unsqueeze: dim -5 is out of range for a tensor of 4 dims/);
    expect(() => x.narrow(3, 0, 1)).toThrow(range('narrow', 3));
    expect(() => x.slice(-4)).toThrow(range('slice', -4));
    expect(() => x.select(3, 0)).toThrow(range('select', 3));
    expect(() => x.select(0, -3)).toThrow(/select: index -3 is out of range for dim 0 of size 2 \(shape \[2, 3, 4\]\)/);
    expect(() => x.narrow(2, 1, 4)).toThrow(/narrow: start 1 and length 4 are out of range for dim 2 of size 4 \(shape \[2, 3, 4\]\)/);
    expect(() => x.flatten(0, 3)).toThrow(range('flatten', 3));
    expect(() => x.size(-4)).toThrow(range('size', -4));
    expect(() => zeros([2]).t().t()).not.toThrow();
    expect(() => x.t()).toThrow(/t: expects a tensor of at most 2 dims, got \[2, 3, 4\]/);
  });
});

describe('dtype errors', () => {
  it('name the op and the dtype', () => {
    const i = zeros([2], { dtype: 'int32' });
    expect(() => i.mean()).toThrow(/^mean: expects a floating-point tensor, got int32/);
    expect(() => softmax(i, 0)).toThrow(/^softmax: expects a floating-point tensor, got int32 of shape \[2\]$/);
    expect(() => matmul(i, i)).toThrow(/^matmul: expects floating-point tensors, got int32 \[2\] and int32 \[2\]$/);
    expect(() => matmul(zeros([2, 2]), zeros([2], { dtype: 'float64' }))).toThrow(/^matmul: dtypes differ: float32 \[2, 2\] and float64 \[2\]$/);
    expect(() => i.requires_grad_()).toThrow(/^requires_grad_: only floating-point tensors can require gradients \(dtype is int32, shape \[2\]\)$/);
    expect(() => rand([2], { dtype: 'int32' })).toThrow(/^rand: dtype must be floating point, got int32$/);
    expect(() => i.pow(-2)).toThrow(/^pow: integers to negative integer powers are not allowed \(int32 tensor of shape \[2\], exponent -2\)$/);
  });
});

describe('device errors', () => {
  it('mixing devices names the op, both devices and shapes', () => {
    const g = fakeGpuTensor([2]);
    const c = zeros([2]);
    expect(g.device).toBe('webgpu');
    expect(() => add(c, g)).toThrow(/^add: expected both tensors on the same device, got 'cpu' \[2\] and 'webgpu' \[2\]$/);
    expect(() => c.mul(g)).toThrow(/^mul: expected both tensors on the same device/);
    expect(() => where(c, c, g)).toThrow(/^where: expected both tensors on the same device/);
    expect(() => matmul(c, g)).toThrow(/^matmul: tensors on different devices: 'cpu' \[2\] and 'webgpu' \[2\]$/);
    expect(() => g.toArray()).toThrow(/^dataSync: only cpu tensors can be read synchronously \(this one is on 'webgpu'\); use await t.data\(\)$/);
    const x = zeros([2], { requires_grad: true });
    expect(() => x.mul(2).backward(g)).toThrow(/^backward: gradient is on 'webgpu' but the output is on 'cpu'$/);
  });
  it('an uninitialized webgpu device says how to initialize it', () => {
    expect(() => tensor([1], { device: 'webgpu' })).toThrow(/device 'webgpu' is not initialized: call `await initWebGPU\(\)` first/);
    expect(() => zeros([1]).to('webgpu')).toThrow(/device 'webgpu' is not initialized/);
  });
});

describe('closeTo (the shared test helper) fails when it should', () => {
  it('rejects value, shape, length and NaN mismatches', async () => {
    const { closeTo } = await import('../helpers/close.js');
    expect(() => closeTo([1, 2], [1, 2.1], { rtol: 1e-3 })).toThrow(/\[1\] 2 vs 2.1/);
    expect(() => closeTo([[1, 2]], [[1], [2]])).toThrow(/shape \[1, 2\] differs from expected \[2, 1\]/);
    expect(() => closeTo(new Float32Array([1]), [1, 2])).toThrow(/1 elements, expected 2/);
    expect(() => closeTo([NaN], [1])).toThrow(/NaN vs 1/);
    expect(() => closeTo([1], [NaN])).toThrow(/1 vs NaN/);
    expect(() => closeTo([Infinity], [-Infinity])).toThrow();
    closeTo([NaN, Infinity, 1 + 1e-9], [NaN, Infinity, 1]);
    closeTo(tensor([[1, 2]]), [[1, 2]]);
  });
});
