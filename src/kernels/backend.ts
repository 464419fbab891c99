/**
 * The backend boundary. The tensor front end (src/tensor) talks to devices only through this
 * interface; a backend never sees autograd. Both `cpu` (the reference oracle) and `webgpu`
 * implement it, so any primitive can be run on both and compared.
 *
 * Conventions (every primitive):
 * - Sizes, offsets and strides are in elements, not bytes.
 * - An input given with a {@link Layout} may be a strided view (broadcast dims have stride 0).
 *   An input given without one must be contiguous from element 0 of its storage.
 * - Outputs are written into storages the caller allocated with {@link Backend.alloc}, contiguous
 *   from element 0, unless stated otherwise. Primitives never allocate what they return.
 * - Parameters are validated by the front end; a backend may assume them consistent.
 * - Floating math accumulates in at least float32 on WebGPU (tree reductions) and in float64 on cpu.
 */
import type { DType, TypedArray } from '../core/dtype.js';

export type DeviceName = 'cpu' | 'webgpu';

/** An opaque block of device memory holding `size` elements of `dtype`. */
export interface Storage {
  readonly device: DeviceName;
  readonly dtype: DType;
  readonly size: number;
}

/** How a tensor reads its storage: element (i0, i1, ...) is at offset + sum(ik * strides[k]). */
export interface Layout {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export type UnaryOp =
  | 'identity'
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'abs'
  | 'relu'
  | 'sigmoid'
  | 'tanh'
  | 'sign'
  /** x ** param */
  | 'pow_scalar'
  /** x * param */
  | 'mul_scalar'
  /** x + param */
  | 'add_scalar'
  /** 1 where x > 0 else 0 (relu backward mask) */
  | 'step';

export type BinaryOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'maximum'
  | 'minimum'
  | 'pow'
  | 'eq'
  | 'ne'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge'
  /** 0 where b <= 0, else a: relu's backward (grad a, input b), PyTorch's threshold_backward at 0
   * (a NaN gradient where the input is <= 0 gives 0, and a NaN input passes the gradient, as there) */
  | 'relu_backward';

/** Comparison ops produce 1/0 in the output dtype chosen by the front end. */
export const COMPARISON_OPS: ReadonlySet<BinaryOp> = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);

export type ReduceOp = 'sum' | 'max' | 'min' | 'argmax' | 'argmin';

/** conv2d geometry for input (N, C_in, H, W), weight (C_out, C_in/groups, KH, KW), output (N, C_out, OH, OW). */
export interface Conv2dParams {
  N: number;
  C_in: number;
  H: number;
  W: number;
  C_out: number;
  KH: number;
  KW: number;
  OH: number;
  OW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  groups: number;
  /**
   * A hint that conv2dBackwardWeight will read the same operands next (training, weight requiring
   * grad): the forward's input and the input gradient's output gradient. A backend may keep
   * copies it made of them (webgpu: their channels-last packs) until then. Values never change.
   */
  reuse?: boolean;
}

/** Pooling geometry over (N, C, H, W) -> (N, C, OH, OW). */
export interface Pool2dParams {
  N: number;
  C: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  KH: number;
  KW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  /** avg_pool2d only: divide by the full window, padding included (PyTorch's default true). */
  countIncludePad: boolean;
  /** avg_pool2d only: fixed divisor overriding the window count, or 0 for none. */
  divisorOverride: number;
}

/** Adaptive pooling (N, C, H, W) -> (N, C, OH, OW); window i spans [floor(i*H/OH), ceil((i+1)*H/OH)). */
export interface AdaptivePool2dParams {
  N: number;
  C: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
}

/** What Backend.conv2dBatchNormEval applies after the batch_norm. */
export interface ConvBatchNormEpilogue {
  eps: number;
  relu: boolean;
  maxPool2x2?: boolean;
  residual?: Storage | null;
}

/** The Pool2dParams of max_pool2d(kernel 2, stride 2) over (N, C, H, W), H and W even. */
export function pool2x2Params(N: number, C: number, H: number, W: number): Pool2dParams {
  return { N, C, H, W, OH: H / 2, OW: W / 2, KH: 2, KW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0, dilationH: 1, dilationW: 1, countIncludePad: true, divisorOverride: 0 };
}

/** batch_norm over x viewed as (N, C, S) with S = product of spatial dims. */
export interface BatchNormParams {
  N: number;
  C: number;
  S: number;
  eps: number;
  /** Running-stat momentum (PyTorch's convention: new = (1 - m) * old + m * batch). */
  momentum: number;
  /** batchNormEval only: write relu of the result (batch_norm + relu in one pass, for inference); NaN stays NaN. */
  relu?: boolean;
}

/** Squeeze-excitation over x (N, C, S): gate = sigmoid(W2 relu(W1 mean_S(x))), out = x * gate. W1 (R, C), W2 (C, R). */
export interface SEParams {
  N: number;
  C: number;
  S: number;
  R: number;
}

/** cross_entropy over logits (N, C) and int32 targets (N). */
export interface CrossEntropyParams {
  N: number;
  C: number;
  ignoreIndex: number;
  labelSmoothing: number;
}

export interface SGDParams {
  size: number;
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
  /** True on the first step: the momentum buffer is initialized to the gradient (PyTorch). */
  firstStep: boolean;
}

export interface AdamParams {
  size: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: decoupled weight decay (param *= 1 - lr * wd) instead of L2 added to the gradient. */
  decoupled: boolean;
  amsgrad: boolean;
  maximize: boolean;
  /** 1-based step count, for bias correction. */
  step: number;
}

/** Counter-based random numbers: Philox4x32-10 keyed by `seed`, counter starting at `offset`. */
export interface RandomParams {
  /**
   * uniform: [0, 1) with 24 random bits; normal: Box-Muller; dropout_mask: `scale` where the
   * uniform u >= `p` (compared in the output dtype) else 0, i.e. dropout's scaled keep-mask in one
   * pass, equal to (rand() >= p) * scale.
   */
  kind: 'uniform' | 'normal' | 'dropout_mask';
  /** dropout_mask: the drop probability. */
  p?: number;
  /** dropout_mask: the value of kept elements (1 / (1 - p)). */
  scale?: number;
  /** 64-bit seed as two u32 words [lo, hi]. */
  seed: readonly [number, number];
  /** Index of the first Philox block (each block yields 4 numbers). */
  offset: number;
}

/**
 * A device backend. See the file header for conventions.
 * Throws: `alloc` throws when the device cannot hold `size` elements; every primitive may throw
 * an error naming the primitive when the device reports a validation or out-of-memory error.
 */
export interface Backend {
  readonly name: DeviceName;

  // ---- memory ----
  alloc(dtype: DType, size: number): Storage;
  /** Copies host data into a fresh storage of the array's length. */
  upload(data: TypedArray, dtype: DType): Storage;
  /** Reads a whole storage back to the host. */
  read(s: Storage): Promise<TypedArray>;
  /** Releases a storage; using it afterwards is an error. */
  free(s: Storage): void;

  // ---- data movement ----
  /** Sets every element of `s` to `value`. */
  fill(s: Storage, value: number): void;
  /** Strided copy with dtype conversion: dst[dl] = src[sl]; both layouts have the same shape. */
  copy(src: Storage, sl: Layout, dst: Storage, dl: Layout): void;

  // ---- elementwise ----
  /** out (contiguous, shape xl.shape) = op(x[xl]); `param` feeds the *_scalar ops. */
  unary(op: UnaryOp, x: Storage, xl: Layout, out: Storage, param?: number): void;
  /** out (contiguous) = op(a[al], b[bl]); al and bl are already broadcast to the output shape. */
  binary(op: BinaryOp, a: Storage, al: Layout, b: Storage, bl: Layout, out: Storage): void;
  /** out = cond != 0 ? a : b, all three layouts broadcast to the output shape. */
  where(cond: Storage, cl: Layout, a: Storage, al: Layout, b: Storage, bl: Layout, out: Storage): void;

  // ---- reductions ----
  /** x contiguous (outer, inner) -> out (outer): reduce along `inner`. argmax/argmin write int32, first index on ties. NaN propagates in max/min. */
  reduce(op: ReduceOp, x: Storage, outer: number, inner: number, out: Storage): void;

  // ---- linear algebra ----
  /** out (B, M, N) = a (B, M, K) @ b (B, K, N); al, bl are 3-d layouts (batch stride 0 broadcasts). */
  matmul(a: Storage, al: Layout, b: Storage, bl: Layout, out: Storage, B: number, M: number, N: number, K: number): void;

  // ---- convolution (NCHW, contiguous) ----
  conv2d(x: Storage, w: Storage, bias: Storage | null, out: Storage, p: Conv2dParams): void;
  /**
   * Inference's conv -> BatchNorm2d (eval) [-> ReLU] [-> MaxPool2d(2)]: out = batchNormEval(
   * conv2d(x, w, bias)) with (bnWeight, bnBias, runningMean, runningVar) over the C_out channels
   * and `bn.eps`, plus `bn.residual` (N, C_out, OH, OW) when given, then relu when `bn.relu`
   * (NaN stays NaN), then when `bn.maxPool2x2` max_pool2d with kernel 2 and stride 2 (out is then
   * (N, C_out, OH/2, OW/2); OH and OW must be even; not with a residual).
   * The same values as the primitives in sequence (webgpu: in the conv's store, one pass).
   */
  conv2dBatchNormEval(
    x: Storage,
    w: Storage,
    bias: Storage | null,
    bnWeight: Storage | null,
    bnBias: Storage | null,
    runningMean: Storage,
    runningVar: Storage,
    out: Storage,
    p: Conv2dParams,
    bn: ConvBatchNormEpilogue,
  ): void;
  /** gx (N, C_in, H, W) = d loss / d x, overwritten. */
  conv2dBackwardInput(gy: Storage, w: Storage, gx: Storage, p: Conv2dParams): void;
  /** gw (C_out, C_in/groups, KH, KW) = d loss / d w, overwritten. */
  conv2dBackwardWeight(gy: Storage, x: Storage, gw: Storage, p: Conv2dParams): void;

  // ---- pooling (NCHW, contiguous) ----
  /** Writes the maxima and, in `indices` (int32), the flat h*W+w index of the first maximum; NaN wins. */
  maxPool2d(x: Storage, out: Storage, indices: Storage, p: Pool2dParams): void;
  /** gx (overwritten) scatters gy through `indices`. */
  maxPool2dBackward(gy: Storage, indices: Storage, gx: Storage, p: Pool2dParams): void;
  avgPool2d(x: Storage, out: Storage, p: Pool2dParams): void;
  avgPool2dBackward(gy: Storage, gx: Storage, p: Pool2dParams): void;
  adaptiveAvgPool2d(x: Storage, out: Storage, p: AdaptivePool2dParams): void;
  adaptiveAvgPool2dBackward(gy: Storage, gx: Storage, p: AdaptivePool2dParams): void;

  // ---- batch norm over (N, C, S) ----
  /**
   * Training mode: normalizes with the batch mean and biased variance, writes `saveMean` and
   * `saveInvstd` (C), and when given updates `runningMean`/`runningVar` in place with momentum
   * and the unbiased variance. weight/bias may be null (affine=false).
   */
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
  ): void;
  /** Eval mode: normalizes with the running statistics. */
  batchNormEval(
    x: Storage,
    weight: Storage | null,
    bias: Storage | null,
    runningMean: Storage,
    runningVar: Storage,
    out: Storage,
    p: BatchNormParams,
  ): void;
  /**
   * Backward of the training-mode forward. gx is overwritten; gweight/gbias (C) are overwritten
   * when given. With `training` false, the statistics are constants (eval-mode backward) and
   * saveMean/saveInvstd hold the running mean and 1/sqrt(running_var + eps).
   */
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
  ): void;

  /**
   * Training-mode batch_norm, then max_pool2d(kernel 2, stride 2), then relu, over x (N, C, H, W)
   * with H and W even and p.S = H * W: out (N, C, H/2, W/2) = relu(max_pool2d(batch_norm(x), 2)),
   * `indices` (int32, out's shape) as maxPool2d's (flat h * W + w of the window's first maximum;
   * NaN wins), saveMean / saveInvstd and the running statistics as batchNormTrain. The values of
   * the three primitives in sequence; a backend may fuse them (webgpu: one pass over x after the
   * statistics, the normalized map never stored).
   */
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
  ): void;
  /**
   * Backward of batchNormPoolTrain from gy and its `out` and `indices` (N, C, H/2, W/2): relu's,
   * the pool's and the training batch_norm's backward in sequence. gx (N, C, H, W) is overwritten;
   * gweight / gbias (C) when given.
   */
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
  ): void;

  // ---- squeeze-excitation (fused) ----
  /** out (N, C, S) = x * gate; writes `gate` (N, C) and `hidden` (N, R, post-ReLU) for the backward. */
  seForward(x: Storage, w1: Storage, w2: Storage, out: Storage, hidden: Storage, gate: Storage, p: SEParams): void;
  /** Overwrites gx (N, C, S), gw1 (R, C), gw2 (C, R). */
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
  ): void;

  // ---- softmax family over the last axis of a contiguous (outer, inner) ----
  softmax(x: Storage, out: Storage, outer: number, inner: number, log: boolean): void;
  /** gx from gy and the forward output y (softmax or log_softmax). */
  softmaxBackward(gy: Storage, y: Storage, gx: Storage, outer: number, inner: number, log: boolean): void;
  /**
   * Per-sample cross entropy with label smoothing: loss (N) and the per-sample class weight
   * wsum (N) (weight[target], 0 for ignore_index) so the front end can form PyTorch's weighted mean.
   * weight (C) may be null (all ones). targets int32 (N).
   */
  crossEntropy(logits: Storage, targets: Storage, weight: Storage | null, loss: Storage, wsum: Storage, p: CrossEntropyParams): void;
  /** glogits (N, C) from the per-sample upstream gradient gloss (N). */
  crossEntropyBackward(
    logits: Storage,
    targets: Storage,
    weight: Storage | null,
    gloss: Storage,
    glogits: Storage,
    p: CrossEntropyParams,
  ): void;

  /**
   * Checks that every int32 of `s` is in [0, hi) or equals `ignore` (class-index targets). The cpu
   * throws a RangeError with `message` at once; webgpu checks on the GPU and throws an Error with
   * `message` at the next readback (a device-side check).
   */
  checkIndex(s: Storage, hi: number, ignore: number, message: string): void;

  // ---- random ----
  /** Fills `out` (float32 or float64) with uniform [0, 1) or standard normal numbers; element i comes from block offset + floor(i/4), word i%4. */
  random(out: Storage, p: RandomParams): void;

  // ---- optimizer updates (in place, contiguous, all of `size` elements) ----
  /** PyTorch's SGD: updates param and momentumBuf (null when momentum is 0). */
  sgdUpdate(param: Storage, grad: Storage, momentumBuf: Storage | null, p: SGDParams): void;
  /** PyTorch's Adam/AdamW: updates param, expAvg, expAvgSq and maxExpAvgSq (amsgrad only). */
  adamUpdate(param: Storage, grad: Storage, expAvg: Storage, expAvgSq: Storage, maxExpAvgSq: Storage | null, p: AdamParams): void;

  /** Waits until all queued work is done (a no-op on cpu). */
  sync(): Promise<void>;
}
