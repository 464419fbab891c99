/**
 * The in-memory dataset interface shared by the FER2013 CSV reader, the ImageFolder reader and
 * the DataLoader: images are 8-bit grayscale at their native size, labels are FER2013 ids.
 */

/** An 8-bit grayscale image, row-major (row 0 at the top), `data.length === width * height`. */
export interface GrayImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** A labelled image dataset held in memory. */
export interface GrayDataset {
  /** Number of samples. */
  readonly length: number;
  /** Labels (FER2013 ids 0..6), one per sample. */
  readonly labels: Int32Array;
  /** Sample `i` (0 <= i < length); may be a view into shared storage, do not modify it. */
  image(i: number): GrayImage;
}

/** Throws a RangeError naming `where` when `i` is not a valid sample index of a dataset of `n`. */
export function checkIndex(where: string, i: number, n: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`${where}: index ${i} out of range for a dataset of ${n} samples`);
}

/** A dataset of the samples `indices` of `base` (no copies of the images). */
export class SubsetDataset implements GrayDataset {
  readonly labels: Int32Array;
  readonly indices: Int32Array;
  constructor(readonly base: GrayDataset, indices: ArrayLike<number>) {
    this.indices = Int32Array.from(indices);
    this.labels = new Int32Array(this.indices.length);
    for (let k = 0; k < this.indices.length; k++) {
      const i = this.indices[k]!;
      checkIndex('SubsetDataset (src/resemotenet/data/dataset.ts)', i, base.length);
      this.labels[k] = base.labels[i]!;
    }
  }
  get length(): number {
    return this.indices.length;
  }
  image(i: number): GrayImage {
    checkIndex('SubsetDataset.image', i, this.length);
    return this.base.image(this.indices[i]!);
  }
}
