/**
 * 2-d pooling on WebGPU: max_pool2d (values + int32 indices), avg_pool2d (count_include_pad,
 * divisor_override), adaptive_avg_pool2d, and their backward passes. Semantics follow the CPU
 * reference (src/kernels/cpu/pool.ts = PyTorch).
 *
 * One invocation per output element (forward) or per INPUT element (backward): a backward pass
 * gathers from the output windows that cover its element (closed-form ranges), so it needs no
 * atomics and overwrites gx. Exception: max_pool2d backward with NON-overlapping windows (kernel
 * <= stride, ResEmoteNet's 2x2/2) writes per output window instead (each input element belongs to
 * at most one window, so still no atomics), vectorized for the exact 2x2/2 tiling; measured on
 * lavapipe, (16,64,64,64)->(16,64,32,32): see maxPool2dBackward. Tensors above the binding limit are processed in chunks of whole
 * (n, c) planes; grids above 65535 workgroups are spread over x and y by the runtime.
 */
import type { AdaptivePool2dParams, Pool2dParams, Storage } from '../backend.js';
import type { GpuRuntime } from './runtime.js';
import { shader, shaderKey, withLiterals } from './shaders.js';
import { window, zeroRange } from './window.js';

const WG = 64;

function checkDtype(op: string, s: Storage, dtype: 'float32' | 'int32'): void {
  if (s.dtype !== dtype) throw new TypeError(`${op}: webgpu expects ${dtype}, got ${s.dtype}`);
}

/** Plane ranges [p0, p0 + np) whose `inPer`- and `outPer`-element planes fit in a binding. */
function planeChunks(rt: GpuRuntime, planes: number, inPer: number, outPer: number, op: string): [number, number][] {
  const align = Math.max(1, rt.limits.minStorageBufferOffsetAlignment / 4);
  const lim = Math.floor(rt.limits.maxStorageBufferBindingSize / 4) - align;
  const per = Math.max(inPer, outPer, 1);
  const np = Math.floor(lim / per);
  if (np < 1) throw new RangeError(`${op}: one plane exceeds the adapter's binding limit`);
  const out: [number, number][] = [];
  for (let p0 = 0; p0 < planes; p0 += np) out.push([p0, Math.min(np, planes - p0)]);
  return out;
}

function geoWords(p: Pool2dParams): number[] {
  return [p.H, p.W, p.OH, p.OW, p.KH, p.KW, p.strideH, p.strideW, p.padH, p.padW];
}

/**
 * The pipeline of shaders/pool_max_2x2.wgsl for an (H, W) plane; with C > 0 its batch_norm
 * prologue over C channels (coefficients bound after the indices) and relu epilogue (./bn_pool.ts).
 */
export function pool2x2Pipeline(rt: GpuRuntime, H: number, W: number, C: number): GPUComputePipeline {
  const lit = { W, OH: H / 2, OW2: W / 4, H, C }; // see withLiterals
  const bn = C > 0;
  const defs = bn
    ? {
        BN_DECL: '@group(0) @binding(3) var<storage, read> coef: array<vec4<f32>>;',
        PB: 4,
        K: '  let k = coef[plane % P.C];',
        A: '(x[r0] - k.x) * k.y + k.z',
        B: '(x[r0 + W4] - k.x) * k.y + k.z',
        OUT: 'select(m, vec2<f32>(0.0), m < vec2<f32>(0.0))',
      }
    : { BN_DECL: '', PB: 3, K: '', A: 'x[r0]', B: 'x[r0 + W4]', OUT: 'm' };
  return rt.pipeline(shaderKey('pool_max_2x2', lit), () => withLiterals(shader('pool_max_2x2', defs), lit));
}

export function maxPool2d(rt: GpuRuntime, x: Storage, out: Storage, indices: Storage, p: Pool2dParams): void {
  checkDtype('maxPool2d', x, 'float32');
  checkDtype('maxPool2d', indices, 'int32');
  const HW = p.H * p.W, OHW = p.OH * p.OW;
  if (p.N * p.C * OHW === 0) return;
  if (poolTuning.maxForward2x2 && exact2x2(p)) {
    // exact 2x2/2 tiling with W % 4 == 0: pairs of outputs from vec4 loads (pool_max_2x2.wgsl);
    // on lavapipe (2 cores), general -> paired: (16, 64, 64, 64) 13.1 -> 6.2 ms, (64, 16, 48, 48)
    // 7.6 -> 3.6 ms, (64, 32, 24, 24) 3.9 -> 1.9 ms
    const pipe2 = pool2x2Pipeline(rt, p.H, p.W, 0);
    for (const [p0, np] of planeChunks(rt, p.N * p.C, HW, OHW, 'maxPool2d')) {
      const xw = window(rt, x, p0 * HW, np * HW);
      const ow = window(rt, out, p0 * OHW, np * OHW);
      const iw = window(rt, indices, p0 * OHW, np * OHW);
      const total = (np * OHW) / 2;
      const u = [total, p.W, p.OH, p.OW / 2, xw.rel / 4, ow.rel / 2, iw.rel / 2, p.H, 0, 0, 0, 0];
      rt.dispatch('maxPool2d', pipe2, [xw.b, ow.b, iw.b], { u }, Math.ceil(total / WG));
    }
    return;
  }
  const pipe = rt.pipeline('pool_max', () => shader('pool_max'));
  for (const [p0, np] of planeChunks(rt, p.N * p.C, HW, OHW, 'maxPool2d')) {
    const xw = window(rt, x, p0 * HW, np * HW);
    const ow = window(rt, out, p0 * OHW, np * OHW);
    const iw = window(rt, indices, p0 * OHW, np * OHW);
    const total = np * OHW;
    const u = [total, ...geoWords(p), p.dilationH, p.dilationW, xw.rel, ow.rel, iw.rel];
    rt.dispatch('maxPool2d', pipe, [xw.b, ow.b, iw.b], { u }, Math.ceil(total / WG));
  }
}

/**
 * Which max_pool2d backward kernel: '2x2' (k=2, s=2, no padding/dilation, W % 4 == 0, H even:
 * vectorized per-window writer), 'scatter' (non-overlapping windows: one invocation per output
 * writes its window; zero-fill first where the windows do not cover the input) or 'gather' (any
 * geometry: one invocation per input element). Exported for tests; production leaves 'auto'.
 */
export const poolTuning: { maxBackward: 'auto' | 'gather' | 'scatter'; maxForward2x2: boolean } = { maxBackward: 'auto', maxForward2x2: true };

/** The exact 2x2 / stride 2 tiling (no padding or dilation) of an input with W % 4 == 0 and H even. */
function exact2x2(p: Pool2dParams): boolean {
  return p.KH === 2 && p.KW === 2 && p.strideH === 2 && p.strideW === 2 && p.padH === 0 && p.padW === 0 && p.dilationH === 1 && p.dilationW === 1 && p.W % 4 === 0 && p.H % 2 === 0 && p.OH === p.H / 2 && p.OW === p.W / 2;
}

function maxBackwardKind(p: Pool2dParams): { kind: 'gather' | 'scatter' | '2x2'; covered: boolean } {
  const nonOverlap = (p.KH - 1) * p.dilationH < p.strideH && (p.KW - 1) * p.dilationW < p.strideW;
  if (poolTuning.maxBackward === 'gather' || !nonOverlap) return { kind: 'gather', covered: true };
  // windows [o*s - p, o*s - p + (K-1)*d + 1) tile the input exactly when K*d... (d = 1) K == s and
  // the last window reaches the end of the input
  const coversAxis = (K: number, s: number, pad: number, d: number, O: number, I: number) => d === 1 && K === s && pad === 0 && O * s >= I;
  const covered = coversAxis(p.KH, p.strideH, p.padH, p.dilationH, p.OH, p.H) && coversAxis(p.KW, p.strideW, p.padW, p.dilationW, p.OW, p.W);
  const is2x2 = covered && p.KH === 2 && p.KW === 2 && p.W % 4 === 0 && p.H % 2 === 0;
  return { kind: poolTuning.maxBackward === 'auto' && is2x2 ? '2x2' : 'scatter', covered };
}

export function maxPool2dBackward(rt: GpuRuntime, gy: Storage, indices: Storage, gx: Storage, p: Pool2dParams): void {
  checkDtype('maxPool2dBackward', gy, 'float32');
  checkDtype('maxPool2dBackward', indices, 'int32');
  const HW = p.H * p.W, OHW = p.OH * p.OW;
  if (p.N * p.C * HW === 0) return;
  let { kind, covered } = maxBackwardKind(p);
  if (kind !== 'gather' && !covered) zeroRange(rt, gx, 0, p.N * p.C * HW);
  const name = kind === 'gather' ? 'pool_max_bwd' : kind === 'scatter' ? 'pool_max_bwd_scatter' : 'pool_max_bwd_2x2';
  // the 2x2 kernel's index split with the sizes as literals (see withLiterals)
  const lit: Record<string, number> = kind === '2x2' ? { H: p.H, W: p.W, OH: p.OH, OW: p.OW } : {};
  const pipe = rt.pipeline(shaderKey(name, lit), () => withLiterals(shader(name), lit));
  for (const [p0, np] of planeChunks(rt, p.N * p.C, HW, OHW, 'maxPool2dBackward')) {
    const gw = window(rt, gy, p0 * OHW, np * OHW);
    const iw = window(rt, indices, p0 * OHW, np * OHW);
    const xw = window(rt, gx, p0 * HW, np * HW);
    let k = kind;
    // the vectorized kernel needs vec4-aligned gx and vec2-aligned gy/indices offsets
    if (k === '2x2' && (xw.rel % 4 !== 0 || gw.rel % 2 !== 0 || iw.rel % 2 !== 0)) k = 'scatter';
    const total = k === 'gather' ? np * HW : k === 'scatter' ? np * OHW : (np * OHW) / 2;
    const pp = k === kind ? pipe : rt.pipeline('pool_max_bwd_scatter', () => shader('pool_max_bwd_scatter'));
    const u = [total, ...geoWords(p), p.dilationH, p.dilationW, gw.rel, xw.rel, iw.rel];
    rt.dispatch('maxPool2dBackward', pp, [gw.b, iw.b, xw.b], { u }, Math.ceil(total / WG));
  }
}

interface AvgGeo {
  N: number;
  C: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  words: number[];
  mode: 0 | 1;
}

function avgGeo(p: Pool2dParams): AvgGeo {
  return { ...p, words: [...geoWords(p), p.countIncludePad ? 1 : 0, Math.max(0, Math.trunc(p.divisorOverride))], mode: 0 };
}

function adaptiveGeo(p: AdaptivePool2dParams): AvgGeo {
  return { ...p, words: [p.H, p.W, p.OH, p.OW, 0, 0, 1, 1, 0, 0, 0, 0], mode: 1 };
}

function avgForward(rt: GpuRuntime, op: string, x: Storage, out: Storage, g: AvgGeo): void {
  checkDtype(op, x, 'float32');
  const HW = g.H * g.W, OHW = g.OH * g.OW;
  if (g.N * g.C * OHW === 0) return;
  const pipe = rt.pipeline(shaderKey('pool_avg', { MODE: g.mode }), () => shader('pool_avg', { MODE: g.mode }));
  for (const [p0, np] of planeChunks(rt, g.N * g.C, HW, OHW, op)) {
    const xw = window(rt, x, p0 * HW, np * HW);
    const ow = window(rt, out, p0 * OHW, np * OHW);
    const total = np * OHW;
    rt.dispatch(op, pipe, [xw.b, ow.b], { u: [total, ...g.words, xw.rel, ow.rel, 0] }, Math.ceil(total / WG));
  }
}

function avgBackward(rt: GpuRuntime, op: string, gy: Storage, gx: Storage, g: AvgGeo): void {
  checkDtype(op, gy, 'float32');
  const HW = g.H * g.W, OHW = g.OH * g.OW;
  if (g.N * g.C * HW === 0) return;
  const pipe = rt.pipeline(shaderKey('pool_avg_bwd', { MODE: g.mode }), () => shader('pool_avg_bwd', { MODE: g.mode }));
  for (const [p0, np] of planeChunks(rt, g.N * g.C, HW, OHW, op)) {
    const gw = window(rt, gy, p0 * OHW, np * OHW);
    const xw = window(rt, gx, p0 * HW, np * HW);
    const total = np * HW;
    rt.dispatch(op, pipe, [gw.b, xw.b], { u: [total, ...g.words, gw.rel, xw.rel, 0] }, Math.ceil(total / WG));
  }
}

export function avgPool2d(rt: GpuRuntime, x: Storage, out: Storage, p: Pool2dParams): void {
  avgForward(rt, 'avgPool2d', x, out, avgGeo(p));
}

export function avgPool2dBackward(rt: GpuRuntime, gy: Storage, gx: Storage, p: Pool2dParams): void {
  avgBackward(rt, 'avgPool2dBackward', gy, gx, avgGeo(p));
}

export function adaptiveAvgPool2d(rt: GpuRuntime, x: Storage, out: Storage, p: AdaptivePool2dParams): void {
  avgForward(rt, 'adaptiveAvgPool2d', x, out, adaptiveGeo(p));
}

export function adaptiveAvgPool2dBackward(rt: GpuRuntime, gy: Storage, gx: Storage, p: AdaptivePool2dParams): void {
  avgBackward(rt, 'adaptiveAvgPool2dBackward', gy, gx, adaptiveGeo(p));
}

