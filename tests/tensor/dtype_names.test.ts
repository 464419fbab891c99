/**
 * Unknown dtypes (issue 14): `tensor([1, 2], {dtype: 'int64'})` used to throw "Cannot set
 * properties of undefined", `zeros` and `.to()` failed in other raw ways. Every creation function
 * and `.to()` now names the dtype, the op and the supported dtypes, before any work.
 */
import { describe, expect, it } from 'vitest';
import { arange, full, linspace, ones, rand, randn, tensor, zeros, zeros_like, type DType } from '../../src/index.js';

const SUPPORTED = 'supported dtypes: float32, int32, float64 (float64 on the cpu device only)';
const bad = (d: string) => d as unknown as DType;

describe('unknown dtypes', () => {
  it('tensor, zeros, ones, full, arange, linspace, rand, randn name the op and the dtype', () => {
    expect(() => tensor([1, 2], { dtype: bad('int64') })).toThrow(
      `tensor: unknown dtype 'int64'; ${SUPPORTED}; use int32 (checkpoint loaders narrow int64 values to int32 after a range check)`,
    );
    expect(() => tensor(new Float32Array(2), { dtype: bad('float16') })).toThrow(`tensor: unknown dtype 'float16'; ${SUPPORTED}; use float32 ('float16' is reserved for a later release)`);
    expect(() => zeros([2], { dtype: bad('bool') })).toThrow(`full: unknown dtype 'bool'; ${SUPPORTED}; use int32 (0 and 1)`);
    expect(() => ones([2], { dtype: bad('complex64') })).toThrow(`full: unknown dtype 'complex64'; ${SUPPORTED}`);
    expect(() => full([2], 3, { dtype: bad('') })).toThrow(`full: unknown dtype ''; ${SUPPORTED}`);
    expect(() => zeros_like(zeros([1]), { dtype: bad('uint8') })).toThrow(/^full: unknown dtype 'uint8'/);
    expect(() => arange(0, 3, 1, { dtype: bad('long') })).toThrow(/^arange: unknown dtype 'long'/);
    expect(() => linspace(0, 1, 3, { dtype: bad('double') })).toThrow(`linspace: unknown dtype 'double'; ${SUPPORTED}; use 'float64' (cpu only)`);
    expect(() => rand([2], { dtype: bad('half') })).toThrow(/^rand: unknown dtype 'half'/);
    expect(() => randn([2], { dtype: bad('bfloat16') })).toThrow(/^randn: unknown dtype 'bfloat16'/);
    expect(() => zeros([2], { dtype: null as unknown as DType })).toThrow(`full: unknown dtype null; ${SUPPORTED}`);
  });

  it('.to() names the dtype, or says the argument is neither a device nor a dtype', () => {
    const x = tensor([1.5, -2]);
    expect(() => x.to(bad('int64'))).toThrow(`to: unknown dtype 'int64'; ${SUPPORTED}; use int32 (checkpoint`);
    expect(() => x.to(bad('cuda'))).toThrow("to: 'cuda' is neither a device (cpu, webgpu) nor a dtype (float32, int32, float64)");
    expect(() => x.to(undefined as unknown as DType)).toThrow('to: undefined is neither a device (cpu, webgpu) nor a dtype (float32, int32, float64)');
    // the supported ones still work
    expect(Array.from(x.to('int32').dataSync())).toEqual([1, -2]);
    expect(x.to('float64').dtype).toBe('float64');
    expect(x.to('float32')).toBe(x);
  });
});
