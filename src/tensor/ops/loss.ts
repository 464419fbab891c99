/** Losses (PyTorch's F.cross_entropy, F.nll_loss, F.mse_loss). */
import type { CrossEntropyParams } from '../../kernels/backend.js';
import { record } from '../autograd.js';
import { fmtShape, numel, shapesEqual } from '../shape.js';
import { Tensor } from '../tensor.js';
import { arange } from './creation.js';
import { div, eq, mul, ne, neg, sub, where, scalarLike } from './elementwise.js';
import { toDType } from './copy.js';
import { mean, sum } from './reduce.js';
import { denseCopy, permute, reshape, unsqueeze } from './views.js';

export type Reduction = 'mean' | 'sum' | 'none';
export interface CrossEntropyOptions {
  /** Class weights (C), same dtype and device as the input; constants (no gradient). */
  weight?: Tensor | null;
  reduction?: Reduction;
  /** Target value whose samples contribute nothing (default -100). */
  ignore_index?: number;
  /** Amount of the uniform distribution mixed into the target, in [0, 1] (default 0). */
  label_smoothing?: number;
}

const REDUCTIONS: readonly string[] = ['mean', 'sum', 'none'];

function checkReduction(op: string, r: string): void {
  if (!REDUCTIONS.includes(r)) throw new RangeError(`${op}: reduction must be 'mean', 'sum' or 'none', got '${r}'`);
}

/**
 * Validates a class-scored input against its targets and gives the class count and the shape a
 * 'none' reduction has: (C) with target () -> []; (N, C) with (N) -> [N]; (N, C, d1, ...) with
 * (N, d1, ...) -> [N, d1, ...]. No backend work.
 */
function classGeometry(op: string, input: Tensor, target: Tensor): { C: number; outShape: number[] } {
  input.assertAlive(op);
  target.assertAlive(op);
  if (input.dtype === 'int32') throw new TypeError(`${op}: input must be floating point, got int32`);
  if (target.dtype !== 'int32') {
    throw new TypeError(`${op}: target must hold int32 class indices, got ${target.dtype} (class-probability targets are not supported)`);
  }
  if (input.device !== target.device) throw new Error(`${op}: input is on '${input.device}' but target is on '${target.device}'`);
  if (input.ndim === 0) throw new RangeError(`${op}: input must have at least 1 dim (C), got a 0-d tensor`);
  if (input.ndim === 1) {
    if (target.ndim !== 0) throw new RangeError(`${op}: an unbatched input ${fmtShape(input.shape)} needs a 0-d target, got ${fmtShape(target.shape)}`);
    return { C: input.shape[0]!, outShape: [] };
  }
  const expected = [input.shape[0]!, ...input.shape.slice(2)];
  if (!shapesEqual(target.shape, expected)) {
    throw new RangeError(`${op}: target shape ${fmtShape(target.shape)} does not match input ${fmtShape(input.shape)} (expected ${fmtShape(expected)})`);
  }
  return { C: input.shape[1]!, outShape: expected };
}

/** The input as (M, C) rows with classes last (a differentiable view or copy) and the targets as (M). */
function toRows(input: Tensor, target: Tensor, C: number): { rows: Tensor; tgt: Tensor } {
  const M = numel(target.shape);
  if (input.ndim === 2) return { rows: input, tgt: target };
  if (input.ndim === 1) return { rows: reshape(input, [1, C]), tgt: reshape(target, [1]) };
  const perm = [0, ...Array.from({ length: input.ndim - 2 }, (_, i) => i + 2), 1];
  return { rows: reshape(permute(input, perm), [M, C]), tgt: reshape(target, [M]) };
}

/**
 * Checks every target is in [0, C) or equal to ignore_index. On cpu it throws at once naming the
 * first bad value; on a GPU (which cannot be read synchronously) the backend checks there and the
 * next readback throws (a device-side check).
 */
/** Calls of each loss so far that were checked on a GPU (numbered from 1, per op name). */
const gpuChecks = new Map<string, number>();

// The library's own op and layer code (src/ or dist/): frames to look past for the caller.
const LIB = new URL('../../', import.meta.url);
const LIB_DIRS = ['tensor/', 'nn/'].flatMap((d) => [LIB.href + d, decodeURIComponent(LIB.pathname) + d]);

/** The first stack frame outside the library's tensor and nn code ('fn (file:line:col)'), if any. */
function callSite(): string | undefined {
  const lines = new Error().stack?.split('\n').slice(1) ?? [];
  for (const l of lines) {
    const f = l.trim().replace(/^at /, '');
    if (f && !LIB_DIRS.some((d) => f.includes(d))) return f;
  }
  return undefined;
}

function checkTargets(op: string, tgt: Tensor, C: number, ignoreIndex: number): void {
  if (tgt.device !== 'cpu') {
    // The GPU reports a failure at some later readback, possibly of an unrelated tensor: the
    // message must say which call it was (call number, target shape, caller's frame).
    const call = (gpuChecks.get(op) ?? 0) + 1;
    gpuChecks.set(op, call);
    const site = callSite();
    const dense = tgt._isDense ? tgt : denseCopy(tgt);
    tgt.backend.checkIndex(
      dense.storage,
      C,
      ignoreIndex,
      `${op}: a target is out of bounds (not in [0, ${C}) and not ignore_index ${ignoreIndex}); raised by ${op} call #${call} ` +
        `(target ${fmtShape(tgt.shape)} on ${tgt.device}${site ? `, called from ${site}` : ''}); that call's loss and gradients are not valid`,
    );
    if (dense !== tgt) dense.dispose();
    return;
  }
  const ts = tgt.dataSync();
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i]!;
    if (t !== ignoreIndex && (t < 0 || t >= C)) {
      throw new RangeError(`${op}: Target ${t} is out of bounds (sample ${i}; ${C} classes, ignore_index ${ignoreIndex})`);
    }
  }
}

function checkWeight(op: string, weight: Tensor | null, input: Tensor, C: number): void {
  if (!weight) return;
  weight.assertAlive(op);
  if (weight.ndim !== 1 || weight.shape[0] !== C) {
    throw new RangeError(`${op}: weight must have shape [${C}] (one per class), got ${fmtShape(weight.shape)}`);
  }
  if (weight.dtype !== input.dtype) throw new TypeError(`${op}: weight has dtype ${weight.dtype} but the input has dtype ${input.dtype}`);
  if (weight.device !== input.device) throw new Error(`${op}: weight is on '${weight.device}' but the input is on '${input.device}'`);
}

/** Applies a reduction to per-sample losses given the per-sample weights (PyTorch's weighted mean). */
function reduce(per: Tensor, wsum: Tensor, reduction: Reduction, outShape: number[]): Tensor {
  if (reduction === 'none') return reshape(per, outShape);
  if (reduction === 'sum') return sum(per);
  const denom = sum(wsum);
  const out = div(sum(per), denom);
  return out;
}

/**
 * Cross entropy between logits and class-index targets, exactly as PyTorch 1.13's
 * F.cross_entropy: with lp = log_softmax(input, 1), t = target, eps = label_smoothing, w = weight
 * (all ones when null), each sample's loss is
 *   (1 - eps) * w[t] * (-lp[t]) + (eps / C) * sum_c w[c] * (-lp[c])
 * and 0 where t == ignore_index. 'sum' adds them; 'mean' divides the sum by the sum of w[t] over
 * the non-ignored samples (NaN when every sample is ignored, as PyTorch); 'none' returns them.
 *
 * Shapes: input (N, C) with target (N); also (N, C, d1, ...) with (N, d1, ...), and unbatched (C)
 * with a 0-d target. Output: a 0-d tensor, or the target's shape with reduction 'none'.
 * target is int32. Differentiable in input (weight is a constant, as in PyTorch).
 *
 * Source: PyTorch 1.13 docs, torch.nn.functional.cross_entropy and torch.nn.CrossEntropyLoss.
 * @throws TypeError for an int32 input, non-int32 target or mismatched dtypes; RangeError for
 * mismatched shapes, an unknown reduction, label_smoothing outside [0, 1], or (cpu tensors) a
 * target outside [0, C) that is not ignore_index ("Target 5 is out of bounds"). On webgpu the
 * targets cannot be read synchronously: they are checked on the GPU (the loss is NaN) and
 * the next readback (`data()`, `item()`, `sync()`) throws "cross_entropy: a target is out of
 * bounds", like PyTorch's CUDA device-side assert.
 */
export function cross_entropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const op = 'cross_entropy';
  const reduction = opts.reduction ?? 'mean';
  const ignoreIndex = opts.ignore_index ?? -100;
  const ls = opts.label_smoothing ?? 0;
  const weight = opts.weight ?? null;
  checkReduction(op, reduction);
  if (!Number.isInteger(ignoreIndex)) throw new RangeError(`${op}: ignore_index must be an integer, got ${ignoreIndex}`);
  if (!(ls >= 0 && ls <= 1)) throw new RangeError(`${op}: label_smoothing must be between 0.0 and 1.0. Got: ${ls}`);
  const { C, outShape } = classGeometry(op, input, target);
  checkWeight(op, weight, input, C);
  checkTargets(op, target, C, ignoreIndex);
  const { rows, tgt } = toRows(input, target, C);

  const M = rows.shape[0]!;
  const p: CrossEntropyParams = { N: M, C, ignoreIndex, labelSmoothing: ls };
  const logits = rows._isDense ? rows : denseCopy(rows);
  const tg = tgt._isDense ? tgt : denseCopy(tgt);
  const wd = weight ? (weight._isDense ? weight : denseCopy(weight)) : null;
  const per = Tensor.empty([M], input.dtype, input.device);
  const wsum = Tensor.empty([M], input.dtype, input.device);
  const b = input.backend;
  b.crossEntropy(logits.storage, tg.storage, wd?.storage ?? null, per.storage, wsum.storage, p);
  const loss = record(op, per, [rows], (gy) => {
    const g = gy._isDense ? gy : denseCopy(gy);
    const gx = Tensor.empty([M, C], input.dtype, input.device);
    b.crossEntropyBackward(logits.storage, tg.storage, wd?.storage ?? null, g.storage, gx.storage, p);
    if (g !== gy) g.dispose();
    return [gx];
  });
  return reduce(loss, wsum, reduction, outShape);
}

/**
 * Negative log likelihood of class-index targets given log-probabilities (PyTorch's F.nll_loss):
 * each sample's loss is -weight[t] * input[t] (0 where t == ignore_index); 'mean' divides the sum
 * by the sum of weight[t] over non-ignored samples. Composed from differentiable ops.
 *
 * Shapes as {@link cross_entropy}: (N, C) with target (N), (N, C, d1, ...) with (N, d1, ...), or
 * (C) with a 0-d target; output 0-d or the target's shape ('none'). target is int32.
 *
 * Source: PyTorch docs, torch.nn.functional.nll_loss and torch.nn.NLLLoss.
 * @throws As {@link cross_entropy} (on webgpu an out-of-range target is checked on the GPU and
 * reported at the next readback: "nll_loss: a target is out of bounds").
 */
export function nll_loss(input: Tensor, target: Tensor, opts: Omit<CrossEntropyOptions, 'label_smoothing'> = {}): Tensor {
  const op = 'nll_loss';
  const reduction = opts.reduction ?? 'mean';
  const ignoreIndex = opts.ignore_index ?? -100;
  const weight = opts.weight ?? null;
  checkReduction(op, reduction);
  if (!Number.isInteger(ignoreIndex)) throw new RangeError(`${op}: ignore_index must be an integer, got ${ignoreIndex}`);
  const { C, outShape } = classGeometry(op, input, target);
  checkWeight(op, weight, input, C);
  checkTargets(op, target, C, ignoreIndex);
  const { rows, tgt } = toRows(input, target, C);

  // pick[i, c] = 1 where c == target[i] and target[i] != ignore_index.
  const classes = arange(C, undefined, 1, { dtype: 'int32', device: input.device });
  const col = unsqueeze(tgt, 1);
  const hit = eq(col, classes);
  const valid = ne(col, ignoreIndex);
  const pickI = mul(hit, valid);
  const pick = toDType(pickI, input.dtype);
  // where() (not a product) so that -inf log-probabilities of other classes cannot make NaN.
  const zero = scalarLike(0, input);
  const chosen = sum(where(pick, rows, zero), 1);
  const wRow = weight ? sum(mul(pick, weight.detach()), 1) : sum(pick, 1);
  const per = neg(mul(chosen, wRow));
  // pick and zero stay alive: where()'s backward reads them.
  for (const t of [classes, hit, valid]) t.dispose();
  if (pick !== pickI) pickI.dispose();
  return reduce(per, wRow, reduction, outShape);
}

/**
 * Mean squared error (PyTorch's F.mse_loss): (input - target)^2 elementwise, then 'mean' (over
 * all elements), 'sum' or 'none'. input and target broadcast together (PyTorch warns when their
 * sizes differ; this function does not). Differentiable in both. Output 0-d, or the broadcast
 * shape with 'none'.
 *
 * Source: PyTorch docs, torch.nn.functional.mse_loss and torch.nn.MSELoss.
 * @throws RangeError for shapes that do not broadcast or an unknown reduction; TypeError for int32.
 */
export function mse_loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const reduction = opts.reduction ?? 'mean';
  checkReduction('mse_loss', reduction);
  if (input.dtype === 'int32' || target.dtype === 'int32') {
    throw new TypeError(`mse_loss: expects floating-point tensors, got ${input.dtype} and ${target.dtype}`);
  }
  const d = sub(input, target);
  const sq = mul(d, d);
  if (reduction === 'none') return sq;
  return reduction === 'sum' ? sum(sq) : mean(sq);
}
