/**
 * Channels-last repacking for the conv2d "sg" kernels (shaders/conv_pack.wgsl): 4 channels of one
 * pixel become one vec4, so one load instruction (the unit of cost on software adapters) reads 4
 * channels. Used for activations, gradients and weights.
 *
 * Where the pixel count is a multiple of 4, conv_pack4.wgsl moves 4 pixels x 4 channels per
 * invocation (a vec4 load per channel, a vec4 store per pixel), half the instructions of
 * conv_pack.wgsl, whose lanes each read 4 channel planes. Measured on lavapipe, ms, 1-pixel ->
 * 4-pixel: 64x16x2304 7.6 -> 4.1, 64x32x576 5.3 -> 2.4, 16x64x4096 16.6 -> 9.5, 16x128x1024
 * 8.9 -> 4.3 (2026-12-05); the width-1/4 training step's best of 10 went from 264-268 to
 * 247-253 ms (batch 64, alternating processes of the previous and this commit, 3 pairs).
 * Both kernels are compiled per shape with the sizes they split the flat index by as literals
 * (shaders.ts withLiterals): 16x64x4096 5.7-6.3 -> 4.0-4.3 ms, 16x128x1024 2.9 -> 2.1 ms.
 */
import type { Storage } from '../backend.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { shader, shaderKey, withLiterals } from './shaders.js';
import { window } from './window.js';
import { up4 } from './conv_geo.js';

/** Knob for tests and benchmarks: the 4-pixel repack where it applies (true) or always the 1-pixel one. */
export const packTuning = { vec4: true };

/** Channels-last packing: src (N, G*Cg, S) from element `srcStart` -> dst[n][s][g][up4(Cg)]. */
export function pack(rt: GpuRuntime, src: Storage, srcStart: number, N: number, G: number, Cg: number, S: number, op: string): GpuStorage {
  const Q = up4(Cg) / 4;
  const total = N * S * G * Q;
  const dst = rt.alloc('float32', Math.max(4, total * 4));
  const w = window(rt, src, srcStart, N * G * Cg * S);
  if (S % 4 === 0 && w.rel % 4 === 0 && packTuning.vec4) {
    const total4 = total / 4;
    const lit = { S4: S / 4, G, Cg, Q };
    const pipe = rt.pipeline(shaderKey('conv_pack4', lit), () => withLiterals(shader('conv_pack4'), lit));
    rt.dispatch(op, pipe, [w.b, dst], { u: [total4, S / 4, G, Cg, Q, w.rel / 4] }, Math.ceil(total4 / 64));
    return dst;
  }
  const lit = { S, G, Cg, Q };
  const pipe = rt.pipeline(shaderKey('conv_pack', lit), () => withLiterals(shader('conv_pack'), lit));
  rt.dispatch(op, pipe, [w.b, dst], { u: [total, S, G, Cg, Q, w.rel] }, Math.ceil(total / 64));
  return dst;
}

