/**
 * The detector against the reference (tests/fixtures/blazeface_reference.json, written by
 * scripts/blazeface/reference.ts: `@vladmandic/human`'s own BlazeFace graph run by TensorFlow.js
 * with its letterbox, resize, decoding and NMS seeds) on every photo of tests/fixtures/photos, on
 * the cpu and on webgpu: the same faces in the same order, boxes and keypoints within 1 pixel of
 * the image, scores within 1e-3; and the network alone: the logits and regressors of the five
 * strongest anchors within 2e-3 (logits) and 0.02 input pixels (regressors).
 * (Measured: every difference below 1e-4 on both devices, i.e. within the fixture's rounding to 4 decimals.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FaceDetector, decodeImage, facesFromRaw, type RawDetectorOutput } from '../../src/facedetect/index.js';
import { DEVICES } from '../helpers/devices.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const PHOTOS = path.join(ROOT, 'tests', 'fixtures', 'photos');
interface RefFace {
  score: number;
  anchor: number;
  box: number[];
  keypoints: number[][];
}
const REF = JSON.parse(readFileSync(path.join(ROOT, 'tests', 'fixtures', 'blazeface_reference.json'), 'utf8')) as {
  settings: { minScore: number; iouThreshold: number };
  photos: Record<string, { width: number; height: number; faces: RefFace[]; top: { anchor: number; logit: number; regressors: number[] }[] }>;
};
const names = Object.keys(REF.photos);

describe.each(DEVICES)('BlazeFace vs the tfjs reference on %s', (device) => {
  let det: FaceDetector;
  beforeAll(async () => {
    det = await FaceDetector.create({ device });
  });

  it('covers the photos (portraits, several people, no face, an animal)', () => {
    expect(names).toEqual(expect.arrayContaining(['astronaut.jpg', 'grace_hopper.jpg', 'basketball.png', 'montage.jpg', 'coffee.jpg', 'chelsea.jpg']));
  });

  it.each(names)('%s', async (name) => {
    const ref = REF.photos[name]!;
    const img = decodeImage(readFileSync(path.join(PHOTOS, name)), name);
    expect([img.width, img.height]).toEqual([ref.width, ref.height]);
    const raw: RawDetectorOutput = await det.raw(img);
    for (const t of ref.top) {
      expect(Math.abs(raw.scores[t.anchor]! - t.logit), `logit of anchor ${t.anchor}`).toBeLessThanOrEqual(2e-3);
      t.regressors.forEach((v, k) => expect(Math.abs(raw.regressors[t.anchor * 16 + k]! - v), `regressor ${k} of anchor ${t.anchor}`).toBeLessThanOrEqual(0.02));
    }
    const faces = facesFromRaw(raw, det.anchors, { minScore: REF.settings.minScore, iouThreshold: REF.settings.iouThreshold });
    expect(faces.map((f) => f.anchor)).toEqual(ref.faces.map((f) => f.anchor));
    faces.forEach((f, i) => {
      const r = ref.faces[i]!;
      expect(Math.abs(f.score - r.score), `score of face ${i}`).toBeLessThanOrEqual(1e-3);
      f.box.forEach((v, k) => expect(Math.abs(v - r.box[k]!), `box[${k}] of face ${i}`).toBeLessThanOrEqual(1));
      f.keypoints.forEach((p, k) => p.forEach((v, d) => expect(Math.abs(v - r.keypoints[k]![d]!), `keypoint ${k} of face ${i}`).toBeLessThanOrEqual(1)));
    });
  });

  it('detectFaces with the defaults keeps the faces scoring >= 0.65', async () => {
    const img = decodeImage(readFileSync(path.join(PHOTOS, 'grace_hopper.jpg')), 'grace_hopper.jpg');
    const faces = await det.detect(img);
    expect(faces.map((f) => f.anchor)).toEqual(REF.photos['grace_hopper.jpg']!.faces.filter((f) => f.score >= 0.65).map((f) => f.anchor));
    const none = await det.detect(decodeImage(readFileSync(path.join(PHOTOS, 'coffee.jpg')), 'coffee.jpg'));
    expect(none).toEqual([]);
  });
});
