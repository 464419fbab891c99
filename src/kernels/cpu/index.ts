/**
 * The CPU reference backend: plain loops whose only job is to be obviously right (float64
 * accumulation). Every WebGPU kernel is cross-checked against it.
 */
import type {
  ConvBatchNormEpilogue,
  AdamParams,
  AdaptivePool2dParams,
  Backend,
  BatchNormParams,
  BinaryOp,
  Conv2dParams,
  CrossEntropyParams,
  Layout,
  Pool2dParams,
  RandomParams,
  ReduceOp,
  SEParams,
  SGDParams,
  Storage,
  UnaryOp,
} from '../backend.js';
import { allocArray, type DType, type TypedArray } from '../../core/dtype.js';
import { CpuStorage, arr } from './storage.js';
import * as ew from './elementwise.js';
import { reduce } from './reduce.js';
import { matmul } from './matmul.js';
import { softmax, softmaxBackward } from './softmax.js';
import { random } from './random.js';
import * as conv from './conv.js';
import { pool2x2Params } from '../backend.js';
import * as pool from './pool.js';
import * as bn from './batchnorm.js';
import * as se from './se.js';
import * as ce from './cross_entropy.js';
import * as optim from './optim.js';

export { CpuStorage };

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;

  alloc(dtype: DType, size: number): Storage {
    return CpuStorage.alloc(dtype, size);
  }
  upload(data: TypedArray, dtype: DType): Storage {
    const a = allocArray(dtype, data.length);
    a.set(data);
    return new CpuStorage(dtype, a);
  }
  async read(s: Storage): Promise<TypedArray> {
    return arr(s).slice();
  }
  free(s: Storage): void {
    (s as CpuStorage).freed = true;
  }
  fill(s: Storage, value: number): void {
    ew.fill(s, value);
  }
  copy(src: Storage, sl: Layout, dst: Storage, dl: Layout): void {
    ew.copy(src, sl, dst, dl);
  }
  unary(op: UnaryOp, x: Storage, xl: Layout, out: Storage, param?: number): void {
    ew.unary(op, x, xl, out, param);
  }
  binary(op: BinaryOp, a: Storage, al: Layout, b: Storage, bl: Layout, out: Storage): void {
    ew.binary(op, a, al, b, bl, out);
  }
  where(c: Storage, cl: Layout, a: Storage, al: Layout, b: Storage, bl: Layout, out: Storage): void {
    ew.where(c, cl, a, al, b, bl, out);
  }
  reduce(op: ReduceOp, x: Storage, outer: number, inner: number, out: Storage): void {
    reduce(op, x, outer, inner, out);
  }
  matmul(a: Storage, al: Layout, b: Storage, bl: Layout, out: Storage, B: number, M: number, N: number, K: number): void {
    matmul(a, al, b, bl, out, B, M, N, K);
  }
  conv2d(x: Storage, w: Storage, bias: Storage | null, out: Storage, p: Conv2dParams): void {
    conv.conv2d(x, w, bias, out, p);
  }
  conv2dBatchNormEval(
    x: Storage,
    w: Storage,
    bias: Storage | null,
    bnWeight: Storage | null,
    bnBias: Storage | null,
    rm: Storage,
    rv: Storage,
    out: Storage,
    p: Conv2dParams,
    e: ConvBatchNormEpilogue,
  ): void {
    // the reference: the primitives in sequence, the batch_norm in place
    if (e.maxPool2x2 && (p.OH % 2 !== 0 || p.OW % 2 !== 0)) throw new RangeError(`conv2dBatchNormEval: a fused 2x2 max pool needs an even output size, got ${p.OH}x${p.OW}`);
    if (e.maxPool2x2 && e.residual) throw new RangeError('conv2dBatchNormEval: a residual and a 2x2 max pool cannot be combined');
    const y = e.maxPool2x2 ? this.alloc(out.dtype, p.N * p.C_out * p.OH * p.OW) : out;
    conv.conv2d(x, w, bias, y, p);
    const res = e.residual ?? null;
    bn.batchNormEval(y, bnWeight, bnBias, rm, rv, y, { N: p.N, C: p.C_out, S: p.OH * p.OW, eps: e.eps, momentum: 0, relu: e.relu && !res });
    if (res) {
      const l = { shape: [y.size], strides: [1], offset: 0 };
      ew.binary('add', y, l, res, l, y);
      if (e.relu) ew.unary('relu', y, l, y);
    }
    if (e.maxPool2x2) {
      const idx = this.alloc('int32', out.size);
      pool.maxPool2d(y, out, idx, pool2x2Params(p.N, p.C_out, p.OH, p.OW));
      this.free(idx);
      this.free(y);
    }
  }
  conv2dBackwardInput(gy: Storage, w: Storage, gx: Storage, p: Conv2dParams): void {
    conv.conv2dBackwardInput(gy, w, gx, p);
  }
  conv2dBackwardWeight(gy: Storage, x: Storage, gw: Storage, p: Conv2dParams): void {
    conv.conv2dBackwardWeight(gy, x, gw, p);
  }
  maxPool2d(x: Storage, out: Storage, indices: Storage, p: Pool2dParams): void {
    pool.maxPool2d(x, out, indices, p);
  }
  maxPool2dBackward(gy: Storage, indices: Storage, gx: Storage, p: Pool2dParams): void {
    pool.maxPool2dBackward(gy, indices, gx, p);
  }
  avgPool2d(x: Storage, out: Storage, p: Pool2dParams): void {
    pool.avgPool2d(x, out, p);
  }
  avgPool2dBackward(gy: Storage, gx: Storage, p: Pool2dParams): void {
    pool.avgPool2dBackward(gy, gx, p);
  }
  adaptiveAvgPool2d(x: Storage, out: Storage, p: AdaptivePool2dParams): void {
    pool.adaptiveAvgPool2d(x, out, p);
  }
  adaptiveAvgPool2dBackward(gy: Storage, gx: Storage, p: AdaptivePool2dParams): void {
    pool.adaptiveAvgPool2dBackward(gy, gx, p);
  }
  batchNormTrain(
    x: Storage,
    weight: Storage | null,
    bias: Storage | null,
    runningMean: Storage | null,
    runningVar: Storage | null,
    out: Storage,
    saveMean: Storage,
    saveInvstd: Storage,
    p: BatchNormParams,
  ): void {
    bn.batchNormTrain(x, weight, bias, runningMean, runningVar, out, saveMean, saveInvstd, p);
  }
  batchNormEval(x: Storage, weight: Storage | null, bias: Storage | null, rm: Storage, rv: Storage, out: Storage, p: BatchNormParams): void {
    bn.batchNormEval(x, weight, bias, rm, rv, out, p);
  }
  batchNormBackward(
    gy: Storage,
    x: Storage,
    weight: Storage | null,
    saveMean: Storage,
    saveInvstd: Storage,
    gx: Storage,
    gweight: Storage | null,
    gbias: Storage | null,
    p: BatchNormParams,
    training: boolean,
  ): void {
    bn.batchNormBackward(gy, x, weight, saveMean, saveInvstd, gx, gweight, gbias, p, training);
  }
  batchNormPoolTrain(
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
    // the reference: the primitives in sequence (relu in place on the pooled map)
    if (H % 2 !== 0 || W % 2 !== 0 || p.S !== H * W) throw new RangeError(`batchNormPoolTrain: needs an even H x W with S = H * W, got ${H}x${W}, S = ${p.S}`);
    const y = this.alloc(x.dtype, p.N * p.C * H * W);
    bn.batchNormTrain(x, weight, bias, runningMean, runningVar, y, saveMean, saveInvstd, p);
    pool.maxPool2d(y, out, indices, pool2x2Params(p.N, p.C, H, W));
    this.free(y);
    const l = { shape: [out.size], strides: [1], offset: 0 };
    ew.unary('relu', out, l, out);
  }
  batchNormPoolBackward(
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
    if (H % 2 !== 0 || W % 2 !== 0 || p.S !== H * W) throw new RangeError(`batchNormPoolBackward: needs an even H x W with S = H * W, got ${H}x${W}, S = ${p.S}`);
    const l = { shape: [gy.size], strides: [1], offset: 0 };
    const g = this.alloc(gy.dtype, gy.size);
    ew.binary('relu_backward', gy, l, out, l, g);
    const gz = this.alloc(gx.dtype, p.N * p.C * H * W);
    pool.maxPool2dBackward(g, indices, gz, pool2x2Params(p.N, p.C, H, W));
    this.free(g);
    bn.batchNormBackward(gz, x, weight, saveMean, saveInvstd, gx, gweight, gbias, p, true);
    this.free(gz);
  }
  seForward(x: Storage, w1: Storage, w2: Storage, out: Storage, hidden: Storage, gate: Storage, p: SEParams): void {
    se.seForward(x, w1, w2, out, hidden, gate, p);
  }
  seBackward(
    gy: Storage,
    x: Storage,
    w1: Storage,
    w2: Storage,
    hidden: Storage,
    gate: Storage,
    gx: Storage,
    gw1: Storage,
    gw2: Storage,
    p: SEParams,
  ): void {
    se.seBackward(gy, x, w1, w2, hidden, gate, gx, gw1, gw2, p);
  }
  softmax(x: Storage, out: Storage, outer: number, inner: number, log: boolean): void {
    softmax(x, out, outer, inner, log);
  }
  softmaxBackward(gy: Storage, y: Storage, gx: Storage, outer: number, inner: number, log: boolean): void {
    softmaxBackward(gy, y, gx, outer, inner, log);
  }
  crossEntropy(logits: Storage, targets: Storage, weight: Storage | null, loss: Storage, wsum: Storage, p: CrossEntropyParams): void {
    ce.crossEntropy(logits, targets, weight, loss, wsum, p);
  }
  crossEntropyBackward(logits: Storage, targets: Storage, weight: Storage | null, gloss: Storage, glogits: Storage, p: CrossEntropyParams): void {
    ce.crossEntropyBackward(logits, targets, weight, gloss, glogits, p);
  }
  random(out: Storage, p: RandomParams): void {
    random(out, p);
  }
  checkIndex(s: Storage, hi: number, ignore: number, message: string): void {
    if (s.dtype !== 'int32') throw new TypeError(`checkIndex: expects int32 indices, got ${s.dtype}`);
    const a = arr(s);
    for (let i = 0; i < a.length; i++) {
      const t = a[i]!;
      if (t !== ignore && (t < 0 || t >= hi)) throw new RangeError(`${message} (element ${i} is ${t})`);
    }
  }
  sgdUpdate(param: Storage, grad: Storage, buf: Storage | null, p: SGDParams): void {
    optim.sgdUpdate(param, grad, buf, p);
  }
  adamUpdate(param: Storage, grad: Storage, m: Storage, v: Storage, vmax: Storage | null, p: AdamParams): void {
    optim.adamUpdate(param, grad, m, v, vmax, p);
  }
  async sync(): Promise<void> {}
}
