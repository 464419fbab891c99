/**
 * Face detection on this library's tensors: BlazeFace (MediaPipe, back-camera model, weights
 * converted from `@vladmandic/human` into weights/blazeface/), its anchors, decoding, weighted
 * NMS and letterboxing, `detectFaces(image)`, and the rotated face crops a classifier takes.
 * Import as `import * as facedetect from 'resemotenet-webgpu/facedetect'`.
 */
export { BlazeFace, BlazeBlock, BLAZEFACE_BLOCKS, BLAZEFACE_INPUT_SIZE, BLAZEFACE_NUM_ANCHORS, BLAZEFACE_NUM_COORDS, type BlazeFaceOutput } from './model.js';
export { ssdAnchors, blazeFaceAnchors, type AnchorOptions } from './anchors.js';
export { decodeDetections, clippedSigmoid, KEYPOINT_NAMES, type Detection } from './decode.js';
export { iou, weightedNms } from './nms.js';
export { letterbox, letterboxTransform, toImagePoint, type LetterboxTransform } from './letterbox.js';
export { decodeImage, toRgb, ImageDecodeError, type RgbImage, type PixelImage } from './image.js';
export { loadBlazeFace, blazeFaceWeightsUrl, BLAZEFACE_WEIGHTS_PATH, type LoadBlazeFaceOptions } from './weights.js';
export { FaceDetector, detectFaces, facesFromRaw, DEFAULT_DETECT_OPTIONS, type DetectOptions, type RawDetectorOutput } from './detect.js';
export { faceCrop, cropToImage, cropGray, type FaceCrop, type GrayPixels } from './align.js';
