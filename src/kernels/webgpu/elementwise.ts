/**
 * Elementwise kernels (unary, binary, where, copy, fill) on strided layouts. Layouts are first
 * collapsed (adjacent dims merged where every operand is laid out contiguously across them), so
 * a contiguous op is a 1-d loop; contiguous ops over buffers above the binding limit are split
 * into chunks that each bind a window of every buffer.
 */
import type { BinaryOp, Layout, Storage, UnaryOp } from '../backend.js';
import type { DType } from '../../tensor/dtype.js';
import { GpuStorage, type Binding, type GpuRuntime } from './runtime.js';
import { shader, shaderKey } from './shaders.js';

const WG = 256;
const MAX_DIMS = 8;

export function wgslType(d: DType, op: string): 'f32' | 'i32' {
  if (d === 'float32') return 'f32';
  if (d === 'int32') return 'i32';
  throw new TypeError(`${op}: dtype ${d} is not supported on webgpu (float32 and int32 are)`);
}

const NAN = 'nan_f32()';
const POW_F32 = (b: string, e: string) => `
  if (${e} == 0.0) { return 1.0; }
  if (${e} == 1.0) { return ${b}; }
  if (${e} == 2.0) { return ${b} * ${b}; }
  if (${e} == 3.0) { return ${b} * ${b} * ${b}; }
  if (${e} == 0.5) { return sqrt(${b}); }
  if (${e} == -1.0) { return 1.0 / ${b}; }
  let r = pow(abs(${b}), ${e});
  if (${b} >= 0.0 || is_nan(${b})) { return select(r, ${b}, is_nan(${b})); }
  if (fract(${e}) != 0.0) { return ${NAN}; }
  return select(r, -r, fract(${e} * 0.5) != 0.0);`;

const UNARY_WGSL: Record<UnaryOp, string> = {
  identity: 'return v;',
  neg: 'return -v;',
  exp: 'return exp(v);',
  log: 'return log(v);',
  sqrt: 'return sqrt(v);',
  rsqrt: 'return inverseSqrt(v);',
  abs: 'return abs(v);',
  relu: 'return select(0.0, v, v > 0.0 || is_nan(v));',
  sigmoid: 'return 1.0 / (1.0 + exp(-v));',
  // tanh through exp(-2|v|) never overflows.
  tanh: 'let t = exp(-2.0 * abs(v)); let r = (1.0 - t) / (1.0 + t); return select(select(r, -r, v < 0.0), v, is_nan(v));',
  sign: 'if (is_nan(v)) { return v; } return select(select(0.0, -1.0, v < 0.0), 1.0, v > 0.0);',
  pow_scalar: POW_F32('v', 'p'),
  mul_scalar: 'return v * p;',
  add_scalar: 'return v + p;',
  step: 'return select(0.0, 1.0, v > 0.0);',
};

function binaryWgsl(op: BinaryOp, t: 'f32' | 'i32'): string {
  const one = t === 'f32' ? '1.0' : '1';
  const zero = t === 'f32' ? '0.0' : '0';
  const cmp = (c: string) => `return select(${zero}, ${one}, ${c});`;
  switch (op) {
    case 'add':
      return 'return x + y;';
    case 'sub':
      return 'return x - y;';
    case 'mul':
      return 'return x * y;';
    case 'div':
      return t === 'f32' ? 'return x / y;' : 'if (y == 0) { return 0; } return x / y;';
    case 'maximum':
      return t === 'f32' ? 'if (is_nan(x) || is_nan(y)) { return x + y; } return max(x, y);' : 'return max(x, y);';
    case 'minimum':
      return t === 'f32' ? 'if (is_nan(x) || is_nan(y)) { return x + y; } return min(x, y);' : 'return min(x, y);';
    case 'pow':
      return t === 'f32' ? POW_F32('x', 'y') : 'return i32(round(pow(f32(abs(x)), f32(y)))) * select(1, -1, x < 0 && (y % 2) == 1);';
    case 'eq':
      return cmp('x == y');
    case 'ne':
      return cmp('x != y');
    case 'lt':
      return cmp('x < y');
    case 'le':
      return cmp('x <= y');
    case 'gt':
      return cmp('x > y');
    case 'ge':
      return cmp('x >= y');
  }
}

/**
 * Merges adjacent dims that are contiguous in every layout; drops size-1 dims.
 * Returns the collapsed shape and one stride list per layout.
 */
export function collapse(shape: readonly number[], strides: (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const keep = [...shape.keys()].filter((d) => shape[d] !== 1);
  let outShape: number[] = [];
  let outStrides: number[][] = strides.map(() => []);
  for (const d of keep) {
    const n = outShape.length;
    if (n > 0 && strides.every((s, k) => outStrides[k]![n - 1] === s[d]! * shape[d]!)) {
      outShape[n - 1]! *= shape[d]!;
      strides.forEach((s, k) => (outStrides[k]![n - 1] = s[d]!));
    } else {
      outShape.push(shape[d]!);
      strides.forEach((s, k) => outStrides[k]!.push(s[d]!));
    }
  }
  if (outShape.length === 0) {
    outShape = [1];
    outStrides = strides.map(() => [1]);
  }
  return { shape: outShape, strides: outStrides };
}

function pack8(v: readonly number[]): number[] {
  const out = new Array<number>(MAX_DIMS).fill(0);
  v.forEach((x, i) => (out[i] = x));
  return out;
}

interface Operand {
  storage: GpuStorage;
  layout: Layout;
}

/**
 * Runs an elementwise kernel whose uniform block is [n, ndim, offsets (padded to 4 words), shape(8), strides(8) per operand].
 * Contiguous 1-d problems above the binding limit are split into chunks.
 */
function runElementwise(
  rt: GpuRuntime,
  op: string,
  pipeline: GPUComputePipeline,
  inputs: Operand[],
  output: Operand,
  /** When true the output's layout is strided too (copy); otherwise the output is contiguous. */
  stridedOut: boolean,
  extraF: number[] = [],
): void {
  const operands = stridedOut ? [...inputs, output] : inputs;
  const n = output.layout.shape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  const col = collapse(output.layout.shape, operands.map((o) => o.layout.strides));
  if (col.shape.length > MAX_DIMS) throw new RangeError(`${op}: more than ${MAX_DIMS} non-mergeable dims`);
  const offs = operands.map((o) => o.layout.offset);
  const limitElems = Math.floor(rt.limits.maxStorageBufferBindingSize / 4);
  const allBound = [...inputs, output].map((o) => o.storage);
  const tooBig = allBound.some((s) => s.size > limitElems);
  const contiguous1d = col.shape.length === 1 && col.strides.every((s) => s[0] === 1);
  if (!tooBig || !contiguous1d) {
    const u = [n, col.shape.length, ...pad4(offs), ...pack8(col.shape), ...col.strides.flatMap(pack8)];
    const binds: Binding[] = [...inputs.map((o) => o.storage), output.storage];
    rt.dispatch(op, pipeline, binds, { u, f: extraF }, Math.ceil(n / WG));
    return;
  }
  // Chunked 1-d path: each operand's element window [offset + start, offset + start + len) is
  // bound from an aligned-down start; the remainder goes into the uniform offset.
  const align = Math.max(1, rt.limits.minStorageBufferOffsetAlignment / 4);
  const chunk = Math.floor((limitElems - align) / (WG * 64)) * WG * 64;
  const outOff = stridedOut ? output.layout.offset : 0;
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    const binds: Binding[] = [];
    const rel: number[] = [];
    const windows = [...inputs.map((o) => ({ s: o.storage, off: o.layout.offset })), { s: output.storage, off: outOff }];
    for (const w of windows) {
      const first = w.off + start;
      const base = Math.floor(first / align) * align;
      const size = Math.min(w.s.size - base, first - base + len);
      binds.push({ storage: w.s, offset: base, size });
      rel.push(first - base);
    }
    const relOps = stridedOut ? rel : rel.slice(0, inputs.length);
    const u = [len, 1, ...pad4(relOps), ...pack8([len]), ...operands.flatMap(() => pack8([1]))];
    if (!stridedOut && rel[rel.length - 1] !== 0) {
      throw new Error(`${op}: internal error: unaligned contiguous output window`);
    }
    rt.dispatch(op, pipeline, binds, { u, f: extraF }, Math.ceil(len / WG));
  }
}

function pad4(v: number[]): number[] {
  const n = Math.ceil(Math.max(v.length + 2, 4) / 4) * 4 - 2;
  const out = new Array<number>(n).fill(0);
  v.forEach((x, i) => (out[i] = x));
  return out;
}

export function unary(rt: GpuRuntime, op: UnaryOp, x: Storage, xl: Layout, out: Storage, param = 0): void {
  const defs = { TX: wgslType(x.dtype, op), TOUT: wgslType(out.dtype, op), OP: UNARY_WGSL[op] };
  const p = rt.pipeline(shaderKey('unary', defs), () => shader('unary', defs));
  runElementwise(rt, op, p, [{ storage: x as GpuStorage, layout: xl }], { storage: out as GpuStorage, layout: contiguousLayout(xl.shape) }, false, [param]);
}

export function binary(rt: GpuRuntime, op: BinaryOp, a: Storage, al: Layout, b: Storage, bl: Layout, out: Storage): void {
  const t = wgslType(a.dtype, op);
  if (b.dtype !== a.dtype || out.dtype !== a.dtype) throw new TypeError(`${op}: webgpu binary kernels need one dtype, got ${a.dtype}, ${b.dtype} -> ${out.dtype}`);
  const defs = { T: t, OP: binaryWgsl(op, t) };
  const p = rt.pipeline(shaderKey('binary', defs), () => shader('binary', defs));
  runElementwise(
    rt,
    op,
    p,
    [
      { storage: a as GpuStorage, layout: al },
      { storage: b as GpuStorage, layout: bl },
    ],
    { storage: out as GpuStorage, layout: contiguousLayout(al.shape) },
    false,
  );
}

export function where(rt: GpuRuntime, c: Storage, cl: Layout, a: Storage, al: Layout, b: Storage, bl: Layout, out: Storage): void {
  const defs = { TC: wgslType(c.dtype, 'where'), T: wgslType(a.dtype, 'where') };
  const p = rt.pipeline(shaderKey('where', defs), () => shader('where', defs));
  runElementwise(
    rt,
    'where',
    p,
    [
      { storage: c as GpuStorage, layout: cl },
      { storage: a as GpuStorage, layout: al },
      { storage: b as GpuStorage, layout: bl },
    ],
    { storage: out as GpuStorage, layout: contiguousLayout(al.shape) },
    false,
  );
}

export function copy(rt: GpuRuntime, src: Storage, sl: Layout, dst: Storage, dl: Layout): void {
  const defs = { TS: wgslType(src.dtype, 'copy'), TD: wgslType(dst.dtype, 'copy') };
  const p = rt.pipeline(shaderKey('copy', defs), () => shader('copy', defs));
  runElementwise(rt, 'copy', p, [{ storage: src as GpuStorage, layout: sl }], { storage: dst as GpuStorage, layout: dl }, true);
}

export function fill(rt: GpuRuntime, s: Storage, value: number): void {
  const g = s as GpuStorage;
  const bits = new DataView(new ArrayBuffer(4));
  if (g.dtype === 'int32') bits.setInt32(0, Math.trunc(value), true);
  else bits.setFloat32(0, value, true);
  const p = rt.pipeline('fill', () => shader('fill'));
  const limitElems = Math.floor(rt.limits.maxStorageBufferBindingSize / 4);
  const chunk = Math.floor(limitElems / (WG * 64)) * WG * 64;
  for (let start = 0; start < g.size; start += chunk) {
    const len = Math.min(chunk, g.size - start);
    rt.dispatch('fill', p, [{ storage: g, offset: start, size: len }], { u: [len, bits.getUint32(0, true)] }, Math.ceil(len / WG));
  }
}

export function contiguousLayout(shape: readonly number[]): Layout {
  const strides = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= shape[i]!;
  }
  return { shape, strides, offset: 0 };
}
