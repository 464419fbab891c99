/**
 * Evaluation metrics against values computed by hand on a tiny confusion matrix, the text
 * tables, the SVG pictures, the label mapping between FER2013 ids and a model's class order,
 * and the checkpoint JSON helpers.
 */
import { describe, expect, it } from 'vitest';
import {
  classificationReport,
  confusionMatrix,
  formatConfusion,
  formatReport,
  reportFromConfusion,
  softmaxRows,
  argmaxRow,
} from '../../src/resemotenet/metrics.js';
import { confusionMatrixSvg, trainingCurvesSvg, niceTicks } from '../../src/resemotenet/plot.js';
import { labelMapFor } from '../../src/resemotenet/evaluate.js';
import { CLASS_NAME_PRESETS, fromJson, parseClassNames, toJson } from '../../src/resemotenet/checkpoint.js';
import { EMOTIONS } from '../../src/resemotenet/data/index.js';

describe('metrics on a hand-computed 3-class example', () => {
  // truth:      a a a b b c c c c c   (3 a, 2 b, 5 c)
  // prediction: a a b b c c c c a b
  const yTrue = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2];
  const yPred = [0, 0, 1, 1, 2, 2, 2, 2, 0, 1];
  const names = ['a', 'b', 'c'];

  it('confusion matrix (rows truth, columns prediction)', () => {
    expect(confusionMatrix(yTrue, yPred, 3)).toEqual([
      [2, 1, 0],
      [0, 1, 1],
      [1, 1, 3],
    ]);
  });

  it('accuracy, precision, recall, F1, support, macro and weighted averages', () => {
    const r = classificationReport(yTrue, yPred, names);
    expect(r.total).toBe(10);
    expect(r.correct).toBe(6);
    expect(r.accuracy).toBe(0.6);
    // a: tp 2, predicted 3 (col sum), support 3 -> P 2/3, R 2/3, F1 2/3
    // b: tp 1, predicted 3, support 2 -> P 1/3, R 1/2, F1 2*(1/3)(1/2)/(5/6) = 0.4
    // c: tp 3, predicted 4, support 5 -> P 3/4, R 3/5, F1 2*(0.75*0.6)/(1.35) = 2/3
    const [a, b, c] = r.perClass;
    expect(a!.precision).toBeCloseTo(2 / 3, 12);
    expect(a!.recall).toBeCloseTo(2 / 3, 12);
    expect(a!.f1).toBeCloseTo(2 / 3, 12);
    expect(a!.support).toBe(3);
    expect(b!.precision).toBeCloseTo(1 / 3, 12);
    expect(b!.recall).toBeCloseTo(0.5, 12);
    expect(b!.f1).toBeCloseTo(0.4, 12);
    expect(b!.predicted).toBe(3);
    expect(c!.precision).toBeCloseTo(0.75, 12);
    expect(c!.recall).toBeCloseTo(0.6, 12);
    expect(c!.f1).toBeCloseTo(2 / 3, 12);
    expect(r.macro.precision).toBeCloseTo((2 / 3 + 1 / 3 + 0.75) / 3, 12);
    expect(r.macro.recall).toBeCloseTo((2 / 3 + 0.5 + 0.6) / 3, 12);
    expect(r.macro.f1).toBeCloseTo((2 / 3 + 0.4 + 2 / 3) / 3, 12);
    expect(r.weighted.precision).toBeCloseTo((3 * (2 / 3) + 2 * (1 / 3) + 5 * 0.75) / 10, 12);
    expect(r.weighted.recall).toBeCloseTo(0.6, 12); // weighted recall == accuracy
    expect(r.weighted.f1).toBeCloseTo((3 * (2 / 3) + 2 * 0.4 + 5 * (2 / 3)) / 10, 12);
  });

  it('a class never predicted and a class absent from the truth score 0 (zero_division=0)', () => {
    const r = reportFromConfusion(
      [
        [2, 0, 0],
        [1, 0, 0],
        [0, 0, 0],
      ],
      names,
    );
    expect(r.perClass[1]).toMatchObject({ precision: 0, recall: 0, f1: 0, support: 1, predicted: 0 });
    expect(r.perClass[2]).toMatchObject({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(r.perClass[0]!.precision).toBeCloseTo(2 / 3, 12);
    expect(r.accuracy).toBeCloseTo(2 / 3, 12);
  });

  it('rejects labels out of range and mismatched lengths', () => {
    expect(() => confusionMatrix([0, 3], [0, 0], 3)).toThrow(/true label 3 at 1/);
    expect(() => confusionMatrix([0], [0, 1], 3)).toThrow(/1 true labels but 2 predictions/);
    expect(() => reportFromConfusion([[1, 2]], ['x'])).toThrow(/square/);
  });

  it('text report and confusion table', () => {
    const r = classificationReport(yTrue, yPred, names);
    const txt = formatReport(r);
    expect(txt.split('\n')[0]).toMatch(/precision\s+recall\s+f1-score\s+support/);
    expect(txt).toMatch(/^b\s+0\.3333\s+0\.5000\s+0\.4000\s+2$/m);
    expect(txt).toMatch(/^accuracy\s+0\.6000\s+10$/m);
    const cm = formatConfusion(r);
    expect(cm.split('\n')[3]).toMatch(/^c\s+1\s+1\s+3$/);
  });

  it('softmax rows sum to 1; argmax takes the first maximum', () => {
    const p = softmaxRows([1, 2, 3, 0, 0, 0], 3);
    expect(p[0]! + p[1]! + p[2]!).toBeCloseTo(1, 14);
    expect(p[3]).toBeCloseTo(1 / 3, 14);
    expect(p[2]! / p[1]!).toBeCloseTo(Math.E, 12);
    expect(argmaxRow([0, 5, 5, 1])).toBe(1);
    expect(argmaxRow([9, 1, 7, 8], 1, 3)).toBe(2);
  });
});

describe('pictures', () => {
  it('confusion-matrix SVG: one cell per entry with its count, escaped names', () => {
    const svg = confusionMatrixSvg(
      [
        [5, 1],
        [0, 3],
      ],
      ['a<b', 'c&d'],
      { title: 'test "1"' },
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect((svg.match(/<rect x=/g) ?? []).length).toBe(4);
    expect(svg).toContain('a&lt;b');
    expect(svg).toContain('c&amp;d');
    expect(svg).toContain('test &quot;1&quot;');
    expect(svg).toContain('83.3%'); // 5 / 6 of row 0
    expect(svg).not.toMatch(/NaN|undefined/);
  });

  it('training-curves SVG: two charts with train and validation lines', () => {
    const pts = [1, 2, 3, 4].map((e) => ({ epoch: e, train_loss: 2 / e, val_loss: 2.1 / e, train_acc: 0.2 * e, val_acc: 0.18 * e }));
    const svg = trainingCurvesSvg(pts, { title: 'run' });
    expect((svg.match(/<polyline /g) ?? []).length).toBe(4);
    expect(svg).toContain('Loss');
    expect(svg).toContain('Accuracy');
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
    // one epoch only: points, no lines, still valid
    const one = trainingCurvesSvg([{ epoch: 1, train_loss: 1.9, val_loss: 1.95, train_acc: 0.2, val_acc: 0.25 }]);
    expect(one).not.toMatch(/NaN|undefined|Infinity/);
    expect(niceTicks(0.13, 0.87)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
});

describe('class names and label mapping', () => {
  it('presets and lists', () => {
    expect(parseClassNames('fer2013')).toEqual([...EMOTIONS]);
    expect(parseClassNames('official')).toEqual(['happy', 'surprise', 'sad', 'anger', 'disgust', 'fear', 'neutral']);
    expect(parseClassNames(' x, y ,z')).toEqual(['x', 'y', 'z']);
    expect(() => parseClassNames('a,,b')).toThrow(/empty name/);
    expect(() => parseClassNames('a,a')).toThrow(/duplicated/);
    expect(Object.keys(CLASS_NAME_PRESETS)).toEqual(['fer2013', 'official']);
  });

  it('maps FER2013 ids onto a model whose classes are in another order (aliases accepted)', () => {
    expect(Array.from(labelMapFor(EMOTIONS))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // official order: happy surprise sad anger disgust fear neutral
    expect(Array.from(labelMapFor(CLASS_NAME_PRESETS.official!))).toEqual([3, 4, 5, 0, 2, 1, 6]);
    // a 3-class model: FER ids without a class map to -1
    expect(Array.from(labelMapFor(['Happiness', 'neutral', 'contempt']))).toEqual([-1, -1, -1, 0, -1, -1, 1]);
  });

  it('checkpoint JSON keeps infinities (ReduceLROnPlateau best = -inf)', () => {
    const v = { best: -Infinity, worse: Infinity, nan: NaN, x: [1, { y: 2 }] };
    const back = fromJson<typeof v>(toJson(v));
    expect(back.best).toBe(-Infinity);
    expect(back.worse).toBe(Infinity);
    expect(back.nan).toBeNaN();
    expect(back.x).toEqual([1, { y: 2 }]);
  });
});
