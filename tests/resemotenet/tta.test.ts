/** Test-time augmentation (eval --tta flip): the mirror, the averaging, and evaluateModel with it. */
import { describe, expect, it } from 'vitest';
import { manual_seed } from '../../src/index.js';
import { ResEmoteNet } from '../../src/resemotenet/model.js';
import { evaluateModel, flipHorizontal, meanSoftmaxLog } from '../../src/resemotenet/evaluate.js';
import { resEmoteNetTransform, type GrayDataset, type GrayImage } from '../../src/resemotenet/data/index.js';

describe('test-time augmentation', () => {
  it('flipHorizontal mirrors each row of each channel (hand-worked)', () => {
    const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // [1, 2, 2, 3]
    expect(Array.from(flipHorizontal(x, 1, 2, 2, 3))).toEqual([3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10]);
  });

  it('meanSoftmaxLog is the log of the mean of the two softmax rows', () => {
    const a = Float32Array.from([0, Math.log(3)]); // softmax (1/4, 3/4)
    const b = Float32Array.from([Math.log(3), 0]); // (3/4, 1/4)
    const m = meanSoftmaxLog(a, b, 2);
    expect(Math.exp(m[0]!)).toBeCloseTo(0.5, 6);
    expect(Math.exp(m[1]!)).toBeCloseTo(0.5, 6);
  });

  it("evaluateModel with tta 'flip' averages the model's answers on the images and on their mirrors", async () => {
    manual_seed(3);
    const model = new ResEmoteNet({ width: 1 / 16 });
    const imgs: GrayImage[] = Array.from({ length: 5 }, (_, i) => ({ width: 16, height: 16, data: Uint8Array.from({ length: 256 }, (_, k) => (k * (i + 3) * 7) % 256) }));
    const mirror = imgs.map((im) => ({ ...im, data: Uint8Array.from(im.data, (_, k) => im.data[Math.floor(k / 16) * 16 + 15 - (k % 16)]!) }));
    const ds = (xs: GrayImage[]): GrayDataset => ({ length: xs.length, labels: Int32Array.from(xs, (_, i) => i % 7), image: (i) => xs[i]! });
    const o = { device: 'cpu' as const, transform: resEmoteNetTransform(false, { size: [16, 16] }), classNames: model.class_names, batchSize: 2 };
    const plain = await evaluateModel(model, ds(imgs), o);
    const mirrored = await evaluateModel(model, ds(mirror), o);
    const tta = await evaluateModel(model, ds(imgs), { ...o, tta: 'flip' });
    const want = meanSoftmaxLog(plain.logits, mirrored.logits, 7);
    tta.logits.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-5));
    expect(Array.from(plain.logits)).not.toEqual(Array.from(mirrored.logits));
  });
});
