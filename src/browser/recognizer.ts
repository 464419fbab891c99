/**
 * Faces and emotions in a page: a face detector and an emotion classifier on one device, run on
 * anything a page can show (photo, canvas, the current frame of a <video>). The pipeline itself
 * is ../resemotenet/face_emotions.ts, shared with Node.
 */
import type { Device } from '../tensor/device.js';
import type { FaceDetector } from '../facedetect/detect.js';
import type { PixelImage } from '../facedetect/pixels.js';
import { faceEmotions, type FaceClassifier, type FaceEmotion, type FaceEmotionsOptions } from '../resemotenet/face_emotions.js';
import { imagePixels, asPixelImage, type BrowserImageSource } from './pixels.js';
import { loadFaceDetector, loadPretrainedFromUrl } from './load.js';

/** What {@link EmotionRecognizer.predictFaces} finds in one image or frame. */
export interface PageFaces {
  /** The image's size in pixels (boxes and keypoints are in these pixels). */
  width: number;
  height: number;
  /** Best detector score first; empty when no face is found. */
  faces: FaceEmotion[];
  /**
   * Milliseconds: reading the pixels (canvas drawImage + getImageData), detection, classification
   * (both include their GPU readback) and the whole call.
   */
  timings: { pixelsMs: number; detectMs: number; classifyMs: number; totalMs: number };
}

/** Settings of one prediction (the detector's threshold, the crop margin and rotation). */
export type PredictFacesOptions = Omit<FaceEmotionsOptions, 'device'>;

const isPixelImage = (s: unknown): s is PixelImage =>
  typeof s === 'object' && s !== null && 'data' in s && (s.data instanceof Uint8Array || s.data instanceof Uint8ClampedArray) && 'width' in s && 'height' in s;

/** A face detector and an emotion classifier, both on `device`. */
export class EmotionRecognizer {
  constructor(
    readonly detector: FaceDetector,
    readonly classifier: FaceClassifier,
    readonly device: Device,
  ) {
    if (detector.device !== device) throw new Error(`EmotionRecognizer: the detector is on '${detector.device}' and the classifier should be on '${device}'; put both on one device`);
  }

  /**
   * Loads the detector (`detectorUrl`, default the library's bundled BlazeFace weights) and the
   * classifier at `classifierUrl` (a folder with model.json, or a sidecar URL; see
   * loadPretrainedFromUrl) on `device` (default cpu; call `initBackend()` first for webgpu).
   * @throws WeightsFetchError when a file cannot be fetched; Error when the files do not fit.
   */
  static async create(o: { classifierUrl: string | URL; detectorUrl?: string | URL; device?: Device }): Promise<EmotionRecognizer> {
    const device = o.device ?? 'cpu';
    const [detector, classifier] = await Promise.all([loadFaceDetector({ device, url: o.detectorUrl }), loadPretrainedFromUrl(o.classifierUrl, { device })]);
    return new EmotionRecognizer(detector, classifier, device);
  }

  /** The same detector with another classifier (on the same device). */
  withClassifier(classifier: FaceClassifier): EmotionRecognizer {
    return new EmotionRecognizer(this.detector, classifier, this.device);
  }

  /**
   * The faces in `source` (a photo, canvas, video frame, ImageData, or the library's PixelImage),
   * each with its box and keypoints in the source's pixels, the detector's score, and the
   * probability of every emotion (the classifier's class names, sum 1), best face first.
   * @throws Error when the source has no pixels yet (see imagePixels).
   */
  async predictFaces(source: BrowserImageSource | PixelImage, o: PredictFacesOptions = {}): Promise<PageFaces> {
    const t0 = performance.now();
    const img = isPixelImage(source) ? source : asPixelImage(imagePixels(source));
    const t1 = performance.now();
    const r = await faceEmotions(this.classifier, this.detector, img, { ...o, device: this.device });
    return { width: r.width, height: r.height, faces: r.faces, timings: { pixelsMs: t1 - t0, ...r.timings, totalMs: performance.now() - t0 } };
  }
}
