import { describe, expect, it, vi } from 'vitest';
import { nn, zeros, Generator, arange, manual_seed, type Tensor } from '../../src/index.js';

const { init } = nn;

function stats(t: Tensor): { min: number; max: number; mean: number; std: number } {
  const d = Array.from(t.dataSync());
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  const v = d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length;
  return { min: Math.min(...d), max: Math.max(...d), mean, std: Math.sqrt(v) };
}

describe('nn.init', () => {
  it('calculate_gain matches PyTorch', () => {
    for (const n of ['linear', 'conv1d', 'conv2d', 'conv3d', 'conv_transpose2d', 'sigmoid'] as const) expect(init.calculate_gain(n)).toBe(1);
    expect(init.calculate_gain('tanh')).toBeCloseTo(5 / 3, 15);
    expect(init.calculate_gain('relu')).toBe(Math.SQRT2);
    expect(init.calculate_gain('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.01 ** 2)), 15);
    expect(init.calculate_gain('leaky_relu', 0.2)).toBeCloseTo(Math.sqrt(2 / 1.04), 15);
    expect(init.calculate_gain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 15);
    expect(init.calculate_gain('selu')).toBe(0.75);
    expect(() => init.calculate_gain('gelu' as 'relu')).toThrow(/unsupported nonlinearity gelu/);
  });

  it('fan in / fan out as PyTorch', () => {
    expect(init._calculate_fan_in_and_fan_out(zeros([8, 3, 3, 3]))).toEqual([27, 72]);
    expect(init._calculate_fan_in_and_fan_out(zeros([5, 4]))).toEqual([4, 5]);
    expect(init._calculate_correct_fan(zeros([8, 3, 5, 1]), 'fan_out')).toBe(40);
    expect(() => init._calculate_fan_in_and_fan_out(zeros([5]))).toThrow(/fewer than 2 dimensions/);
    expect(() => init._calculate_correct_fan(zeros([2, 2]), 'fan_avg' as 'fan_in')).toThrow(/mode fan_avg not supported/);
  });

  it('uniform_ and normal_ have the requested range and moments', () => {
    manual_seed(123);
    const u = init.uniform_(zeros([100, 100]), -2, 3);
    const su = stats(u);
    expect(su.min).toBeGreaterThanOrEqual(-2);
    expect(su.max).toBeLessThan(3);
    expect(su.max).toBeGreaterThan(2.99);
    expect(Math.abs(su.mean - 0.5)).toBeLessThan(0.06); // sd of the mean: 5/sqrt(12)/100 = 0.014
    expect(Math.abs(su.std - 5 / Math.sqrt(12))).toBeLessThan(0.03);
    const n = init.normal_(zeros([100, 100]), 1, 2);
    const sn = stats(n);
    expect(Math.abs(sn.mean - 1)).toBeLessThan(0.08); // sd of the mean: 0.02
    expect(Math.abs(sn.std - 2)).toBeLessThan(0.06);
    expect(() => init.uniform_(zeros([2]), 1, 0)).toThrow(/a <= b/);
    expect(() => init.normal_(zeros([2]), 0, -1)).toThrow(/std >= 0/);
    expect(() => init.uniform_(arange(3))).toThrow(/floating-point/);
  });

  it('is reproducible from a generator and records no gradient', () => {
    const a = init.normal_(zeros([5]), 0, 1, { generator: new Generator(7) });
    const b = init.normal_(zeros([5]), 0, 1, { generator: new Generator(7) });
    const c = init.normal_(zeros([5]), 0, 1, { generator: new Generator(8) });
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));
    const p = new nn.Parameter(zeros([3, 3]));
    const v0 = p._version;
    expect(init.xavier_uniform_(p)).toBe(p);
    expect(p.is_leaf && p.requires_grad && p.grad_fn === null).toBe(true);
    expect(p._version).toBeGreaterThan(v0);
  });

  it('kaiming_uniform_ / kaiming_normal_ bounds and std', () => {
    manual_seed(1);
    // default: leaky_relu with a = 0 -> gain sqrt(2); bound = sqrt(2) * sqrt(3 / fan_in) with fan_in = 50
    const w = init.kaiming_uniform_(zeros([200, 50]));
    const s = stats(w);
    const bound = Math.sqrt(6 / 50);
    expect(s.min).toBeGreaterThanOrEqual(-bound);
    expect(s.max).toBeLessThanOrEqual(bound);
    expect(s.max).toBeGreaterThan(0.99 * bound);
    expect(Math.abs(s.std - bound / Math.sqrt(3)) / (bound / Math.sqrt(3))).toBeLessThan(0.03);
    // PyTorch's layer default: a = sqrt(5) -> bound 1/sqrt(fan_in)
    const w2 = init.kaiming_uniform_(zeros([64, 4, 3, 3]), { a: Math.sqrt(5) });
    const s2 = stats(w2);
    expect(s2.max).toBeLessThanOrEqual(1 / 6);
    expect(s2.min).toBeGreaterThanOrEqual(-1 / 6);
    expect(s2.max).toBeGreaterThan(0.98 / 6);
    // fan_out, relu: std = sqrt(2 / fan_out), fan_out = 100 * 3 * 3
    const w3 = init.kaiming_normal_(zeros([100, 20, 3, 3]), { mode: 'fan_out', nonlinearity: 'relu' });
    const s3 = stats(w3);
    expect(Math.abs(s3.std / Math.sqrt(2 / 900) - 1)).toBeLessThan(0.03);
    expect(Math.abs(s3.mean)).toBeLessThan(0.003);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(init.kaiming_uniform_(zeros([0, 3])).shape).toEqual([0, 3]);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/zero-element tensors is a no-op/));
    warn.mockRestore();
  });

  it('xavier_uniform_ / xavier_normal_ use gain * sqrt(2 / (fan_in + fan_out))', () => {
    manual_seed(2);
    const w = init.xavier_uniform_(zeros([120, 80]), 2);
    const a = 2 * Math.sqrt(6 / 200);
    const s = stats(w);
    expect(s.min).toBeGreaterThanOrEqual(-a);
    expect(s.max).toBeLessThanOrEqual(a);
    expect(s.max).toBeGreaterThan(0.99 * a);
    const n = init.xavier_normal_(zeros([120, 80]));
    expect(Math.abs(stats(n).std / Math.sqrt(2 / 200) - 1)).toBeLessThan(0.03);
  });

  it('constant_ / zeros_ / ones_ fill in place, views included', () => {
    const t = zeros([3, 4]);
    init.ones_(t.slice(1, 0, 2));
    expect(t.toArray()).toEqual([[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]]);
    init.constant_(t.transpose(0, 1).select(0, 3), 5);
    expect(t.toArray()).toEqual([[1, 1, 0, 5], [1, 1, 0, 5], [1, 1, 0, 5]]);
    init.zeros_(t);
    expect(Array.from(t.dataSync())).toEqual(new Array(12).fill(0));
  });
});

describe('default layer init (as PyTorch, from our generator)', () => {
  it('Conv2d and Linear: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))', () => {
    manual_seed(3);
    const conv = new nn.Conv2d(8, 64, 3, { groups: 2 });
    const fanIn = 4 * 9;
    const ws = stats(conv.weight);
    expect(conv.weight.shape).toEqual([64, 4, 3, 3]);
    expect(Math.max(-ws.min, ws.max)).toBeLessThanOrEqual(1 / Math.sqrt(fanIn));
    expect(ws.max).toBeGreaterThan(0.97 / Math.sqrt(fanIn));
    expect(Math.abs(ws.std * Math.sqrt(3 * fanIn) - 1)).toBeLessThan(0.05);
    const bs = stats(conv.bias!);
    expect(Math.max(-bs.min, bs.max)).toBeLessThanOrEqual(1 / Math.sqrt(fanIn));
    expect(bs.std).toBeGreaterThan(0);
    const lin = new nn.Linear(50, 300);
    const ls = stats(lin.weight);
    expect(Math.max(-ls.min, ls.max)).toBeLessThanOrEqual(1 / Math.sqrt(50));
    expect(Math.abs(ls.std * Math.sqrt(150) - 1)).toBeLessThan(0.03);
    const lb = stats(lin.bias!);
    expect(Math.max(-lb.min, lb.max)).toBeLessThanOrEqual(1 / Math.sqrt(50));
    expect(lb.max - lb.min).toBeGreaterThan(1.5 / Math.sqrt(50));
  });

  it('the same seed gives the same model', () => {
    manual_seed(11);
    const a = new nn.Linear(4, 3);
    manual_seed(11);
    const b = new nn.Linear(4, 3);
    expect(Array.from(a.weight.dataSync())).toEqual(Array.from(b.weight.dataSync()));
    expect(Array.from(a.bias!.dataSync())).toEqual(Array.from(b.bias!.dataSync()));
  });

  it('BatchNorm2d: weight ones, bias zeros, running_mean 0, running_var 1, count 0', () => {
    const bn = new nn.BatchNorm2d(3);
    expect(Array.from(bn.weight!.dataSync())).toEqual([1, 1, 1]);
    expect(Array.from(bn.bias!.dataSync())).toEqual([0, 0, 0]);
    expect(Array.from(bn.running_mean!.dataSync())).toEqual([0, 0, 0]);
    expect(Array.from(bn.running_var!.dataSync())).toEqual([1, 1, 1]);
    expect(bn.num_batches_tracked!.itemSync()).toBe(0);
  });
});
