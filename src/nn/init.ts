/**
 * Parameter initialization, PyTorch's torch.nn.init
 * (https://pytorch.org/docs/stable/nn.init.html). Every function fills its tensor in place
 * (without recording gradients, bumping `_version`) and returns it. Random draws come from the
 * seeded counter-based generator (`generator`, default: the default generator), so a seed gives
 * the same numbers on every device, though not the numbers PyTorch's RNG would give.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';
import { rand, randn } from '../tensor/ops/creation.js';
import { tidy } from '../tensor/memory.js';
import { no_grad } from '../tensor/grad_mode.js';
import { isFloating } from '../tensor/dtype.js';
import { copyInto, fillInPlace, fmtShape } from './_util.js';

export interface InitOptions {
  /** Random source (PyTorch 2's `generator=` argument); default: the default generator. */
  generator?: Generator;
}

/** Nonlinearities accepted by {@link calculate_gain}. */
export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'conv_transpose1d'
  | 'conv_transpose2d'
  | 'conv_transpose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'selu';

export type FanMode = 'fan_in' | 'fan_out';

function checkFloat(op: string, t: Tensor): void {
  t.assertAlive(op);
  if (!isFloating(t.dtype)) throw new TypeError(`nn.init.${op}: expects a floating-point tensor, got ${t.dtype} of shape ${fmtShape(t.shape)}`);
}

/** Writes `make()`'s values into t (intermediates freed). */
function fillWith(t: Tensor, make: () => Tensor): Tensor {
  no_grad(() =>
    tidy(() => {
      copyInto(t, make(), 'nn.init');
    }),
  );
  return t;
}

/**
 * The recommended gain for a nonlinearity (PyTorch's `calculate_gain`): 1 for linear, conv* and
 * sigmoid; 5/3 for tanh; sqrt(2) for relu; sqrt(2 / (1 + slope^2)) for leaky_relu (param is the
 * negative slope, default 0.01); 3/4 for selu.
 * @throws RangeError for an unknown nonlinearity or a non-numeric leaky_relu slope.
 */
export function calculate_gain(nonlinearity: Nonlinearity, param?: number | null): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'conv_transpose1d':
    case 'conv_transpose2d':
    case 'conv_transpose3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.sqrt(2);
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || Number.isNaN(slope)) throw new RangeError(`nn.init.calculate_gain: negative_slope ${String(param)} is not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new RangeError(`nn.init.calculate_gain: unsupported nonlinearity ${String(nonlinearity)}`);
  }
}

/**
 * [fan_in, fan_out] of a weight (PyTorch's `_calculate_fan_in_and_fan_out`): for shape
 * (out, in, *kernel), fan_in = in * prod(kernel) and fan_out = out * prod(kernel); for a
 * Linear weight (out, in), fan_in = in and fan_out = out.
 * @throws RangeError for tensors with fewer than 2 dims.
 */
export function _calculate_fan_in_and_fan_out(t: Tensor): [number, number] {
  if (t.ndim < 2) {
    throw new RangeError(`nn.init: fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape ${fmtShape(t.shape)})`);
  }
  let receptive = 1;
  for (const d of t.shape.slice(2)) receptive *= d;
  return [t.shape[1]! * receptive, t.shape[0]! * receptive];
}

/** The fan for `mode` (PyTorch's `_calculate_correct_fan`). @throws RangeError for an unknown mode. */
export function _calculate_correct_fan(t: Tensor, mode: FanMode): number {
  if (mode !== 'fan_in' && mode !== 'fan_out') throw new RangeError(`nn.init: mode ${String(mode)} not supported, please use one of fan_in, fan_out`);
  const [fanIn, fanOut] = _calculate_fan_in_and_fan_out(t);
  return mode === 'fan_in' ? fanIn : fanOut;
}

/** Fills t with U(a, b) (PyTorch's `uniform_`). @throws TypeError for int32; RangeError when a > b. */
export function uniform_(t: Tensor, a = 0, b = 1, opts: InitOptions = {}): Tensor {
  checkFloat('uniform_', t);
  if (!(a <= b)) throw new RangeError(`nn.init.uniform_: expects a <= b, got a=${a}, b=${b}`);
  return fillWith(t, () => rand(t.shape, { dtype: t.dtype, device: t.device, generator: opts.generator }).mul(b - a).add(a));
}

/** Fills t with N(mean, std^2) (PyTorch's `normal_`). @throws TypeError for int32; RangeError when std < 0. */
export function normal_(t: Tensor, mean = 0, std = 1, opts: InitOptions = {}): Tensor {
  checkFloat('normal_', t);
  if (!(std >= 0)) throw new RangeError(`nn.init.normal_: expects std >= 0, got ${std}`);
  return fillWith(t, () => randn(t.shape, { dtype: t.dtype, device: t.device, generator: opts.generator }).mul(std).add(mean));
}

/** Fills t with `val` (PyTorch's `constant_`). */
export function constant_(t: Tensor, val: number): Tensor {
  t.assertAlive('constant_');
  no_grad(() => fillInPlace(t, val));
  return t;
}

/** Fills t with zeros (PyTorch's `zeros_`). */
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

/** Fills t with ones (PyTorch's `ones_`). */
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/**
 * Xavier/Glorot uniform (PyTorch's `xavier_uniform_`): U(-a, a) with
 * a = gain * sqrt(6 / (fan_in + fan_out)).
 */
export function xavier_uniform_(t: Tensor, gain = 1, opts: InitOptions = {}): Tensor {
  checkFloat('xavier_uniform_', t);
  const [fanIn, fanOut] = _calculate_fan_in_and_fan_out(t);
  const std = gain * Math.sqrt(2 / (fanIn + fanOut));
  const a = Math.sqrt(3) * std;
  return uniform_(t, -a, a, opts);
}

/** Xavier/Glorot normal (PyTorch's `xavier_normal_`): N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)). */
export function xavier_normal_(t: Tensor, gain = 1, opts: InitOptions = {}): Tensor {
  checkFloat('xavier_normal_', t);
  const [fanIn, fanOut] = _calculate_fan_in_and_fan_out(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), opts);
}

export interface KaimingOptions extends InitOptions {
  /** Negative slope of the rectifier after this layer (leaky_relu only); default 0. */
  a?: number;
  /** 'fan_in' (default) preserves the forward variance, 'fan_out' the backward's. */
  mode?: FanMode;
  /** Default 'leaky_relu' (with a = 0 the same gain as relu). */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(op: string, t: Tensor, opts: KaimingOptions): number | null {
  checkFloat(op, t);
  if (t.numel() === 0) {
    console.warn(`nn.init.${op}: initializing zero-element tensors is a no-op`);
    return null;
  }
  const fan = _calculate_correct_fan(t, opts.mode ?? 'fan_in');
  const gain = calculate_gain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0);
  return gain / Math.sqrt(fan);
}

/**
 * Kaiming/He uniform (PyTorch's `kaiming_uniform_(tensor, a=0, mode='fan_in',
 * nonlinearity='leaky_relu')`): U(-bound, bound) with bound = gain * sqrt(3 / fan). PyTorch's
 * Conv2d and Linear default init is `kaiming_uniform_(w, { a: Math.sqrt(5) })`, i.e.
 * bound = 1 / sqrt(fan_in).
 */
export function kaiming_uniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const std = kaimingStd('kaiming_uniform_', t, opts);
  if (std === null) return t;
  const bound = Math.sqrt(3) * std;
  return uniform_(t, -bound, bound, opts);
}

/** Kaiming/He normal (PyTorch's `kaiming_normal_`): N(0, std^2) with std = gain / sqrt(fan). */
export function kaiming_normal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const std = kaimingStd('kaiming_normal_', t, opts);
  if (std === null) return t;
  return normal_(t, 0, std, opts);
}
