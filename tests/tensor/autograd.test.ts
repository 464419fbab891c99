import { describe, expect, it } from 'vitest';
import {
  enable_grad, gradcheck, is_grad_enabled, no_grad, randn, set_grad_enabled, tensor, tidy, zeros, Generator, type Tensor,
} from '../../src/index.js';
import { closeTo } from '../helpers/close.js';

describe('graph semantics', () => {
  it('a value used twice gets both contributions', () => {
    const x = tensor([3], { requires_grad: true });
    x.mul(x).backward(); // d(x^2) = 2x
    expect(x.grad!.toArray()).toEqual([6]);
    const w = tensor([2], { requires_grad: true });
    const y = w.add(1); // 3
    y.mul(y).add(y).backward(); // d(y^2 + y)/dw = 2y + 1
    expect(w.grad!.toArray()).toEqual([7]);
  });
  it('diamond: two paths from one leaf through views and ops are summed', () => {
    const x = tensor([[1, 2], [3, 4]], { requires_grad: true });
    const a = x.mul(2);
    const b = x.t().exp();
    a.add(b.t()).sum().backward();
    closeTo(x.grad!, [[1, 2], [3, 4]].map((r) => r.map((v) => 2 + Math.exp(v))), { rtol: 1e-6 });
  });
  it('leaves, grad_fn and requires_grad propagation', () => {
    const x = tensor([1, 2], { requires_grad: true });
    const c = tensor([1, 1]);
    expect(x.is_leaf).toBe(true);
    expect(x.grad_fn).toBeNull();
    const y = x.mul(c);
    expect(y.requires_grad).toBe(true);
    expect(y.is_leaf).toBe(false);
    expect(y.grad_fn!.name).toBe('mul');
    expect(c.mul(c).requires_grad).toBe(false);
    expect(x.gt(1).requires_grad).toBe(false);
    expect(x.argmax().requires_grad).toBe(false);
    expect(() => y.requires_grad_(false)).toThrow(/requires_grad_: cannot turn off requires_grad on a non-leaf tensor/);
    expect(x.requires_grad_(false).requires_grad).toBe(false);
  });
  it('requires_grad on int32 throws, by option, method or property', () => {
    const i = tensor([1, 2], { dtype: 'int32' });
    expect(() => i.requires_grad_()).toThrow(/requires_grad_: only floating-point tensors can require gradients \(dtype is int32, shape \[2\]\)/);
    expect(() => {
      i.requires_grad = true;
    }).toThrow(/requires_grad: only floating-point tensors can require gradients/);
    expect(() => tensor([1], { dtype: 'int32', requires_grad: true })).toThrow(/int32/);
    expect(() => zeros([2], { dtype: 'int32', requires_grad: true })).toThrow(/int32/);
    i.requires_grad = false; // allowed
  });
  it('gradients flow to float inputs only when an int32 input takes part', () => {
    const i = tensor([1, 2], { dtype: 'int32' });
    const f = tensor([0.5, 0.5], { requires_grad: true });
    i.mul(f).sum().backward();
    expect(f.grad!.toArray()).toEqual([1, 2]);
  });
});

describe('backward()', () => {
  it('accumulates into .grad across calls, in place', () => {
    const x = tensor([1, 2], { requires_grad: true });
    x.mul(3).sum().backward();
    const g = x.grad!;
    expect(g.toArray()).toEqual([3, 3]);
    x.mul(x).sum().backward();
    expect(x.grad!.toArray()).toEqual([5, 7]);
    expect(x.grad).toBe(g); // same tensor, updated like PyTorch's AccumulateGrad
    x.grad = null;
    x.sum().backward();
    expect(x.grad!.toArray()).toEqual([1, 1]);
  });
  it('each leaf owns its .grad (no aliasing when a rule returns the same tensor twice)', () => {
    const a = tensor([1, 2], { requires_grad: true });
    const b = tensor([3, 4], { requires_grad: true });
    a.add(b).backward(tensor([5, 6]));
    expect(a.grad!._ref).not.toBe(b.grad!._ref);
    expect(a.grad!.is_contiguous()).toBe(true);
    a.add(b).backward(tensor([1, 1]));
    expect(a.grad!.toArray()).toEqual([6, 7]);
    expect(b.grad!.toArray()).toEqual([6, 7]);
  });
  it('non-scalar output without a gradient throws; with one, it is the vector-Jacobian product', () => {
    const x = tensor([1, 2, 3], { requires_grad: true });
    const y = x.mul(x);
    expect(() => y.backward()).toThrow(/backward: grad can be implicitly created only for one-element outputs; got shape \[3\]/);
    y.backward(tensor([1, 0.5, -1]));
    expect(x.grad!.toArray()).toEqual([2, 2, -6]);
    expect(() => x.mul(2).backward(tensor([1, 2]))).toThrow(/backward: gradient shape \[2\] does not match output shape \[3\]/);
  });
  it('a one-element non-0-d output seeds with ones; the seed is 1 even when the output is inf', () => {
    const x = tensor([[2]], { requires_grad: true });
    x.mul(5).backward();
    expect(x.grad!.toArray()).toEqual([[5]]);
    const y = tensor([Infinity, 1], { requires_grad: true });
    y.sum().backward();
    expect(y.grad!.toArray()).toEqual([1, 1]);
  });
  it('a gradient of another dtype is converted to the output dtype', () => {
    const x = tensor([1, 2], { requires_grad: true });
    x.mul(2).backward(tensor([1, 1], { dtype: 'float64' }));
    expect(x.grad!.dtype).toBe('float32');
    expect(x.grad!.toArray()).toEqual([2, 2]);
  });
  it('backward on a tensor that does not require grad throws', () => {
    expect(() => tensor([1]).sum().backward()).toThrow(/backward: tensor of shape \[\] does not require grad and has no grad_fn/);
  });
  it('a second backward through a freed graph throws; retain_graph allows it', () => {
    const x = tensor([1, 2], { requires_grad: true });
    const y = x.exp().sum();
    y.backward();
    expect(() => y.backward()).toThrow(/backward: the graph through '.*' was already freed by a previous backward\(\); pass \{ retain_graph: true \} to the first call/);
    const z = tensor([1, 2], { requires_grad: true });
    const w = z.mul(z).sum();
    w.backward(undefined, { retain_graph: true });
    w.backward();
    expect(z.grad!.toArray()).toEqual([4, 8]);
  });
  it('backward through a shared subgraph frees it once used', () => {
    const x = tensor([2], { requires_grad: true });
    const h = x.mul(x);
    h.add(1).backward();
    expect(() => h.mul(3).backward()).toThrow(/already freed/);
  });
});

describe('no_grad / enable_grad / detach / retain_grad', () => {
  it('no_grad records nothing and restores the mode, even after a throw', () => {
    const x = tensor([1], { requires_grad: true });
    const y = no_grad(() => x.mul(2));
    expect(y.requires_grad).toBe(false);
    expect(y.grad_fn).toBeNull();
    expect(is_grad_enabled()).toBe(true);
    expect(() =>
      no_grad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(is_grad_enabled()).toBe(true);
    const z = no_grad(() => enable_grad(() => x.mul(2)));
    expect(z.requires_grad).toBe(true);
    set_grad_enabled(false);
    try {
      expect(x.exp().requires_grad).toBe(false);
    } finally {
      set_grad_enabled(true);
    }
  });
  it('detach cuts the graph', () => {
    const x = tensor([3], { requires_grad: true });
    const y = x.mul(x.detach()); // gradient only through the first factor
    y.backward();
    expect(x.grad!.toArray()).toEqual([3]);
    expect(x.detach().requires_grad).toBe(false);
    expect(x.detach().grad_fn).toBeNull();
  });
  it('retain_grad keeps a non-leaf gradient, accumulating like a leaf; others stay null', () => {
    const x = tensor([1, 2], { requires_grad: true });
    const h = x.mul(3).retain_grad();
    const k = h.exp();
    const y = h.mul(h).sum();
    y.backward(undefined, { retain_graph: true });
    expect(h.grad!.toArray()).toEqual([6, 12]);
    expect(k.grad).toBeNull();
    y.backward();
    expect(h.grad!.toArray()).toEqual([12, 24]);
    expect(x.grad!.toArray()).toEqual([36, 72]);
    const r = x.sum().retain_grad();
    r.backward();
    expect(r.grad!.toArray()).toBe(1);
  });
  it('backward inside tidy keeps .grad alive', () => {
    const x = tensor([1, 2], { requires_grad: true });
    tidy(() => {
      x.mul(x).sum().backward();
    });
    expect(x.grad!.isDisposed).toBe(false);
    expect(x.grad!.toArray()).toEqual([2, 4]);
  });
});

describe('gradcheck of composites (float64)', () => {
  const gen = new Generator(21);
  const rn = (shape: number[]) => randn(shape, { dtype: 'float64', generator: gen });
  it('a small MLP-like graph with reuse, broadcasting and reductions', () => {
    const f = (x: Tensor, w: Tensor, b: Tensor) => {
      const h = x.matmul(w).add(b).tanh();
      return h.mul(h.sigmoid()).log_softmax(-1).sum(0).add(h.max(0)).mean();
    };
    expect(gradcheck(f, [rn([4, 3]), rn([3, 5]), rn([5])])).toBe(true);
  });
  it('only the inputs named in wrt are checked', () => {
    expect(gradcheck((a: Tensor, b: Tensor) => a.mul(b.detach()), [rn([3]), rn([3])], { wrt: [0] })).toBe(true);
  });
});
