/**
 * Raw BlazeFace outputs -> scored candidate faces in input pixels, as MediaPipe's
 * TensorsToDetectionsCalculator for this model: score = sigmoid(logit clipped to +-100); box
 * centre = anchor + (r0, r1), size (r2, r3); keypoint k = anchor + (r[4 + 2k], r[5 + 2k]). The
 * regressors already are in input pixels (MediaPipe divides by x_scale = 256 and the graph
 * multiplies back by the 256-pixel input).
 */
import { BLAZEFACE_NUM_COORDS } from './model.js';

/** Keypoint order of BlazeFace (the person's right eye is on the image's left in a frontal photo). */
export const KEYPOINT_NAMES = ['right_eye', 'left_eye', 'nose_tip', 'mouth', 'right_ear', 'left_ear'] as const;

/** A face: box (x1, y1, x2, y2), 6 keypoints (x, y) (KEYPOINT_NAMES order) and score in [0, 1]. */
export interface Detection {
  box: [number, number, number, number];
  keypoints: [number, number][];
  score: number;
  /** The anchor index the detection came from (the strongest one after NMS). */
  anchor: number;
}

/** The logistic function of a logit clipped to [-clip, clip]. */
export function clippedSigmoid(logit: number, clip = 100): number {
  const z = logit < -clip ? -clip : logit > clip ? clip : logit;
  return 1 / (1 + Math.exp(-z));
}

/**
 * Candidates with score >= minScore, in anchor order.
 * @param scores (A) logits; @param regressors (A * 16); @param anchors (2A) centres.
 * @throws RangeError when the lengths disagree.
 */
export function decodeDetections(scores: ArrayLike<number>, regressors: ArrayLike<number>, anchors: ArrayLike<number>, minScore: number): Detection[] {
  const a = scores.length;
  if (regressors.length !== a * BLAZEFACE_NUM_COORDS || anchors.length !== 2 * a) {
    throw new RangeError(`decodeDetections (src/facedetect/decode.ts): ${a} scores need ${a * BLAZEFACE_NUM_COORDS} regressors and ${2 * a} anchor coordinates, got ${regressors.length} and ${anchors.length}`);
  }
  const out: Detection[] = [];
  for (let i = 0; i < a; i++) {
    const score = clippedSigmoid(scores[i]!);
    if (!(score >= minScore)) continue;
    const r = i * BLAZEFACE_NUM_COORDS;
    const ax = anchors[2 * i]!;
    const ay = anchors[2 * i + 1]!;
    const cx = ax + regressors[r]!;
    const cy = ay + regressors[r + 1]!;
    const w = regressors[r + 2]!;
    const h = regressors[r + 3]!;
    const keypoints: [number, number][] = [];
    for (let k = 0; k < KEYPOINT_NAMES.length; k++) keypoints.push([ax + regressors[r + 4 + 2 * k]!, ay + regressors[r + 5 + 2 * k]!]);
    out.push({ box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], keypoints, score, anchor: i });
  }
  return out;
}
