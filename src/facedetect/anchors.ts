/**
 * SSD anchor centres as MediaPipe's SsdAnchorsCalculator lays them out for BlazeFace (fixed anchor
 * size, so only the centres matter): layer l has a feature map of ceil(input / stride_l) cells,
 * consecutive layers with the same stride share one map, and each cell gets (aspect ratios +
 * 1 interpolated) = 2 anchors per layer, centred at ((x + 0.5) * stride, (y + 0.5) * stride).
 * Order: map by map, cells row-major, the cell's anchors together (as the network's outputs).
 * Source: MediaPipe ssd_anchors_calculator options of the face_detection_back graph (num_layers
 * 4, strides 16, 32, 32, 32, anchor_offset 0.5, aspect_ratios [1.0],
 * interpolated_scale_aspect_ratio 1.0, fixed_anchor_size true).
 */

export interface AnchorOptions {
  /** Square input side in pixels. */
  inputSize: number;
  /** Stride of each layer, in layer order. */
  strides: readonly number[];
  /** Anchors each layer adds to a cell (default 2). */
  anchorsPerLayer?: number;
}

/**
 * Anchor centres (x, y) in input pixels, interleaved: [x0, y0, x1, y1, ...].
 * @throws RangeError for a non-positive input size, stride or anchor count.
 */
export function ssdAnchors(o: AnchorOptions): Float32Array {
  const per = o.anchorsPerLayer ?? 2;
  if (!(o.inputSize > 0) || !o.strides.every((s) => s > 0) || !(per > 0)) {
    throw new RangeError(`ssdAnchors (src/facedetect/anchors.ts): inputSize, strides and anchorsPerLayer must be positive, got ${o.inputSize}, [${o.strides.join(', ')}], ${per}`);
  }
  const out: number[] = [];
  let l = 0;
  while (l < o.strides.length) {
    const stride = o.strides[l]!;
    let last = l;
    while (last + 1 < o.strides.length && o.strides[last + 1] === stride) last++;
    const perCell = per * (last - l + 1);
    const cells = Math.ceil(o.inputSize / stride);
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let a = 0; a < perCell; a++) out.push(((x + 0.5) / cells) * o.inputSize, ((y + 0.5) / cells) * o.inputSize);
      }
    }
    l = last + 1;
  }
  return Float32Array.from(out);
}

/** BlazeFace back-camera anchors: 16x16 x 2 + 8x8 x 6 = 896 centres in 256-pixel units. */
export function blazeFaceAnchors(): Float32Array {
  return ssdAnchors({ inputSize: 256, strides: [16, 32, 32, 32] });
}
