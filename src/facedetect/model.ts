/**
 * BlazeFace, the "back camera" variant (Bazarevsky et al., "BlazeFace: Sub-millisecond Neural Face
 * Detection on Mobile GPUs", arXiv 1907.05047; MediaPipe's face_detection_back model, Apache-2.0),
 * rebuilt layer by layer from the TensorFlow.js graph shipped in `@vladmandic/human`
 * (models/blazeface.json; see weights/blazeface/README.md), in NCHW with this library's ops.
 *
 * TensorFlow's 'SAME' padding is symmetric for the stride-1 3x3 convs (1 on each side) but
 * asymmetric for the stride-2 ones on even sizes (nothing before, the rest after), so those get
 * an explicit `pad` and no conv padding; the skip path of a widening block gets zero channels
 * appended (TF's Pad on the channel dim), which `pad` also does.
 */
import type { Tensor } from '../tensor/tensor.js';
import { relu } from '../tensor/ops/elementwise.js';
import { max_pool2d } from '../tensor/ops/pool.js';
import { pad } from '../tensor/ops/pad.js';
import { cat } from '../tensor/ops/concat.js';
import { Module } from '../nn/module.js';
import { Conv2d } from '../nn/layers/conv.js';
import { ModuleList } from '../nn/layers/container.js';
import type { FactoryOptions } from '../nn/layers/linear.js';

/** Input side in pixels: the network sees 256x256 RGB scaled to [-1, 1]. */
export const BLAZEFACE_INPUT_SIZE = 256;
/** Anchors per image: 16x16 cells x 2 + 8x8 cells x 6. */
export const BLAZEFACE_NUM_ANCHORS = 896;
/** Regressor values per anchor: box centre offset (x, y), size (w, h), then 6 keypoints (x, y). */
export const BLAZEFACE_NUM_COORDS = 16;

/**
 * The residual blocks as [in channels, out channels, stride]: seven 24-channel blocks at 128x128,
 * a stride-2 block, seven at 64x64, a stride-2 block widening to 48, seven at 32x32, a stride-2
 * block widening to 96, seven at 16x16 (as in the graph, conv2d_1 ... conv2d_31).
 */
export const BLAZEFACE_BLOCKS: readonly (readonly [number, number, number])[] = [
  ...Array.from({ length: 7 }, () => [24, 24, 1] as const),
  [24, 24, 2],
  ...Array.from({ length: 7 }, () => [24, 24, 1] as const),
  [24, 48, 2],
  ...Array.from({ length: 7 }, () => [48, 48, 1] as const),
  [48, 96, 2],
  ...Array.from({ length: 7 }, () => [96, 96, 1] as const),
];

/** Pads (left, right, top, bottom) for TF 'SAME' with kernel k and stride s on an input of `size` (square). */
function samePadding(size: number, k: number, s: number): [number, number, number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max(0, (out - 1) * s + k - size);
  const before = Math.floor(total / 2);
  return [before, total - before, before, total - before];
}

/**
 * A BlazeBlock: y = relu(pw(dw(x)) + skip(x)), dw a 3x3 depthwise conv (no bias) carrying the
 * stride, pw a 1x1 conv (bias); skip = x, or 2x2 max pooling when strided, with zero channels
 * appended when out > in. Shapes: (N, in, H, W) -> (N, out, H/stride, W/stride), H and W even.
 */
export class BlazeBlock extends Module {
  dw: Conv2d;
  pw: Conv2d;
  readonly stride: number;
  readonly in_channels: number;
  readonly out_channels: number;

  constructor(in_ch: number, out_ch: number, stride: number, f: FactoryOptions = {}) {
    super();
    this.stride = stride;
    this.in_channels = in_ch;
    this.out_channels = out_ch;
    this.dw = new Conv2d(in_ch, in_ch, 3, { stride, padding: stride === 1 ? 1 : 0, groups: in_ch, bias: false, ...f });
    this.pw = new Conv2d(in_ch, out_ch, 1, f);
  }

  override forward(x: Tensor): Tensor {
    let skip = x;
    let h = x;
    if (this.stride !== 1) {
      h = pad(x, samePadding(x.shape[3]!, 3, this.stride));
      skip = max_pool2d(x, this.stride);
      if (this.out_channels > this.in_channels) skip = pad(skip, [0, 0, 0, 0, 0, this.out_channels - this.in_channels]);
    }
    return relu(this.pw.call(this.dw.call(h)).add(skip));
  }
}

/** Raw network outputs for a batch: anchor logits (N, 896) and regressors (N, 896, 16), 256-pixel units. */
export interface BlazeFaceOutput {
  scores: Tensor;
  regressors: Tensor;
}

/**
 * BlazeFace (back camera). Input (N, 3, 256, 256) RGB in [-1, 1] (pixel / 127.5 - 1); output the
 * raw anchor logits (N, 896) and box/keypoint regressors (N, 896, 16), anchor order: the 16x16
 * map's cells row-major with 2 anchors each, then the 8x8 map's with 6 (see anchors.ts).
 *
 * Layers: conv0 5x5 stride 2 3->24 + relu; the 31 BLAZEFACE_BLOCKS; at 16x16 the heads cls16
 * (1x1, 96->2) and reg16 (1x1, 96->32); down8 = 3x3 depthwise stride 2 + 1x1 96->96 + relu (no
 * skip); at 8x8 the heads cls8 (96->6) and reg8 (96->96). State-dict keys: `conv0.weight`,
 * `blocks.{i}.dw.weight`, `blocks.{i}.pw.{weight,bias}`, `down8.{dw,pw}...`, `cls16.*`, `reg16.*`,
 * `cls8.*`, `reg8.*` (weights/blazeface/blazeface.safetensors).
 * @throws RangeError (from the ops) for an input that is not (N, 3, 256, 256).
 */
export class BlazeFace extends Module<[Tensor], BlazeFaceOutput> {
  conv0: Conv2d;
  blocks: ModuleList<BlazeBlock>;
  cls16: Conv2d;
  reg16: Conv2d;
  down8: Module;
  cls8: Conv2d;
  reg8: Conv2d;

  constructor(f: FactoryOptions = {}) {
    super();
    this.conv0 = new Conv2d(3, 24, 5, { stride: 2, ...f });
    this.blocks = new ModuleList(BLAZEFACE_BLOCKS.map(([i, o, s]) => new BlazeBlock(i, o, s, f)));
    this.cls16 = new Conv2d(96, 2, 1, f);
    this.reg16 = new Conv2d(96, 32, 1, f);
    this.down8 = new Down8(f);
    this.cls8 = new Conv2d(96, 6, 1, f);
    this.reg8 = new Conv2d(96, 96, 1, f);
  }

  override forward(x: Tensor): BlazeFaceOutput {
    const s = BLAZEFACE_INPUT_SIZE;
    if (x.ndim !== 4 || x.shape[1] !== 3 || x.shape[2] !== s || x.shape[3] !== s) {
      throw new RangeError(`BlazeFace: expected input (N, 3, ${s}, ${s}), got [${x.shape.join(', ')}]`);
    }
    let h = relu(this.conv0.call(pad(x, samePadding(s, 5, 2))));
    for (const b of this.blocks) h = b.call(h);
    const h8 = this.down8.call(h);
    const n = x.shape[0]!;
    // NCHW head outputs -> (N, cells * anchors per cell, values): channel c of cell (y, x) is
    // anchor c / values, value c % values, as in TF's NHWC reshape.
    const flat = (t: Tensor, per: number) => t.permute(0, 2, 3, 1).reshape(n, -1, per);
    const scores = cat([flat(this.cls16.call(h), 1), flat(this.cls8.call(h8), 1)], 1).reshape(n, -1);
    const regressors = cat([flat(this.reg16.call(h), BLAZEFACE_NUM_COORDS), flat(this.reg8.call(h8), BLAZEFACE_NUM_COORDS)], 1);
    return { scores, regressors };
  }
}

/** The 16x16 -> 8x8 step: relu(pw(dw(pad(x)))), depthwise 3x3 stride 2 then 1x1 96->96, no skip path. */
class Down8 extends Module {
  dw: Conv2d;
  pw: Conv2d;
  constructor(f: FactoryOptions) {
    super();
    this.dw = new Conv2d(96, 96, 3, { stride: 2, groups: 96, bias: false, ...f });
    this.pw = new Conv2d(96, 96, 1, f);
  }
  override forward(x: Tensor): Tensor {
    return relu(this.pw.call(this.dw.call(pad(x, samePadding(x.shape[3]!, 3, 2)))));
  }
}
