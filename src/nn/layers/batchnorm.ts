/** nn.BatchNorm1d and nn.BatchNorm2d (PyTorch's torch.nn.BatchNorm*d). */
import type { Tensor } from '../../tensor/tensor.js';
import { ones, zeros } from '../../tensor/ops/creation.js';
import { batch_norm } from '../../tensor/ops/batchnorm.js';
import { no_grad } from '../../tensor/grad_mode.js';
import { Module, Parameter } from '../module.js';
import { ones_, zeros_ } from '../init.js';
import { copyInto, fillInPlace, fmtShape, pyBool, pyFloat } from '../_util.js';
import type { FactoryOptions } from './linear.js';

export interface BatchNormOptions extends FactoryOptions {
  /** Added to the variance for numerical stability (default 1e-5). */
  eps?: number;
  /** Running-stat momentum (default 0.1); null for a cumulative moving average (1 / num_batches_tracked). */
  momentum?: number | null;
  /** Learnable per-channel weight (ones) and bias (zeros) (default true). */
  affine?: boolean;
  /** Keep running_mean/running_var/num_batches_tracked buffers (default true). */
  track_running_stats?: boolean;
}

/**
 * Shared implementation of BatchNorm1d/2d (PyTorch's `_BatchNorm`). Parameters `weight`, `bias`
 * (C) when affine; persistent buffers `running_mean` (zeros), `running_var` (ones) and
 * `num_batches_tracked` (0-d int32, PyTorch's int64) when tracking running stats.
 * Forward, as PyTorch: in training mode with tracking, num_batches_tracked += 1 and the factor
 * is `momentum` (or 1/num_batches_tracked when momentum is null); batch statistics normalize in
 * training mode (and in eval mode without running stats), running statistics in eval mode.
 */
export abstract class _BatchNorm extends Module {
  readonly num_features: number;
  eps: number;
  momentum: number | null;
  readonly affine: boolean;
  readonly track_running_stats: boolean;
  weight: Parameter | null;
  bias: Parameter | null;
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  declare num_batches_tracked: Tensor | null;
  /** Host copy of num_batches_tracked, valid while the tensor and its _version are unchanged. */
  private _nbtHost: { t: Tensor; version: number; value: number } | null = null;

  constructor(num_features: number, opts: BatchNormOptions = {}) {
    super();
    const name = this._get_name();
    if (!Number.isInteger(num_features) || num_features < 1) throw new RangeError(`${name}: num_features must be a positive integer, got ${num_features}`);
    const eps = opts.eps ?? 1e-5;
    if (!(eps >= 0)) throw new RangeError(`${name}: eps must be non-negative, got ${eps}`);
    const momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    if (momentum !== null && !Number.isFinite(momentum)) throw new RangeError(`${name}: momentum must be a number or null, got ${momentum}`);
    this.num_features = num_features;
    this.eps = eps;
    this.momentum = momentum;
    this.affine = opts.affine ?? true;
    this.track_running_stats = opts.track_running_stats ?? true;
    const f = { device: opts.device, dtype: opts.dtype };
    this.weight = this.affine ? new Parameter(ones([num_features], f)) : null;
    this.bias = this.affine ? new Parameter(zeros([num_features], f)) : null;
    if (this.track_running_stats) {
      this.register_buffer('running_mean', zeros([num_features], f));
      this.register_buffer('running_var', ones([num_features], f));
      this.register_buffer('num_batches_tracked', zeros([], { dtype: 'int32', device: opts.device }));
      this._nbtHost = { t: this.num_batches_tracked!, version: this.num_batches_tracked!._version, value: 0 };
    } else {
      this.register_buffer('running_mean', null);
      this.register_buffer('running_var', null);
      this.register_buffer('num_batches_tracked', null);
    }
  }

  /** Resets running_mean to 0, running_var to 1 and num_batches_tracked to 0. */
  reset_running_stats(): void {
    if (!this.track_running_stats) return;
    if (this.running_mean) zeros_(this.running_mean);
    if (this.running_var) ones_(this.running_var);
    if (this.num_batches_tracked) {
      fillInPlace(this.num_batches_tracked, 0);
      this._nbtHost = { t: this.num_batches_tracked, version: this.num_batches_tracked._version, value: 0 };
    }
  }

  /** Keeps the host copy of num_batches_tracked across moves, and learns it from a cpu checkpoint. */
  protected override _tensorsChanged(map: Map<Tensor, Tensor>, kind: 'moved' | 'loaded'): void {
    const nbt = this.num_batches_tracked;
    if (!nbt) return;
    const h = this._nbtHost;
    if (kind === 'moved') {
      if (h && map.get(h.t) === nbt && h.version === h.t._version) this._nbtHost = { t: nbt, version: nbt._version, value: h.value };
      return;
    }
    const src = map.get(nbt);
    this._nbtHost = src && src.device === 'cpu' && src.numel() === 1 ? { t: nbt, version: nbt._version, value: Number(src.itemSync()) } : null;
  }

  /** Resets the running statistics and the affine parameters (weight 1, bias 0). */
  reset_parameters(): void {
    this.reset_running_stats();
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }

  /** @throws RangeError when the input's rank is wrong for this layer. */
  protected abstract _check_input_dim(x: Tensor): void;

  /** Adds 1 to num_batches_tracked on its device; returns the new count (host side). */
  private _bumpCounter(nbt: Tensor): number {
    const h = this._nbtHost;
    let value: number;
    if (h && h.t === nbt && h.version === nbt._version) value = h.value;
    else if (nbt.device === 'cpu') value = nbt.itemSync();
    else if (this.momentum === null) {
      throw new Error(
        `${this._get_name()}: momentum=null needs num_batches_tracked on the host, but it was changed on '${nbt.device}' since this module last counted; ` +
          'use a numeric momentum, or load the state dict while the module is on cpu',
      );
    } else value = NaN;
    if (!Number.isNaN(value) && nbt.storage.size === 1 && nbt.numel() === 1) {
      // the count is known here: one fill of its own 1-element storage instead of an add and a copy
      nbt.backend.fill(nbt.storage, value + 1);
      nbt._version++;
    } else {
      no_grad(() => {
        const next = nbt.add(1);
        copyInto(nbt, next, `${this._get_name()}.num_batches_tracked`);
        next.dispose();
      });
    }
    this._nbtHost = Number.isNaN(value) ? null : { t: nbt, version: nbt._version, value: value + 1 };
    return value + 1;
  }

  override forward(x: Tensor): Tensor {
    const a = this._functionalArgs(x);
    return batch_norm(x, a.running_mean, a.running_var, this.weight, this.bias, a.training, a.momentum, this.eps);
  }

  /**
   * @internal The arguments of F.batch_norm for one forward call on x, after its checks and the
   * training bookkeeping (num_batches_tracked += 1, the cumulative factor when momentum is null):
   * what forward passes, and what fused callers (nn/fusion.ts) pass to their fused ops.
   */
  _functionalArgs(x: Tensor): { running_mean: Tensor | null; running_var: Tensor | null; training: boolean; momentum: number } {
    this._check_input_dim(x);
    if (x.shape[1] !== this.num_features) {
      throw new RangeError(`${this._get_name()}: expected input with ${this.num_features} channels (dim 1), got shape ${fmtShape(x.shape)}`);
    }
    let factor = this.momentum ?? 0;
    if (this.training && this.track_running_stats && this.num_batches_tracked) {
      const count = this._bumpCounter(this.num_batches_tracked);
      if (this.momentum === null) factor = 1 / count;
    }
    const bnTraining = this.training || (this.running_mean === null && this.running_var === null);
    const useStats = !this.training || this.track_running_stats;
    return { running_mean: useStats ? this.running_mean : null, running_var: useStats ? this.running_var : null, training: bnTraining, momentum: factor };
  }

  override extra_repr(): string {
    const m = this.momentum === null ? 'None' : pyFloat(this.momentum);
    return `${this.num_features}, eps=${pyFloat(this.eps)}, momentum=${m}, affine=${pyBool(this.affine)}, track_running_stats=${pyBool(this.track_running_stats)}`;
  }
}

/**
 * Batch normalization over a 4-d input (N, C, H, W), statistics per channel over (N, H, W)
 * (PyTorch's `nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True,
 * track_running_stats=True)`). See {@link _BatchNorm} for parameters, buffers and modes.
 * Source: https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html
 * @throws RangeError for a non-4-d input or a channel count other than num_features.
 */
export class BatchNorm2d extends _BatchNorm {
  protected override _check_input_dim(x: Tensor): void {
    if (x.ndim !== 4) throw new RangeError(`BatchNorm2d: expected 4D input (got ${x.ndim}D input of shape ${fmtShape(x.shape)})`);
  }
}

/**
 * Batch normalization over a 2-d (N, C) or 3-d (N, C, L) input (PyTorch's `nn.BatchNorm1d`).
 * Source: https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm1d.html
 * @throws RangeError for another rank or a channel count other than num_features.
 */
export class BatchNorm1d extends _BatchNorm {
  protected override _check_input_dim(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) throw new RangeError(`BatchNorm1d: expected 2D or 3D input (got ${x.ndim}D input of shape ${fmtShape(x.shape)})`);
  }
}
