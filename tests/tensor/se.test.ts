import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gradcheck, matmul, no_grad, randn, se_block, tensor, zeros, type Tensor } from '../../src/index.js';

interface Arr {
  shape: number[];
  data: number[];
}
interface SECase {
  name: string;
  x: Arr;
  w1: Arr;
  w2: Arr;
  gy: Arr;
  y: Arr;
  gx: Arr;
  gw1: Arr;
  gw2: Arr;
}
const FX = JSON.parse(readFileSync(new URL('../fixtures/bn_loss.json', import.meta.url), 'utf8')) as { se: SECase[] };

const mk = (a: Arr, dtype: 'float32' | 'float64' = 'float64', requires_grad = false) =>
  tensor(Float64Array.from(a.data), { shape: a.shape, dtype, requires_grad });
const vals = (t: Tensor) => Array.from(no_grad(() => t.detach().clone()).dataSync());

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) throw new Error(`element ${i}: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
  }
}

/** The same block composed from primitive differentiable ops. */
function seComposed(x: Tensor, w1: Tensor, w2: Tensor): Tensor {
  const pooled = x.mean([2, 3]); // (N, C)
  const hidden = matmul(pooled, w1.t()).relu(); // (N, R)
  const gate = matmul(hidden, w2.t()).sigmoid(); // (N, C)
  return x.mul(gate.unsqueeze(2).unsqueeze(3));
}

describe('se_block: hand-worked values', () => {
  it('pools, gates and scales', () => {
    // x (1, 2, 1, 2): pooled = [2, 0]; hidden = relu(0.5*2 + 1*0) = 1; gate = sigmoid([0, ln 3]) = [1/2, 3/4].
    const x = tensor([[[[1, 3]], [[2, -2]]]], { dtype: 'float64' });
    const w1 = tensor([[0.5, 1]], { dtype: 'float64' });
    const w2 = tensor([[0], [Math.log(3)]], { dtype: 'float64' });
    expectClose(vals(se_block(x, w1, w2)), [0.5, 1.5, 1.5, -1.5], 1e-15);
  });
  it('a negative hidden pre-activation is cut by the ReLU (gate 1/2 everywhere)', () => {
    const x = tensor([[[[1, 3]], [[2, -2]]]], { dtype: 'float64' });
    const w1 = tensor([[-1, 0]], { dtype: 'float64' });
    const w2 = tensor([[5], [-7]], { dtype: 'float64' });
    expectClose(vals(se_block(x, w1, w2)), [0.5, 1.5, 1, -1], 1e-15);
  });
});

describe('se_block: PyTorch 1.13 fixtures (float64, atol 1e-10)', () => {
  for (const c of FX.se) {
    it(c.name, () => {
      const x = mk(c.x, 'float64', true);
      const w1 = mk(c.w1, 'float64', true);
      const w2 = mk(c.w2, 'float64', true);
      const y = se_block(x, w1, w2);
      expectClose(vals(y), c.y.data, 1e-10);
      y.mul(mk(c.gy)).sum().backward();
      expectClose(vals(x.grad!), c.gx.data, 1e-10);
      expectClose(vals(w1.grad!), c.gw1.data, 1e-10);
      expectClose(vals(w2.grad!), c.gw2.data, 1e-10);
    });
  }
  it(`${FX.se[0]!.name} in float32 (atol 1e-5, rtol 1e-5)`, () => {
    const c = FX.se[0]!;
    const x = mk(c.x, 'float32', true);
    const w1 = mk(c.w1, 'float32', true);
    const w2 = mk(c.w2, 'float32', true);
    const y = se_block(x, w1, w2);
    expectClose(vals(y), c.y.data, 1e-5, 1e-5);
    y.mul(mk(c.gy, 'float32')).sum().backward();
    expectClose(vals(x.grad!), c.gx.data, 1e-5, 1e-5);
    expectClose(vals(w1.grad!), c.gw1.data, 1e-5, 1e-5);
    expectClose(vals(w2.grad!), c.gw2.data, 1e-5, 1e-5);
  });
});

describe('se_block: gradcheck and agreement with the composed ops', () => {
  const o = { dtype: 'float64' as const };
  const shapes: [string, number, number, number, number, number][] = [
    ['2x6x3x3, R=3', 2, 6, 3, 3, 3],
    ['batch 1, C=5 (not a multiple of 4), R=2', 1, 5, 2, 3, 2],
    ['1x1 maps', 3, 5, 1, 1, 2],
    ['R=1', 2, 3, 2, 2, 1],
  ];
  for (const [name, N, C, H, W, R] of shapes) {
    it(`gradcheck ${name}`, () => {
      expect(gradcheck(se_block, [randn([N, C, H, W], o), randn([R, C], o), randn([C, R], o)])).toBe(true);
    });
    it(`matches the composition ${name}`, () => {
      const x = randn([N, C, H, W], { ...o, requires_grad: true });
      const w1 = randn([R, C], { ...o, requires_grad: true });
      const w2 = randn([C, R], { ...o, requires_grad: true });
      const gy = randn([N, C, H, W], o);
      const y = se_block(x, w1, w2);
      y.mul(gy).sum().backward();
      const [gx, g1, g2] = [vals(x.grad!), vals(w1.grad!), vals(w2.grad!)];
      x.grad = w1.grad = w2.grad = null;
      const yc = seComposed(x, w1, w2);
      yc.mul(gy).sum().backward();
      expectClose(vals(y), vals(yc), 1e-12);
      expectClose(gx, vals(x.grad!), 1e-12);
      expectClose(g1, vals(w1.grad!), 1e-12);
      expectClose(g2, vals(w2.grad!), 1e-12);
    });
  }
  it('a non-contiguous input matches its contiguous copy', () => {
    const x = randn([2, 4, 3, 3], o).transpose(2, 3); // strided
    const w1 = randn([2, 4], o);
    const w2 = randn([2, 4], o).t(); // (4, 2) strided
    expectClose(vals(se_block(x, w1, w2)), vals(se_block(x.clone(), w1, w2.clone())), 1e-15);
    expectClose(vals(se_block(x, w1, w2)), vals(seComposed(x, w1, w2)), 1e-12);
  });
});

describe('se_block: errors', () => {
  const x = randn([2, 4, 3, 3]);
  it('rejects mismatched shapes, dtypes and ranks', () => {
    expect(() => se_block(randn([2, 4, 3]), randn([2, 4]), randn([4, 2]))).toThrow(/x must be 4-d.*\[2, 4, 3\]/);
    expect(() => se_block(x, randn([2, 5]), randn([4, 2]))).toThrow(/w1 \[2, 5\] must be \(R, C\) with C = 4/);
    expect(() => se_block(x, randn([2, 4]), randn([4, 3]))).toThrow(/w2 \[4, 3\] must be \(C, R\) = \[4, 2\]/);
    expect(() => se_block(x, randn([8]), randn([4, 2]))).toThrow(/must be 2-d/);
    expect(() => se_block(x, randn([2, 4], { dtype: 'float64' }), randn([4, 2]))).toThrow(/dtypes differ/);
    expect(() => se_block(zeros([1, 4, 0, 3]), randn([2, 4]), randn([4, 2]))).toThrow(/spatial size/);
  });
});
