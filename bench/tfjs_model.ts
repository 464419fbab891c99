/**
 * ResEmoteNet in TensorFlow.js ops (NHWC, tfjs's native layout), the peer of this library's
 * model: the same layers, shapes and parameter count, built from PyTorch-named weights (copied
 * from this library's model when it is available, so outputs can be compared).
 *
 * A conv weight above the adapter's maxStorageBufferBindingSize (res_block3.conv2: 2048x2048x3x3
 * = 151 MB, over lavapipe's 128 MiB) is held as chunks along the output channels and computed as
 * one conv per chunk plus a concat: the same math and parameter count. Unsplit, tfjs binds the
 * whole buffer, WebGPU rejects the bind group and the conv silently returns zeros.
 */
import type * as TFNS from '@tensorflow/tfjs';
import { numel, type ParamSpec } from './shapes.js';
import { randomArray } from './harness.js';

export type TF = typeof TFNS;
type T = TFNS.Tensor;
type T4 = TFNS.Tensor4D;
type T2 = TFNS.Tensor2D;
type V = TFNS.Variable;

export interface TfWeightSource {
  spec: ParamSpec;
  /** PyTorch layout (OIHW conv, (out, in) linear); random when absent. */
  data?: Float32Array;
}

export interface TfResEmoteNet {
  /** Trainable parameter elements (chunks counted once each). */
  paramCount: number;
  /** Conv weights held as chunks (name -> chunk count). */
  split: Record<string, number>;
  /** x: (N, H, W, 3) -> logits (N, classes). */
  forward(x: T4, training: boolean): T2;
  /** One SGD-with-momentum step on cross-entropy; returns the loss (kept; dispose it). */
  trainStep(x: T4, labels: TFNS.Tensor1D): T;
  dispose(): void;
}

/** OIHW -> HWIO for output channels [o0, o1). */
function oihwToHwio(src: Float32Array, O: number, I: number, KH: number, KW: number, o0: number, o1: number): Float32Array {
  const Oc = o1 - o0;
  const dst = new Float32Array(KH * KW * I * Oc);
  for (let o = o0; o < o1; o++) {
    for (let i = 0; i < I; i++) {
      const sBase = (o * I + i) * KH * KW;
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) dst[((kh * KW + kw) * I + i) * Oc + (o - o0)] = src[sBase + kh * KW + kw]!;
      }
    }
  }
  return dst;
}

function transpose2d(src: Float32Array, R: number, C: number): Float32Array {
  const dst = new Float32Array(R * C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) dst[c * R + r] = src[r * C + c]!;
  return dst;
}

export interface BuildOptions {
  /** Split conv weights above this many bytes (the adapter's maxStorageBufferBindingSize); Infinity: never. */
  maxBindingBytes: number;
  lr?: number;
  momentum?: number;
  /** Prefix of the tfjs variable names (they must be unique per process). */
  namePrefix?: string;
}

export function buildTfResEmoteNet(tf: TF, weights: TfWeightSource[], o: BuildOptions): TfResEmoteNet {
  const vars = new Map<string, V[]>();
  const split: Record<string, number> = {};
  const trainable: V[] = [];
  let paramCount = 0;
  let seed = 1000;
  const pre = o.namePrefix ?? '';
  for (const { spec, data } of weights) {
    const n = numel(spec.shape);
    let src = data;
    if (!src) {
      if (spec.name.endsWith('running_var')) src = new Float32Array(n).fill(1);
      else if (spec.name.endsWith('running_mean') || (spec.shape.length === 1 && spec.name.endsWith('bias'))) src = new Float32Array(n);
      else if (spec.shape.length === 1) src = new Float32Array(n).fill(1);
      else src = randomArray(n, seed++, 1 / Math.sqrt(n / spec.shape[0]!));
    }
    if (src.length !== n) throw new Error(`tfjs model: ${spec.name} has ${src.length} values, expected ${n}`);
    const list: V[] = [];
    if (spec.shape.length === 4) {
      const [O, I, KH, KW] = spec.shape as [number, number, number, number];
      const chunks = Math.max(1, Math.ceil((n * 4) / o.maxBindingBytes));
      // Chunk sizes that divide O evenly (O is a power of two in ResEmoteNet).
      let k = chunks;
      while (O % k !== 0) k++;
      if (k > 1) split[spec.name] = k;
      for (let c = 0; c < k; c++) {
        const o0 = (c * O) / k, o1 = ((c + 1) * O) / k;
        list.push(tf.variable(tf.tensor4d(oihwToHwio(src, O, I, KH, KW, o0, o1), [KH, KW, I, o1 - o0]), spec.trainable, `${pre}${spec.name}#${c}`));
      }
    } else if (spec.shape.length === 2) {
      const [R, C] = spec.shape as [number, number];
      list.push(tf.variable(tf.tensor2d(transpose2d(src, R, C), [C, R]), spec.trainable, pre + spec.name));
    } else {
      list.push(tf.variable(tf.tensor1d(src), spec.trainable, pre + spec.name));
    }
    vars.set(spec.name, list);
    if (spec.trainable) {
      trainable.push(...list);
      paramCount += list.reduce((a, v) => a + v.size, 0);
    }
  }
  const get = (name: string): V[] => {
    const v = vars.get(name);
    if (!v) throw new Error(`tfjs model: missing weight ${name}`);
    return v;
  };
  const one = (name: string): V => get(name)[0]!;
  const has = (name: string) => vars.has(name);

  const conv = (name: string, x: T4, stride: number): T4 => {
    const ws = get(`${name}.weight`);
    const k = ws[0]!.shape[0]!;
    const pad = k === 3 ? 1 : 0;
    const parts = ws.map((w) => tf.conv2d(x, w as unknown as TFNS.Tensor4D, stride, pad));
    const y = parts.length === 1 ? parts[0]! : tf.concat(parts, 3);
    return tf.add(y, one(`${name}.bias`));
  };

  /** Batch statistics gathered in training mode, for the running-stat update after the step. */
  let stats: [string, T, T, number][] = [];
  const momentumBn = 0.1;
  const eps = 1e-5;
  const bn = (name: string, x: T4, training: boolean): T4 => {
    const gamma = one(`${name}.weight`), beta = one(`${name}.bias`);
    if (training) {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const count = x.shape[0] * x.shape[1] * x.shape[2];
      stats.push([name, tf.keep(mean), tf.keep(variance), count]);
      return tf.batchNorm(x, mean, variance, beta, gamma, eps) as T4;
    }
    return tf.batchNorm(x, one(`${name}.running_mean`), one(`${name}.running_var`), beta, gamma, eps) as T4;
  };
  const drop = (x: T, rate: number, training: boolean): T => (training ? tf.dropout(x, rate) : x);

  const forward = (x: T4, training: boolean): T2 => {
    let h = x;
    for (let i = 1; i <= 3; i++) {
      h = tf.relu(bn(`bn${i}`, conv(`conv${i}`, h, 1), training));
      h = tf.maxPool(h, 2, 2, 'valid');
      if (i < 3) h = drop(h, 0.2, training) as T4;
    }
    // SE: gate = sigmoid(relu(mean_hw(h) @ W1^T) @ W2^T)
    const s = tf.mean(h, [1, 2]) as T2;
    const z = tf.relu(tf.matMul(s, one('se.fc.0.weight') as unknown as T2));
    const gate = tf.sigmoid(tf.matMul(z, one('se.fc.2.weight') as unknown as T2));
    h = tf.mul(h, tf.reshape(gate, [h.shape[0], 1, 1, h.shape[3]])) as T4;
    for (let b = 1; b <= 3; b++) {
      const rb = `res_block${b}`;
      let out = tf.relu(bn(`${rb}.bn1`, conv(`${rb}.conv1`, h, 2), training));
      out = bn(`${rb}.bn2`, conv(`${rb}.conv2`, out, 1), training);
      const sc = has(`${rb}.shortcut.0.weight`) ? bn(`${rb}.shortcut.1`, conv(`${rb}.shortcut.0`, h, 2), training) : h;
      h = tf.relu(tf.add(out, sc)) as T4;
    }
    let f = tf.mean(h, [1, 2]) as T2;
    for (let i = 1; i <= 3; i++) {
      f = tf.relu(tf.add(tf.matMul(f, one(`fc${i}.weight`) as unknown as T2), one(`fc${i}.bias`))) as T2;
      f = drop(f, 0.5, training) as T2;
    }
    return tf.add(tf.matMul(f, one('fc4.weight') as unknown as T2), one('fc4.bias')) as T2;
  };

  const optimizer = tf.train.momentum(o.lr ?? 0.01, o.momentum ?? 0.9);
  const classes = one('fc4.bias').shape[0]!;

  const trainStep = (x: T4, labels: TFNS.Tensor1D): T => {
    stats = [];
    const loss = optimizer.minimize(
      () => {
        const logits = forward(x, true);
        return tf.losses.softmaxCrossEntropy(tf.oneHot(labels as TFNS.Tensor1D, classes), logits) as TFNS.Scalar;
      },
      true,
      trainable,
    )!;
    // PyTorch's running statistics: new = (1 - m) old + m batch (unbiased variance).
    tf.tidy(() => {
      for (const [name, mean, variance, count] of stats) {
        const rm = one(`${name}.running_mean`), rv = one(`${name}.running_var`);
        rm.assign(tf.add(tf.mul(rm, 1 - momentumBn), tf.mul(mean, momentumBn)));
        rv.assign(tf.add(tf.mul(rv, 1 - momentumBn), tf.mul(variance, (momentumBn * count) / Math.max(1, count - 1))));
      }
    });
    for (const [, m, v] of stats) {
      m.dispose();
      v.dispose();
    }
    stats = [];
    return loss;
  };

  return {
    paramCount,
    split,
    forward,
    trainStep,
    dispose() {
      optimizer.dispose();
      for (const l of vars.values()) for (const v of l) v.dispose();
    },
  };
}
