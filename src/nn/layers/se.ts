/** Squeeze-and-excitation block, laid out as ResEmoteNet's SEBlock. */
import type { Tensor } from '../../tensor/tensor.js';
import { se_block } from '../../tensor/ops/se.js';
import { Module } from '../module.js';
import { fmtShape } from '../_util.js';
import { AdaptiveAvgPool2d } from './pooling.js';
import { Sequential } from './container.js';
import { Linear, type FactoryOptions } from './linear.js';
import { ReLU, Sigmoid } from './activation.js';

export interface SEBlockOptions extends FactoryOptions {
  /** Channel reduction: the hidden width is floor(in_channels / reduction) (default 16). */
  reduction?: number;
  /** The hidden width itself (overrides `reduction`; e.g. as read from a checkpoint's `fc.0.weight`). */
  hidden?: number;
  /** Run the fused se_block kernel (default true) instead of composing the child modules. */
  fused?: boolean;
}

/**
 * Squeeze-and-excitation (Hu et al., CVPR 2018) with the module tree of ResEmoteNet's SEBlock:
 *   avg_pool = AdaptiveAvgPool2d(1)
 *   fc = Sequential(Linear(C, R, bias=False), ReLU(), Linear(R, C, bias=False), Sigmoid())
 * so its state_dict keys are `fc.0.weight` (R, C) and `fc.2.weight` (C, R).
 * forward: x (N, C, H, W) -> x * fc(avg_pool(x).view(N, C)).view(N, C, 1, 1). With `fused` (the
 * default) this runs as one F.se_block call; the result equals the composed modules up to rounding.
 * @throws RangeError when in_channels / reduction < 1 (or `hidden` is not a positive integer), or
 * (forward) x is not (N, in_channels, H, W).
 */
export class SEBlock extends Module {
  readonly in_channels: number;
  readonly reduction: number;
  fused: boolean;
  avg_pool: AdaptiveAvgPool2d;
  fc: Sequential;

  constructor(in_channels: number, opts: SEBlockOptions = {}) {
    super();
    const reduction = opts.reduction ?? 16;
    const hidden = opts.hidden ?? Math.floor(in_channels / reduction);
    if (opts.hidden !== undefined && !(Number.isInteger(hidden) && hidden >= 1)) throw new RangeError(`SEBlock: hidden must be a positive integer, got ${opts.hidden}`);
    if (!Number.isInteger(in_channels) || in_channels < 1 || !(hidden >= 1)) {
      throw new RangeError(`SEBlock: in_channels (${in_channels}) / reduction (${reduction}) must leave at least one hidden unit`);
    }
    this.in_channels = in_channels;
    this.reduction = reduction;
    this.fused = opts.fused ?? true;
    const f = { device: opts.device, dtype: opts.dtype };
    this.avg_pool = new AdaptiveAvgPool2d(1);
    this.fc = new Sequential(new Linear(in_channels, hidden, { ...f, bias: false }), new ReLU(true), new Linear(hidden, in_channels, { ...f, bias: false }), new Sigmoid());
  }

  override forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.in_channels) {
      throw new RangeError(`SEBlock: expected input (N, ${this.in_channels}, H, W), got ${fmtShape(x.shape)}`);
    }
    const l1 = this.fc.at<Linear>(0);
    const l2 = this.fc.at<Linear>(2);
    if (this.fused) return se_block(x, l1.weight, l2.weight);
    const [b, c] = x.shape as [number, number];
    const y = this.avg_pool.call(x).view(b, c);
    const gate = this.fc.call(y).view(b, c, 1, 1);
    return x.mul(gate.expand_as(x));
  }
}
