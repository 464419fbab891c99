/**
 * Element types. `float32` and `int32` run on every device; `float64` exists on the CPU
 * reference backend only, so that `gradcheck` can take finite differences in double precision.
 * `float16` is reserved (WebGPU `shader-f16`): add it here, give it a typed-array mapping, and
 * the backends will be told by the type checker where it is missing.
 */
export type DType = 'float32' | 'int32' | 'float64';

export type TypedArray = Float32Array | Int32Array | Float64Array;

/** Every dtype, in the order messages list them. */
export const DTYPES: readonly DType[] = ['float32', 'int32', 'float64'];

/** What to use instead of another library's dtype name. */
const DTYPE_HINTS: Readonly<Record<string, string>> = {
  int64: 'use int32 (checkpoint loaders narrow int64 values to int32 after a range check)',
  long: 'use int32',
  int: "use 'int32'",
  int16: 'use int32',
  int8: 'use int32',
  uint8: 'use int32',
  bool: 'use int32 (0 and 1)',
  float16: "use float32 ('float16' is reserved for a later release)",
  half: 'use float32',
  bfloat16: 'use float32',
  float: "use 'float32'",
  double: "use 'float64' (cpu only)",
};

/** Whether `name` is another library's dtype name (int64, float16, bool, ...) that this library does not have. */
export function isForeignDType(name: unknown): boolean {
  return typeof name === 'string' && Object.hasOwn(DTYPE_HINTS, name);
}

/**
 * Asserts that `dtype` is one of {@link DTYPES}.
 * @throws TypeError `op: unknown dtype 'x'; supported: float32, int32, float64 ...`, with advice for
 * PyTorch's other names (int64, float16, bool...).
 */
export function checkDType(op: string, dtype: unknown): asserts dtype is DType {
  if (typeof dtype === 'string' && (DTYPES as readonly string[]).includes(dtype)) return;
  const name = typeof dtype === 'string' ? `'${dtype}'` : String(dtype);
  const hint = typeof dtype === 'string' && Object.hasOwn(DTYPE_HINTS, dtype) ? `; ${DTYPE_HINTS[dtype]}` : '';
  throw new TypeError(`${op}: unknown dtype ${name}; supported dtypes: ${DTYPES.join(', ')} (float64 on the cpu device only)${hint}`);
}

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
  return checkDType('allocArray', dtype) as never;
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
