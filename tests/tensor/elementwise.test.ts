import { describe, expect, it } from 'vitest';
import {
  abs, add, div, eq, exp, ge, gradcheck, gt, le, log, lt, maximum, minimum, mul, ne, neg, pow, randn, relu, rsqrt,
  sigmoid, sqrt, sub, tanh, tensor, where, Generator, type Tensor,
} from '../../src/index.js';
import { broadcastPartner, closeTo, randomShape, rng } from '../helpers/close.js';
import { itMatchesTorch } from '../helpers/core_fixtures.js';

const f32 = Math.fround;

describe('elementwise values (hand-worked)', () => {
  it('add / sub / mul / div broadcast (2,3) with (3)', () => {
    const a = tensor([[1, 2, 3], [4, 5, 6]]);
    const b = tensor([10, 20, 30]);
    expect(a.add(b).toArray()).toEqual([[11, 22, 33], [14, 25, 36]]);
    expect(a.sub(b).toArray()).toEqual([[-9, -18, -27], [-6, -15, -24]]);
    expect(a.mul(b).toArray()).toEqual([[10, 40, 90], [40, 100, 180]]);
    closeTo(b.div(a), [[10, 10, 10], [2.5, 4, 5]], { rtol: 0, atol: 0 });
  });
  it('add / sub with alpha, and numbers', () => {
    const a = tensor([1, 2]);
    const b = tensor([3, 5]);
    expect(add(a, b, 2).toArray()).toEqual([7, 12]);
    expect(sub(a, b, 0.5).toArray()).toEqual([-0.5, -0.5]);
    expect(a.add(1.5).toArray()).toEqual([2.5, 3.5]);
    expect(a.sub(1).toArray()).toEqual([0, 1]);
    expect(a.mul(-3).toArray()).toEqual([-3, -6]);
    expect(a.div(4).toArray()).toEqual([0.25, 0.5]);
  });
  it('broadcasts (2,1,3) with (4,1) to (2,4,3)', () => {
    const a = tensor([[[1, 2, 3]], [[4, 5, 6]]]);
    const b = tensor([[1], [10], [100], [1000]]);
    const c = a.mul(b);
    expect(c.shape).toEqual([2, 4, 3]);
    expect(c.toArray()).toEqual([
      [[1, 2, 3], [10, 20, 30], [100, 200, 300], [1000, 2000, 3000]],
      [[4, 5, 6], [40, 50, 60], [400, 500, 600], [4000, 5000, 6000]],
    ]);
  });
  it('0-d with n-d, and size-0 dims', () => {
    expect(tensor(2).mul(tensor([[1, 2]])).toArray()).toEqual([[2, 4]]);
    expect(tensor(2).add(tensor(3)).toArray()).toBe(5);
    const z = tensor([[1, 2]]).add(tensor([[]]).reshape(0, 1));
    expect(z.shape).toEqual([0, 2]);
  });
  it('unary ops', () => {
    const x = tensor([-2, -0.5, 0, 0.5, 2]);
    expect(neg(x).toArray()).toEqual([2, 0.5, -0, -0.5, -2]);
    expect(abs(x).toArray()).toEqual([2, 0.5, 0, 0.5, 2]);
    expect(relu(x).toArray()).toEqual([0, 0, 0, 0.5, 2]);
    closeTo(exp(x), [-2, -0.5, 0, 0.5, 2].map(Math.exp));
    closeTo(tanh(x), [-2, -0.5, 0, 0.5, 2].map(Math.tanh));
    closeTo(sigmoid(x), [0.11920292, 0.37754067, 0.5, 0.62245933, 0.88079708], { rtol: 1e-6 });
    closeTo(sqrt(tensor([0, 0.25, 4, 2])), [0, 0.5, 2, Math.SQRT2]);
    closeTo(rsqrt(tensor([0.25, 4, 1])), [2, 0.5, 1]);
    expect(x.sign().toArray()).toEqual([-1, -1, 0, 1, 1]);
  });
  it('log: -inf at 0, NaN below; sqrt NaN below 0; sigmoid saturates without NaN', () => {
    expect(log(tensor([Math.E, 1, 0, -1])).toArray()).toEqual([f32(Math.log(f32(Math.E))), 0, -Infinity, NaN]);
    expect(sqrt(tensor([-1])).toArray()).toEqual([NaN]);
    expect(sigmoid(tensor([-1000, 1000])).toArray()).toEqual([0, 1]);
    expect(tanh(tensor([-1000, 1000])).toArray()).toEqual([-1, 1]);
  });
  it('pow with scalar and tensor exponents', () => {
    expect(pow(tensor([1, 2, 3]), 2).toArray()).toEqual([1, 4, 9]);
    expect(pow(tensor([4, 9]), 0.5).toArray()).toEqual([2, 3]);
    expect(pow(tensor([2, 4]), -1).toArray()).toEqual([0.5, 0.25]);
    expect(pow(tensor([2, 3, 4]), tensor([3, 2, 0.5])).toArray()).toEqual([8, 9, 2]);
    expect(pow(tensor([-8]), 1 / 3).toArray()).toEqual([NaN]);
    expect(pow(tensor([[2], [3]]), tensor([1, 2])).toArray()).toEqual([[2, 4], [3, 9]]);
  });
  it('maximum / minimum, NaN propagates', () => {
    const a = tensor([1, 5, NaN, 3]);
    const b = tensor([2, 4, 0, 3]);
    expect(maximum(a, b).toArray()).toEqual([2, 5, NaN, 3]);
    expect(minimum(a, b).toArray()).toEqual([1, 4, NaN, 3]);
    expect(maximum(tensor([[1, 7]]), tensor([[3], [5]])).toArray()).toEqual([[3, 7], [5, 7]]);
    expect(maximum(tensor([-1, 2]), 0).toArray()).toEqual([0, 2]);
  });
  it('clamp: both, one side, min > max gives max, NaN stays', () => {
    const x = tensor([-2, -1, 0, 1, 2, NaN]);
    expect(x.clamp(-1, 1).toArray()).toEqual([-1, -1, 0, 1, 1, NaN]);
    expect(x.clamp(0).toArray()).toEqual([0, 0, 0, 1, 2, NaN]);
    expect(x.clamp(undefined, 0).toArray()).toEqual([-2, -1, 0, 0, 0, NaN]);
    expect(x.clamp(1, -1).toArray()).toEqual([-1, -1, -1, -1, -1, NaN]);
    expect(() => x.clamp()).toThrow(/clamp: at least one of min and max/);
  });
  it('comparisons give 1/0 in the promoted dtype, broadcasting', () => {
    const a = tensor([1, 2, 3]);
    const b = tensor([[2], [3]]);
    expect(eq(a, b).toArray()).toEqual([[0, 1, 0], [0, 0, 1]]);
    expect(ne(a, b).toArray()).toEqual([[1, 0, 1], [1, 1, 0]]);
    expect(lt(a, b).toArray()).toEqual([[1, 0, 0], [1, 1, 0]]);
    expect(le(a, b).toArray()).toEqual([[1, 1, 0], [1, 1, 1]]);
    expect(gt(a, b).toArray()).toEqual([[0, 0, 1], [0, 0, 0]]);
    expect(ge(a, b).toArray()).toEqual([[0, 1, 1], [0, 0, 1]]);
    expect(a.gt(2).toArray()).toEqual([0, 0, 1]);
    expect(tensor([NaN]).eq(tensor([NaN])).toArray()).toEqual([0]);
    expect(tensor([NaN]).ne(NaN).toArray()).toEqual([1]);
    expect(a.eq(b).dtype).toBe('float32');
    expect(tensor([1, 2], { dtype: 'int32' }).lt(2).dtype).toBe('int32');
  });
  it('where broadcasts cond, a and b; numbers allowed', () => {
    const c = tensor([[1, 0, 1], [0, 0, 1]]);
    expect(where(c, tensor([[1, 2, 3], [4, 5, 6]]), tensor([-1, -2, -3])).toArray()).toEqual([[1, -2, 3], [-1, -2, 6]]);
    expect(where(c, 7, tensor(0)).toArray()).toEqual([[7, 0, 7], [0, 0, 7]]);
    expect(where(tensor([1, 0]), 1.5, -1).toArray()).toEqual([1.5, -1]);
  });
  it('elementwise ops read non-contiguous inputs (permute, step slice, expand)', () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(x.t().add(tensor([[10, 20]])).toArray()).toEqual([[11, 24], [12, 25], [13, 26]]);
    expect(x.slice(1, 0, 3, 2).mul(2).toArray()).toEqual([[2, 6], [8, 12]]);
    expect(tensor([1, 2]).unsqueeze(1).expand(2, 3).exp().toArray()).toEqual([[1, 1, 1], [2, 2, 2]].map((r) => r.map((v) => f32(Math.exp(v)))));
  });
});

describe('dtype promotion and to(dtype)', () => {
  const i = (d: number[]) => tensor(d, { dtype: 'int32' });
  it('int32 + float32 -> float32; int32 + int32 -> int32; int32 + float64 -> float64', () => {
    const r = i([1, 2]).add(tensor([0.5, 0.25]));
    expect(r.dtype).toBe('float32');
    expect(r.toArray()).toEqual([1.5, 2.25]);
    expect(i([1, 2]).add(i([3, 4])).dtype).toBe('int32');
    expect(i([1, 2]).add(tensor([0.5, 0.5], { dtype: 'float64' })).dtype).toBe('float64');
    expect(tensor([1], { dtype: 'float32' }).mul(tensor([1], { dtype: 'float64' })).dtype).toBe('float64');
  });
  it('int32 with numbers: integers stay int32, fractions promote to float32', () => {
    expect(i([1, 2]).add(3).dtype).toBe('int32');
    expect(i([1, 2]).mul(2.5).toArray()).toEqual([2.5, 5]);
    expect(i([1, 2]).add(0.5).dtype).toBe('float32');
    expect(i([1, 2]).pow(0.5).dtype).toBe('float32');
    expect(i([2, 3]).pow(2).toArray()).toEqual([4, 9]);
    expect(i([2, 3]).pow(2).dtype).toBe('int32');
    expect(() => i([2]).pow(-1)).toThrow(/pow: integers to negative integer powers are not allowed.*\[1\].*-1/);
    expect(i([1, 5]).clamp(1.5, 3).toArray()).toEqual([1.5, 3]);
  });
  it('true division of integers gives float32; float ops on int32 give float32', () => {
    const r = i([3, -3, 1]).div(i([2, 2, 4]));
    expect(r.dtype).toBe('float32');
    expect(r.toArray()).toEqual([1.5, -1.5, 0.25]);
    expect(i([7]).div(2).toArray()).toEqual([3.5]);
    for (const op of [exp, log, sqrt, rsqrt, sigmoid, tanh]) expect(op(i([1])).dtype).toBe('float32');
    closeTo(exp(i([0, 1])), [1, Math.E]);
    expect(neg(i([1])).dtype).toBe('int32');
    expect(abs(i([-4])).toArray()).toEqual([4]);
    expect(relu(i([-4, 4])).dtype).toBe('int32');
  });
  it('int32 arithmetic truncates / wraps like C int32', () => {
    expect(i([2147483647]).add(1).toArray()).toEqual([-2147483648]);
    expect(i([-7]).mul(3).toArray()).toEqual([-21]);
  });
  it('to(dtype): float -> int truncates toward zero, float64 -> float32 rounds, same dtype is identity', () => {
    const x = tensor([-1.7, -0.5, 0.5, 2.9]);
    expect(x.to('int32').toArray()).toEqual([-1, 0, 0, 2]);
    expect(x.int().dtype).toBe('int32');
    const d = tensor([0.1, 1 / 3], { dtype: 'float64' });
    expect(d.to('float32').toArray()).toEqual([f32(0.1), f32(1 / 3)]);
    expect(d.float().dtype).toBe('float32');
    expect(tensor([0.1]).double().toArray()).toEqual([f32(0.1)]);
    expect(x.to('float32')).toBe(x);
    expect(i([3]).to('float32').toArray()).toEqual([3]);
    // non-contiguous source
    expect(tensor([[1.5, 2.5], [3.5, 4.5]]).t().to('int32').toArray()).toEqual([[1, 3], [2, 4]]);
  });
  it('gradients through to(dtype) come back in the source dtype', () => {
    const x = tensor([1, 2], { requires_grad: true });
    const y = x.to('float64').mul(tensor([3, 4], { dtype: 'float64' })).sum();
    expect(y.dtype).toBe('float64');
    y.backward();
    expect(x.grad!.dtype).toBe('float32');
    expect(x.grad!.toArray()).toEqual([3, 4]);
  });
  it('mixed-dtype binary ops hand each input a gradient of its own dtype', () => {
    const a = tensor([1, 2], { requires_grad: true });
    const b = tensor([3, 4], { dtype: 'float64', requires_grad: true });
    a.mul(b).sum().backward();
    expect(a.grad!.dtype).toBe('float32');
    expect(b.grad!.dtype).toBe('float64');
    expect(a.grad!.toArray()).toEqual([3, 4]);
    expect(b.grad!.toArray()).toEqual([1, 2]);
  });
});

describe('elementwise gradients (hand-worked)', () => {
  it('maximum / minimum split ties half-half, as PyTorch', () => {
    const a = tensor([1, 3, 2], { requires_grad: true });
    const b = tensor([2, 3, 1], { requires_grad: true });
    maximum(a, b).backward(tensor([10, 10, 10]));
    expect(a.grad!.toArray()).toEqual([0, 5, 10]);
    expect(b.grad!.toArray()).toEqual([10, 5, 0]);
    a.grad = null;
    b.grad = null;
    minimum(a, b).backward(tensor([10, 10, 10]));
    expect(a.grad!.toArray()).toEqual([10, 5, 0]);
    expect(b.grad!.toArray()).toEqual([0, 5, 10]);
  });
  it('maximum with a broadcast operand sums its shares; NaN passes the gradient to both sides', () => {
    const a = tensor([[1, 5], [3, 3]], { requires_grad: true });
    const b = tensor([3], { requires_grad: true });
    maximum(a, b).sum().backward();
    expect(a.grad!.toArray()).toEqual([[0, 1], [0.5, 0.5]]);
    expect(b.grad!.toArray()).toEqual([1 + 0 + 0.5 + 0.5]);
    const c = tensor([NaN], { requires_grad: true });
    const d = tensor([1], { requires_grad: true });
    maximum(c, d).sum().backward();
    expect(c.grad!.toArray()).toEqual([1]);
    expect(d.grad!.toArray()).toEqual([1]);
  });
  it('clamp passes the gradient on [min, max] bounds included', () => {
    const x = tensor([-2, -1, 0, 1, 2], { requires_grad: true });
    x.clamp(-1, 1).sum().backward();
    expect(x.grad!.toArray()).toEqual([0, 1, 1, 1, 0]);
  });
  it('abs and relu have gradient 0 at 0', () => {
    const x = tensor([-2, 0, 3], { requires_grad: true });
    abs(x).sum().backward();
    expect(x.grad!.toArray()).toEqual([-1, 0, 1]);
    x.grad = null;
    relu(x).sum().backward();
    expect(x.grad!.toArray()).toEqual([0, 0, 1]);
  });
  it('pow: d/db is 0 where a == 0 and b >= 0; d/da is 0 where b == 0', () => {
    const a = tensor([0, 0, 2], { requires_grad: true });
    const b = tensor([2, 0, 0], { requires_grad: true });
    pow(a, b).sum().backward();
    expect(a.grad!.toArray()).toEqual([0, 0, 0]);
    expect(b.grad!.toArray()).toEqual([0, 0, f32(Math.log(2))]);
    const x = tensor([0, 3], { requires_grad: true });
    pow(x, 0).sum().backward();
    expect(x.grad!.toArray()).toEqual([0, 0]);
  });
  it('where routes the gradient by the condition and sums broadcast operands', () => {
    const a = tensor([[1, 2], [3, 4]], { requires_grad: true });
    const b = tensor([5, 6], { requires_grad: true });
    where(tensor([[1, 0], [0, 0]]), a, b).backward(tensor([[1, 2], [3, 4]]));
    expect(a.grad!.toArray()).toEqual([[1, 0], [0, 0]]);
    expect(b.grad!.toArray()).toEqual([3, 6]);
  });
  it('div: d/da = 1/b, d/db = -a/b^2', () => {
    const a = tensor([3], { requires_grad: true });
    const b = tensor([2], { requires_grad: true });
    div(a, b).backward();
    expect(a.grad!.toArray()).toEqual([0.5]);
    expect(b.grad!.toArray()).toEqual([-0.75]);
  });
});

describe('elementwise gradcheck (float64)', () => {
  const gen = new Generator(7);
  const r = rng(11);
  const rn = (shape: number[]) => randn(shape, { dtype: 'float64', generator: gen });
  /** Positive inputs away from 0. */
  const pos = (shape: number[]) => rn(shape).abs().add(0.3);
  /** Values away from 0 (safe divisors, no kinks): sign(x) * (|x| + 0.3). */
  const away = (shape: number[]) => {
    const x = rn(shape);
    return x.sign().mul(x.abs().add(0.3));
  };

  // shape pairs: equal, broadcasting both ways, 0-d, size-1 dims, random
  const pairs: [number[], number[]][] = [
    [[2, 3], [2, 3]],
    [[2, 3], [3]],
    [[3, 1], [1, 4]],
    [[], [2, 2]],
    [[2, 1, 3], []],
    [[1], [1]],
  ];
  for (let k = 0; k < 4; k++) {
    const s = randomShape(r, 1 + Math.floor(r() * 3));
    pairs.push(r() < 0.5 ? [s, broadcastPartner(r, s)] : [broadcastPartner(r, s), s]);
  }

  const binary: [string, (a: Tensor, b: Tensor) => Tensor, (s: number[]) => Tensor, (s: number[]) => Tensor][] = [
    ['add', (a, b) => add(a, b), rn, rn],
    ['add alpha', (a, b) => add(a, b, -1.5), rn, rn],
    ['sub', (a, b) => sub(a, b, 2), rn, rn],
    ['mul', mul, rn, rn],
    ['div', div, rn, away],
    ['pow', pow, pos, rn],
    ['maximum', maximum, rn, rn],
    ['minimum', minimum, rn, rn],
  ];
  for (const [name, f, ga, gb] of binary) {
    it(`${name} over broadcast / 0-d / size-1 shapes`, () => {
      for (const [sa, sb] of pairs) expect(gradcheck(f, [ga(sa), gb(sb)])).toBe(true);
    });
  }

  const unary: [string, (x: Tensor) => Tensor, (s: number[]) => Tensor][] = [
    ['neg', neg, rn],
    ['exp', exp, rn],
    ['log', log, pos],
    ['sqrt', sqrt, pos],
    ['rsqrt', rsqrt, pos],
    ['abs', abs, away],
    ['relu', relu, away],
    ['sigmoid', sigmoid, rn],
    ['tanh', tanh, rn],
    ['pow scalar 3', (x) => pow(x, 3), rn],
    ['pow scalar 2.5', (x) => pow(x, 2.5), pos],
    ['pow scalar -1.5', (x) => pow(x, -1.5), pos],
    ['add number', (x) => x.add(2.5), rn],
    ['mul number', (x) => x.mul(-0.7), rn],
    ['clamp', (x) => x.clamp(-0.5, 0.6), rn],
    ['clamp min', (x) => x.clamp(0.1), rn],
  ];
  for (const [name, f, g] of unary) {
    it(`${name} on 0-d, size-1, and non-contiguous (permute, step slice) inputs`, () => {
      expect(gradcheck(f, [g([])])).toBe(true);
      expect(gradcheck(f, [g([1, 3, 1])])).toBe(true);
      expect(gradcheck((x) => f(x.permute(2, 0, 1)), [g([2, 3, 2])])).toBe(true);
      expect(gradcheck((x) => f(x.slice(1, 0, 4, 3)), [g([2, 5])])).toBe(true);
    });
  }

  it('where (gradients to both branches, broadcast)', () => {
    const cond = tensor([[1, 0, 1], [0, 1, 0]], { dtype: 'float64' });
    expect(gradcheck((a, b) => where(cond, a, b), [rn([2, 3]), rn([3])])).toBe(true);
    expect(gradcheck((a) => where(cond, a, 0), [rn([1, 3])])).toBe(true);
  });
  it('a binary op on non-contiguous operands (transpose with expand)', () => {
    expect(gradcheck((a, b) => mul(a.t(), b.unsqueeze(0).expand(3, 2)), [rn([2, 3]), rn([2])])).toBe(true);
  });
  it('detects a wrong gradient (gradcheck can fail)', () => {
    // A deliberately wrong rule: forward x * x, but the gradient only flows through one factor (x instead of 2x).
    const wrong = (x: Tensor) => x.detach().mul(x);
    expect(gradcheck((x) => wrong(x).mul(2), [rn([3])], { raise: false })).toBe(false);
    expect(() => gradcheck((x) => wrong(x).mul(2), [rn([3])])).toThrow(/gradcheck: gradient mismatch for input 0/);
  });
});

describe('elementwise vs PyTorch fixtures', () => {
  const ops = new Set(['add', 'sub', 'mul', 'div', 'pow', 'pow_scalar', 'add_scalar', 'mul_scalar', 'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'abs', 'relu', 'sigmoid', 'tanh', 'maximum', 'minimum', 'where', 'clamp']);
  itMatchesTorch((c) => ops.has(c.op));
});
