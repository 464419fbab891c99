/**
 * Prediction on photographs: image -> faces (BlazeFace, src/facedetect) -> for each face a square
 * crop with a margin, turned so the eyes are level (src/facedetect/align.ts), in grey -> the
 * classifier's evaluation transform -> softmax probabilities labelled with the checkpoint's class
 * names. An image without a face says so instead of getting a label. With `detect: false` the
 * whole image is taken as the face crop (pre-cropped faces such as FER2013's), as before.
 *
 * Inputs are files and folders (./predict_inputs.ts); an unreadable or non-image file is reported
 * in its result and the others go on. Output formats live in ./predict_format.ts, pictures in
 * ./annotate.ts.
 */
import { mkdir } from 'node:fs/promises';
import { readImageFile } from './data/read_file.js';
import path from 'node:path';
import type { Device } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { decodeImage, type RgbImage } from '../facedetect/image.js';
import { FaceDetector, DEFAULT_DETECT_OPTIONS, type DetectOptions } from '../facedetect/detect.js';
import { faceCrop, cropGray } from '../facedetect/align.js';
import { decodeImageToGray } from './data/image_decode.js';
import type { GrayImage } from './data/dataset.js';
import type { TransformOptions } from './data/transforms.js';
import { formatTable } from './metrics.js';
import { classifyGray, cropSideFor, toGray } from './face_emotions.js';
import { loadCheckpoint, type LoadedCheckpoint, type ModelConfig } from './checkpoint.js';
import { evalTransform } from './evaluate.js';
import { expandInputs } from './predict_inputs.js';
import { writeAnnotated, type Annotation } from './annotate.js';

/** One image's (or one face's) prediction. */
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

/** A face's prediction: where the face is, and the classifier's answer on its crop. */
export interface FacePrediction extends Prediction {
  /** Index of the face in its image (best detector score first); null for a whole-image prediction. */
  face: number | null;
  /** Face box (x1, y1, x2, y2) in image pixels; null for a whole-image prediction. */
  box: [number, number, number, number] | null;
  /** The 6 BlazeFace keypoints (facedetect KEYPOINT_NAMES order) in image pixels; null without detection. */
  keypoints: [number, number][] | null;
  /** The detector's score in [0, 1]; null without detection. */
  faceScore: number | null;
}

/** What happened to one input. */
export interface ImageResult {
  /** The path as given (or found in a given folder). */
  image: string;
  /** 'ok': one prediction per face (or one for the whole image); 'no_face': none found; 'error': unreadable. */
  status: 'ok' | 'no_face' | 'error';
  /** Why the file could not be used (status 'error'). */
  error?: string;
  width?: number;
  height?: number;
  faces: FacePrediction[];
}

/** A classifier ready to run: the model, its input settings and class names, and where it came from. */
export interface EmotionClassifier {
  model: Module<[Tensor], Tensor>;
  config: Pick<ModelConfig, 'image_size' | 'mean' | 'std' | 'class_names'>;
  /** The checkpoint file (or another description), for reports. */
  source: string;
}

/** The classifier of a loaded checkpoint. */
export function classifierFromCheckpoint(ck: LoadedCheckpoint): EmotionClassifier {
  return { model: ck.model, config: ck.sidecar.config, source: ck.file };
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
  // the transform is given, so only the class names of the config are read
  const clf = { model, config: { image_size: 0, mean: [], std: [], class_names: [...o.classNames] } };
  const scores = await classifyGray(clf, images.map((i) => i.image), { device: o.device, batchSize: o.batchSize, transform: o.transform });
  return scores.map((s, i) => ({ image: images[i]!.name, ...s }));
}

/** Reads and decodes image files to grey. @throws DataError naming a file that is not a PNG/JPEG. */
export async function readImages(files: readonly string[]): Promise<{ name: string; image: GrayImage }[]> {
  return Promise.all(files.map(async (f) => ({ name: f, image: decodeImageToGray(await readImageFile(f), f) })));
}

/** PIL's RGB -> L of a whole image (the classifier's inputs are grey). */
export function rgbToGray(img: RgbImage): GrayImage {
  return toGray(img);
}

export interface PhotoPredictOptions {
  device: Device;
  /** Find faces first (default true); false labels the whole image. */
  detect?: boolean;
  /** The detector (default: the shipped BlazeFace on `device`, loaded once per call of predictFiles). */
  detector?: FaceDetector;
  /** Detector settings (default minScore 0.65, IoU 0.3). */
  detectOptions?: DetectOptions;
  /** Crop side = max(box width, height) * (1 + margin) (default 0.2). */
  margin?: number;
  /** Turn each crop so the eyes are level (default true). */
  rotate?: boolean;
  batchSize?: number;
}

/** The side at which a face crop is cut before the classifier's resize (face_emotions.ts `cropSideFor`). */
export const cropSide = cropSideFor;

/**
 * Predicts the faces of one decoded photo (see the file header). `name` labels the result.
 * Without detection the grey whole image is labelled (one FacePrediction with face null).
 */
export async function predictPhoto(clf: EmotionClassifier, rgb: RgbImage, name: string, o: PhotoPredictOptions & { detector: FaceDetector }): Promise<ImageResult> {
  const base = { image: name, width: rgb.width, height: rgb.height };
  const grey = rgbToGray(rgb);
  const common = { device: o.device, transform: evalTransform(clf.config), classNames: clf.config.class_names, batchSize: o.batchSize };
  const faces = await o.detector.detect(rgb, { ...DEFAULT_DETECT_OPTIONS, ...o.detectOptions });
  if (faces.length === 0) return { ...base, status: 'no_face', faces: [] };
  const crops = faces.map((f) => {
    const c = faceCrop(f, { margin: o.margin, rotate: o.rotate });
    return { name, image: cropGray(grey, c, cropSide(c.side, clf.config.image_size)) as GrayImage };
  });
  const preds = await predictImages(clf.model, crops, common);
  return {
    ...base,
    status: 'ok',
    faces: preds.map((p, i) => ({ ...p, face: i, box: faces[i]!.box, keypoints: faces[i]!.keypoints, faceScore: faces[i]!.score })),
  };
}

export interface PredictFilesOptions extends PhotoPredictOptions {
  /** Class names for a bare .safetensors; a sidecar's own names win unless overrideClassNames (checkpoint paths only, see loadCheckpoint). */
  classNames?: string[];
  overrideClassNames?: boolean;
  /** Receives loadCheckpoint's warnings. */
  warn?: (message: string) => void;
  /** Write each image as a PNG with boxes and labels into this folder. */
  annotateDir?: string;
  /** Called with each image's result as soon as it is known. */
  onResult?: (r: ImageResult) => void;
}

export interface PredictFilesResult {
  /** One entry per input file, in input order (folders expanded). */
  results: ImageResult[];
  /** Every face's (or whole image's) prediction, in input order. */
  predictions: FacePrediction[];
  classNames: string[];
  /** The classifier's source (checkpoint file). */
  checkpoint: string;
  /** How many inputs could not be used. */
  failed: number;
  /** Annotated pictures written. */
  annotated: string[];
}

/** `name.png` in `dir`, with -1, -2, ... added when the name is taken. */
function annotatedName(dir: string, file: string, used: Set<string>): string {
  const stem = path.basename(file, path.extname(file));
  let name = `${stem}.png`;
  for (let i = 1; used.has(name); i++) name = `${stem}-${i}.png`;
  used.add(name);
  return path.join(dir, name);
}

/**
 * Predicts every image in `inputs` (files and folders, see ./predict_inputs.ts) with a checkpoint
 * (a path: a .json sidecar, a .safetensors or a run folder; or an already loaded classifier).
 * Unreadable inputs get status 'error' and count in `failed`; the others go on.
 * @throws RangeError when no input is given; Error when the checkpoint cannot be loaded.
 */
export async function predictFiles(source: string | EmotionClassifier, inputs: readonly string[], o: PredictFilesOptions): Promise<PredictFilesResult> {
  if (inputs.length === 0) throw new RangeError('predict: no images given');
  const clf = typeof source === 'string' ? classifierFromCheckpoint(await loadCheckpoint(source, { device: o.device, classNames: o.classNames, overrideClassNames: o.overrideClassNames, warn: o.warn })) : source;
  const detect = o.detect ?? true;
  const detector = detect ? (o.detector ?? (await FaceDetector.create({ device: o.device }))) : null;
  if (o.annotateDir) await mkdir(o.annotateDir, { recursive: true });
  const files = await expandInputs(inputs);
  const results: ImageResult[] = [];
  const annotated: string[] = [];
  const used = new Set<string>();
  for (const input of files) {
    let r: ImageResult;
    let rgb: RgbImage | null = null;
    if ('error' in input) {
      r = { image: input.file, status: 'error', error: input.error, faces: [] };
    } else {
      try {
        const bytes = await readImageFile(input.file);
        if (detector) {
          rgb = decodeImage(bytes, input.file);
          r = await predictPhoto(clf, rgb, input.file, { ...o, detector });
        } else {
          const grey = decodeImageToGray(bytes, input.file);
          if (o.annotateDir) rgb = decodeImage(bytes, input.file);
          const [p] = await predictImages(clf.model, [{ name: input.file, image: grey }], {
            device: o.device,
            transform: evalTransform(clf.config),
            classNames: clf.config.class_names,
          });
          r = { image: input.file, status: 'ok', width: grey.width, height: grey.height, faces: [{ ...p!, face: null, box: null, keypoints: null, faceScore: null }] };
        }
      } catch (e) {
        const msg = (e as Error).message ?? String(e);
        // Decoder errors already start with the file name.
        r = { image: input.file, status: 'error', error: msg.startsWith(`${input.file}: `) ? msg.slice(input.file.length + 2) : msg, faces: [] };
      }
    }
    if (o.annotateDir && rgb) {
      const anns: Annotation[] =
        r.status === 'no_face' ? [{ box: null, label: 'no face found' }] : r.faces.map((f) => ({ box: f.box, label: `${f.label} ${Math.round(f.confidence * 100)}%` }));
      const file = annotatedName(o.annotateDir, r.image, used);
      await writeAnnotated(file, rgb, anns);
      annotated.push(file);
    }
    results.push(r);
    o.onResult?.(r);
  }
  return {
    results,
    predictions: results.flatMap((r) => r.faces),
    classNames: [...clf.config.class_names],
    checkpoint: clf.source,
    failed: results.filter((r) => r.status === 'error').length,
    annotated,
  };
}

/**
 * A table: one row per image, one column per class (probabilities with `digits` decimals), then
 * the prediction. (The `predict` command prints ./predict_format.ts's per-face table.)
 */
export function formatPredictions(preds: readonly Prediction[], classNames: readonly string[], digits = 3): string {
  const rows: string[][] = [['image', ...classNames, 'prediction']];
  for (const p of preds) {
    rows.push([path.basename(p.image), ...classNames.map((n) => p.probabilities[n]!.toFixed(digits)), `${p.label} (${(p.confidence * 100).toFixed(1)}%)`]);
  }
  return formatTable(rows);
}
