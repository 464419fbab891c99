/**
 * Training-mode batch_norm -> max_pool2d(2, 2) -> relu over x (N, C, H, W) (a ResEmoteNet stem
 * stage after its conv), forward and backward, with the pool's and relu's passes folded into
 * batch_norm's (shaders/pool_max_2x2.wgsl with its batch_norm prologue, bn_pool_reduce_sg.wgsl,
 * bn_pool_apply_bwd.wgsl):
 *
 *   forward   statistics (bn_reduce, bn_stats: ./batchnorm.ts), then ONE pass over x that
 *             normalizes each 2x2 window, takes its maximum and index and applies relu; the
 *             normalized map (N*C*H*W floats) is neither written nor read back.
 *   backward  the gradient reaching batch_norm is gy * relu'(out) at each window's maximum and 0
 *             elsewhere, so its two per-channel sums run over the pooled elements (x gathered at
 *             the argmax), and batch_norm's elementwise pass scatters it itself: no
 *             full-resolution gradient is written and read twice (pool backward, reduction).
 *
 * The values are the composition's (the cpu reference composes its primitives): the same
 * normalization arithmetic, pool rule (first maximum, NaN wins) and relu (NaN stays NaN).
 * Measured on lavapipe (2 cores), ResEmoteNet width 1/4 at 48x48, batch 64, the three stem
 * stages, each dispatch of a training step replayed (bench/step_dispatches.ts): forward 14.6 -> 7.1 ms
 * (statistics 2.1 + this pass 4.9), backward 17 -> 7.7 ms (sums over the pooled map 1.9 + this
 * pass 5.8); the whole step's dispatches 199-205 -> 181 ms, the step (alternating processes)
 * min 198-211 -> 182-193 ms; full width, batch 16: 852-868 -> 825-841 ms (2026-12-05).
 * Other adapters, odd sizes, W % 4 != 0, OH*OW % 4 != 0 and batches over one binding take the
 * separate passes.
 */
import type { BatchNormParams, Storage } from '../backend.js';
import { pool2x2Params } from '../backend.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { shader, shaderKey, withLiterals } from './shaders.js';
import { SG_PER_WG, sgFor } from './subgroups.js';
import { backwardCoef, batchNormBackward, batchNormTrain, batchSplits, trainCoef } from './batchnorm.js';
import { maxPool2d, maxPool2dBackward, pool2x2Pipeline } from './pool.js';
import { binary, contiguousLayout, unary } from './elementwise.js';

const WG = 64;

/** Knobs for tests: `fused` false takes the separate passes on every adapter. */
export const bnPoolTuning = { fused: true };

/** Whether the fused kernels apply to x (N, C, H, W) on this adapter. */
function fusedApplies(rt: GpuRuntime, p: BatchNormParams, H: number, W: number): boolean {
  const OHW = (H / 2) * (W / 2);
  const bytes = p.N * p.C * H * W * 4;
  return bnPoolTuning.fused && sgFor(rt, 'batchNorm') > 0 && H % 2 === 0 && W % 4 === 0 && OHW % 4 === 0 && bytes <= rt.limits.maxStorageBufferBindingSize && p.N * p.C * OHW > 0;
}

function f32(op: string, ...s: (Storage | null)[]): void {
  for (const t of s) if (t && t.dtype !== 'float32') throw new TypeError(`${op}: webgpu supports float32 only, got ${t.dtype}`);
}

/**
 * out (N, C, H/2, W/2) = relu(max_pool2d(batch_norm(x), 2)) in training mode; indices (int32, same
 * shape) as maxPool2d's; saveMean / saveInvstd and the running statistics as batchNormTrain.
 * p.S must be H * W.
 */
export function batchNormPoolTrain(
  rt: GpuRuntime,
  x: Storage,
  weight: Storage | null,
  bias: Storage | null,
  runningMean: Storage | null,
  runningVar: Storage | null,
  out: Storage,
  indices: Storage,
  saveMean: Storage,
  saveInvstd: Storage,
  p: BatchNormParams,
  H: number,
  W: number,
): void {
  f32('batchNormPoolTrain', x, weight, bias, runningMean, runningVar, out, saveMean, saveInvstd);
  if (indices.dtype !== 'int32') throw new TypeError(`batchNormPoolTrain: indices must be int32, got ${indices.dtype}`);
  if (p.C === 0) return;
  if (!fusedApplies(rt, p, H, W)) {
    const y = rt.alloc('float32', p.N * p.C * H * W);
    batchNormTrain(rt, x, weight, bias, runningMean, runningVar, y, saveMean, saveInvstd, p);
    const m = rt.alloc('float32', out.size);
    maxPool2d(rt, y, m, indices, pool2x2Params(p.N, p.C, H, W));
    rt.free(y);
    unary(rt, 'relu', m, contiguousLayout([out.size]), out, 0);
    rt.free(m);
    return;
  }
  const coef = trainCoef(rt, 'batchNormPoolTrain', x, weight, bias, runningMean, runningVar, saveMean, saveInvstd, p);
  const OH = H / 2, OW = W / 2;
  const pipe = pool2x2Pipeline(rt, H, W, p.C);
  const total = (p.N * p.C * OH * OW) / 2;
  const u = [total, W, OH, OW / 2, 0, 0, 0, H, p.C, 0, 0, 0];
  rt.dispatch('batchNormPoolTrain', pipe, [x as GpuStorage, out as GpuStorage, indices as GpuStorage, coef], { u }, Math.ceil(total / WG));
  rt.free(coef);
}

/**
 * Backward of batchNormPoolTrain: gy and out (the forward's output) and indices (N, C, H/2, W/2),
 * x (N, C, H, W); gx (N, C, H, W) is overwritten, gweight / gbias (C) when given.
 */
export function batchNormPoolBackward(
  rt: GpuRuntime,
  gy: Storage,
  out: Storage,
  indices: Storage,
  x: Storage,
  weight: Storage | null,
  saveMean: Storage,
  saveInvstd: Storage,
  gx: Storage,
  gweight: Storage | null,
  gbias: Storage | null,
  p: BatchNormParams,
  H: number,
  W: number,
): void {
  f32('batchNormPoolBackward', gy, out, x, weight, saveMean, saveInvstd, gx, gweight, gbias);
  if (indices.dtype !== 'int32') throw new TypeError(`batchNormPoolBackward: indices must be int32, got ${indices.dtype}`);
  if (p.C === 0) return;
  const OH = H / 2, OW = W / 2;
  if (!fusedApplies(rt, p, H, W)) {
    const l = contiguousLayout([gy.size]);
    const g = rt.alloc('float32', gy.size);
    binary(rt, 'relu_backward', gy, l, out, l, g);
    const gz = rt.alloc('float32', p.N * p.C * H * W);
    maxPool2dBackward(rt, g, indices, gz, pool2x2Params(p.N, p.C, H, W));
    rt.free(g);
    batchNormBackward(rt, gz, x, weight, saveMean, saveInvstd, gx, gweight, gbias, p, true);
    rt.free(gz);
    return;
  }
  const SG = sgFor(rt, 'batchNorm');
  const OHW = OH * OW;
  const { nPer, splits } = batchSplits(p.N, p.C, OHW); // over the pooled values
  const part = rt.alloc('float32', Math.max(4, splits * p.C * 4));
  const defs = { SG, NSG: SG_PER_WG, WG: SG * SG_PER_WG };
  const lit = { OHW4: OHW / 4, HW: H * W, C: p.C };
  const red = rt.pipeline(shaderKey('bn_pool_reduce_sg', { ...defs, ...lit }), () => withLiterals(shader('bn_pool_reduce_sg', defs), lit));
  const ru = [p.C, OHW / 4, nPer, p.N, H * W, 0, splits, 0];
  const G = (s: Storage) => s as GpuStorage;
  rt.dispatch('batchNormPoolBackward', red, [G(gy), G(out), G(indices), G(x), G(saveMean), G(saveInvstd), part], { u: ru }, Math.ceil((p.C * splits) / SG_PER_WG));
  const coef = backwardCoef(rt, 'batchNormPoolBackward', part, splits, weight, saveMean, saveInvstd, gweight, gbias, p.C, p.N * H * W, true);
  rt.free(part);
  const alit = { W, OH, OW2: OW / 2, H, C: p.C };
  const app = rt.pipeline(shaderKey('bn_pool_apply_bwd', alit), () => withLiterals(shader('bn_pool_apply_bwd'), alit));
  const total = (p.N * p.C * OHW) / 2;
  const u = [total, W, OH, OW / 2, 0, 0, 0, H, p.C, 0, 0, 0];
  rt.dispatch('batchNormPoolBackward', app, [G(x), G(gy), G(out), G(indices), coef, G(gx)], { u }, Math.ceil(total / WG));
  rt.free(coef);
}
