/**
 * Elementwise kernels (unary, binary, where, copy, fill) on strided layouts. Layouts are first
 * collapsed (adjacent dims merged where every operand is laid out contiguously across them), so
 * a contiguous op is a 1-d loop; contiguous ops over buffers above the binding limit are split
 * into chunks that each bind a window of every buffer.
 */
import type { BinaryOp, Layout, Storage, UnaryOp } from '../backend.js';
import type { DType } from '../../core/dtype.js';
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
    case 'relu_backward':
      // 0 where the input is <= 0, else the gradient (NaN inputs pass it, as PyTorch)
      return t === 'f32' ? 'if (is_nan(y)) { return x; } return select(x, 0.0, y <= 0.0);' : 'return select(x, 0, y <= 0);';
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
  /** The vec4 contiguous kernel's expression, when the op has one (see runContiguous). */
  vec?: VecKernel,
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
  if (vec && runContiguous(rt, op, vec, inputs, output, stridedOut, col, n, contiguous1d, tooBig, extraF)) return;
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
  if (chunk <= 0) throw new RangeError(`${op}: a binding limit of ${rt.limits.maxStorageBufferBindingSize} bytes is below the ${(WG * 64 + align) * 4} bytes a window needs`);
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

/** Output vec4s per invocation of the contiguous kernels (lavapipe, 16M relu/mul_scalar: K=1 ~2.5x slower than 4; 8 ties 4). */
const VEC_K = 4;
const VEC_WG = 64;

/** How the vec4 kernel computes its result from the loaded inputs v0, v1, ... (vec4s of the input types). */
interface VecKernel {
  /** Cache key of the expression (op and types). */
  key: string;
  /** WGSL element type of each input and of the output. */
  tin: ('f32' | 'i32')[];
  tout: 'f32' | 'i32';
  /** Helper functions (the scalar op). */
  funcs: string;
  /** A vec4<tout> expression of v0, v1, ... (and P.p for unary ops). */
  expr: string;
  /** Extra f32 uniform fields (declared after the operand words). */
  fparams: string[];
}

/** An input operand's access mode in the vec4 kernel and its 4 uniform words. */
type Mode = { m: 'c' | 's' | 'ch' | 'rep'; w: [number, number, number, number] };

/** Contiguous strides of `shape`. */
function contigStrides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i]!;
  }
  return st;
}

/**
 * Classifies an input of the collapsed problem (output contiguous, starting at a multiple of 4
 * when any input is not a contiguous run): null when the vec4 kernel cannot read it.
 */
function classify(shape: number[], st: number[], off: number, q: number, outAligned: boolean): Mode | null {
  const nd = shape.length;
  const cs = contigStrides(shape);
  if (st.every((s, d) => s === cs[d])) {
    const e = off - q;
    return { m: 'c', w: [Math.floor(e / 4), ((e % 4) + 4) % 4, 0, 0] };
  }
  if (!outAligned) return null;
  if (st.every((s) => s === 0)) return { m: 's', w: [off, 0, 0, 0] };
  // Per-channel: the value depends on (i / L) % M only (shape [..., M, L], strides [0.., s, 0]).
  if (nd >= 2 && st[nd - 1] === 0 && shape[nd - 1]! % 4 === 0 && st.slice(0, nd - 2).every((s) => s === 0)) {
    return { m: 'ch', w: [off, st[nd - 2]!, shape[nd - 2]!, shape[nd - 1]!] };
  }
  // A repeating contiguous row: off + i % M (shape [..., M], strides [0.., 1]).
  if (st[nd - 1] === 1 && shape[nd - 1]! % 4 === 0 && off % 4 === 0 && st.slice(0, nd - 1).every((s) => s === 0)) {
    return { m: 'rep', w: [off, shape[nd - 1]!, 0, 0] };
  }
  return null;
}

/** Elements a vec4 binding of `s` may cover from element `base` (rounded to whole vec4s, within the buffer). */
function vecWindow(s: GpuStorage, base: number, elems: number, limitElems: number): Binding {
  const bufElems = Math.floor(s.buffer.size / 4);
  const size = Math.min(bufElems - base, Math.ceil(elems / 4) * 4 + 4, limitElems);
  return { storage: s, offset: base, size };
}

function vecShader(vk: VecKernel, modes: Mode['m'][]): { key: string; code: () => string } {
  const key = `ew_map:${vk.key}:${modes.join(',')}:${VEC_K}`;
  const code = () => {
    const nin = modes.length;
    const params = modes.map((_, k) => `  w${k}: vec4<u32>,`).concat(vk.fparams.map((f) => `  ${f}: f32,`)).join('\n');
    const bindings = modes
      .map((_, k) => `@group(0) @binding(${k}) var<storage, read> x${k}: array<vec4<${vk.tin[k]}>>;`)
      .concat([
        `@group(0) @binding(${nin}) var<storage, read_write> out: array<vec4<${vk.tout}>>;`,
        `@group(0) @binding(${nin + 1}) var<uniform> P: Params;`,
      ])
      .join('\n');
    const setup: string[] = [];
    const loads: string[] = [];
    const adv: string[] = [];
    modes.forEach((m, k) => {
      const T = vk.tin[k]!;
      const w = `P.w${k}`;
      if (m === 'c') {
        loads.push(
          `    let b${k} = i32(j) + bitcast<i32>(${w}.x);`,
          `    var v${k} = x${k}[u32(max(b${k}, 0))];`,
          `    if (${w}.y != 0u) { v${k} = realign_${T}(v${k}, x${k}[u32(b${k} + 1)], ${w}.y); }`,
        );
      } else if (m === 's') {
        setup.push(`  let v${k} = vec4<${T}>(x${k}[${w}.x / 4u][${w}.x % 4u]);`);
      } else if (m === 'ch') {
        setup.push(
          `  let t${k} = (4u * j0) / ${w}.w;`,
          `  var rem${k} = 4u * j0 - t${k} * ${w}.w;`,
          `  var ch${k} = t${k} % ${w}.z;`,
        );
        loads.push(`    let e${k} = ${w}.x + ch${k} * ${w}.y;`, `    let v${k} = vec4<${T}>(x${k}[e${k} / 4u][e${k} % 4u]);`);
        adv.push(`    rem${k} += 4u;`, `    if (rem${k} >= ${w}.w) { rem${k} = 0u; ch${k} += 1u; if (ch${k} == ${w}.z) { ch${k} = 0u; } }`);
      } else {
        setup.push(`  var rem${k} = (4u * j0) % ${w}.y;`);
        loads.push(`    let v${k} = x${k}[(${w}.x + rem${k}) / 4u];`);
        adv.push(`    rem${k} += 4u;`, `    if (rem${k} >= ${w}.y) { rem${k} = 0u; }`);
      }
    });
    return shader('ew_map', {
      PARAMS: params,
      BINDINGS: bindings,
      FUNCS: vk.funcs,
      WG: VEC_WG,
      K: VEC_K,
      SETUP: setup.join('\n'),
      LOADS: loads.join('\n'),
      EXPR: vk.expr,
      ADVANCE: adv.join('\n'),
    });
  };
  return { key, code };
}

/**
 * The vec4 contiguous path: the output is a contiguous run (any offset) and every input is a
 * contiguous run (any offset), or, with the output starting at a multiple of 4, a broadcast the
 * kernel reads cheaply (a single element, per-channel, a repeating row). Returns false when the
 * problem does not fit (the general strided kernel runs instead). Problems over the binding
 * limit (contiguous runs only) are split into windows as in the general path.
 */
function runContiguous(
  rt: GpuRuntime,
  op: string,
  vk: VecKernel,
  inputs: Operand[],
  output: Operand,
  stridedOut: boolean,
  col: { shape: number[]; strides: number[][] },
  n: number,
  contiguous1d: boolean,
  tooBig: boolean,
  extraF: number[],
): boolean {
  const limitElems = Math.floor(rt.limits.maxStorageBufferBindingSize / 4);
  const outOff = stridedOut ? output.layout.offset : 0;
  if (stridedOut) {
    // The output must be a contiguous run: its collapsed strides are the contiguous ones.
    const cs = contigStrides(col.shape);
    if (!col.strides[col.strides.length - 1]!.every((s, d) => s === cs[d])) return false;
  }
  if (tooBig && !contiguous1d) return false;
  if (!tooBig) {
    const q = outOff % 4;
    const modes: Mode[] = [];
    for (let k = 0; k < inputs.length; k++) {
      const m = classify(col.shape, col.strides[k]!, inputs[k]!.layout.offset, q, q === 0);
      if (!m) return false;
      modes.push(m);
    }
    const { key: pk, code } = vecShader(vk, modes.map((m) => m.m));
    const pipeline = rt.pipeline(pk, code);
    const nv = Math.ceil((q + n) / 4);
    const binds: Binding[] = [...inputs, output].map((o) => vecWindow(o.storage, 0, o.storage.size, limitElems));
    const u = [n, q, Math.floor(outOff / 4), nv, ...modes.flatMap((m) => m.w)];
    rt.dispatch(op, pipeline, binds, { u, f: extraF }, Math.ceil(nv / (VEC_K * VEC_WG)));
    return true;
  }
  // Windows over contiguous runs: each operand's window [offset + start, offset + start + len)
  // is bound from an aligned-down start (a multiple of 4 elements too); the rest goes in the words.
  const align = Math.max(4, rt.limits.minStorageBufferOffsetAlignment / 4);
  const unit = VEC_WG * VEC_K * 4;
  const chunk = Math.floor((limitElems - align - 8) / unit) * unit;
  if (chunk <= 0) return false;
  const { key: pk, code } = vecShader(vk, inputs.map(() => 'c'));
  const pipeline = rt.pipeline(pk, code);
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    const windows = [...inputs.map((o) => ({ s: o.storage, off: o.layout.offset })), { s: output.storage, off: outOff }];
    const binds: Binding[] = [];
    const rel: number[] = [];
    for (const w of windows) {
      const first = w.off + start;
      const base = Math.floor(first / align) * align;
      binds.push(vecWindow(w.s, base, first - base + len, limitElems));
      rel.push(first - base);
    }
    const q = rel[rel.length - 1]! % 4;
    const words = rel.slice(0, inputs.length).flatMap((r) => classify([len], [1], r, q, false)!.w);
    const nv = Math.ceil((q + len) / 4);
    const u = [len, q, Math.floor(rel[rel.length - 1]! / 4), nv, ...words];
    rt.dispatch(op, pipeline, binds, { u, f: extraF }, Math.ceil(nv / (VEC_K * VEC_WG)));
  }
  return true;
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
  const vk: VecKernel = {
    key: `unary:${op}:${defs.TX}:${defs.TOUT}`,
    tin: [defs.TX],
    tout: defs.TOUT,
    funcs: `fn op(v: f32, p: f32) -> f32 {\n  ${defs.OP}\n}\nfn opv(a: vec4<f32>, p: f32) -> vec4<f32> {\n  return vec4<f32>(op(a.x, p), op(a.y, p), op(a.z, p), op(a.w, p));\n}`,
    expr: `vec4<${defs.TOUT}>(opv(vec4<f32>(v0), P.p))`,
    fparams: ['p'],
  };
  runElementwise(rt, op, p, [{ storage: x as GpuStorage, layout: xl }], { storage: out as GpuStorage, layout: contiguousLayout(xl.shape) }, false, [param], vk);
}

export function binary(rt: GpuRuntime, op: BinaryOp, a: Storage, al: Layout, b: Storage, bl: Layout, out: Storage): void {
  const t = wgslType(a.dtype, op);
  if (b.dtype !== a.dtype || out.dtype !== a.dtype) throw new TypeError(`${op}: webgpu binary kernels need one dtype, got ${a.dtype}, ${b.dtype} -> ${out.dtype}`);
  const defs = { T: t, OP: binaryWgsl(op, t) };
  const p = rt.pipeline(shaderKey('binary', defs), () => shader('binary', defs));
  const vk: VecKernel = {
    key: `binary:${op}:${t}`,
    tin: [t, t],
    tout: t,
    funcs: `fn op(x: ${t}, y: ${t}) -> ${t} {\n  ${defs.OP}\n}\nfn opv(a: vec4<${t}>, b: vec4<${t}>) -> vec4<${t}> {\n  return vec4<${t}>(op(a.x, b.x), op(a.y, b.y), op(a.z, b.z), op(a.w, b.w));\n}`,
    expr: 'opv(v0, v1)',
    fparams: [],
  };
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
    [],
    vk,
  );
}

export function where(rt: GpuRuntime, c: Storage, cl: Layout, a: Storage, al: Layout, b: Storage, bl: Layout, out: Storage): void {
  const defs = { TC: wgslType(c.dtype, 'where'), T: wgslType(a.dtype, 'where') };
  const p = rt.pipeline(shaderKey('where', defs), () => shader('where', defs));
  const vk: VecKernel = {
    key: `where:${defs.TC}:${defs.T}`,
    tin: [defs.TC, defs.T, defs.T],
    tout: defs.T,
    funcs: '',
    expr: `select(v2, v1, v0 != vec4<${defs.TC}>(0))`,
    fparams: [],
  };
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
    [],
    vk,
  );
}

export function copy(rt: GpuRuntime, src: Storage, sl: Layout, dst: Storage, dl: Layout): void {
  const defs = { TS: wgslType(src.dtype, 'copy'), TD: wgslType(dst.dtype, 'copy') };
  const p = rt.pipeline(shaderKey('copy', defs), () => shader('copy', defs));
  const vk: VecKernel = { key: `copy:${defs.TS}:${defs.TD}`, tin: [defs.TS], tout: defs.TD, funcs: '', expr: `vec4<${defs.TD}>(v0)`, fparams: [] };
  runElementwise(rt, 'copy', p, [{ storage: src as GpuStorage, layout: sl }], { storage: dst as GpuStorage, layout: dl }, true, [], vk);
}

export function fill(rt: GpuRuntime, s: Storage, value: number): void {
  const g = s as GpuStorage;
  const bits = new DataView(new ArrayBuffer(4));
  if (g.dtype === 'int32') bits.setInt32(0, Math.trunc(value), true);
  else bits.setFloat32(0, value, true);
  // zeros (all-zero bits, 4-byte elements) through the queue's clear: a memset on lavapipe
  if (bits.getUint32(0, true) === 0 && g.size > 0) {
    rt.clear(g, 0, g.size);
    return;
  }
  const p = rt.pipeline('fill', () => shader('fill'));
  const limitElems = Math.floor(rt.limits.maxStorageBufferBindingSize / 4);
  const chunk = Math.floor(limitElems / (WG * 64)) * WG * 64;
  if (chunk <= 0) throw new RangeError(`fill: a binding limit of ${rt.limits.maxStorageBufferBindingSize} bytes is below the ${WG * 64 * 4} bytes a window needs`);
  for (let start = 0; start < g.size; start += chunk) {
    const len = Math.min(chunk, g.size - start);
    // vec4 stores (4 per invocation, 64 per workgroup): bind whole vec4s (buffers are multiples of 16 bytes).
    const size = Math.min(Math.ceil(len / 4) * 4, Math.floor(g.buffer.size / 4) - start);
    rt.dispatch('fill', p, [{ storage: g, offset: start, size }], { u: [len, bits.getUint32(0, true)] }, Math.ceil(Math.ceil(len / 4) / (VEC_WG * VEC_K)));
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
