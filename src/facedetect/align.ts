/**
 * Face crops for a classifier: a square around the detected box, enlarged by a margin, turned so
 * that the eyes are level, resampled from the image. Geometry (image pixels, y down):
 *
 *   centre = box centre, side = max(box width, box height) * (1 + margin),
 *   angle = atan2(left_eye.y - right_eye.y, left_eye.x - right_eye.x)
 *
 * (the eye line's direction; 0 for level eyes, positive when the person's left eye, on the
 * image's right, is lower). Output pixel (u, v) of an n x n crop samples the image at
 *
 *   centre + R(angle) * (((u + 0.5) / n - 0.5) * side, ((v + 0.5) / n - 0.5) * side)
 *
 * with R the rotation by `angle`, bilinearly (pixel centres at +0.5), the border pixels repeated
 * outside the image. So the crop's x axis runs along the eye line and the face comes out upright.
 */
import type { Detection } from './decode.js';

/** A square, rotated crop window in image pixels. */
export interface FaceCrop {
  cx: number;
  cy: number;
  /** Side in image pixels. */
  side: number;
  /** Rotation in radians (see the file header). */
  angle: number;
}

/** One-channel 8-bit image (row-major from the top-left). */
export interface GrayPixels {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/**
 * The crop window of a face (see the file header). `margin` (default 0.2) enlarges the side;
 * `rotate: false` keeps angle 0.
 * @throws RangeError for a negative or non-finite margin.
 */
export function faceCrop(face: Pick<Detection, 'box' | 'keypoints'>, o: { margin?: number; rotate?: boolean } = {}): FaceCrop {
  const margin = o.margin ?? 0.2;
  if (!(margin >= 0) || !Number.isFinite(margin)) throw new RangeError(`faceCrop (src/facedetect/align.ts): margin must be a finite number >= 0, got ${margin}`);
  const [x1, y1, x2, y2] = face.box;
  const [re, le] = face.keypoints;
  const angle = o.rotate === false || !re || !le ? 0 : Math.atan2(le[1] - re[1], le[0] - re[0]);
  return { cx: (x1 + x2) / 2, cy: (y1 + y2) / 2, side: Math.max(x2 - x1, y2 - y1) * (1 + margin), angle };
}

/** Where crop pixel (u, v) of an n x n crop samples the image (continuous pixel coordinates, centres at +0.5). */
export function cropToImage(c: FaceCrop, n: number, u: number, v: number): [number, number] {
  const du = ((u + 0.5) / n - 0.5) * c.side;
  const dv = ((v + 0.5) / n - 0.5) * c.side;
  const cos = Math.cos(c.angle);
  const sin = Math.sin(c.angle);
  return [c.cx + cos * du - sin * dv, c.cy + sin * du + cos * dv];
}

/**
 * Resamples the crop `c` of `img` into an n x n grey image (see the file header).
 * @throws RangeError for a size that is not a positive integer or image data of the wrong length.
 */
export function cropGray(img: GrayPixels, c: FaceCrop, n: number): GrayPixels {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`cropGray (src/facedetect/align.ts): size must be a positive integer, got ${n}`);
  const { width: w, height: h, data } = img;
  if (data.length !== w * h) throw new RangeError(`cropGray: image data has ${data.length} bytes, expected ${w}x${h}`);
  const out = new Uint8Array(n * n);
  for (let v = 0; v < n; v++) {
    for (let u = 0; u < n; u++) {
      const [px, py] = cropToImage(c, n, u, v);
      let sx = px - 0.5;
      let sy = py - 0.5;
      sx = sx < 0 ? 0 : sx > w - 1 ? w - 1 : sx;
      sy = sy < 0 ? 0 : sy > h - 1 ? h - 1 : sy;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(x0 + 1, w - 1);
      const y1 = Math.min(y0 + 1, h - 1);
      const fx = sx - x0;
      const fy = sy - y0;
      const top = data[y0 * w + x0]! * (1 - fx) + data[y0 * w + x1]! * fx;
      const bot = data[y1 * w + x0]! * (1 - fx) + data[y1 * w + x1]! * fx;
      out[v * n + u] = Math.round(top * (1 - fy) + bot * fy);
    }
  }
  return { width: n, height: n, data: out };
}
