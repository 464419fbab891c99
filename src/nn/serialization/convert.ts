/**
 * Element types found in checkpoints and their conversion to this library's dtypes.
 *
 * Checkpoints carry more element types than we compute with. On load they are widened or
 * narrowed to one of ours: float16/bfloat16 -> float32 (exact), int64/uint32/uint64 -> int32
 * (throwing for values outside the int32 range), int16/int8/uint8/uint16/bool -> int32 (exact),
 * float32/float64/int32 unchanged.
 */
import { allocArray, type DType, type TypedArray } from '../../tensor/dtype.js';
import { HOST_LITTLE_ENDIAN } from './io.js';

/** An element type as stored in a checkpoint (PyTorch's names). */
export type StorageDType =
  | 'float64'
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint64'
  | 'uint32'
  | 'uint16'
  | 'uint8'
  | 'bool';

/** Most dimensions a loaded tensor may have (PyTorch's own limit is 64 as well, for CUDA kernels 25). */
export const MAX_NDIM = 64;

/** Bytes per element of each stored element type. */
export const ELEMENT_SIZE: Readonly<Record<StorageDType, number>> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint64: 8,
  uint32: 4,
  uint16: 2,
  uint8: 1,
  bool: 1,
};

/** The dtype of ours a stored element type loads as. */
export function loadedDType(s: StorageDType): DType {
  if (s === 'float64') return 'float64';
  if (s === 'float32' || s === 'float16' || s === 'bfloat16') return 'float32';
  return 'int32';
}

/**
 * Refuses a load whose dtype the target device cannot hold (float64 lives on the CPU only), before
 * anything is uploaded; the caller adds the file and tensor names.
 * @param what how the file names the element type (e.g. 'F64', 'float64').
 * @throws Error saying what to do instead.
 */
export function checkLoadDevice(what: string, dtype: DType, device: string): void {
  if (dtype === 'float64' && device !== 'cpu') {
    throw new Error(
      `${what} loads as float64, which the '${device}' device does not support (it holds float32 and int32); ` +
        "load the file on 'cpu' and convert with t.to('float32') before moving tensors to the GPU",
    );
  }
}

/** Whether values of `s` must be range-checked on their way to int32. */
export function needsInt32Check(s: StorageDType): boolean {
  return s === 'int64' || s === 'uint64' || s === 'uint32';
}

/** A decoded storage: float32/int32/float64 values, or exact doubles for the wide integer types. */
export type Decoded = Float32Array | Int32Array | Float64Array;

let halfTable: Float32Array | null = null;

/** IEEE 754 binary16 bits -> value (exact in float32). */
export function halfToFloat(h: number): number {
  const e = (h >>> 10) & 0x1f;
  const f = h & 0x3ff;
  const v = e === 0 ? f * 2 ** -24 : e === 31 ? (f ? NaN : Infinity) : (1024 + f) * 2 ** (e - 25);
  return h & 0x8000 ? -v : v;
}

function getHalfTable(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

/**
 * Decodes the raw bytes of a storage of `n` elements of type `src` (byte order given by
 * `littleEndian`). Returns a Float32Array (float32, float16, bfloat16), a Float64Array (float64,
 * and the int64/uint64/uint32 values as exact doubles up to 2**53, still to be range-checked),
 * or an Int32Array (the other integer types and bool). May return a view of `bytes` when no
 * conversion is needed.
 */
export function decodeStorage(bytes: Uint8Array, src: StorageDType, n: number, littleEndian = true): Decoded {
  const size = ELEMENT_SIZE[src];
  if (bytes.length < n * size) throw new RangeError(`decodeStorage: ${bytes.length} bytes cannot hold ${n} ${src} elements`);
  const native = littleEndian === HOST_LITTLE_ENDIAN;
  const aligned = bytes.byteOffset % size === 0;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = littleEndian;
  switch (src) {
    case 'float32': {
      if (native && aligned) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, le);
      return out;
    }
    case 'float64': {
      if (native && aligned) return new Float64Array(bytes.buffer, bytes.byteOffset, n);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, le);
      return out;
    }
    case 'int32': {
      if (native && aligned) return new Int32Array(bytes.buffer, bytes.byteOffset, n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, le);
      return out;
    }
    case 'float16': {
      const t = getHalfTable();
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = t[dv.getUint16(i * 2, le)]!;
      return out;
    }
    case 'bfloat16': {
      // bfloat16 is the upper half of a float32's bits.
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = dv.getUint16(i * 2, le) << 16;
      return out;
    }
    case 'int64':
    case 'uint64': {
      const out = new Float64Array(n);
      const signed = src === 'int64';
      for (let i = 0; i < n; i++) {
        const lo = dv.getUint32(i * 8 + (le ? 0 : 4), le);
        const hi = signed ? dv.getInt32(i * 8 + (le ? 4 : 0), le) : dv.getUint32(i * 8 + (le ? 4 : 0), le);
        out[i] = hi * 4294967296 + lo;
      }
      return out;
    }
    case 'uint32': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getUint32(i * 4, le);
      return out;
    }
    case 'int16': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, le);
      return out;
    }
    case 'uint16': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getUint16(i * 2, le);
      return out;
    }
    case 'int8': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      return out;
    }
    case 'uint8': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = bytes[i]!;
      return out;
    }
    case 'bool': {
      // PyTorch writes 0/1; any nonzero byte is read as true.
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = bytes[i] ? 1 : 0;
      return out;
    }
  }
}

/** Thrown by {@link gather} for an integer that does not fit int32; the caller adds file and key. */
export class Int32RangeError extends RangeError {
  constructor(
    readonly value: number,
    readonly index: number,
  ) {
    super(`value ${value} at flat index ${index} is outside the int32 range [-2147483648, 2147483647]`);
  }
}

function isContiguousLayout(size: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expected) return false;
    expected *= size[d]!;
  }
  return true;
}

/**
 * A contiguous row-major copy, as `target`, of the strided view (`offset`, `size`, `stride`, in
 * elements) of a decoded storage. The caller has checked that the view lies inside `src`. With
 * `checkInt32`, every value is verified to be an int32 (throws {@link Int32RangeError}).
 * May return `src` itself when the view is all of it and no conversion is needed.
 */
export function gather(
  src: Decoded,
  target: DType,
  offset: number,
  size: readonly number[],
  stride: readonly number[],
  checkInt32: boolean,
): TypedArray {
  let n = 1;
  for (const s of size) n *= s;
  const sameType =
    (target === 'float32' && src instanceof Float32Array) ||
    (target === 'int32' && src instanceof Int32Array) ||
    (target === 'float64' && src instanceof Float64Array);
  const contiguous = isContiguousLayout(size, stride);
  if (sameType && !checkInt32 && contiguous) {
    if (offset === 0 && n === src.length) return src;
    return src.slice(offset, offset + n);
  }
  const out = allocArray(target, n);
  if (n === 0) return out;
  const put = (i: number, v: number) => {
    if (checkInt32 && !(Number.isInteger(v) && v >= -2147483648 && v <= 2147483647)) throw new Int32RangeError(v, i);
    out[i] = v;
  };
  if (contiguous) {
    for (let i = 0; i < n; i++) put(i, src[offset + i]!);
    return out;
  }
  const nd = size.length;
  const idx = new Array<number>(nd).fill(0);
  let pos = offset;
  for (let i = 0; i < n; i++) {
    put(i, src[pos]!);
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d]! < size[d]!) {
        pos += stride[d]!;
        break;
      }
      pos -= (size[d]! - 1) * stride[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/**
 * float32 value -> IEEE 754 binary16 bits, rounded to nearest, ties to even (as numpy's
 * astype(float16) and torch's .half()); overflow gives +-Infinity, NaN stays NaN. The inverse of
 * {@link halfToFloat} on every half value.
 */
export function floatToHalf(v: number): number {
  f32buf[0] = v;
  const x = u32buf[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / NaN
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00; // overflow
  if (e <= 0) {
    if (e < -10) return sign; // underflow to zero
    mant |= 0x800000; // subnormal half: shift the implicit bit in
    const shift = 14 - e;
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  return sign | (half + (rem > 0x1000 || (rem === 0x1000 && half & 1) ? 1 : 0)); // a carry into the exponent is right
}
