/**
 * conv2d forward on WebGPU for depthwise convolutions (groups == C_in > 1, any channel multiplier
 * M = C_out / C_in): shaders/conv_depthwise.wgsl, one dispatch, no packing. The GEMM kernels of
 * ./conv.ts treat each group as a product with K = KH*KW (9 for 3x3) and spend their time on
 * setup and tile edges; BlazeFace's 3x3 depthwise on 24x128x128 took 69 ms there and about a tenth
 * of that here (lavapipe). The gradients keep using ./conv.ts.
 */
import type { Conv2dParams, Storage } from '../backend.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { shader, shaderKey } from './shaders.js';

/** Outputs per invocation along a row. */
const OWS = 4;

/** Whether `p` is a depthwise conv (groups == C_in > 1). */
export function isDepthwise(p: Conv2dParams): boolean {
  return p.groups > 1 && p.groups === p.C_in;
}

/**
 * Runs the depthwise forward when it applies and every operand fits one binding of at most
 * `limitBytes`; returns false (doing nothing) otherwise, for the caller's general path.
 */
export function depthwiseForward(rt: GpuRuntime, x: Storage, w: Storage, bias: Storage | null, out: Storage, p: Conv2dParams, limitBytes: number): boolean {
  if (!isDepthwise(p)) return false;
  const lim = Math.min(limitBytes, rt.limits.maxStorageBufferBindingSize) / 4;
  const parts = [x, w, out, ...(bias ? [bias] : [])] as GpuStorage[];
  if (parts.some((s) => s.size > lim)) return false;
  const strips = Math.ceil(p.OW / OWS);
  const total = p.N * p.C_out * p.OH * strips;
  if (total === 0) return true;
  const defs = { OWS, HAS_BIAS: bias ? 'true' : 'false' };
  const pipe = rt.pipeline(shaderKey('conv_depthwise', defs), () => shader('conv_depthwise', defs));
  const u = [p.H, p.W, p.KH, p.KW, p.OH, p.OW, p.strideH, p.strideW, p.padH, p.padW, p.dilationH, p.dilationW, p.C_in, p.C_out, p.C_out / p.C_in, strips, total];
  // Without a bias the weight is bound in its place (never read).
  rt.dispatch('conv2d', pipe, [x as GpuStorage, w as GpuStorage, (bias ?? w) as GpuStorage, out as GpuStorage], { u }, Math.ceil(total / 64));
  return true;
}
