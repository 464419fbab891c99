/**
 * ResEmoteNet (Roy, Kathania, Joshi, Siddiqui, "ResEmoteNet: Bridging Accuracy and Loss Reduction
 * in Facial Emotion Recognition", arXiv 2409.00172, 2024), laid out exactly as the paper's
 * official PyTorch implementation so that its state_dict keys (`conv1.weight`,
 * `bn1.running_mean`, `se.fc.0.weight`, `res_block1.shortcut.0.weight`, `fc4.bias`, ...) load
 * as they are.
 */
import type { Tensor } from '../tensor/tensor.js';
import { relu } from '../tensor/ops/elementwise.js';
import { Module } from '../nn/module.js';
import { Conv2d } from '../nn/layers/conv.js';
import { BatchNorm2d } from '../nn/layers/batchnorm.js';
import { Linear, type FactoryOptions } from '../nn/layers/linear.js';
import { Dropout, ReLU } from '../nn/layers/activation.js';
import { AdaptiveAvgPool2d } from '../nn/layers/pooling.js';
import { Sequential } from '../nn/layers/container.js';
import { SEBlock } from '../nn/layers/se.js';
import { EMOTIONS } from './data/labels.js';
import { bn_max_pool2d_relu, conv_bn } from '../nn/fusion.js';

/**
 * The residual block of ResEmoteNet: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), with
 * conv1 3x3 carrying the stride, conv2 3x3, and shortcut = Conv2d 1x1 (stride) + BatchNorm2d when
 * the stride or the width changes (else identity, an empty Sequential in PyTorch).
 * Shapes: (N, in_ch, H, W) -> (N, out_ch, ceil(H/stride), ceil(W/stride)).
 */
export class ResidualBlock extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  shortcut: Sequential;

  constructor(in_ch: number, out_ch: number, stride = 1, f: FactoryOptions = {}) {
    super();
    this.conv1 = new Conv2d(in_ch, out_ch, 3, { stride, padding: 1, ...f });
    this.bn1 = new BatchNorm2d(out_ch, f);
    this.conv2 = new Conv2d(out_ch, out_ch, 3, { stride: 1, padding: 1, ...f });
    this.bn2 = new BatchNorm2d(out_ch, f);
    this.shortcut =
      stride !== 1 || in_ch !== out_ch ? new Sequential(new Conv2d(in_ch, out_ch, 1, { stride, ...f }), new BatchNorm2d(out_ch, f)) : new Sequential();
  }

  override forward(x: Tensor): Tensor {
    const sc = this.shortcut.length === 0 ? x : this.shortcutForward(x);
    // in evaluation the add and the relu happen in conv2's store (conv_bn)
    return conv_bn(this.conv2, this.bn2, conv_bn(this.conv1, this.bn1, x, { relu: true }), { residual: sc, relu: true });
  }

  /** The projection shortcut: conv 1x1 + BatchNorm2d, fused in evaluation (see conv_bn) when it is that pair. */
  private shortcutForward(x: Tensor): Tensor {
    const [conv, bn] = [this.shortcut.at(0), this.shortcut.at(1)];
    if (this.shortcut.length === 2 && conv instanceof Conv2d && bn instanceof BatchNorm2d) return conv_bn(conv, bn, x);
    return this.shortcut.call(x);
  }
}

/**
 * The channel count of every layer of a ResEmoteNet: output channels of conv1..conv3 and of
 * res_block1..3 (both convs and the shortcut of a block share it), the SE block's hidden units
 * (`se.fc.0` has `se` rows), and the output features of fc1..fc3 (fc4 gives num_classes).
 * The paper's model (width 1) is conv 64, 128, 256, se 16, res 512, 1024, 2048, fc 1024, 512, 256.
 */
export interface ResEmoteNetChannels {
  conv1: number;
  conv2: number;
  conv3: number;
  se: number;
  res_block1: number;
  res_block2: number;
  res_block3: number;
  fc1: number;
  fc2: number;
  fc3: number;
}

/** Layer names of {@link ResEmoteNetChannels}, in forward order. */
export const CHANNEL_KEYS: readonly (keyof ResEmoteNetChannels)[] = ['conv1', 'conv2', 'conv3', 'se', 'res_block1', 'res_block2', 'res_block3', 'fc1', 'fc2', 'fc3'];

/** The paper's channel counts (width 1). */
export const FULL_CHANNELS: Readonly<ResEmoteNetChannels> = Object.freeze({
  conv1: 64,
  conv2: 128,
  conv3: 256,
  se: 16,
  res_block1: 512,
  res_block2: 1024,
  res_block3: 2048,
  fc1: 1024,
  fc2: 512,
  fc3: 256,
});

/**
 * How a width multiplier w turns the paper's channel count n into a layer's:
 * - 'max16' (this library's default): max(16, round(n * w)), so the SE block's reduction of 16
 *   keeps a hidden unit (width 1/8: conv1 16);
 * - 'floor': floor(n * w), at least 1, as PyTorch code that divides channel counts (`64 // 8`,
 *   width 1/8: conv1 8); the SE block then has floor(conv3 / 16) hidden units, at least 1.
 */
export type WidthRule = 'max16' | 'floor';

/**
 * The channel counts of the variant with width multiplier `width` under `rule` (see {@link WidthRule}).
 * @throws RangeError for a non-positive width or an unknown rule.
 */
export function channelsForWidth(width: number, rule: WidthRule = 'max16'): ResEmoteNetChannels {
  if (!(width > 0)) throw new RangeError(`ResEmoteNet: width must be positive, got ${width}`);
  if (rule !== 'max16' && rule !== 'floor') throw new RangeError(`ResEmoteNet: width_rule must be 'max16' or 'floor', got '${String(rule)}'`);
  // 1e-9: n * w may land just under an integer in floating point (e.g. 0.7 * 10)
  const c = rule === 'max16' ? (n: number) => Math.max(16, Math.round(n * width)) : (n: number) => Math.max(1, Math.floor(n * width + 1e-9));
  const out = {} as ResEmoteNetChannels;
  for (const k of CHANNEL_KEYS) out[k] = k === 'se' ? 0 : c(FULL_CHANNELS[k]);
  out.se = Math.max(1, Math.floor(out.conv3 / 16));
  return out;
}

export interface ResEmoteNetOptions extends FactoryOptions {
  /** Number of output classes (default 7). */
  num_classes?: number;
  /**
   * Channel-width multiplier for small variants (default 1): every conv and hidden linear width
   * is scaled and rounded, with at least `16` conv channels so the SE reduction of 16 keeps a
   * hidden unit. 1 gives the paper's model (about 80.2M parameters).
   */
  width?: number;
  /** How `width` scales channel counts: 'max16' (default) or 'floor' (PyTorch's `c // k`); see {@link WidthRule}. */
  width_rule?: WidthRule;
  /**
   * Every layer's channel count, e.g. as read from a checkpoint's shapes by `inferChannels`
   * (src/resemotenet/arch.ts). Overrides `width` and `width_rule` (`width` is then only recorded;
   * it defaults to res_block3 / 2048).
   */
  channels?: ResEmoteNetChannels;
  /** Class names in output order (default FER2013's: angry, disgust, fear, happy, sad, surprise, neutral). */
  class_names?: readonly string[];
  /**
   * Dropout probability after the first two conv stages (default 0.2, the paper's). A training
   * setting only: it changes no parameter or state_dict key.
   */
  dropout?: number;
  /** Dropout probability after fc1, fc2 and fc3 (default 0.5, the paper's). A training setting only. */
  fc_dropout?: number;
}

/**
 * ResEmoteNet. Input (N, 3, 64, 64) normalized images (ImageNet mean/std), output logits
 * (N, num_classes). Layers (width 1):
 * conv1 3->64, conv2 64->128, conv3 128->256 (3x3, padding 1, bias), each with BatchNorm2d, ReLU
 * and 2x2 max pooling, dropout 0.2 after the first two; SE block on 256 channels (reduction 16,
 * the fused se_block kernel); residual blocks 256->512, 512->1024, 1024->2048 with stride 2;
 * adaptive average pool to 1x1; fc1 2048->1024, fc2 1024->512, fc3 512->256 each with ReLU and
 * dropout 0.5; fc4 256->num_classes.
 * Any input size of at least 8x8 works (adaptive pooling), 64x64 is the trained size.
 * Smaller variants scale the channel counts by `width` (see {@link WidthRule}) or take every
 * layer's count from `channels`.
 * @throws RangeError for a non-positive width or class count, a channel count that is not a
 * positive integer, or a dropout outside [0, 1].
 */
export class ResEmoteNet extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  conv3: Conv2d;
  bn3: BatchNorm2d;
  relu = new ReLU(true);
  se: SEBlock;
  res_block1: ResidualBlock;
  res_block2: ResidualBlock;
  res_block3: ResidualBlock;
  pool = new AdaptiveAvgPool2d([1, 1]);
  fc1: Linear;
  fc2: Linear;
  fc3: Linear;
  dropout1: Dropout;
  dropout2: Dropout;
  fc4: Linear;
  /** Output class names, in logit order. */
  readonly class_names: readonly string[];
  readonly width: number;
  readonly num_classes: number;
  /** The channel count of every layer. */
  readonly channels: Readonly<ResEmoteNetChannels>;

  constructor(opts: ResEmoteNetOptions = {}) {
    super();
    const ch = opts.channels ? checkChannels(opts.channels) : channelsForWidth(opts.width ?? 1, opts.width_rule ?? 'max16');
    const w = opts.width ?? (opts.channels ? ch.res_block3 / FULL_CHANNELS.res_block3 : 1);
    const k = opts.num_classes ?? 7;
    if (!(w > 0)) throw new RangeError(`ResEmoteNet: width must be positive, got ${w}`);
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`ResEmoteNet: num_classes must be a positive integer, got ${k}`);
    const names = opts.class_names ?? (k === 7 ? EMOTIONS : Array.from({ length: k }, (_, i) => `class_${i}`));
    if (names.length !== k) throw new RangeError(`ResEmoteNet: ${names.length} class names for ${k} classes`);
    this.class_names = [...names];
    this.width = w;
    this.num_classes = k;
    this.channels = Object.freeze({ ...ch });
    const f: FactoryOptions = { device: opts.device, dtype: opts.dtype };
    this.conv1 = new Conv2d(3, ch.conv1, 3, { padding: 1, ...f });
    this.bn1 = new BatchNorm2d(ch.conv1, f);
    this.conv2 = new Conv2d(ch.conv1, ch.conv2, 3, { padding: 1, ...f });
    this.bn2 = new BatchNorm2d(ch.conv2, f);
    this.conv3 = new Conv2d(ch.conv2, ch.conv3, 3, { padding: 1, ...f });
    this.bn3 = new BatchNorm2d(ch.conv3, f);
    this.se = new SEBlock(ch.conv3, { hidden: ch.se, ...f });
    this.res_block1 = new ResidualBlock(ch.conv3, ch.res_block1, 2, f);
    this.res_block2 = new ResidualBlock(ch.res_block1, ch.res_block2, 2, f);
    this.res_block3 = new ResidualBlock(ch.res_block2, ch.res_block3, 2, f);
    this.fc1 = new Linear(ch.res_block3, ch.fc1, f);
    this.fc2 = new Linear(ch.fc1, ch.fc2, f);
    this.fc3 = new Linear(ch.fc2, ch.fc3, f);
    this.dropout1 = new Dropout(opts.dropout ?? 0.2);
    this.dropout2 = new Dropout(opts.fc_dropout ?? 0.5);
    this.fc4 = new Linear(ch.fc3, k, f);
  }

  /**
   * max_pool2d(relu(bn(z)), 2) of a stem stage. In training as relu(max_pool2d(bn(z), 2)): the
   * same values and gradients (relu is monotone, so it commutes with max; a window whose maximum
   * is <= 0 gives 0 and no gradient either way), as ONE op (nn/fusion.ts bn_max_pool2d_relu): on
   * webgpu the normalized map and its gradient are never stored (src/kernels/webgpu/bn_pool.ts).
   * In evaluation as one fused conv2d_bn_eval (relu and pool in the conv's store).
   */
  private stage(conv: Conv2d, bn: BatchNorm2d, x: Tensor): Tensor {
    return this.training ? bn_max_pool2d_relu(bn, conv.call(x)) : conv_bn(conv, bn, x, { relu: true, max_pool: true });
  }

  override forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== 3) throw new RangeError(`ResEmoteNet: expected input (N, 3, H, W), got [${x.shape.join(', ')}]`);
    let h = this.stage(this.conv1, this.bn1, x);
    h = this.dropout1.call(h);
    h = this.stage(this.conv2, this.bn2, h);
    h = this.dropout1.call(h);
    h = this.stage(this.conv3, this.bn3, h);
    h = this.se.call(h);
    h = this.res_block1.call(h);
    h = this.res_block2.call(h);
    h = this.res_block3.call(h);
    h = this.pool.call(h);
    h = h.view(h.shape[0]!, -1);
    h = this.dropout2.call(relu(this.fc1.call(h)));
    h = this.dropout2.call(relu(this.fc2.call(h)));
    h = this.dropout2.call(relu(this.fc3.call(h)));
    return this.fc4.call(h);
  }
}

/** Validates an explicit channel spec: every layer named, each a positive integer. */
function checkChannels(ch: ResEmoteNetChannels): ResEmoteNetChannels {
  for (const k of CHANNEL_KEYS) {
    const v = (ch as unknown as Record<string, unknown>)[k];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1)) {
      throw new RangeError(`ResEmoteNet: channels.${k} must be a positive integer, got ${String(v)} (channels needs ${CHANNEL_KEYS.join(', ')})`);
    }
  }
  return ch;
}
