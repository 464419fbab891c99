/**
 * The detector's geometry, hand-worked: anchors (MediaPipe's SSD layout for the back model),
 * decoding of the regressors, weighted NMS, the letterbox and its inverse, and the upright face
 * crops (rotation from the eye keypoints) that predict feeds the classifier.
 */
import { describe, expect, it } from 'vitest';
import {
  blazeFaceAnchors,
  ssdAnchors,
  decodeDetections,
  clippedSigmoid,
  iou,
  weightedNms,
  letterbox,
  letterboxTransform,
  toImagePoint,
  faceCrop,
  cropToImage,
  cropGray,
  toRgb,
  decodeImage,
  type Detection,
} from '../../src/facedetect/index.js';

describe('anchors', () => {
  it('896 centres: the 16x16 map with 2 per cell, then the 8x8 map with 6 (layers of stride 32 merged)', () => {
    const a = blazeFaceAnchors();
    expect(a.length).toBe(2 * 896);
    const at = (i: number) => [a[2 * i], a[2 * i + 1]];
    expect(at(0)).toEqual([8, 8]);
    expect(at(1)).toEqual([8, 8]);
    expect(at(2)).toEqual([24, 8]); // next cell to the right
    expect(at(32)).toEqual([8, 24]); // second row: 16 cells x 2 anchors later
    expect(at(511)).toEqual([248, 248]);
    expect(at(512)).toEqual([16, 16]); // the 8x8 map: stride 32
    expect(at(517)).toEqual([16, 16]);
    expect(at(518)).toEqual([48, 16]);
    expect(at(895)).toEqual([240, 240]);
  });

  it('the generic form: ceil(input / stride) cells, consecutive equal strides share a map', () => {
    expect(Array.from(ssdAnchors({ inputSize: 10, strides: [4, 8, 8], anchorsPerLayer: 1 }))).toEqual([
      // 3x3 cells of stride 4 (ceil(10/4) = 3), centres at (i + 0.5) / 3 * 10
      ...[0, 1, 2].flatMap((y) => [0, 1, 2].flatMap((x) => [((x + 0.5) / 3) * 10, ((y + 0.5) / 3) * 10])).map(Math.fround),
      // 2x2 cells of stride 8, 2 anchors each
      ...[0, 1].flatMap((y) => [0, 1].flatMap((x) => [2.5 + 5 * x, 2.5 + 5 * y, 2.5 + 5 * x, 2.5 + 5 * y])),
    ]);
    expect(() => ssdAnchors({ inputSize: 0, strides: [8] })).toThrow(/must be positive/);
  });
});

describe('decode and weighted NMS', () => {
  it('box = anchor + offset +- size / 2, keypoints = anchor + offset, score = sigmoid(clipped logit)', () => {
    const reg = new Float32Array(32);
    reg.set([2, -4, 10, 6, 1, 1, 3, 1, 2, 3, 2, 5, -1, 2, 5, 2], 16);
    const d = decodeDetections([-10, 0.5], reg, [8, 8, 40, 24], 0.5);
    expect(d).toHaveLength(1); // sigmoid(-10) < 0.5
    expect(d[0]!.anchor).toBe(1);
    expect(d[0]!.score).toBeCloseTo(1 / (1 + Math.exp(-0.5)), 12);
    expect(d[0]!.box).toEqual([37, 17, 47, 23]); // centre (42, 20), size 10 x 6
    expect(d[0]!.keypoints).toEqual([[41, 25], [43, 25], [42, 27], [42, 29], [39, 26], [45, 26]]);
    expect(clippedSigmoid(1e4)).toBe(1 / (1 + Math.exp(-100)));
    expect(() => decodeDetections([0], [0], [0, 0], 0.5)).toThrow(/1 scores need 16 regressors/);
  });

  it('iou of overlapping, touching and nested boxes', () => {
    expect(iou([0, 0, 2, 2], [1, 1, 3, 3])).toBeCloseTo(1 / 7, 12);
    expect(iou([0, 0, 2, 2], [2, 0, 4, 2])).toBe(0);
    expect(iou([0, 0, 4, 4], [1, 1, 3, 3])).toBeCloseTo(4 / 16, 12);
  });

  it('blends a group by score, keeps the seed score, leaves a far face alone, best first', () => {
    const kp = (x: number): [number, number][] => Array.from({ length: 6 }, () => [x, x] as [number, number]);
    const c: Detection[] = [
      { box: [0, 0, 10, 10], keypoints: kp(1), score: 0.6, anchor: 0 },
      { box: [2, 0, 12, 10], keypoints: kp(3), score: 0.9, anchor: 1 }, // IoU with anchor 0: 8/12
      { box: [50, 50, 60, 60], keypoints: kp(9), score: 0.7, anchor: 2 },
      { box: [9, 0, 19, 10], keypoints: kp(5), score: 0.8, anchor: 3 }, // IoU with anchor 1: 3/17 < 0.3
    ];
    const out = weightedNms(c, 0.3);
    expect(out.map((d) => d.anchor)).toEqual([1, 3, 2]);
    // (0.9 * [2,0,12,10] + 0.6 * [0,0,10,10]) / 1.5
    out[0]!.box.forEach((v, k) => expect(v).toBeCloseTo([1.2, 0, 11.2, 10][k]!, 12));
    expect(out[0]!.keypoints[0]![0]).toBeCloseTo((0.9 * 3 + 0.6 * 1) / 1.5, 12);
    expect(out[0]!.score).toBe(0.9);
    expect(out[1]).toEqual(c[3]);
    expect(weightedNms(c, 0.3, 1).map((d) => d.anchor)).toEqual([1]);
    expect(() => weightedNms(c, 1.5)).toThrow(/iouThreshold must be in \[0, 1\], got 1.5/);
  });
});

describe('letterbox', () => {
  it('same size: the pixels scaled to [-1, 1]; a short image is centred between black rows', () => {
    // 2x1 RGB image into 2x2: S = 2, padY = 0 (floor(1/2)), so row 0 is the image and row 1 black.
    const img = { width: 2, height: 1, data: new Uint8Array([0, 127.5, 255, 51, 102, 204].map(Math.floor)) };
    const { input, transform } = letterbox(img, 2);
    expect(transform).toEqual({ scale: 1, padX: 0, padY: 0 });
    const plane = (c: number) => Array.from(input.subarray(4 * c, 4 * c + 4));
    expect(plane(0)).toEqual([-1, Math.fround(Math.fround(51 / 127.5) - 1), -1, -1]);
    expect(plane(2)).toEqual([1, Math.fround(Math.fround(204 / 127.5) - 1), -1, -1]);
  });

  it('downscaling 4x2 -> 2x2: half-pixel centres fall between pixel pairs; one black row above and below', () => {
    // Grey values 0, 40, 80, 120 on both rows; S = 4, padY = 1; ratio 2: source x = 0.5 and 2.5,
    // source y = 0.5 (black row 0 and image row 0, half each) and 2.5 (image row 1 and black row 3).
    const g = [0, 40, 80, 120, 0, 40, 80, 120];
    const img = toRgb({ width: 4, height: 2, data: new Uint8Array(g) });
    const { input, transform } = letterbox(img, 2);
    expect(transform).toEqual({ scale: 2, padX: 0, padY: 1 });
    const v = (x: number) => Math.fround(Math.fround(x / 127.5) - 1);
    expect(Array.from(input.subarray(0, 4))).toEqual([v(10), v(50), v(10), v(50)]);
    // Inverse: input (1, 1) is image (2, 1); the input's corners are the padded square's.
    expect(toImagePoint(transform, 1, 1)).toEqual([2, 1]);
    expect(toImagePoint(letterboxTransform(640, 480, 256), 256, 256)).toEqual([640, 560]);
  });

  it('rejects a bad size or data', () => {
    expect(() => letterbox({ width: 2, height: 2, data: new Uint8Array(5) }, 4)).toThrow(/5 bytes, expected 3 x 2 x 2/);
    expect(() => letterbox({ width: 1, height: 1, data: new Uint8Array(3) }, 0)).toThrow(/size must be a positive integer/);
  });
});

describe('face crops', () => {
  const face = (re: [number, number], le: [number, number], box: [number, number, number, number] = [10, 20, 50, 60]) => ({
    box,
    keypoints: [re, le, [0, 0], [0, 0], [0, 0], [0, 0]] as [number, number][],
  });

  it('centre, side with margin, angle from the eye line', () => {
    expect(faceCrop(face([20, 30], [40, 30]))).toEqual({ cx: 30, cy: 40, side: 48, angle: 0 });
    expect(faceCrop(face([20, 30], [40, 50]), { margin: 0 }).angle).toBeCloseTo(Math.PI / 4, 12);
    expect(faceCrop(face([20, 50], [40, 30]), { margin: 0.5, rotate: true })).toMatchObject({ side: 60, angle: -Math.PI / 4 });
    expect(faceCrop(face([20, 50], [40, 30]), { rotate: false }).angle).toBe(0);
    expect(faceCrop(face([0, 0], [0, 0], [0, 0, 30, 10]), { margin: 0 }).side).toBe(30);
    expect(() => faceCrop(face([0, 0], [1, 0]), { margin: -1 })).toThrow(/margin must be a finite number >= 0, got -1/);
  });

  it('crop pixel -> image point: unrotated, the window itself; turned 90 degrees, the crop x axis runs down the image', () => {
    const c = { cx: 30, cy: 40, side: 48, angle: 0 };
    expect(cropToImage(c, 48, 0, 0)).toEqual([6.5, 16.5]); // pixel centres, 1 image pixel per crop pixel
    expect(cropToImage(c, 4, 3, 0)).toEqual([30 + 18, 40 - 18]);
    const r = cropToImage({ cx: 2, cy: 2, side: 4, angle: Math.PI / 2 }, 4, 3, 0);
    expect(r[0]).toBeCloseTo(3.5, 12); // du = 1.5, dv = -1.5 -> (2 + 1.5, 2 + 1.5)
    expect(r[1]).toBeCloseTo(3.5, 12);
  });

  it('cropGray: eyes on a 45-degree line come out level (a rotated image of an image, sampled at pixel centres)', () => {
    // 4x4 image, value 10 x + y. A crop at the centre, side 4, angle pi/2: crop (u, v) samples
    // image (3.5 - v, 0.5 + u) - 0.5, i.e. pixel (3 - v, u): the first crop row is the image's
    // last column read top to bottom.
    const img = { width: 4, height: 4, data: Uint8Array.from({ length: 16 }, (_, i) => 10 * (i % 4) + Math.floor(i / 4)) };
    const out = cropGray(img, { cx: 2, cy: 2, side: 4, angle: Math.PI / 2 }, 4);
    const rows = [0, 1, 2, 3].map((v) => Array.from(out.data.subarray(4 * v, 4 * v + 4)));
    expect(rows).toEqual([
      [30, 31, 32, 33],
      [20, 21, 22, 23],
      [10, 11, 12, 13],
      [0, 1, 2, 3],
    ]);
    // Scaling down 2x without rotation averages 2x2 blocks at their shared corner (bilinear at x.5 -> exact mean of 4).
    const half = cropGray(img, { cx: 2, cy: 2, side: 4, angle: 0 }, 2);
    expect(Array.from(half.data)).toEqual([Math.round((0 + 10 + 1 + 11) / 4), Math.round((20 + 30 + 21 + 31) / 4), Math.round((2 + 12 + 3 + 13) / 4), Math.round((22 + 32 + 23 + 33) / 4)]);
    // Outside the image the border pixels repeat.
    const far = cropGray(img, { cx: -100, cy: 1.5, side: 1, angle: 0 }, 1);
    expect(Array.from(far.data)).toEqual([1]);
  });
});

describe('images', () => {
  it('toRgb takes grey, RGB and RGBA; decodeImage names the file for non-images', () => {
    expect(Array.from(toRgb({ width: 1, height: 2, data: new Uint8Array([5, 9]) }).data)).toEqual([5, 5, 5, 9, 9, 9]);
    expect(Array.from(toRgb({ width: 1, height: 1, data: new Uint8ClampedArray([1, 2, 3, 255]) }).data)).toEqual([1, 2, 3]);
    expect(() => toRgb({ width: 2, height: 2, data: new Uint8Array(7) })).toThrow(/7 bytes for a 2x2 image is not 1, 3 or 4 channels/);
    expect(() => decodeImage(new TextEncoder().encode('hello'), 'x.jpg')).toThrow(/^x\.jpg: not a PNG or JPEG image \(5 bytes, first bytes: 68 65 6c 6c\)/);
    expect(() => decodeImage(new Uint8Array([0xff, 0xd8, 0xff, 0, 0]), 'y.jpg')).toThrow(/^y\.jpg: cannot decode JPEG/);
  });
});
