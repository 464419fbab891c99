/**
 * 2-d pooling on WebGPU: max_pool2d (values + int32 indices), avg_pool2d (count_include_pad,
 * divisor_override), adaptive_avg_pool2d, and their backward passes. Semantics follow the CPU
 * reference (src/kernels/cpu/pool.ts = PyTorch).
 *
 * One invocation per output element (forward) or per INPUT element (backward): a backward pass
 * gathers from the output windows that cover its element (closed-form ranges), so it needs no
 * atomics and overwrites gx. Tensors above the binding limit are processed in chunks of whole
 * (n, c) planes; grids above 65535 workgroups are spread over x and y by the runtime.
 */
import type { AdaptivePool2dParams, Pool2dParams, Storage } from '../backend.js';
import type { GpuRuntime } from './runtime.js';
import { shader, shaderKey } from './shaders.js';
import { window } from './conv.js';

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

export function maxPool2d(rt: GpuRuntime, x: Storage, out: Storage, indices: Storage, p: Pool2dParams): void {
  checkDtype('maxPool2d', x, 'float32');
  checkDtype('maxPool2d', indices, 'int32');
  const HW = p.H * p.W, OHW = p.OH * p.OW;
  if (p.N * p.C * OHW === 0) return;
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

export function maxPool2dBackward(rt: GpuRuntime, gy: Storage, indices: Storage, gx: Storage, p: Pool2dParams): void {
  checkDtype('maxPool2dBackward', gy, 'float32');
  checkDtype('maxPool2dBackward', indices, 'int32');
  const HW = p.H * p.W, OHW = p.OH * p.OW;
  if (p.N * p.C * HW === 0) return;
  const pipe = rt.pipeline('pool_max_bwd', () => shader('pool_max_bwd'));
  for (const [p0, np] of planeChunks(rt, p.N * p.C, HW, OHW, 'maxPool2dBackward')) {
    const gw = window(rt, gy, p0 * OHW, np * OHW);
    const iw = window(rt, indices, p0 * OHW, np * OHW);
    const xw = window(rt, gx, p0 * HW, np * HW);
    const total = np * HW;
    const u = [total, ...geoWords(p), p.dilationH, p.dilationW, gw.rel, xw.rel, iw.rel];
    rt.dispatch('maxPool2dBackward', pipe, [gw.b, iw.b, xw.b], { u }, Math.ceil(total / WG));
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

