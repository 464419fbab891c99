/**
 * Weighted non-maximum suppression, BlazeFace's "blending" tie resolution (MediaPipe's
 * NonMaxSuppressionCalculator with algorithm WEIGHTED, overlap IoU): candidates sorted by score;
 * the best remaining one seeds a group of every remaining candidate whose IoU with it exceeds the
 * threshold (itself included); the group leaves the pool and becomes one face whose box and
 * keypoints are the score-weighted means of the group's and whose score is the seed's.
 * The seeds are exactly those of plain greedy NMS with the same threshold.
 */
import type { Detection } from './decode.js';

/** Intersection over union of two (x1, y1, x2, y2) boxes; 0 when either is empty. */
export function iou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!);
  const ih = Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const ua = (a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter;
  return ua > 0 ? inter / ua : 0;
}

/**
 * Weighted NMS (see the file header). Returns at most `maxFaces` faces, best first.
 * @throws RangeError for a threshold outside [0, 1] or a maxFaces below 1.
 */
export function weightedNms(candidates: readonly Detection[], iouThreshold: number, maxFaces = Infinity): Detection[] {
  if (!(iouThreshold >= 0 && iouThreshold <= 1)) throw new RangeError(`weightedNms (src/facedetect/nms.ts): iouThreshold must be in [0, 1], got ${iouThreshold}`);
  if (!(maxFaces >= 1)) throw new RangeError(`weightedNms: maxFaces must be at least 1, got ${maxFaces}`);
  // Stable sort: equal scores keep anchor order.
  let pool = [...candidates].sort((p, q) => q.score - p.score);
  const out: Detection[] = [];
  while (pool.length > 0 && out.length < maxFaces) {
    const seed = pool[0]!;
    const group: Detection[] = [];
    const rest: Detection[] = [];
    for (const c of pool) (c === seed || iou(seed.box, c.box) > iouThreshold ? group : rest).push(c);
    pool = rest;
    if (group.length === 1) {
      out.push(seed);
      continue;
    }
    let wsum = 0;
    const box = [0, 0, 0, 0];
    const kps = seed.keypoints.map(() => [0, 0]);
    for (const g of group) {
      wsum += g.score;
      for (let k = 0; k < 4; k++) box[k]! += g.score * g.box[k]!;
      g.keypoints.forEach((p, k) => {
        kps[k]![0]! += g.score * p[0];
        kps[k]![1]! += g.score * p[1];
      });
    }
    out.push({
      box: box.map((v) => v / wsum) as Detection['box'],
      keypoints: kps.map(([x, y]) => [x! / wsum, y! / wsum]),
      score: seed.score,
      anchor: seed.anchor,
    });
  }
  return out;
}
