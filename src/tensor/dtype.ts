/**
 * Element types. `float32` and `int32` run on every device; `float64` exists on the CPU
 * reference backend only, so that `gradcheck` can take finite differences in double precision.
 * `float16` is reserved (WebGPU `shader-f16`): add it here, give it a typed-array mapping, and
 * the backends will be told by the type checker where it is missing.
 */
export type DType = 'float32' | 'int32' | 'float64';

export type TypedArray = Float32Array | Int32Array | Float64Array;

/** Bytes per element of a dtype. */
export function itemsize(dtype: DType): number {
  return dtype === 'float64' ? 8 : 4;
}

/** A fresh zeroed typed array of `size` elements for `dtype`. */
export function allocArray(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'float64':
      return new Float64Array(size);
  }
}

/** The dtype a typed array naturally holds. */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Int32Array) return 'int32';
  return 'float64';
}

export function isFloating(dtype: DType): boolean {
  return dtype !== 'int32';
}

/** Result dtype of a binary op (PyTorch-like promotion restricted to our dtypes). */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === 'float64' || b === 'float64') return 'float64';
  return 'float32';
}
