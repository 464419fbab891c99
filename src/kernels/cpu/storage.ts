/** CPU storage: a plain typed array. */
import type { Storage } from '../backend.js';
import { allocArray, type DType, type TypedArray } from '../../core/dtype.js';

export class CpuStorage implements Storage {
  readonly device = 'cpu' as const;
  freed = false;
  constructor(
    readonly dtype: DType,
    readonly data: TypedArray,
  ) {}
  get size(): number {
    return this.data.length;
  }
  static alloc(dtype: DType, size: number): CpuStorage {
    return new CpuStorage(dtype, allocArray(dtype, size));
  }
}

/** The typed array behind a storage handed to the cpu backend. */
export function arr(s: Storage): TypedArray {
  const c = s as CpuStorage;
  if (!(c instanceof CpuStorage)) throw new Error(`cpu backend: got a storage from device '${s.device}'`);
  if (c.freed) throw new Error('cpu backend: storage used after free');
  return c.data;
}
