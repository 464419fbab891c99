/** batch_norm (PyTorch's F.batch_norm), forward and backward through the backend primitives. */
import type { BatchNormParams } from '../../kernels/backend.js';
import { needsGrad, record } from '../autograd.js';
import { fmtShape, numel } from '../shape.js';
import { Tensor } from '../tensor.js';
import { relu, unaryRaw } from './elementwise.js';
import { is_grad_enabled } from '../grad_mode.js';
import { denseCopy, zerosLike } from './views.js';
import { max_pool2d } from './pool.js';

/** t itself when it reads its storage densely from element 0, else a dense copy (no grad). */
function dense(t: Tensor): Tensor {
  return t._isDense ? t : denseCopy(t);
}

/** @internal A (C) vector argument `name` of batch_norm: alive, shape [C], the dtype and device of x. */
export function checkVec(name: string, v: Tensor | null, x: Tensor, C: number): void {
  if (!v) return;
  v.assertAlive('batch_norm');
  if (v.ndim !== 1 || v.shape[0] !== C) {
    throw new RangeError(`batch_norm: ${name} should contain ${C} elements (shape [${C}]), got shape ${fmtShape(v.shape)} (input ${fmtShape(x.shape)})`);
  }
  if (v.dtype !== x.dtype) throw new TypeError(`batch_norm: ${name} has dtype ${v.dtype} but the input has dtype ${x.dtype}`);
  if (v.device !== x.device) throw new Error(`batch_norm: ${name} is on '${v.device}' but the input is on '${x.device}'`);
}

/** batch_norm's argument checks (the messages are PyTorch's where it has one); x viewed as (N, C, S). */
function checkArgs(x: Tensor, running_mean: Tensor | null, running_var: Tensor | null, weight: Tensor | null, bias: Tensor | null, training: boolean, momentum: number, eps: number): { N: number; C: number; S: number } {
  x.assertAlive('batch_norm');
  if (x.dtype === 'int32') throw new TypeError('batch_norm: expects a floating-point input, got int32');
  if (x.ndim < 2) throw new RangeError(`batch_norm: expects an input of shape (N, C, *) with at least 2 dims, got ${fmtShape(x.shape)}`);
  const N = x.shape[0]!;
  const C = x.shape[1]!;
  const S = numel(x.shape.slice(2));
  checkVec('weight', weight, x, C);
  checkVec('bias', bias, x, C);
  checkVec('running_mean', running_mean, x, C);
  checkVec('running_var', running_var, x, C);
  if ((running_mean === null) !== (running_var === null)) {
    throw new Error('batch_norm: running_mean and running_var must be given together (or both null)');
  }
  if (!training && (!running_mean || !running_var)) {
    throw new Error('batch_norm: running_mean and running_var must be defined in evaluation mode (training = false)');
  }
  if (!Number.isFinite(momentum)) throw new RangeError(`batch_norm: momentum must be a finite number, got ${momentum}`);
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new RangeError(`batch_norm: eps must be a finite non-negative number, got ${eps}`);
  if (training && N * S === 1) {
    throw new RangeError(`batch_norm: Expected more than 1 value per channel when training, got input size ${fmtShape(x.shape)}`);
  }
  return { N, C, S };
}

/** After a training kernel updated the dense copies rm / rv of the running statistics: copies them back when they are copies, and bumps the versions. */
function writeBack(running_mean: Tensor | null, rm: Tensor | null, running_var: Tensor | null, rv: Tensor | null): void {
  for (const [dst, src] of [[running_mean, rm], [running_var, rv]] as const) {
    if (!dst || !src) continue;
    if (src !== dst) {
      dst.backend.copy(src.storage, src.layout, dst.storage, dst.layout);
      src.dispose();
    }
    dst._version++;
  }
}

/**
 * Batch normalization over the channel dim 1 of x (N, C, *) -> same shape:
 * y = (x - mean) / sqrt(var + eps) * weight + bias, per channel.
 *
 * - training: mean and the BIASED variance of the batch (over N and the spatial dims) normalize x;
 *   when running_mean/running_var are given they are updated in place with
 *   running = (1 - momentum) * running + momentum * batch_stat, where running_var takes the
 *   UNBIASED batch variance, and their `_version` is bumped. The backward goes through the batch
 *   statistics.
 * - eval: running_mean and running_var (required) normalize x; they are constants in the backward.
 *
 * weight and bias (C) may be null (affine = false). Gradients flow to x, weight and bias; the
 * running statistics never get gradients. An empty input (N*S = 0) gives an empty output and
 * leaves the running statistics untouched, as PyTorch.
 *
 * Source: PyTorch docs, torch.nn.functional.batch_norm and torch.nn.BatchNorm2d.
 * @throws RangeError when x has fewer than 2 dims, when a (C) tensor has the wrong shape, or when
 * training with a single value per channel ("Expected more than 1 value per channel when training").
 * @throws TypeError for an int32 input or mismatched dtypes; Error for mismatched devices, or when
 * running_mean/running_var are missing in eval mode.
 */
export function batch_norm(
  x: Tensor,
  running_mean: Tensor | null,
  running_var: Tensor | null,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  training = false,
  momentum = 0.1,
  eps = 1e-5,
): Tensor {
  const { N, C, S } = checkArgs(x, running_mean, running_var, weight, bias, training, momentum, eps);

  if (x.numel() === 0) {
    const out = Tensor.empty(x.shape, x.dtype, x.device);
    return record('batch_norm', out, [x, weight, bias], () => [zerosLike(x.shape, x), weight ? zerosLike([C], weight) : null, bias ? zerosLike([C], bias) : null]);
  }

  const p: BatchNormParams = { N, C, S, eps, momentum };
  const b = x.backend;
  const xd = dense(x);
  const wd = weight ? dense(weight) : null;
  const bd = bias ? dense(bias) : null;
  const out = Tensor.empty(x.shape, x.dtype, x.device);
  const grad = needsGrad(x, weight, bias);
  let saveMean: Tensor;
  let saveInvstd: Tensor;

  if (training) {
    saveMean = Tensor.empty([C], x.dtype, x.device);
    saveInvstd = Tensor.empty([C], x.dtype, x.device);
    // The kernel updates dense storages; strided running stats go through dense copies.
    const rm = running_mean ? dense(running_mean) : null;
    const rv = running_var ? dense(running_var) : null;
    b.batchNormTrain(xd.storage, wd?.storage ?? null, bd?.storage ?? null, rm?.storage ?? null, rv?.storage ?? null, out.storage, saveMean.storage, saveInvstd.storage, p);
    writeBack(running_mean, rm, running_var, rv);
  } else {
    const rm = running_mean!;
    const rv = running_var!;
    const rmd = dense(rm);
    const rvd = dense(rv);
    b.batchNormEval(xd.storage, wd?.storage ?? null, bd?.storage ?? null, rmd.storage, rvd.storage, out.storage, p);
    if (rvd !== rv) rvd.dispose();
    if (!grad) {
      if (rmd !== rm) rmd.dispose();
      if (xd !== x) xd.dispose();
      if (wd && wd !== weight) wd.dispose();
      if (bd && bd !== bias) bd.dispose();
      return out;
    }
    // Snapshot the statistics used, so later updates of the running buffers cannot change the backward.
    saveMean = rmd === rm ? denseCopy(rm) : rmd;
    const shifted = unaryRaw('add_scalar', rv, eps);
    saveInvstd = unaryRaw('rsqrt', shifted);
    shifted.dispose();
  }
  if (bd && bd !== bias) bd.dispose();
  if (!grad) {
    saveMean.dispose();
    saveInvstd.dispose();
    if (xd !== x) xd.dispose();
    if (wd && wd !== weight) wd.dispose();
    return out;
  }

  return record('batch_norm', out, [x, weight, bias], (gy) => {
    const g = dense(gy);
    const gx = Tensor.empty(x.shape, x.dtype, x.device);
    const gw = weight?.requires_grad ? Tensor.empty([C], x.dtype, x.device) : null;
    const gb = bias?.requires_grad ? Tensor.empty([C], x.dtype, x.device) : null;
    b.batchNormBackward(g.storage, xd.storage, wd?.storage ?? null, saveMean.storage, saveInvstd.storage, gx.storage, gw?.storage ?? null, gb?.storage ?? null, p, training);
    if (g !== gy) g.dispose();
    if (!x.requires_grad) {
      gx.dispose();
      return [null, gw, gb];
    }
    return [gx, gw, gb];
  });
}

/**
 * relu(batch_norm(x, running_mean, running_var, weight, bias, training = false, eps)) computed
 * in one pass over x (the eval batch_norm kernel writes the relu of its result): inference
 * through conv -> batch_norm -> relu stacks without a separate relu pass. The same values as the
 * composition (NaN stays NaN). When autograd would record (grad enabled and an input requiring
 * grad) it IS the composition, so gradients are PyTorch's.
 *
 * @param x (N, C, *) float input
 * @param running_mean, running_var (C) statistics (required: evaluation mode)
 * @param weight, bias (C) affine parameters or null
 * @throws as batch_norm (shapes, dtypes, missing statistics)
 */
export function batch_norm_relu(
  x: Tensor,
  running_mean: Tensor,
  running_var: Tensor,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  eps = 1e-5,
): Tensor {
  const recording = is_grad_enabled() && needsGrad(x, weight, bias);
  if (recording || x.numel() === 0 || x.dtype === 'int32' || x.ndim < 2 || !running_mean || !running_var) {
    return relu(batch_norm(x, running_mean, running_var, weight, bias, false, 0.1, eps));
  }
  const C = x.shape[1]!;
  checkVec('weight', weight, x, C);
  checkVec('bias', bias, x, C);
  checkVec('running_mean', running_mean, x, C);
  checkVec('running_var', running_var, x, C);
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new RangeError(`batch_norm: eps must be a finite non-negative number, got ${eps}`);
  const p: BatchNormParams = { N: x.shape[0]!, C, S: numel(x.shape.slice(2)), eps, momentum: 0.1, relu: true };
  const xd = dense(x);
  const wd = weight ? dense(weight) : null;
  const bd = bias ? dense(bias) : null;
  const rmd = dense(running_mean);
  const rvd = dense(running_var);
  const out = Tensor.empty(x.shape, x.dtype, x.device);
  x.backend.batchNormEval(xd.storage, wd?.storage ?? null, bd?.storage ?? null, rmd.storage, rvd.storage, out.storage, p);
  for (const [d, t] of [[xd, x], [wd, weight], [bd, bias], [rmd, running_mean], [rvd, running_var]] as const) if (d && d !== t) d.dispose();
  return out;
}

/**
 * relu(max_pool2d(batch_norm(x, running_mean, running_var, weight, bias, training = true,
 * momentum, eps), 2)): a training-mode batch_norm followed by 2x2 max pooling (stride 2) and relu,
 * the stage after each stem conv of ResEmoteNet, as ONE differentiable op. Values, gradients and
 * the running-statistics update are the composition's; the backend may fuse the passes (webgpu on
 * software adapters: the normalized full-resolution map and its gradient are never stored). When
 * H or W is odd (max_pool2d floors) or x is not 4-d it IS the composition.
 *
 * Shapes: x (N, C, H, W) -> (N, C, floor(H/2), floor(W/2)); running_mean, running_var, weight,
 * bias (C) or null (running statistics then not tracked; affine = false).
 * Source: PyTorch's F.batch_norm, F.max_pool2d and F.relu (the definitions composed).
 * @throws as batch_norm in training mode (shapes, dtypes, devices, one value per channel) and as
 * max_pool2d.
 */
export function batch_norm_max_pool2d_relu(
  x: Tensor,
  running_mean: Tensor | null,
  running_var: Tensor | null,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  momentum = 0.1,
  eps = 1e-5,
): Tensor {
  x.assertAlive('batch_norm');
  const H = x.shape[2] ?? 0;
  const W = x.shape[3] ?? 0;
  if (x.ndim !== 4 || x.dtype === 'int32' || H % 2 !== 0 || W % 2 !== 0 || x.numel() === 0) {
    return relu(max_pool2d(batch_norm(x, running_mean, running_var, weight, bias, true, momentum, eps), 2));
  }
  const { N, C } = checkArgs(x, running_mean, running_var, weight, bias, true, momentum, eps);

  const p: BatchNormParams = { N, C, S: H * W, eps, momentum };
  const b = x.backend;
  const xd = dense(x);
  const wd = weight ? dense(weight) : null;
  const bd = bias ? dense(bias) : null;
  const rm = running_mean ? dense(running_mean) : null;
  const rv = running_var ? dense(running_var) : null;
  const shape = [N, C, H / 2, W / 2];
  const out = Tensor.empty(shape, x.dtype, x.device);
  const idx = Tensor.empty(shape, 'int32', x.device);
  const saveMean = Tensor.empty([C], x.dtype, x.device);
  const saveInvstd = Tensor.empty([C], x.dtype, x.device);
  b.batchNormPoolTrain(xd.storage, wd?.storage ?? null, bd?.storage ?? null, rm?.storage ?? null, rv?.storage ?? null, out.storage, idx.storage, saveMean.storage, saveInvstd.storage, p, H, W);
  writeBack(running_mean, rm, running_var, rv);
  if (bd && bd !== bias) bd.dispose();
  if (!needsGrad(x, weight, bias)) {
    for (const t of [saveMean, saveInvstd, idx]) t.dispose();
    if (xd !== x) xd.dispose();
    if (wd && wd !== weight) wd.dispose();
    return out;
  }
  // the backward reads the forward's output for relu's mask (as sigmoid's reads its output)
  return record('batch_norm_max_pool2d_relu', out, [x, weight, bias], (gy) => {
    const g = dense(gy);
    const gx = Tensor.empty(x.shape, x.dtype, x.device);
    const gw = weight?.requires_grad ? Tensor.empty([C], x.dtype, x.device) : null;
    const gb = bias?.requires_grad ? Tensor.empty([C], x.dtype, x.device) : null;
    b.batchNormPoolBackward(g.storage, out.storage, idx.storage, xd.storage, wd?.storage ?? null, saveMean.storage, saveInvstd.storage, gx.storage, gw?.storage ?? null, gb?.storage ?? null, p, H, W);
    if (g !== gy) g.dispose();
    if (!x.requires_grad) {
      gx.dispose();
      return [null, gw, gb];
    }
    return [gx, gw, gb];
  });
}
