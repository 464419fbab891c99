import { describe, expect, it } from 'vitest';
import { floatToHalf, halfToFloat } from '../../src/nn/serialization/convert.js';

describe('floatToHalf', () => {
  it('is the inverse of halfToFloat on all 65,536 half values (NaN stays NaN)', () => {
    for (let h = 0; h < 65536; h++) {
      const v = halfToFloat(h);
      if (Number.isNaN(v)) expect(Number.isNaN(halfToFloat(floatToHalf(v)))).toBe(true);
      else expect(floatToHalf(v), `half 0x${h.toString(16)}`).toBe(h);
    }
  });
  it('rounds to nearest, ties to even; overflow to infinity; tiny values to zero (hand-worked)', () => {
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and 1 + 2^-10: even (1)
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway between 1 + 2^-10 and 1 + 2^-9: even
    expect(floatToHalf(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just above halfway
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(65520)).toBe(0x7c00); // rounds up past the largest half
    expect(floatToHalf(-1e6)).toBe(0xfc00);
    expect(floatToHalf(2 ** -24)).toBe(0x0001);
    expect(floatToHalf(2 ** -26)).toBe(0x0000);
    expect(floatToHalf(3 * 2 ** -26)).toBe(0x0001); // 0.75 of the smallest subnormal rounds up
    expect(floatToHalf(-0)).toBe(0x8000);
    expect(floatToHalf(0.1)).toBe(0x2e66);
  });
});

describe('save_safetensors_bytes with float16 storage', () => {
  it('writes F16 for float32 (I32 untouched) and loads back to the rounded values', async () => {
    const { tensor } = await import('../../src/index.js');
    const { save_safetensors_bytes, load_safetensors_bytes } = await import('../../src/nn/serialization/safetensors.js');
    const w = tensor(Float32Array.from([0.1, -2.5, 65504, 1e-8]), { shape: [2, 2] });
    const n = tensor([7], { dtype: 'int32' });
    const bytes = await save_safetensors_bytes({ w, n }, { k: 'v' }, { float16: true });
    const hlen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hlen)));
    expect(header.w).toMatchObject({ dtype: 'F16', shape: [2, 2], data_offsets: [0, 8] });
    expect(header.n.dtype).toBe('I32');
    const back = await load_safetensors_bytes(bytes);
    expect(Array.from(back.w!.dataSync())).toEqual([0.0999755859375, -2.5, 65504, 0]);
    expect(Array.from(back.n!.dataSync())).toEqual([7]);
  });
});
