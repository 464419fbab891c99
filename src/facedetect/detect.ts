/**
 * Face detection on any image: letterbox to 256x256, BlazeFace on this library's tensors (cpu or
 * webgpu), decode against the anchors, weighted NMS, and the boxes and keypoints mapped back to
 * the input image's pixels. The network's two outputs are the only readback.
 */
import type { Device } from '../tensor/device.js';
import { getDefaultDevice } from '../tensor/device.js';
import { tensor } from '../tensor/ops/creation.js';
import { tidy } from '../tensor/memory.js';
import { no_grad } from '../tensor/grad_mode.js';
import type { Tensor } from '../tensor/tensor.js';
import { BLAZEFACE_INPUT_SIZE, type BlazeFace } from './model.js';
import { blazeFaceAnchors } from './anchors.js';
import { decodeDetections, type Detection } from './decode.js';
import { weightedNms } from './nms.js';
import { letterbox, toImagePoint, type LetterboxTransform } from './letterbox.js';
import { toRgb, type PixelImage } from './pixels.js';
import { loadBlazeFace, type LoadBlazeFaceOptions } from './weights.js';

export interface DetectOptions {
  /**
   * Lowest face score kept, in [0, 1]. Default 0.65, chosen on tests/fixtures/photos: MediaPipe's
   * usual 0.5 keeps a coffee cup (0.61); the clearly visible faces there score 0.80-0.95; a cat's
   * face scores 0.77 and is kept (BlazeFace finds cat faces).
   */
  minScore?: number;
  /** IoU above which candidates merge into one face (default 0.3, MediaPipe's). */
  iouThreshold?: number;
  /** At most this many faces, best first (default: all). */
  maxFaces?: number;
}

export const DEFAULT_DETECT_OPTIONS: Readonly<Required<DetectOptions>> = { minScore: 0.65, iouThreshold: 0.3, maxFaces: Infinity };

/** The network's raw outputs for one image, with the letterbox used. */
export interface RawDetectorOutput {
  /** (896) anchor logits. */
  scores: Float32Array;
  /** (896 * 16) regressors in 256-pixel input units. */
  regressors: Float32Array;
  transform: LetterboxTransform;
}

function checkOptions(o: DetectOptions): Required<DetectOptions> {
  const r = { ...DEFAULT_DETECT_OPTIONS, ...o };
  if (!(r.minScore >= 0 && r.minScore <= 1)) throw new RangeError(`detectFaces: minScore must be in [0, 1], got ${r.minScore}`);
  if (!(r.iouThreshold >= 0 && r.iouThreshold <= 1)) throw new RangeError(`detectFaces: iouThreshold must be in [0, 1], got ${r.iouThreshold}`);
  if (!(r.maxFaces >= 1)) throw new RangeError(`detectFaces: maxFaces must be at least 1, got ${r.maxFaces}`);
  return r;
}

/** A loaded BlazeFace on one device, ready to detect faces in images of any size. */
export class FaceDetector {
  readonly anchors = blazeFaceAnchors();

  constructor(readonly model: BlazeFace, readonly device: Device) {}

  /** Loads the shipped weights (or those given) on `o.device` (default: the default device). */
  static async create(o: LoadBlazeFaceOptions = {}): Promise<FaceDetector> {
    const device = o.device ?? getDefaultDevice();
    return new FaceDetector(await loadBlazeFace({ ...o, device }), device);
  }

  /**
   * The network's outputs for `image` (1, 3 or 4 channels, any size).
   * @throws RangeError for an image whose data does not match its size.
   */
  async raw(image: PixelImage): Promise<RawDetectorOutput> {
    const rgb = toRgb(image);
    const s = BLAZEFACE_INPUT_SIZE;
    const { input, transform } = letterbox(rgb, s);
    const { scores, regressors } = tidy(() =>
      no_grad(() => {
        const x = tensor(input, { shape: [1, 3, s, s], device: this.device });
        return this.model.call(x) as { scores: Tensor; regressors: Tensor };
      }),
    );
    try {
      const [sc, rg] = await Promise.all([scores.data(), regressors.data()]);
      return { scores: sc as Float32Array, regressors: rg as Float32Array, transform };
    } finally {
      scores.dispose();
      regressors.dispose();
    }
  }

  /**
   * The faces in `image` (1, 3 or 4 channels, any size), best first: box (x1, y1, x2, y2) and 6
   * keypoints (KEYPOINT_NAMES order) in the image's pixels (continuous coordinates: the top-left
   * corner of the image is (0, 0), its bottom-right (width, height); boxes may reach past the
   * edges), and the score in [0, 1]. See DetectOptions for the settings.
   * @throws RangeError for bad options or image data that does not match the size.
   */
  async detect(image: PixelImage, o: DetectOptions = {}): Promise<Detection[]> {
    const opt = checkOptions(o);
    const raw = await this.raw(image);
    return facesFromRaw(raw, this.anchors, opt);
  }
}

/** Decode + weighted NMS + letterbox inverse on raw outputs (see FaceDetector.detect). */
export function facesFromRaw(raw: RawDetectorOutput, anchors: Float32Array, o: DetectOptions = {}): Detection[] {
  const opt = checkOptions(o);
  const faces = weightedNms(decodeDetections(raw.scores, raw.regressors, anchors, opt.minScore), opt.iouThreshold, opt.maxFaces);
  const t = raw.transform;
  return faces.map((f) => {
    const [x1, y1] = toImagePoint(t, f.box[0], f.box[1]);
    const [x2, y2] = toImagePoint(t, f.box[2], f.box[3]);
    return { box: [x1, y1, x2, y2], keypoints: f.keypoints.map(([x, y]) => toImagePoint(t, x, y)), score: f.score, anchor: f.anchor };
  });
}

const detectors = new Map<Device, Promise<FaceDetector>>();

/**
 * Detects faces with the shipped BlazeFace weights on `o.device` (default: the default device),
 * loading them once per device. See FaceDetector.detect for the result.
 */
export async function detectFaces(image: PixelImage, o: DetectOptions & { device?: Device } = {}): Promise<Detection[]> {
  const device = o.device ?? getDefaultDevice();
  let d = detectors.get(device);
  if (!d) {
    d = FaceDetector.create({ device });
    detectors.set(device, d);
    d.catch(() => detectors.delete(device));
  }
  return (await d).detect(image, o);
}
