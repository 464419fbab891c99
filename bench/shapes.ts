/**
 * ResEmoteNet's geometry (PyTorch layout), as the benchmarks need it: every conv2d, batch_norm,
 * max_pool2d, SE and linear shape for a given batch, base width and input size, and the
 * parameter list (names and shapes) in PyTorch's state_dict order.
 *
 * Full width is base 64 with input (N, 3, 64, 64):
 *   conv1 3->64, conv2 64->128, conv3 128->256 (3x3, pad 1) each + BN + ReLU + maxpool 2;
 *   SE(256, r=16); residual blocks 256->512->1024->2048 (stride 2, 1x1 shortcut + BN);
 *   adaptive avg pool; fc 2048->1024->512->256->classes.
 */
import type { Conv2dParams } from '../src/kernels/backend.js';

export interface Geometry {
  /** Channel-width multiplier, as ResEmoteNet's `width` option (1 for the paper's model). */
  width: number;
  /** Input height = width (64 for the paper's model). */
  size: number;
  classes: number;
}

export const FULL: Geometry = { width: 1, size: 64, classes: 7 };
/** The shipped model (weights/resemotenet): width 1/4 with input (N, 3, 48, 48), FER2013's own size. */
export const QUARTER: Geometry = { width: 1 / 4, size: 48, classes: 7 };
/** Small enough for a smoke test (channels / 16 with at least 16, input 16x16). */
export const TINY: Geometry = { width: 1 / 16, size: 16, classes: 7 };
/** The smoke-test stand-in for {@link QUARTER}: a second, different geometry (width 1/32, input 12x12). */
export const TINY_QUARTER: Geometry = { width: 1 / 32, size: 12, classes: 7 };

/** A width multiplier as people write it: '1', '1/4', '1/16' (else the number). */
export function widthLabel(w: number): string {
  if (w >= 1 || !(w > 0)) return String(w);
  const inv = 1 / w;
  return Math.abs(inv - Math.round(inv)) < 1e-9 ? `1/${Math.round(inv)}` : String(w);
}

/** A layer's channel count at a width: ResEmoteNet's rule, max(16, round(n * width)). */
export const ch = (g: Geometry, n: number): number => Math.max(16, Math.round(n * g.width));

export interface ConvShape {
  /** The layer (PyTorch name). */
  layer: string;
  p: Conv2dParams;
}

function conv(N: number, C_in: number, C_out: number, H: number, k: number, stride: number, pad: number): Conv2dParams {
  const OH = Math.floor((H + 2 * pad - k) / stride) + 1;
  return {
    N,
    C_in,
    H,
    W: H,
    C_out,
    KH: k,
    KW: k,
    OH,
    OW: OH,
    strideH: stride,
    strideW: stride,
    padH: pad,
    padW: pad,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  };
}

/** Every conv2d of ResEmoteNet, in forward order. Spatial sizes shrink to at least 1. */
export function convShapes(N: number, g: Geometry = FULL): ConvShape[] {
  const c = (n: number) => ch(g, n);
  const s0 = g.size;
  const s1 = Math.max(1, s0 >> 1);
  const s2 = Math.max(1, s0 >> 2);
  const s3 = Math.max(1, s0 >> 3);
  const out: ConvShape[] = [
    { layer: 'conv1', p: conv(N, 3, c(64), s0, 3, 1, 1) },
    { layer: 'conv2', p: conv(N, c(64), c(128), s1, 3, 1, 1) },
    { layer: 'conv3', p: conv(N, c(128), c(256), s2, 3, 1, 1) },
  ];
  let H = s3;
  let C = c(256);
  for (let b = 1; b <= 3; b++) {
    const O = c(256 << b);
    const c1 = conv(N, C, O, H, 3, 2, 1);
    out.push({ layer: `res_block${b}.conv1`, p: c1 });
    out.push({ layer: `res_block${b}.conv2`, p: conv(N, O, O, c1.OH, 3, 1, 1) });
    out.push({ layer: `res_block${b}.shortcut.0`, p: conv(N, C, O, H, 1, 2, 0) });
    H = c1.OH;
    C = O;
  }
  return out;
}

/** batch_norm inputs (N, C, H*W) of ResEmoteNet, one per distinct shape (stem BNs, then one per residual block). */
export function bnShapes(N: number, g: Geometry = FULL): { layer: string; N: number; C: number; S: number }[] {
  const seen = new Set<string>();
  const out: { layer: string; N: number; C: number; S: number }[] = [];
  for (const c of convShapes(N, g)) {
    const key = `${c.p.C_out}x${c.p.OH}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const layer = c.layer.replace(/conv(\d)$/, 'bn$1').replace('shortcut.0', 'shortcut.1');
    out.push({ layer, N, C: c.p.C_out, S: c.p.OH * c.p.OW });
  }
  return out;
}

/** max_pool2d(2) inputs (N, C, H, W) after the three stem convs. */
export function poolShapes(N: number, g: Geometry = FULL): { layer: string; N: number; C: number; H: number }[] {
  return convShapes(N, g)
    .slice(0, 3)
    .map((c, i) => ({ layer: `pool${i + 1}`, N, C: c.p.C_out, H: c.p.OH }));
}

/** The SE block input (N, C, S) and reduction R. */
export function seShape(N: number, g: Geometry = FULL): { N: number; C: number; S: number; R: number } {
  const C = ch(g, 256);
  const s3 = Math.max(1, g.size >> 3);
  return { N, C, S: s3 * s3, R: Math.max(1, Math.floor(C / 16)) };
}

/** The classifier's linear layers (in -> out). */
export function linearShapes(g: Geometry = FULL): { layer: string; in: number; out: number }[] {
  const c = (n: number) => ch(g, n);
  return [
    { layer: 'fc1', in: c(2048), out: c(1024) },
    { layer: 'fc2', in: c(1024), out: c(512) },
    { layer: 'fc3', in: c(512), out: c(256) },
    { layer: 'fc4', in: c(256), out: g.classes },
  ];
}

/** One entry of the parameter/buffer list. */
export interface ParamSpec {
  name: string;
  shape: number[];
  /** false for BatchNorm running statistics. */
  trainable: boolean;
}

/** ResEmoteNet's parameters and float buffers in PyTorch's state_dict order (num_batches_tracked omitted). */
export function paramSpecs(g: Geometry = FULL): ParamSpec[] {
  const out: ParamSpec[] = [];
  const p = (name: string, ...shape: number[]) => out.push({ name, shape, trainable: true });
  const bn = (name: string, C: number) => {
    p(`${name}.weight`, C);
    p(`${name}.bias`, C);
    out.push({ name: `${name}.running_mean`, shape: [C], trainable: false });
    out.push({ name: `${name}.running_var`, shape: [C], trainable: false });
  };
  const convs = convShapes(1, g);
  for (const c of convs.slice(0, 3)) {
    p(`${c.layer}.weight`, c.p.C_out, c.p.C_in, c.p.KH, c.p.KW);
    p(`${c.layer}.bias`, c.p.C_out);
    bn(c.layer.replace('conv', 'bn'), c.p.C_out);
  }
  const se = seShape(1, g);
  p('se.fc.0.weight', se.R, se.C);
  p('se.fc.2.weight', se.C, se.R);
  for (let b = 1; b <= 3; b++) {
    const [c1, c2, sc] = convs.slice(3 * b, 3 * b + 3) as [ConvShape, ConvShape, ConvShape];
    const pre = `res_block${b}`;
    p(`${pre}.conv1.weight`, c1.p.C_out, c1.p.C_in, 3, 3);
    p(`${pre}.conv1.bias`, c1.p.C_out);
    bn(`${pre}.bn1`, c1.p.C_out);
    p(`${pre}.conv2.weight`, c2.p.C_out, c2.p.C_in, 3, 3);
    p(`${pre}.conv2.bias`, c2.p.C_out);
    bn(`${pre}.bn2`, c2.p.C_out);
    p(`${pre}.shortcut.0.weight`, sc.p.C_out, sc.p.C_in, 1, 1);
    p(`${pre}.shortcut.0.bias`, sc.p.C_out);
    bn(`${pre}.shortcut.1`, sc.p.C_out);
  }
  for (const l of linearShapes(g)) {
    p(`${l.layer}.weight`, l.out, l.in);
    p(`${l.layer}.bias`, l.out);
  }
  return out;
}

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Trainable parameter count (about 80.2M for the full model; computed from the layer list). */
export function paramCount(g: Geometry = FULL): number {
  return paramSpecs(g)
    .filter((s) => s.trainable)
    .reduce((a, s) => a + numel(s.shape), 0);
}

/**
 * Multiply-adds a conv2d really performs: only kernel taps that land inside the input (zero
 * padding excluded) are counted, so a 3x3 conv on a 1x1 map counts 1 tap, not 9. FLOPs = 2x this.
 */
export function convMacs(p: Conv2dParams): number {
  const taps = (O: number, K: number, I: number, s: number, pad: number, d: number) => {
    let t = 0;
    for (let o = 0; o < O; o++) for (let k = 0; k < K; k++) {
      const i = o * s - pad + k * d;
      if (i >= 0 && i < I) t++;
    }
    return t;
  };
  const th = taps(p.OH, p.KH, p.H, p.strideH, p.padH, p.dilationH);
  const tw = taps(p.OW, p.KW, p.W, p.strideW, p.padW, p.dilationW);
  return p.N * p.C_out * (p.C_in / p.groups) * th * tw;
}

export function fmtConv(p: Conv2dParams): string {
  return `${p.N}x${p.C_in}x${p.H}x${p.W} -> ${p.C_out} k${p.KH} s${p.strideH} p${p.padH} -> ${p.OH}x${p.OW}`;
}
