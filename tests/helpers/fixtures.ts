/**
 * Loading the PyTorch fixtures in tests/fixtures (written by the gen_*.py scripts there; the
 * suite never runs Python). A fixture tensor is { shape, data, dtype? } with row-major data.
 */
import { readFileSync } from 'node:fs';
import { tensor, type DType, type Tensor } from '../../src/index.js';

export interface FixtureTensor {
  shape: number[];
  data: number[];
  dtype?: 'int32' | 'float32' | 'float64';
}

const cache = new Map<string, unknown>();

/** Parses tests/fixtures/<file> (cached). */
export function loadFixture<T = unknown>(file: string): T {
  let v = cache.get(file);
  if (v === undefined) {
    v = JSON.parse(readFileSync(new URL(`../fixtures/${file}`, import.meta.url), 'utf8'));
    cache.set(file, v);
  }
  return v as T;
}

/** A cpu tensor from a fixture tensor; floating data takes `dtype` (int32 data stays int32). */
export function fromFixture(ft: FixtureTensor, dtype: DType = 'float32', opts: { requires_grad?: boolean } = {}): Tensor {
  const dt: DType = ft.dtype === 'int32' ? 'int32' : dtype;
  const arr = dt === 'int32' ? Int32Array.from(ft.data) : dt === 'float64' ? Float64Array.from(ft.data) : Float32Array.from(ft.data);
  return tensor(arr, { shape: ft.shape, dtype: dt, requires_grad: opts.requires_grad ?? false });
}
