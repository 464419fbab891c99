/**
 * Channels-last repacking for the conv2d "sg" kernels (shaders/conv_pack.wgsl): 4 channels of one
 * pixel become one vec4, so one load instruction (the unit of cost on software adapters) reads 4
 * channels. Used for activations, gradients and weights.
 */
import type { Storage } from '../backend.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { shader } from './shaders.js';
import { window } from './window.js';

const up4 = (n: number): number => Math.ceil(n / 4) * 4;

/** Channels-last packing: src (N, G*Cg, S) from element `srcStart` -> dst[n][s][g][up4(Cg)]. */
export function pack(rt: GpuRuntime, src: Storage, srcStart: number, N: number, G: number, Cg: number, S: number, op: string): GpuStorage {
  const Q = up4(Cg) / 4;
  const total = N * S * G * Q;
  const dst = rt.alloc('float32', Math.max(4, total * 4));
  const w = window(rt, src, srcStart, N * G * Cg * S);
  const pipe = rt.pipeline('conv_pack', () => shader('conv_pack'));
  rt.dispatch(op, pipe, [w.b, dst], { u: [total, S, G, Cg, Q, w.rel] }, Math.ceil(total / 64));
  return dst;
}

