/**
 * Faces and their emotions in one decoded image, with no file or DOM access (Node and browsers):
 * the image's pixels -> faces (BlazeFace, src/facedetect) -> for each face a square crop with a
 * margin, turned so the eyes are level, cut from the image in grey (PIL's RGB -> L) -> the
 * classifier's evaluation transform (Pillow-exact resize, ImageNet normalisation) -> softmax
 * probabilities labelled with the model's class names.
 *
 * This module is the one implementation of these steps: `predictPhoto` in ./predict.ts (Node,
 * from files) and ./evaluate.ts build on its helpers (`classifyGray`, `cropSideFor`,
 * `evalTransformFor`; the luma is ./data/luma.ts), which is why it imports nothing Node-only.
 */
import type { Device } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { no_grad } from '../tensor/grad_mode.js';
import { tensor } from '../tensor/ops/creation.js';
import type { Module } from '../nn/module.js';
import { DEFAULT_DETECT_OPTIONS, type DetectOptions, type FaceDetector } from '../facedetect/detect.js';
import { faceCrop, cropGray } from '../facedetect/align.js';
import type { PixelImage } from '../facedetect/pixels.js';
import type { GrayImage } from './data/dataset.js';
import { ImageTransform, resEmoteNetTransform, type TransformOptions } from './data/transforms.js';
import { softmaxRows, argmaxRow } from './metrics.js';
import type { ModelConfig } from './checkpoint.js';
import { lumaL } from './data/luma.js';

/** A classifier ready to run: the model (its device is `device` of the calls) and its input settings. */
export interface FaceClassifier {
  model: Module<[Tensor], Tensor>;
  config: Pick<ModelConfig, 'image_size' | 'mean' | 'std' | 'class_names'>;
}

export { lumaL };

/**
 * An image with 1, 3 or 4 (RGBA, e.g. ImageData) channels in grey, as PIL's convert('L') (alpha
 * ignored; grey input copied).
 * @throws RangeError for bad sizes or a data length that is not 1, 3 or 4 bytes per pixel.
 */
export function toGray(img: PixelImage): GrayImage {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`toGray (src/resemotenet/face_emotions.ts): width and height must be positive integers, got ${width}x${height}`);
  }
  const n = width * height;
  const c = data.length / n;
  if (c !== 1 && c !== 3 && c !== 4) throw new RangeError(`toGray: ${data.length} bytes for a ${width}x${height} image is not 1, 3 or 4 channels per pixel`);
  if (c === 1) return { width, height, data: Uint8Array.from(data) };
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = lumaL(data[c * i]!, data[c * i + 1]!, data[c * i + 2]!);
  return { width, height, data: out };
}

/** The eval-mode transform of a model config: resize to image_size, 3 channels, its mean/std, no flip. */
export function evalTransformFor(cfg: Pick<ModelConfig, 'image_size' | 'mean' | 'std'>): TransformOptions {
  return resEmoteNetTransform(false, { size: [cfg.image_size, cfg.image_size], mean: cfg.mean, std: cfg.std });
}

/**
 * The side (pixels) at which a face crop is cut before the transform's own resize: the crop's
 * size in the image, kept between the model's input side and 4 times it, so the transform's
 * antialiased resize does the downscaling.
 */
export function cropSideFor(side: number, imageSize: number): number {
  return Math.min(4 * imageSize, Math.max(imageSize, Math.round(side)));
}

/** The classifier's answer for one image. */
export interface EmotionScores {
  /** Probabilities by class name, in the model's class order (sum 1). */
  probabilities: Record<string, number>;
  /** Logits, in the model's class order. */
  logits: number[];
  /** The most probable class and its probability. */
  label: string;
  confidence: number;
}

/**
 * Runs the classifier (eval mode; its training flag is restored) on grey images of any size,
 * transformed as in evaluation (or by `transform`, without its flip), in batches of `batchSize`
 * (default 32).
 * @throws Error when the model's output count differs from its class names.
 */
export async function classifyGray(
  clf: FaceClassifier,
  images: readonly GrayImage[],
  o: { device: Device; batchSize?: number; transform?: TransformOptions },
): Promise<EmotionScores[]> {
  const tf = new ImageTransform({ ...(o.transform ?? evalTransformFor(clf.config)), flipProb: 0 });
  const names = clf.config.class_names;
  const k = names.length;
  const bs = o.batchSize ?? 32;
  const out: EmotionScores[] = [];
  const wasTraining = clf.model.training;
  clf.model.eval();
  try {
    for (let start = 0; start < images.length; start += bs) {
      const chunk = images.slice(start, start + bs);
      const buf = new Float32Array(chunk.length * tf.numel);
      chunk.forEach((img, i) => tf.apply(img, false, buf, i * tf.numel));
      const logitsT = tidy(() => no_grad(() => clf.model.call(tensor(buf, { shape: [chunk.length, ...tf.shape], device: o.device }))));
      let logits: Float32Array;
      try {
        if (logitsT.shape[1] !== k) throw new Error(`classifyGray: the model gives ${logitsT.shape[1]} outputs but has ${k} class names`);
        logits = (await logitsT.data()) as Float32Array;
      } finally {
        logitsT.dispose();
      }
      const probs = softmaxRows(logits, k);
      chunk.forEach((_, i) => {
        const p: Record<string, number> = {};
        names.forEach((n, j) => (p[n] = probs[i * k + j]!));
        const best = argmaxRow(probs, i * k, k);
        out.push({ probabilities: p, logits: Array.from(logits.subarray(i * k, (i + 1) * k)), label: names[best]!, confidence: probs[i * k + best]! });
      });
    }
  } finally {
    clf.model.train(wasTraining);
  }
  return out;
}

/** One face and its emotion. */
export interface FaceEmotion extends EmotionScores {
  /** Box (x1, y1, x2, y2) in image pixels (continuous: (0, 0) is the top-left corner of the image). */
  box: [number, number, number, number];
  /** The 6 BlazeFace keypoints (facedetect KEYPOINT_NAMES order) in image pixels. */
  keypoints: [number, number][];
  /** The detector's score in [0, 1]. */
  faceScore: number;
}

export interface FaceEmotionsOptions {
  /** Where the classifier's model lives (the detector has its own device). */
  device: Device;
  /** Detector settings (default minScore 0.65, IoU 0.3). */
  detectOptions?: DetectOptions;
  /** Crop side = max(box width, height) * (1 + margin) (default 0.2). */
  margin?: number;
  /** Turn each crop so the eyes are level (default true). */
  rotate?: boolean;
  batchSize?: number;
}

/** What {@link faceEmotions} finds, and how long its two stages took. */
export interface FaceEmotionsResult {
  width: number;
  height: number;
  /** Best detector score first; empty when no face is found. */
  faces: FaceEmotion[];
  /** Milliseconds: detection (letterbox, network, readback, decoding), classification (crops, transform, network, readback). */
  timings: { detectMs: number; classifyMs: number };
}

/**
 * The faces in `img` (1, 3 or 4 channels, any size) with their emotions (see the file header).
 * @throws RangeError for image data that does not match its size or bad options.
 */
export async function faceEmotions(clf: FaceClassifier, detector: FaceDetector, img: PixelImage, o: FaceEmotionsOptions): Promise<FaceEmotionsResult> {
  const t0 = performance.now();
  const found = await detector.detect(img, { ...DEFAULT_DETECT_OPTIONS, ...o.detectOptions });
  const t1 = performance.now();
  let faces: FaceEmotion[] = [];
  if (found.length > 0) {
    const grey = toGray(img);
    const crops = found.map((f) => {
      const c = faceCrop(f, { margin: o.margin, rotate: o.rotate });
      return cropGray(grey, c, cropSideFor(c.side, clf.config.image_size));
    });
    const scores = await classifyGray(clf, crops, { device: o.device, batchSize: o.batchSize });
    faces = scores.map((s, i) => ({ ...s, box: found[i]!.box, keypoints: found[i]!.keypoints, faceScore: found[i]!.score }));
  }
  const t2 = performance.now();
  return { width: img.width, height: img.height, faces, timings: { detectMs: t1 - t0, classifyMs: t2 - t1 } };
}
