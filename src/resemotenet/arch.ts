/**
 * ResEmoteNet's architecture read from a state dict's shapes: every layer's channel count, the
 * class count, and the width multiplier and rule that reproduce them when one does. A checkpoint
 * made by PyTorch code that divides channel counts (`64 // 8`) or by any other width rule loads
 * exactly, because nothing is guessed from a single layer.
 */
import { channelsForWidth, CHANNEL_KEYS, FULL_CHANNELS, type ResEmoteNetChannels, type WidthRule } from './model.js';

/** Anything with a shape: a Tensor, or a safetensors header entry (so no tensor data is needed). */
export interface Shaped {
  readonly shape: readonly number[];
}

/** What {@link inferChannels} finds. Compatible with checkpoint.ts's `inferArchitecture` result. */
export interface InferredArchitecture {
  /** Classes (rows of fc4.weight). */
  num_classes: number;
  /** res_block3's channels / 2048: the width multiplier when `width_rule` is set, else nominal. */
  width: number;
  /** The rule that gives `channels` from `width`, when 'max16' or 'floor' does; else undefined. */
  width_rule?: WidthRule;
  /** Every layer's channel count, for `new ResEmoteNet({ channels })`. */
  channels: ResEmoteNetChannels;
}

/** [key, dims, [dim, layer whose channels it must equal], ...]: each weight's expected shape. */
const LAYOUT: readonly [string, number, readonly [number, keyof ResEmoteNetChannels | 'in3' | 'classes' | 'k3' | 'k1'][]][] = [
  ['conv1.weight', 4, [[0, 'conv1'], [1, 'in3'], [2, 'k3'], [3, 'k3']]],
  ['conv2.weight', 4, [[0, 'conv2'], [1, 'conv1'], [2, 'k3'], [3, 'k3']]],
  ['conv3.weight', 4, [[0, 'conv3'], [1, 'conv2'], [2, 'k3'], [3, 'k3']]],
  ['se.fc.0.weight', 2, [[0, 'se'], [1, 'conv3']]],
  ['se.fc.2.weight', 2, [[0, 'conv3'], [1, 'se']]],
  ['res_block1.conv1.weight', 4, [[0, 'res_block1'], [1, 'conv3'], [2, 'k3'], [3, 'k3']]],
  ['res_block1.conv2.weight', 4, [[0, 'res_block1'], [1, 'res_block1'], [2, 'k3'], [3, 'k3']]],
  ['res_block1.shortcut.0.weight', 4, [[0, 'res_block1'], [1, 'conv3'], [2, 'k1'], [3, 'k1']]],
  ['res_block2.conv1.weight', 4, [[0, 'res_block2'], [1, 'res_block1'], [2, 'k3'], [3, 'k3']]],
  ['res_block2.conv2.weight', 4, [[0, 'res_block2'], [1, 'res_block2'], [2, 'k3'], [3, 'k3']]],
  ['res_block2.shortcut.0.weight', 4, [[0, 'res_block2'], [1, 'res_block1'], [2, 'k1'], [3, 'k1']]],
  ['res_block3.conv1.weight', 4, [[0, 'res_block3'], [1, 'res_block2'], [2, 'k3'], [3, 'k3']]],
  ['res_block3.conv2.weight', 4, [[0, 'res_block3'], [1, 'res_block3'], [2, 'k3'], [3, 'k3']]],
  ['res_block3.shortcut.0.weight', 4, [[0, 'res_block3'], [1, 'res_block2'], [2, 'k1'], [3, 'k1']]],
  ['fc1.weight', 2, [[0, 'fc1'], [1, 'res_block3']]],
  ['fc2.weight', 2, [[0, 'fc2'], [1, 'fc1']]],
  ['fc3.weight', 2, [[0, 'fc3'], [1, 'fc2']]],
  ['fc4.weight', 2, [[0, 'classes'], [1, 'fc3']]],
];

/** Where each layer's channel count is read (the first dimension of its weight). */
const SOURCE: Readonly<Record<keyof ResEmoteNetChannels, string>> = {
  conv1: 'conv1.weight',
  conv2: 'conv2.weight',
  conv3: 'conv3.weight',
  se: 'se.fc.0.weight',
  res_block1: 'res_block1.conv1.weight',
  res_block2: 'res_block2.conv1.weight',
  res_block3: 'res_block3.conv1.weight',
  fc1: 'fc1.weight',
  fc2: 'fc2.weight',
  fc3: 'fc3.weight',
};

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/**
 * Every layer's channel count of a ResEmoteNet state dict, read from the weights' shapes and
 * checked for consistency (each layer's input channels are the previous layer's output, kernels
 * are 3x3 / 1x1, the input has 3 channels). Also gives num_classes, and the width multiplier and
 * rule when `channelsForWidth(width, rule)` reproduces the channels exactly. Only shapes are read:
 * `sd` may map keys to Tensors or to safetensors header entries. Buffers and biases are checked by
 * the strict load that follows, not here.
 * @throws Error naming the missing key when the state dict is not ResEmoteNet's; naming the key,
 * its shape and the expected one when the shapes disagree with each other.
 */
export function inferChannels(sd: Readonly<Record<string, Shaped | undefined>>): InferredArchitecture {
  const get = (key: string): readonly number[] => {
    const t = Object.hasOwn(sd, key) ? sd[key] : undefined;
    if (!t) {
      const keys = Object.keys(sd);
      throw new Error(`not a ResEmoteNet state dict: no '${key}' (keys: ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', ...' : ''})`);
    }
    return t.shape;
  };
  const ch = {} as ResEmoteNetChannels;
  for (const k of CHANNEL_KEYS) {
    const s = get(SOURCE[k]);
    ch[k] = s[0]!;
  }
  const fc4 = get('fc4.weight');
  const num_classes = fc4[0]!;
  const want = (what: string): number => (what === 'in3' || what === 'k3' ? 3 : what === 'k1' ? 1 : what === 'classes' ? num_classes : ch[what as keyof ResEmoteNetChannels]);
  for (const [key, nd, dims] of LAYOUT) {
    const s = get(key);
    const expected = Array.from({ length: nd }, (_, d) => want(dims.find(([i]) => i === d)![1]));
    if (s.length !== nd || s.some((v, d) => v !== expected[d]) || expected.some((v) => !(Number.isInteger(v) && v >= 1))) {
      throw new Error(`not a consistent ResEmoteNet state dict: '${key}' has shape ${fmt(s)}, the other layers' shapes call for ${fmt(expected)}`);
    }
  }
  const width = ch.res_block3 / FULL_CHANNELS.res_block3;
  const same = (a: ResEmoteNetChannels) => CHANNEL_KEYS.every((k) => a[k] === ch[k]);
  const width_rule = (['max16', 'floor'] as const).find((r) => same(channelsForWidth(width, r)));
  return width_rule ? { num_classes, width, width_rule, channels: ch } : { num_classes, width, channels: ch };
}
