import { describe, expect, it } from 'vitest';
import { default_generator, manual_seed, rand, randint, randn, randperm, Generator } from '../../src/index.js';
import { normalPair, philox4x32, philox4x32_10, uniformFromBits } from '../../src/tensor/philox.js';

const hex = (w: Uint32Array) => [...w].map((x) => x.toString(16).padStart(8, '0')).join(' ');

describe('Philox4x32-10', () => {
  it('matches the Random123 known-answer tests', () => {
    const o = new Uint32Array(4);
    philox4x32_10(0, 0, 0, 0, 0, 0, o);
    expect(hex(o)).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    const F = 0xffffffff;
    philox4x32_10(F, F, F, F, F, F, o);
    expect(hex(o)).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    philox4x32_10(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, o);
    expect(hex(o)).toBe('d16cfe09 94fdcceb 5001e420 24126ea1');
  });
  it('the 2-word form is the 4-word counter (c0, c1, 0, 0)', () => {
    const a = new Uint32Array(4);
    const b = new Uint32Array(4);
    for (const [c0, c1, k0, k1] of [[0, 0, 0, 0], [7, 0, 42, 0], [0xfffffffe, 3, 0xdeadbeef, 0x12345678]] as const) {
      philox4x32(c0, c1, k0, k1, a);
      philox4x32_10(c0, c1, 0, 0, k0, k1, b);
      expect([...a]).toEqual([...b]);
    }
  });
  it('bits -> numbers: 24-bit uniforms in [0, 1), Box-Muller normals', () => {
    expect(uniformFromBits(0)).toBe(0);
    expect(uniformFromBits(0xffffffff)).toBe(1 - 2 ** -24);
    expect(uniformFromBits(0x80000000)).toBe(0.5);
    const [z0, z1] = normalPair(0xffffffff, 0);
    // u1 = 1 -> r = 0
    expect(Math.abs(z0)).toBe(0);
    expect(Math.abs(z1)).toBe(0);
    const [w0, w1] = normalPair(0, 0x40000000); // u1 = 2^-24, angle pi/2
    expect(w0).toBeCloseTo(0, 10);
    expect(w1).toBeCloseTo(Math.sqrt(-2 * Math.log(2 ** -24)), 10);
  });
});

describe('seeded random creation', () => {
  it('element i of rand is word i % 4 of block offset + floor(i / 4) keyed by the seed', () => {
    const seed = 2 ** 32 * 5 + 123; // both seed words in use
    const g = new Generator(seed);
    g.offset = 10;
    const r = rand([6], { generator: g, dtype: 'float64' }).dataSync();
    const w = new Uint32Array(4);
    const want: number[] = [];
    for (let blk = 10; blk < 12; blk++) {
      philox4x32(blk, 0, 123, 5, w);
      want.push(...[...w].map(uniformFromBits));
    }
    expect([...r]).toEqual(want.slice(0, 6));
    expect(g.offset).toBe(12);
  });
  it('same seed, same numbers; other seeds differ; float32 and float64 agree exactly', () => {
    const a = rand([100], { generator: new Generator(42) }).dataSync();
    const b = rand([100], { generator: new Generator(42) }).dataSync();
    const c = rand([100], { generator: new Generator(43) }).dataSync();
    const d = rand([100], { generator: new Generator(42), dtype: 'float64' }).dataSync();
    const e = rand([100], { generator: new Generator(2 ** 32 + 42) }).dataSync();
    expect([...a]).toEqual([...b]);
    expect([...a]).toEqual([...d]);
    expect([...a]).not.toEqual([...c]);
    expect([...a]).not.toEqual([...e]);
    const n1 = randn([10], { generator: new Generator(1) }).dataSync();
    const n2 = randn([10], { generator: new Generator(1) }).dataSync();
    expect([...n1]).toEqual([...n2]);
  });
  it('the stream continues across calls in whole blocks; get_state/set_state resumes it', () => {
    const g = new Generator(9);
    const whole = rand([12], { generator: new Generator(9) }).dataSync();
    const p1 = rand([4], { generator: g }).dataSync();
    const state = g.get_state();
    const p2 = rand([8], { generator: g }).dataSync();
    expect([...p1, ...p2]).toEqual([...whole]);
    g.set_state(state);
    expect([...rand([8], { generator: g }).dataSync()]).toEqual([...p2]);
    // 3 numbers still take a whole block of 4
    const h = new Generator(9);
    rand([3], { generator: h });
    expect(h.offset).toBe(1);
    expect(rand([1], { generator: h }).dataSync()[0]).toBe(whole[4]);
    expect(h.initial_seed()).toBe(9);
    expect(() => new Generator(-1)).toThrow(/manual_seed: seed must be a non-negative safe integer, got -1/);
  });
  it('manual_seed resets the default generator', () => {
    manual_seed(77);
    const a = rand([5]).dataSync();
    const b = randn([5]).dataSync();
    manual_seed(77);
    expect([...rand([5]).dataSync()]).toEqual([...a]);
    expect([...randn([5]).dataSync()]).toEqual([...b]);
    expect(default_generator.initial_seed()).toBe(77);
  });
  it('rand: range [0, 1) and moments of U(0, 1)', () => {
    const n = 40000;
    const x = rand([n], { generator: new Generator(5), dtype: 'float64' }).dataSync();
    let mn = 1, mx = 0, s = 0, s2 = 0;
    for (const v of x) {
      mn = Math.min(mn, v);
      mx = Math.max(mx, v);
      s += v;
      s2 += v * v;
    }
    const mean = s / n;
    expect(mn).toBeGreaterThanOrEqual(0);
    expect(mx).toBeLessThan(1);
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.006); // ~4 standard errors
    expect(Math.abs(s2 / n - mean * mean - 1 / 12)).toBeLessThan(0.003);
  });
  it('randn: moments of N(0, 1)', () => {
    const n = 40000;
    const x = randn([n], { generator: new Generator(6), dtype: 'float64' }).dataSync();
    let s = 0, s2 = 0, s3 = 0, s4 = 0;
    for (const v of x) {
      s += v;
      s2 += v * v;
      s3 += v * v * v;
      s4 += v ** 4;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.02);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.03);
    expect(Math.abs(s3 / n)).toBeLessThan(0.06);
    expect(Math.abs(s4 / n - 3)).toBeLessThan(0.15);
    expect(x.every(Number.isFinite)).toBe(true);
  });
  it('rand rejects int32', () => {
    expect(() => rand([2], { dtype: 'int32' })).toThrow(/rand: dtype must be floating point, got int32/);
    expect(() => randn([2], { dtype: 'int32' })).toThrow(/randn: dtype must be floating point/);
  });
  it('randint: int32 in [low, high), every value drawn, mean near the middle, deterministic', () => {
    const t = randint(-3, 4, [7000], { generator: new Generator(8) });
    expect(t.dtype).toBe('int32');
    const v = t.dataSync();
    const counts = new Map<number, number>();
    for (const k of v) counts.set(k, (counts.get(k) ?? 0) + 1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    for (const c of counts.values()) expect(Math.abs(c - 1000)).toBeLessThan(150);
    expect([...randint(-3, 4, [50], { generator: new Generator(8) }).dataSync()]).toEqual([...v.slice(0, 50)]);
    expect(randint(0, 1, [3]).toArray()).toEqual([0, 0, 0]);
    expect(() => randint(5, 5, [1])).toThrow(/randint: need integers low < high, got 5, 5/);
  });
  it('randperm: a deterministic permutation of 0..n-1', () => {
    const p = randperm(50, { generator: new Generator(3) });
    expect(p.dtype).toBe('int32');
    const v = [...p.dataSync()];
    expect([...v].sort((a, b) => a - b)).toEqual([...Array(50).keys()]);
    expect(v).not.toEqual([...Array(50).keys()]);
    expect([...randperm(50, { generator: new Generator(3) }).dataSync()]).toEqual(v);
    expect(randperm(0).shape).toEqual([0]);
    expect(randperm(1).toArray()).toEqual([0]);
    expect(() => randperm(-1)).toThrow(/randperm: n must be a non-negative integer, got -1/);
  });
});
