/**
 * The browser entry, `resemotenet-webgpu/browser`: ResEmoteNet and the BlazeFace face detector in
 * a page, on `navigator.gpu` (or the cpu backend when the browser has no WebGPU), with pixels read
 * from photos, canvases and video frames, and weights loaded from fetched bytes or picked files.
 * Nothing here imports a Node built-in or a Node-only package (tests/browser_entry.test.ts bundles
 * it for a browser and checks).
 *
 *   const backend = await initBackend();
 *   const rec = await EmotionRecognizer.create({ classifierUrl: 'weights/resemotenet/', device: backend.device });
 *   const { faces } = await rec.predictFaces(videoElement); // boxes + per-emotion probabilities
 */
export { initBackend, describeAdapter, type Backend } from './backend.js';
export { imagePixels, asPixelImage, sourceSize, decodeImageFile, type BrowserImageSource } from './pixels.js';
export {
  fetchBytes,
  loadPretrainedFromUrl,
  loadClassifierFromBytes,
  loadClassifierFromFiles,
  loadFaceDetector,
  WeightsFetchError,
  type LoadedClassifier,
} from './load.js';
export { EmotionRecognizer, type PageFaces, type PredictFacesOptions } from './recognizer.js';

// The pieces underneath, for pages that compose their own pipeline.
export { faceEmotions, classifyGray, toGray, evalTransformFor, cropSideFor, type FaceClassifier, type FaceEmotion, type EmotionScores, type FaceEmotionsResult, type FaceEmotionsOptions } from '../resemotenet/face_emotions.js';
export { parseSidecar, loadCheckpointBytes, resEmoteNetFromStateDict, safetensorsMetadata, type ModelConfig, type Sidecar } from '../resemotenet/sidecar.js';
export { ResEmoteNet, type ResEmoteNetOptions } from '../resemotenet/model.js';
export { EMOTIONS } from '../resemotenet/data/labels.js';
export { FaceDetector, DEFAULT_DETECT_OPTIONS, type DetectOptions } from '../facedetect/detect.js';
export { KEYPOINT_NAMES, type Detection } from '../facedetect/decode.js';
export { faceCrop, cropGray, type FaceCrop } from '../facedetect/align.js';
export { toRgb, type PixelImage, type RgbImage } from '../facedetect/pixels.js';
export { initWebGPU, webgpuRuntime, type AdapterReport } from '../kernels/webgpu/index.js';
export type { Device } from '../tensor/device.js';
