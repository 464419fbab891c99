/**
 * softmax / log_softmax over the last axis and their backward (shaders/softmax.wgsl), and
 * per-sample cross entropy forward/backward (shaders/cross_entropy.wgsl), both built on row
 * groups with workgroup tree reductions (shaders/softmax_rows.wgsl): T = nextPow2(inner / 16)
 * lanes per row (at most 256, one workgroup per row for long rows), 256 / T rows per workgroup.
 * Tensors above the storage-binding limit are processed in windows of whole rows.
 */
import type { CrossEntropyParams, Storage } from '../backend.js';
import type { Binding, GpuRuntime, GpuStorage } from './runtime.js';
import { shader, shaderKey } from './shaders.js';

const WG = 256;
const PER_LANE = 16;

function lanesFor(inner: number): number {
  const want = Math.ceil(inner / PER_LANE);
  return want <= 1 ? 1 : Math.min(WG, 2 ** Math.ceil(Math.log2(want)));
}

function f32Only(op: string, ...s: Storage[]): void {
  for (const x of s) if (x.dtype !== 'float32') throw new TypeError(`${op}: webgpu supports float32 only, got ${x.dtype}`);
}

/** An operand of a row-wise kernel: a (rows, inner) matrix, a (rows) vector, or bound whole. */
interface RowOperand {
  s: GpuStorage;
  kind: 'matrix' | 'vector' | 'whole';
}

/**
 * Dispatches a row kernel over `rows` rows of `inner`, in windows of whole rows so that every
 * binding fits. `uniforms(n, xOff, rOff)` gives the uniform words for a window of n rows whose
 * matrices start at element xOff and vectors at rOff of their bindings.
 */
function rowDispatch(
  rt: GpuRuntime,
  op: string,
  pipeline: GPUComputePipeline,
  operands: RowOperand[],
  rows: number,
  inner: number,
  lanes: number,
  uniforms: (n: number, xOff: number, rOff: number) => { u: number[]; f?: number[] },
): void {
  if (rows === 0) return;
  const limit = Math.floor(rt.limits.maxStorageBufferBindingSize / 4);
  const align = Math.max(1, rt.limits.minStorageBufferOffsetAlignment / 4);
  const rowsPerWg = WG / lanes;
  const fitsWhole = operands.every((o) => o.kind === 'whole' || o.s.size <= limit);
  let per = fitsWhole ? rows : Math.floor((limit - align) / Math.max(1, inner));
  per = Math.min(per, limit - align);
  if (per < 1) throw new RangeError(`${op}: one row of ${inner} elements exceeds the storage binding limit`);
  for (let r0 = 0; r0 < rows; r0 += per) {
    const n = Math.min(per, rows - r0);
    const xStart = r0 * inner, xEnd = (r0 + n) * inner;
    const xBase = fitsWhole ? 0 : Math.floor(xStart / align) * align;
    const rBase = fitsWhole ? 0 : Math.floor(r0 / align) * align;
    const bindings: Binding[] = operands.map((o) => {
      if (o.kind === 'whole' || fitsWhole) return o.s;
      if (o.kind === 'matrix') return { storage: o.s, offset: xBase, size: xEnd - xBase };
      return { storage: o.s, offset: rBase, size: r0 + n - rBase };
    });
    rt.dispatch(op, pipeline, bindings, uniforms(n, xStart - xBase, r0 - rBase), Math.ceil(n / rowsPerWg));
  }
}

export function softmax(rt: GpuRuntime, x: Storage, out: Storage, outer: number, inner: number, log: boolean): void {
  f32Only('softmax', x, out);
  if (inner === 0) return;
  const lanes = lanesFor(inner);
  const defs = { LOG: String(log), BACKWARD: 'false', TREE: String(lanes > 1), B_DECL: '', B_READ: '0.0', C_BINDING: 1, P_BINDING: 2 };
  const p = rt.pipeline(shaderKey('softmax', defs), () => shader('softmax', defs));
  rowDispatch(rt, log ? 'log_softmax' : 'softmax', p, [{ s: x as GpuStorage, kind: 'matrix' }, { s: out as GpuStorage, kind: 'matrix' }], outer, inner, lanes, (n, xOff) => ({
    u: [n, inner, lanes, xOff],
  }));
}

export function softmaxBackward(rt: GpuRuntime, gy: Storage, y: Storage, gx: Storage, outer: number, inner: number, log: boolean): void {
  f32Only('softmaxBackward', gy, y, gx);
  if (inner === 0) return;
  const lanes = lanesFor(inner);
  const defs = {
    LOG: String(log),
    BACKWARD: 'true',
    TREE: String(lanes > 1),
    B_DECL: '@group(0) @binding(1) var<storage, read> b: array<f32>;',
    B_READ: 'b[base + i]',
    C_BINDING: 2,
    P_BINDING: 3,
  };
  const p = rt.pipeline(shaderKey('softmax', defs), () => shader('softmax', defs));
  const ops: RowOperand[] = [
    { s: gy as GpuStorage, kind: 'matrix' },
    { s: y as GpuStorage, kind: 'matrix' },
    { s: gx as GpuStorage, kind: 'matrix' },
  ];
  rowDispatch(rt, 'softmaxBackward', p, ops, outer, inner, lanes, (n, xOff) => ({ u: [n, inner, lanes, xOff] }));
}

function cePipeline(rt: GpuRuntime, hasW: boolean, backward: boolean, lanes: number): GPUComputePipeline {
  const tree = String(lanes > 1);
  const defs = backward
    ? {
        TREE: tree,
        HAS_W: String(hasW),
        BACKWARD: 'true',
        OUT_DECL: '@group(0) @binding(3) var<storage, read> gloss: array<f32>;\n@group(0) @binding(4) var<storage, read_write> glogits: array<f32>;',
        WRITE_FWD: '',
        GLOSS: 'gloss[P.r_off + row]',
        WRITE_BWD: 'glogits[base + i]',
      }
    : {
        TREE: tree,
        HAS_W: String(hasW),
        BACKWARD: 'false',
        OUT_DECL: '@group(0) @binding(3) var<storage, read_write> loss_o: array<f32>;\n@group(0) @binding(4) var<storage, read_write> wsum_o: array<f32>;',
        WRITE_FWD: 'loss_o[P.r_off + row] = loss; wsum_o[P.r_off + row] = ws;',
        GLOSS: '0.0',
        WRITE_BWD: 'loss_o[0]',
      };
  return rt.pipeline(shaderKey('cross_entropy', defs), () => shader('cross_entropy', defs));
}

function ceUniforms(p: CrossEntropyParams, lanes: number) {
  return (n: number, xOff: number, rOff: number) => ({
    u: [n, p.C, lanes, xOff, rOff, p.ignoreIndex | 0, 0, 0],
    f: [p.labelSmoothing, 1 - p.labelSmoothing, p.labelSmoothing / p.C, 0],
  });
}

function ceChecks(op: string, logits: Storage, targets: Storage, weight: Storage | null): void {
  f32Only(op, logits, ...(weight ? [weight] : []));
  if (targets.dtype !== 'int32') throw new TypeError(`${op}: targets must be int32, got ${targets.dtype}`);
}

export function crossEntropy(rt: GpuRuntime, logits: Storage, targets: Storage, weight: Storage | null, loss: Storage, wsum: Storage, p: CrossEntropyParams): void {
  ceChecks('crossEntropy', logits, targets, weight);
  f32Only('crossEntropy', loss, wsum);
  if (p.N === 0) return;
  const lanes = lanesFor(p.C);
  const dummy = weight ? null : rt.alloc('float32', 4);
  const ops: RowOperand[] = [
    { s: logits as GpuStorage, kind: 'matrix' },
    { s: targets as GpuStorage, kind: 'vector' },
    { s: (weight ?? dummy) as GpuStorage, kind: 'whole' },
    { s: loss as GpuStorage, kind: 'vector' },
    { s: wsum as GpuStorage, kind: 'vector' },
  ];
  rowDispatch(rt, 'crossEntropy', cePipeline(rt, weight !== null, false, lanes), ops, p.N, p.C, lanes, ceUniforms(p, lanes));
  if (dummy) rt.free(dummy);
}

export function crossEntropyBackward(
  rt: GpuRuntime,
  logits: Storage,
  targets: Storage,
  weight: Storage | null,
  gloss: Storage,
  glogits: Storage,
  p: CrossEntropyParams,
): void {
  ceChecks('crossEntropyBackward', logits, targets, weight);
  f32Only('crossEntropyBackward', gloss, glogits);
  if (p.N === 0) return;
  const lanes = lanesFor(p.C);
  const dummy = weight ? null : rt.alloc('float32', 4);
  const ops: RowOperand[] = [
    { s: logits as GpuStorage, kind: 'matrix' },
    { s: targets as GpuStorage, kind: 'vector' },
    { s: (weight ?? dummy) as GpuStorage, kind: 'whole' },
    { s: gloss as GpuStorage, kind: 'vector' },
    { s: glogits as GpuStorage, kind: 'matrix' },
  ];
  rowDispatch(rt, 'crossEntropyBackward', cePipeline(rt, weight !== null, true, lanes), ops, p.N, p.C, lanes, ceUniforms(p, lanes));
  if (dummy) rt.free(dummy);
}
