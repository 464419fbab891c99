import { describe, expect, it } from 'vitest';
import { arange, gradcheck, randn, tensor, zeros, Generator, type Tensor } from '../../src/index.js';
import { itMatchesTorch } from '../helpers/core_fixtures.js';

const x24 = () => arange(24, undefined, 1, { dtype: 'float32' }).reshape(2, 3, 4);
const shares = (a: Tensor, b: Tensor) => a._ref === b._ref;
/** toArray() typed for indexing in assertions. */
const nested = (t: Tensor): any => t.toArray();
/** Writes `values` through v's layout with the backend (an in-place write the views must see). */
function writeThrough(v: Tensor, values: number[]): void {
  const src = tensor(values, { dtype: v.dtype }).reshape([...v.shape]);
  v.backend.copy(src.storage, src.layout, v.storage, v.layout);
}

describe('reshape / view', () => {
  it('view of a contiguous tensor shares storage; -1 is inferred', () => {
    const x = x24();
    const v = x.view(6, -1);
    expect(v.shape).toEqual([6, 4]);
    expect(v.strides).toEqual([4, 1]);
    expect(shares(v, x)).toBe(true);
    expect(x.view(-1).toArray()).toEqual([...Array(24).keys()]);
    expect(nested(x.view([4, 6]))[3]).toEqual([18, 19, 20, 21, 22, 23]);
    expect(tensor(5).view(1, 1).toArray()).toEqual([[5]]);
    expect(tensor([5]).view([]).toArray()).toBe(5);
    writeThrough(v.narrow(0, 0, 1), [100, 101, 102, 103]);
    expect(nested(x)[0][0]).toEqual([100, 101, 102, 103]);
  });
  it('view of a non-contiguous tensor works where dims stay laid out together, else throws', () => {
    const x = x24();
    const t = x.transpose(0, 1); // (3, 2, 4), strides (4, 12, 1)
    const v = t.view(3, 2, 2, 2);
    expect(v.strides).toEqual([4, 12, 2, 1]);
    expect(shares(v, x)).toBe(true);
    expect(nested(v)[1][1]).toEqual([[16, 17], [18, 19]]);
    expect(() => t.view(3, 8)).toThrow(/view: size \[3, 8\] is not compatible with input of shape \[3, 2, 4\] and strides \[4, 12, 1\]; use reshape\(\)/);
    expect(() => tensor([[1, 2, 3], [4, 5, 6]]).t().view(-1)).toThrow(/view: .*shape \[3, 2\].*strides \[1, 3\]/);
    // a step slice keeps its inner stride when outer dims merge
    const s = x.slice(2, 0, 4, 2); // (2, 3, 2), strides (12, 4, 2)
    const sv = s.view(6, 2);
    expect(sv.strides).toEqual([4, 2]);
    expect(nested(sv)[5]).toEqual([20, 22]);
  });
  it('reshape is a view when possible and a copy otherwise', () => {
    const x = x24();
    expect(shares(x.reshape(4, 6), x)).toBe(true);
    const t = x.transpose(1, 2); // (2, 4, 3)
    const r = t.reshape(8, 3);
    expect(shares(r, x)).toBe(false);
    expect(r.is_contiguous()).toBe(true);
    expect(nested(r)[1]).toEqual([1, 5, 9]);
    expect(shares(t.reshape(2, 4, 3), x)).toBe(true);
    // expand then reshape: merged broadcast dims keep stride 0, else copy
    const e = tensor([1, 2]).unsqueeze(0).expand(3, 2);
    const ev = e.reshape(3, 1, 2);
    expect(shares(ev, e)).toBe(true);
    expect(ev.strides[0]).toBe(0);
    const ec = e.reshape(6);
    expect(shares(ec, e)).toBe(false);
    expect(ec.toArray()).toEqual([1, 2, 1, 2, 1, 2]);
  });
  it('reshape / view reject bad shapes naming the op and the shapes', () => {
    const x = x24();
    expect(() => x.reshape(5, 5)).toThrow(/reshape: shape \[5, 5\] is invalid for input of shape \[2, 3, 4\] \(size 24\)/);
    expect(() => x.reshape(-1, 5)).toThrow(/reshape: shape \[-1, 5\] is invalid for input of shape \[2, 3, 4\]/);
    expect(() => x.view(-1, -1)).toThrow(/view: only one dimension can be -1, got \[-1, -1\]/);
    expect(() => x.reshape(2.5, 2)).toThrow(/reshape: invalid size 2.5/);
  });
});

describe('permute / transpose / expand', () => {
  it('permute and transpose are strided views', () => {
    const x = x24();
    const p = x.permute(2, 0, 1);
    expect(p.shape).toEqual([4, 2, 3]);
    expect(p.strides).toEqual([1, 12, 4]);
    expect(p.is_contiguous()).toBe(false);
    expect(shares(p, x)).toBe(true);
    expect(nested(p)[3]).toEqual([[3, 7, 11], [15, 19, 23]]);
    expect(x.permute([-1, 1, 0]).shape).toEqual([4, 3, 2]);
    expect(nested(x.transpose(0, -1))[1][2]).toEqual([9, 21]);
    const m = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(m.t().toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(x.T.shape).toEqual([4, 3, 2]);
    expect(tensor(2).transpose(0, -1).shape).toEqual([]);
    writeThrough(m.t().select(0, 2), [30, 60]);
    expect(m.toArray()).toEqual([[1, 2, 30], [4, 5, 60]]);
  });
  it('expand broadcasts with stride 0 and shares storage', () => {
    const b = tensor([[1], [2]]);
    const e = b.expand(2, 3);
    expect(e.strides).toEqual([1, 0]);
    expect(e.toArray()).toEqual([[1, 1, 1], [2, 2, 2]]);
    expect(shares(e, b)).toBe(true);
    const e2 = b.expand(4, -1, 2);
    expect(e2.shape).toEqual([4, 2, 2]);
    expect(e2.strides).toEqual([0, 1, 0]);
    expect(tensor(7).expand(2).toArray()).toEqual([7, 7]);
    expect(tensor([1, 2]).expand_as(zeros([3, 2])).shape).toEqual([3, 2]);
    writeThrough(b, [5, 6]);
    expect(e.toArray()).toEqual([[5, 5, 5], [6, 6, 6]]);
    expect(() => b.expand(3, 3)).toThrow(/expand: the size 2 of dim 0 of \[2, 1\] must be 1 to expand to 3 \(target \[3, 3\]\)/);
    expect(() => b.expand(3)).toThrow(/expand: target \[3\] has fewer dims than the tensor \[2, 1\]/);
  });
});

describe('narrow / slice / select', () => {
  it('narrow, including on dim 0 (a contiguous view that starts past element 0)', () => {
    const x = arange(10, undefined, 1, { dtype: 'float32' });
    const n = x.narrow(0, 2, 3);
    expect(n.offset).toBe(2);
    expect(n.is_contiguous()).toBe(true);
    expect(n.toArray()).toEqual([2, 3, 4]);
    expect(n.mul(1).toArray()).toEqual([2, 3, 4]);
    expect(x.narrow(0, -3, 2).toArray()).toEqual([7, 8]);
    expect(nested(x24().narrow(1, 1, 2))[1]).toEqual([[16, 17, 18, 19], [20, 21, 22, 23]]);
    expect(shares(n, x)).toBe(true);
    expect(() => x.narrow(0, 8, 3)).toThrow(/narrow: start 8 and length 3 are out of range for dim 0 of size 10 \(shape \[10\]\)/);
  });
  it('slice: steps, negative and out-of-range indices (Python semantics)', () => {
    const x = arange(10, undefined, 1, { dtype: 'float32' });
    expect(x.slice(0, 1, 8, 3).toArray()).toEqual([1, 4, 7]);
    expect(x.slice(0, -3).toArray()).toEqual([7, 8, 9]);
    expect(x.slice(0, undefined, -7).toArray()).toEqual([0, 1, 2]);
    expect(x.slice(0, -4, -1, 2).toArray()).toEqual([6, 8]);
    expect(x.slice(0, -100, 100, 4).toArray()).toEqual([0, 4, 8]);
    expect(x.slice(0, 7, 3).shape).toEqual([0]);
    expect(x.slice(0, 12).shape).toEqual([0]);
    const s = x24().slice(2, 1, undefined, 2).slice(1, -2);
    expect(s.shape).toEqual([2, 2, 2]);
    expect(s.strides).toEqual([12, 4, 2]);
    expect(s.toArray()).toEqual([[[5, 7], [9, 11]], [[17, 19], [21, 23]]]);
    expect(() => x.slice(0, 0, 5, 0)).toThrow(/slice: step must be a positive integer, got 0/);
    expect(() => x.slice(0, 0, 5, -1)).toThrow(/slice: step must be a positive integer, got -1/);
    writeThrough(x.slice(0, 1, 8, 3), [-1, -4, -7]);
    expect(x.toArray()).toEqual([0, -1, 2, 3, -4, 5, 6, -7, 8, 9]);
  });
  it('select drops the dim; negative indices count from the end', () => {
    const x = x24();
    expect(x.select(0, 1).shape).toEqual([3, 4]);
    expect(x.select(1, -1).toArray()).toEqual([[8, 9, 10, 11], [20, 21, 22, 23]]);
    expect(x.select(2, 0).toArray()).toEqual([[0, 4, 8], [12, 16, 20]]);
    expect(shares(x.select(1, 0), x)).toBe(true);
    expect(() => x.select(1, 3)).toThrow(/select: index 3 is out of range for dim 1 of size 3 \(shape \[2, 3, 4\]\)/);
    expect(() => tensor(1).select(0, 0)).toThrow(/select: cannot be applied to a 0-dim tensor/);
  });
});

describe('squeeze / unsqueeze / flatten / contiguous / detach / clone', () => {
  it('squeeze all or one dim; non-1 dims stay', () => {
    const x = zeros([1, 3, 1, 2]);
    expect(x.squeeze().shape).toEqual([3, 2]);
    expect(x.squeeze(2).shape).toEqual([1, 3, 2]);
    expect(x.squeeze(1).shape).toEqual([1, 3, 1, 2]);
    expect(x.squeeze(-4).shape).toEqual([3, 1, 2]);
    expect(shares(x.squeeze(), x)).toBe(true);
    expect(tensor(1).squeeze().shape).toEqual([]);
  });
  it('unsqueeze at any position including negative', () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(x.unsqueeze(0).shape).toEqual([1, 2, 3]);
    expect(x.unsqueeze(2).shape).toEqual([2, 3, 1]);
    expect(x.unsqueeze(-1).shape).toEqual([2, 3, 1]);
    expect(x.unsqueeze(-2).shape).toEqual([2, 1, 3]);
    expect(x.unsqueeze(1).toArray()).toEqual([[[1, 2, 3]], [[4, 5, 6]]]);
    expect(x.t().unsqueeze(1).toArray()).toEqual([[[1, 4]], [[2, 5]], [[3, 6]]]);
    expect(tensor(3).unsqueeze(0).toArray()).toEqual([3]);
    expect(() => x.unsqueeze(3)).toThrow(/unsqueeze: dim 3 is out of range for a tensor of 3 dims/);
  });
  it('flatten ranges; 0-d flattens to [1]; non-contiguous flatten copies', () => {
    const x = x24();
    expect(x.flatten().shape).toEqual([24]);
    expect(x.flatten(1).shape).toEqual([2, 12]);
    expect(x.flatten(0, 1).shape).toEqual([6, 4]);
    expect(nested(x.flatten(-2, -1))[1]).toEqual([...Array(12).keys()].map((i) => i + 12));
    expect(tensor(4).flatten().shape).toEqual([1]);
    expect(shares(x.flatten(), x)).toBe(true);
    const p = x.permute(2, 1, 0).flatten();
    expect(shares(p, x)).toBe(false);
    expect(nested(p).slice(0, 4)).toEqual([0, 12, 4, 16]);
    expect(() => x.flatten(2, 1)).toThrow(/flatten: start_dim 2 comes after end_dim 1/);
  });
  it('contiguous: self when contiguous, a fresh copy otherwise', () => {
    const x = x24();
    expect(x.contiguous()).toBe(x);
    const t = x.transpose(0, 2);
    const c = t.contiguous();
    expect(c).not.toBe(t);
    expect(shares(c, x)).toBe(false);
    expect(c.is_contiguous()).toBe(true);
    expect(c.toArray()).toEqual(t.toArray());
  });
  it('detach shares storage; clone does not', () => {
    const x = tensor([1, 2], { requires_grad: true });
    const d = x.detach();
    expect(d.requires_grad).toBe(false);
    expect(shares(d, x)).toBe(true);
    const c = x.clone();
    expect(shares(c, x)).toBe(false);
    writeThrough(d, [9, 9]);
    expect(x.toArray()).toEqual([9, 9]);
    expect(c.toArray()).toEqual([1, 2]);
  });
  it('size() and dim()', () => {
    const x = x24();
    expect(x.size()).toEqual([2, 3, 4]);
    expect(x.size(-1)).toBe(4);
    expect(x.dim()).toBe(3);
    expect(x.numel()).toBe(24);
    expect(() => tensor(1).size(0)).toThrow(/size: dimension 0 specified but the tensor has no dimensions/);
    expect(() => x.size(3)).toThrow(/size: dim 3 is out of range for a tensor of 3 dims \(expected -3\.\.2\)/);
  });
});

describe('gradients through views', () => {
  it('hand-worked: slice with step scatters back, expand sums back', () => {
    const x = arange(6, undefined, 1, { dtype: 'float32', requires_grad: true });
    x.slice(0, 1, 6, 2).mul(tensor([1, 2, 3])).sum().backward();
    expect(x.grad!.toArray()).toEqual([0, 1, 0, 2, 0, 3]);
    const b = tensor([[1], [2]], { requires_grad: true });
    b.expand(2, 3).mul(tensor([1, 2, 3])).sum().backward();
    expect(b.grad!.toArray()).toEqual([[6], [6]]);
  });
  const gen = new Generator(5);
  const rn = (shape: number[]) => randn(shape, { dtype: 'float64', generator: gen });
  const w = (shape: number[]) => rn(shape); // fixed weights make each view's gradient distinct
  const chains: [string, (x: Tensor) => Tensor, number[]][] = [
    ['view', (x) => x.view(4, 6), [2, 3, 4]],
    ['reshape (copy path)', (x) => x.transpose(0, 2).reshape(8, 3), [2, 3, 4]],
    ['permute', (x) => x.permute(2, 0, 1), [2, 3, 4]],
    ['transpose', (x) => x.transpose(-1, 0), [2, 3, 4]],
    ['expand', (x) => x.expand(3, 2, 4), [2, 1]],
    ['narrow', (x) => x.narrow(1, 1, 2), [2, 3, 4]],
    ['slice step', (x) => x.slice(2, -3, undefined, 2), [2, 3, 4]],
    ['select', (x) => x.select(1, -1), [2, 3, 4]],
    ['squeeze', (x) => x.squeeze(), [1, 3, 1]],
    ['unsqueeze', (x) => x.unsqueeze(1), [3, 2]],
    ['flatten', (x) => x.flatten(1), [2, 3, 2]],
    ['contiguous', (x) => x.t().contiguous(), [3, 2]],
    ['clone', (x) => x.clone(), [3]],
    ['0-d', (x) => x.unsqueeze(0).expand(3), []],
    ['chain', (x) => x.permute(1, 0, 2).slice(0, 0, 3, 2).reshape(-1).narrow(0, 1, 10).unsqueeze(0), [2, 3, 4]],
  ];
  for (const [name, f, shape] of chains) {
    it(`gradcheck ${name}`, () => {
      const probe = f(rn(shape));
      const wt = w([...probe.shape]);
      expect(gradcheck((x) => f(x).mul(wt), [rn(shape)])).toBe(true);
    });
  }
});

describe('views vs PyTorch fixtures', () => {
  itMatchesTorch((c) => c.op.startsWith('views'));
});
