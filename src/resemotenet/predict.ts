/**
 * Prediction: face images (PNG / JPEG, any size, colour or grey; the image is taken as the face
 * crop, there is no face detection) -> per-emotion probabilities (softmax of the logits),
 * labelled with the checkpoint's class names in its logit order.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Device } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { no_grad } from '../tensor/grad_mode.js';
import { tensor } from '../tensor/ops/creation.js';
import type { Module } from '../nn/module.js';
import { decodeImageToGray } from './data/image_decode.js';
import type { GrayImage } from './data/dataset.js';
import { ImageTransform, type TransformOptions } from './data/transforms.js';
import { softmaxRows, formatTable, argmaxRow } from './metrics.js';
import { loadCheckpoint } from './checkpoint.js';
import { evalTransform } from './evaluate.js';

/** One image's prediction. */
export interface Prediction {
  /** The file (or the caller's label). */
  image: string;
  /** Probabilities by class name, in the model's class order (sum 1). */
  probabilities: Record<string, number>;
  /** Logits, in the model's class order. */
  logits: number[];
  /** The most probable class and its probability. */
  label: string;
  confidence: number;
}

/**
 * Runs `model` (eval mode) on grey images and returns softmax probabilities. Images are
 * transformed as in evaluation (resize, 3 channels, normalise; no flip) and batched by `batchSize`.
 */
export async function predictImages(
  model: Module<[Tensor], Tensor>,
  images: readonly { name: string; image: GrayImage }[],
  o: { device: Device; transform: TransformOptions; classNames: readonly string[]; batchSize?: number },
): Promise<Prediction[]> {
  const tf = new ImageTransform({ ...o.transform, flipProb: 0 });
  const k = o.classNames.length;
  const bs = o.batchSize ?? 32;
  const out: Prediction[] = [];
  const wasTraining = model.training;
  model.eval();
  try {
    for (let start = 0; start < images.length; start += bs) {
      const chunk = images.slice(start, start + bs);
      const buf = new Float32Array(chunk.length * tf.numel);
      chunk.forEach((c, i) => tf.apply(c.image, false, buf, i * tf.numel));
      const logitsT = tidy(() => no_grad(() => model.call(tensor(buf, { shape: [chunk.length, ...tf.shape], device: o.device }))));
      let logits: Float32Array;
      try {
        if (logitsT.shape[1] !== k) throw new Error(`predict: the model gives ${logitsT.shape[1]} outputs but has ${k} class names`);
        logits = (await logitsT.data()) as Float32Array;
      } finally {
        logitsT.dispose();
      }
      const probs = softmaxRows(logits, k);
      chunk.forEach((c, i) => {
        const p: Record<string, number> = {};
        o.classNames.forEach((n, j) => (p[n] = probs[i * k + j]!));
        const best = argmaxRow(probs, i * k, k);
        out.push({ image: c.name, probabilities: p, logits: Array.from(logits.subarray(i * k, (i + 1) * k)), label: o.classNames[best]!, confidence: probs[i * k + best]! });
      });
    }
  } finally {
    model.train(wasTraining);
  }
  return out;
}

/** Reads and decodes image files to grey. @throws DataError naming a file that is not a PNG/JPEG. */
export async function readImages(files: readonly string[]): Promise<{ name: string; image: GrayImage }[]> {
  return Promise.all(files.map(async (f) => ({ name: f, image: decodeImageToGray(await readFile(f), f) })));
}

/** Loads a checkpoint and predicts image files (the `predict` command). */
export async function predictFiles(checkpoint: string, files: readonly string[], o: { device: Device; classNames?: string[]; batchSize?: number }): Promise<{ predictions: Prediction[]; classNames: string[]; checkpoint: string }> {
  if (files.length === 0) throw new RangeError('predict: no images given');
  const ck = await loadCheckpoint(checkpoint, { device: o.device, classNames: o.classNames });
  const imgs = await readImages(files);
  const cfg = ck.sidecar.config;
  const predictions = await predictImages(ck.model, imgs, { device: o.device, transform: evalTransform(cfg), classNames: cfg.class_names, batchSize: o.batchSize });
  return { predictions, classNames: [...cfg.class_names], checkpoint: ck.file };
}

/**
 * A table: one row per image, one column per class (probabilities with `digits` decimals), then
 * the prediction.
 */
export function formatPredictions(preds: readonly Prediction[], classNames: readonly string[], digits = 3): string {
  const rows: string[][] = [['image', ...classNames, 'prediction']];
  for (const p of preds) {
    rows.push([path.basename(p.image), ...classNames.map((n) => p.probabilities[n]!.toFixed(digits)), `${p.label} (${(p.confidence * 100).toFixed(1)}%)`]);
  }
  return formatTable(rows);
}
