/**
 * The WebGPU backend: implements the Backend interface with hand-written WGSL kernels
 * (shaders/*.wgsl). Kernel families live in one file each; this class only routes.
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
import type { DType, TypedArray } from '../../core/dtype.js';
import { GpuRuntime, GpuStorage } from './runtime.js';
import * as ew from './elementwise.js';
import * as red from './reduce.js';
import * as mm from './matmul.js';
import * as sm from './softmax.js';
import * as rnd from './random.js';
import * as opt from './optim.js';
import * as conv from './conv.js';
import { pool2x2Params } from '../backend.js';
import * as pool from './pool.js';
import * as bn from './batchnorm.js';
import * as bnPool from './bn_pool.js';
import * as se from './se.js';
import { checkIndex } from './check.js';

const gs = (s: Storage) => s as GpuStorage;

export class WebGPUBackend implements Backend {
  readonly name = 'webgpu' as const;
  constructor(readonly rt: GpuRuntime) {}

  alloc(dtype: DType, size: number): Storage {
    ew.wgslType(dtype, 'alloc');
    return this.rt.alloc(dtype, size);
  }
  upload(data: TypedArray, dtype: DType): Storage {
    ew.wgslType(dtype, 'upload');
    const arr = dtype === 'int32' ? (data instanceof Int32Array ? data : Int32Array.from(data)) : data instanceof Float32Array ? data : Float32Array.from(data);
    return this.rt.upload(arr, dtype);
  }
  read(s: Storage): Promise<TypedArray> {
    return this.rt.read(gs(s), s.dtype === 'int32' ? Int32Array : Float32Array);
  }
  free(s: Storage): void {
    this.rt.free(gs(s));
  }
  fill(s: Storage, value: number): void {
    ew.fill(this.rt, s, value);
  }
  copy(src: Storage, sl: Layout, dst: Storage, dl: Layout): void {
    ew.copy(this.rt, src, sl, dst, dl);
  }
  unary(op: UnaryOp, x: Storage, xl: Layout, out: Storage, param?: number): void {
    ew.unary(this.rt, op, x, xl, out, param ?? 0);
  }
  binary(op: BinaryOp, a: Storage, al: Layout, b: Storage, bl: Layout, out: Storage): void {
    ew.binary(this.rt, op, a, al, b, bl, out);
  }
  where(c: Storage, cl: Layout, a: Storage, al: Layout, b: Storage, bl: Layout, out: Storage): void {
    ew.where(this.rt, c, cl, a, al, b, bl, out);
  }
  reduce(op: ReduceOp, x: Storage, outer: number, inner: number, out: Storage): void {
    red.reduce(this.rt, op, x, outer, inner, out);
  }
  matmul(a: Storage, al: Layout, b: Storage, bl: Layout, out: Storage, B: number, M: number, N: number, K: number): void {
    mm.matmul(this.rt, a, al, b, bl, out, B, M, N, K);
  }
  conv2d(x: Storage, w: Storage, bias: Storage | null, out: Storage, p: Conv2dParams): void {
    conv.conv2d(this.rt, x, w, bias, out, p);
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
    const res = (e.residual ?? null) as GpuStorage | null;
    const bp = { N: p.N, C: p.C_out, S: p.OH * p.OW, eps: e.eps, momentum: 0, relu: e.relu && !res };
    const pooled = e.maxPool2x2 === true;
    if (pooled && res) throw new RangeError('conv2dBatchNormEval: a residual and a 2x2 max pool cannot be combined');
    // dtypes checked before any dispatch (the coefficient pass is one)
    for (const t of [x, w, bias, bnWeight, bnBias, rm, rv, out, res]) {
      if (t && t.dtype !== 'float32') throw new TypeError(`conv2dBatchNormEval: webgpu supports float32 only, got ${t.dtype}`);
    }
    if (p.N * p.C_out * p.OH * p.OW === 0) return;
    const { coef, owned } = bn.batchNormEvalCoef(this.rt, bnWeight, bnBias, rm, rv, p.C_out, e.eps);
    try {
      conv.conv2dEpilogue(this.rt, x, w, bias, out, p, { coef, relu: e.relu, pool: pooled, residual: res }, (y) => {
        if (res) {
          // separate passes: batch_norm, add, relu
          const z = this.rt.alloc('float32', y.size);
          const l = ew.contiguousLayout([y.size]);
          bn.batchNormEval(this.rt, y, bnWeight, bnBias, rm, rv, z, bp);
          if (e.relu) {
            ew.binary(this.rt, 'add', z, l, res, l, y);
            ew.unary(this.rt, 'relu', y, l, out, 0);
          } else ew.binary(this.rt, 'add', z, l, res, l, out);
          this.rt.free(z);
          return;
        }
        if (!pooled) return bn.batchNormEval(this.rt, y, bnWeight, bnBias, rm, rv, out, bp);
        const z = this.rt.alloc('float32', y.size);
        const idx = this.rt.alloc('int32', out.size);
        bn.batchNormEval(this.rt, y, bnWeight, bnBias, rm, rv, z, bp);
        pool.maxPool2d(this.rt, z, out, idx, pool2x2Params(p.N, p.C_out, p.OH, p.OW));
        this.rt.free(idx);
        this.rt.free(z);
      });
    } finally {
      if (owned) this.rt.free(coef);
    }
  }
  conv2dBackwardInput(gy: Storage, w: Storage, gx: Storage, p: Conv2dParams): void {
    conv.conv2dBackwardInput(this.rt, gy, w, gx, p);
  }
  conv2dBackwardWeight(gy: Storage, x: Storage, gw: Storage, p: Conv2dParams): void {
    conv.conv2dBackwardWeight(this.rt, gy, x, gw, p);
  }
  maxPool2d(x: Storage, out: Storage, indices: Storage, p: Pool2dParams): void {
    pool.maxPool2d(this.rt, x, out, indices, p);
  }
  maxPool2dBackward(gy: Storage, indices: Storage, gx: Storage, p: Pool2dParams): void {
    pool.maxPool2dBackward(this.rt, gy, indices, gx, p);
  }
  avgPool2d(x: Storage, out: Storage, p: Pool2dParams): void {
    pool.avgPool2d(this.rt, x, out, p);
  }
  avgPool2dBackward(gy: Storage, gx: Storage, p: Pool2dParams): void {
    pool.avgPool2dBackward(this.rt, gy, gx, p);
  }
  adaptiveAvgPool2d(x: Storage, out: Storage, p: AdaptivePool2dParams): void {
    pool.adaptiveAvgPool2d(this.rt, x, out, p);
  }
  adaptiveAvgPool2dBackward(gy: Storage, gx: Storage, p: AdaptivePool2dParams): void {
    pool.adaptiveAvgPool2dBackward(this.rt, gy, gx, p);
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
    bn.batchNormTrain(this.rt, x, weight, bias, runningMean, runningVar, out, saveMean, saveInvstd, p);
  }
  batchNormEval(x: Storage, weight: Storage | null, bias: Storage | null, rm: Storage, rv: Storage, out: Storage, p: BatchNormParams): void {
    bn.batchNormEval(this.rt, x, weight, bias, rm, rv, out, p);
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
    bn.batchNormBackward(this.rt, gy, x, weight, saveMean, saveInvstd, gx, gweight, gbias, p, training);
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
    if (H % 2 !== 0 || W % 2 !== 0 || p.S !== H * W) throw new RangeError(`batchNormPoolTrain: needs an even H x W with S = H * W, got ${H}x${W}, S = ${p.S}`);
    bnPool.batchNormPoolTrain(this.rt, x, weight, bias, runningMean, runningVar, out, indices, saveMean, saveInvstd, p, H, W);
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
    bnPool.batchNormPoolBackward(this.rt, gy, out, indices, x, weight, saveMean, saveInvstd, gx, gweight, gbias, p, H, W);
  }
  seForward(x: Storage, w1: Storage, w2: Storage, out: Storage, hidden: Storage, gate: Storage, p: SEParams): void {
    se.seForward(this.rt, x, w1, w2, out, hidden, gate, p);
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
    se.seBackward(this.rt, gy, x, w1, w2, hidden, gate, gx, gw1, gw2, p);
  }
  softmax(x: Storage, out: Storage, outer: number, inner: number, log: boolean): void {
    sm.softmax(this.rt, x, out, outer, inner, log);
  }
  softmaxBackward(gy: Storage, y: Storage, gx: Storage, outer: number, inner: number, log: boolean): void {
    sm.softmaxBackward(this.rt, gy, y, gx, outer, inner, log);
  }
  crossEntropy(logits: Storage, targets: Storage, weight: Storage | null, loss: Storage, wsum: Storage, p: CrossEntropyParams): void {
    sm.crossEntropy(this.rt, logits, targets, weight, loss, wsum, p);
  }
  crossEntropyBackward(logits: Storage, targets: Storage, weight: Storage | null, gloss: Storage, glogits: Storage, p: CrossEntropyParams): void {
    sm.crossEntropyBackward(this.rt, logits, targets, weight, gloss, glogits, p);
  }
  random(out: Storage, p: RandomParams): void {
    rnd.random(this.rt, out, p);
  }
  checkIndex(s: Storage, hi: number, ignore: number, message: string): void {
    checkIndex(this.rt, s, hi, ignore, message);
  }
  sgdUpdate(param: Storage, grad: Storage, buf: Storage | null, p: SGDParams): void {
    opt.sgdUpdate(this.rt, param, grad, buf, p);
  }
  adamUpdate(param: Storage, grad: Storage, m: Storage, v: Storage, vmax: Storage | null, p: AdamParams): void {
    opt.adamUpdate(this.rt, param, grad, m, v, vmax, p);
  }
  sync(): Promise<void> {
    return this.rt.sync();
  }
}
