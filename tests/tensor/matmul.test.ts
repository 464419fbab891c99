import { describe, expect, it } from 'vitest';
import { gradcheck, linear, matmul, randn, tensor, zeros, Generator, type Tensor } from '../../src/index.js';
import { closeTo } from '../helpers/close.js';
import { itMatchesTorch } from '../helpers/core_fixtures.js';

/** Plain-loop reference for (M, K) @ (K, N) on nested arrays. */
function mm(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0]!.map((_, n) => row.reduce((s, v, k) => s + v * b[k]![n]!, 0)));
}

describe('matmul (torch.matmul rules)', () => {
  it('1-d @ 1-d is a 0-d dot product', () => {
    const y = matmul(tensor([1, 2, 3]), tensor([4, 5, 6]));
    expect(y.shape).toEqual([]);
    expect(y.toArray()).toBe(32);
  });
  it('2-d @ 1-d, 1-d @ 2-d, 2-d @ 2-d', () => {
    const A = tensor([[1, 2], [3, 4]]);
    expect(matmul(A, tensor([5, 6])).toArray()).toEqual([17, 39]);
    expect(matmul(tensor([5, 6]), A).toArray()).toEqual([23, 34]);
    expect(matmul(A, tensor([[5, 6], [7, 8]])).toArray()).toEqual([[19, 22], [43, 50]]);
    expect(tensor([[1, 2, 3]]).matmul(tensor([[1], [1], [1]])).toArray()).toEqual([[6]]);
  });
  it('batched and broadcast batch dims', () => {
    const gen = new Generator(1);
    const a = randn([2, 1, 3, 4], { generator: gen });
    const b = randn([3, 4, 2], { generator: gen });
    const y = matmul(a, b);
    expect(y.shape).toEqual([2, 3, 3, 2]);
    const A = a.toArray() as number[][][][];
    const B = b.toArray() as number[][][];
    const Y = y.toArray() as number[][][][];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) closeTo(Y[i]![j]!, mm(A[i]![0]!, B[j]!), { rtol: 1e-5 });
    expect(matmul(randn([2, 3, 4]), randn([4, 5])).shape).toEqual([2, 3, 5]);
    expect(matmul(randn([4]), randn([2, 4, 3])).shape).toEqual([2, 3]);
    expect(matmul(randn([2, 3, 4]), randn([4])).shape).toEqual([2, 3]);
    expect(matmul(randn([5, 1, 2, 3]), randn([4, 3, 2])).shape).toEqual([5, 4, 2, 2]);
  });
  it('reads non-contiguous operands (transpose, step slice, expand)', () => {
    const A = tensor([[1, 3], [2, 4]]).t(); // [[1, 2], [3, 4]]
    const B = tensor([[5, 0, 6], [7, 0, 8]]).slice(1, 0, 3, 2); // [[5, 6], [7, 8]]
    expect(matmul(A, B).toArray()).toEqual([[19, 22], [43, 50]]);
    const E = tensor([1, 1]).unsqueeze(1).expand(2, 2);
    expect(matmul(A, E).toArray()).toEqual([[3, 3], [7, 7]]);
    expect(matmul(tensor([[1, 2], [3, 4], [5, 6]]).narrow(0, 1, 2), tensor([1, -1])).toArray()).toEqual([-1, -1]);
  });
  it('K = 0 gives zeros; float64 stays float64', () => {
    expect(matmul(zeros([2, 0]), zeros([0, 3])).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(matmul(tensor([1], { dtype: 'float64' }), tensor([2], { dtype: 'float64' })).dtype).toBe('float64');
  });
  it('errors name the op and both shapes', () => {
    expect(() => matmul(zeros([2, 3]), zeros([4, 5]))).toThrow(/matmul: shapes \[2, 3\] and \[4, 5\] cannot be multiplied \(3 vs 4\)/);
    expect(() => matmul(zeros([2, 2, 3]), zeros([3, 3, 1]))).toThrow(/matmul: the batch dims of \[2, 2, 3\] and \[3, 3, 1\] cannot be broadcast together/);
    expect(() => matmul(tensor(1), zeros([2]))).toThrow(/matmul: both arguments need at least 1 dim, got \[\] and \[2\]/);
    expect(() => matmul(zeros([2], { dtype: 'int32' }), zeros([2], { dtype: 'int32' }))).toThrow(/matmul: expects floating-point tensors, got int32 \[2\] and int32 \[2\]/);
    expect(() => matmul(zeros([2]), zeros([2], { dtype: 'float64' }))).toThrow(/matmul: dtypes differ: float32 \[2\] and float64 \[2\]/);
  });
  it('hand-worked gradient: dY/dA = G B^T, dY/dB = A^T G', () => {
    const A = tensor([[1, 2], [3, 4]], { requires_grad: true });
    const B = tensor([[5, 6], [7, 8]], { requires_grad: true });
    matmul(A, B).backward(tensor([[1, 0], [0, 1]]));
    expect(A.grad!.toArray()).toEqual([[5, 7], [6, 8]]);
    expect(B.grad!.toArray()).toEqual([[1, 3], [2, 4]]);
    const v = tensor([1, 2], { requires_grad: true });
    matmul(v, B).sum().backward();
    expect(v.grad!.toArray()).toEqual([11, 15]);
  });
});

describe('linear', () => {
  it('y = x W^T + b', () => {
    const W = tensor([[1, 0], [0, 1], [1, 1]]);
    expect(linear(tensor([[1, 2]]), W, tensor([0.5, 0, -1])).toArray()).toEqual([[1.5, 2, 2]]);
    expect(linear(tensor([1, 2]), W).toArray()).toEqual([1, 2, 3]);
    expect(linear(zeros([4, 2, 2]), W).shape).toEqual([4, 2, 3]);
  });
  it('shape errors', () => {
    const W = zeros([3, 2]);
    expect(() => linear(zeros([4, 5]), W)).toThrow(/linear: input \[4, 5\] has 5 features but weight \[3, 2\] expects 2/);
    expect(() => linear(zeros([4, 2]), zeros([2]))).toThrow(/linear: weight must be 2-d \(out_features, in_features\), got \[2\]/);
    expect(() => linear(zeros([4, 2]), W, zeros([2]))).toThrow(/linear: bias \[2\] must be \(3\)/);
  });
});

describe('matmul / linear gradcheck (float64)', () => {
  const gen = new Generator(9);
  const rn = (shape: number[]) => randn(shape, { dtype: 'float64', generator: gen });
  const shapes: [number[], number[]][] = [
    [[3], [3]],
    [[2, 3], [3]],
    [[3], [3, 2]],
    [[2, 3], [3, 4]],
    [[2, 2, 3], [3, 2]],
    [[2, 1, 2, 3], [2, 3, 1]],
    [[1, 3], [2, 3, 2]],
    [[2, 2, 3], [3]],
  ];
  for (const [sa, sb] of shapes) {
    it(`matmul [${sa}] @ [${sb}]`, () => expect(gradcheck(matmul, [rn(sa), rn(sb)])).toBe(true));
  }
  it('non-contiguous operands (transpose, step slice)', () => {
    expect(gradcheck((a: Tensor, b: Tensor) => matmul(a.t(), b.slice(1, 0, 4, 2)), [rn([3, 2]), rn([3, 4])])).toBe(true);
    expect(gradcheck((a: Tensor, b: Tensor) => matmul(a.permute(0, 2, 1), b), [rn([2, 3, 2]), rn([3, 2])])).toBe(true);
  });
  it('a value used on both sides (A @ A)', () => {
    expect(gradcheck((a: Tensor) => matmul(a, a), [rn([3, 3])])).toBe(true);
  });
  it('linear with and without bias', () => {
    expect(gradcheck((x: Tensor, w: Tensor, b: Tensor) => linear(x, w, b), [rn([2, 3, 4]), rn([2, 4]), rn([2])])).toBe(true);
    expect(gradcheck((x: Tensor, w: Tensor) => linear(x, w), [rn([4]), rn([3, 4])])).toBe(true);
  });
});

describe('matmul vs PyTorch fixtures', () => {
  itMatchesTorch((c) => c.op === 'matmul' || c.op === 'linear' || c.op === 'composite');
});
