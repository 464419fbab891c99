/**
 * The reference for the face detector: runs `@vladmandic/human`'s own BlazeFace graph model
 * (models/blazeface.json + .bin, the pinned bytes of ./source.ts) with TensorFlow.js 4.22 (CPU
 * backend, a devDependency) on the photos in tests/fixtures/photos/ and writes what it finds to
 * tests/fixtures/blazeface_reference.json, which tests/facedetect/reference.test.ts compares
 * against this library's detector on cpu and webgpu.
 *
 * Everything numeric is TensorFlow.js: the letterbox (tf.pad with zeros to a centred square),
 * tf.image.resizeBilinear to 256x256 (half-pixel centres), /127.5 - 1, the graph model itself,
 * the anchors added to the regressors, sigmoid of the clipped logits, and the seeds of the
 * suppression (tf.image.nonMaxSuppression, IoU 0.3). Only the blending of each seed's group
 * (MediaPipe's weighted NMS: score-weighted means of the boxes and keypoints that overlap the
 * seed by more than the IoU threshold, and not taken by an earlier seed) is plain arithmetic here.
 * The anchors are Human's own rule (src/face/facemeshutil.ts generateAnchors for a 256 input:
 * strides 16 and 32, 2 and 6 anchors per cell), written out below.
 *
 * Images are decoded with src/facedetect/image.ts so both sides start from the same pixels.
 *
 *   npx tsx scripts/blazeface/reference.ts [--from DIR]
 */
import { readdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { decodeImage } from '../../src/facedetect/image.js';
import { readBlazeFaceGraphModel, HUMAN_PACKAGE, HUMAN_VERSION, type GraphModelFiles } from './source.js';

/** Settings the fixture was made with (the test runs the detector with the same). */
export const REFERENCE_SETTINGS = { inputSize: 256, minScore: 0.3, iouThreshold: 0.3, scoreClip: 100 } as const;

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..', '..');
const photosDir = path.join(root, 'tests', 'fixtures', 'photos');
const outFile = path.join(root, 'tests', 'fixtures', 'blazeface_reference.json');

async function loadModel(files: GraphModelFiles): Promise<tf.GraphModel> {
  const parts = files.json.weightsManifest.flatMap((g) => g.paths.map((p) => files.shards.get(p)!));
  const total = parts.reduce((s, b) => s + b.length, 0);
  const data = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  const specs = files.json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[];
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology: files.json.modelTopology as unknown as tf.io.ModelJSON['modelTopology'], weightSpecs: specs, weightData: data.buffer }));
}

/** Human's generateAnchors(256): strides 16 and 32 with 2 and 6 anchors per cell, centres at (i + 0.5) * stride. */
function humanAnchors(size: number): number[][] {
  const out: number[][] = [];
  const spec = [
    [size / 16, 2],
    [size / 8, 6],
  ];
  for (const [stride, per] of spec) {
    const cells = Math.floor((size + stride! - 1) / stride!);
    for (let y = 0; y < cells; y++) for (let x = 0; x < cells; x++) for (let n = 0; n < per!; n++) out.push([stride! * (x + 0.5), stride! * (y + 0.5)]);
  }
  return out;
}

interface RefFace {
  box: number[];
  keypoints: number[][];
  score: number;
  anchor: number;
}

function iou(a: number[], b: number[]): number {
  const iw = Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!);
  const ih = Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter);
}

async function detect(model: tf.GraphModel, anchors: tf.Tensor2D, file: string) {
  const img = decodeImage(readFileSync(file), file);
  const { inputSize: size, minScore, iouThreshold, scoreClip } = REFERENCE_SETTINGS;
  const side = Math.max(img.width, img.height);
  const padX = Math.floor((side - img.width) / 2);
  const padY = Math.floor((side - img.height) / 2);
  const scale = side / size;
  const t = tf.tidy(() => {
    const x = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32').toFloat();
    const padded = tf.pad(x, [[padY, side - img.height - padY], [padX, side - img.width - padX], [0, 0]]);
    const resized = tf.image.resizeBilinear(padded.expandDims(0) as tf.Tensor4D, [size, size], false, true);
    const input = tf.sub(tf.div(resized, 127.5), 1);
    const outs = model.execute(input, ['Identity:0', 'Identity_1:0', 'Identity_2:0', 'Identity_3:0']) as tf.Tensor[];
    // (1, 512, 1) + (1, 384, 1) logits; (1, 512, 16) + (1, 384, 16) regressors.
    const logits = tf.concat([outs[0]!, outs[1]!], 1).reshape([-1]);
    const reg = tf.concat([outs[2]!, outs[3]!], 1).reshape([-1, 16]);
    const scores = tf.sigmoid(tf.clipByValue(logits, -scoreClip, scoreClip));
    const centers = tf.add(reg.slice([0, 0], [-1, 2]), anchors);
    const half = tf.div(reg.slice([0, 2], [-1, 2]), 2);
    const boxes = tf.concat([tf.sub(centers, half), tf.add(centers, half)], 1); // x1, y1, x2, y2
    const kps = tf.add(reg.slice([0, 4], [-1, 12]).reshape([-1, 6, 2]), anchors.expandDims(1));
    const yxBoxes = tf.gather(boxes, [1, 0, 3, 2], 1) as tf.Tensor2D;
    return { logits, reg, scores, boxes, kps, yxBoxes };
  });
  const seeds = await tf.image.nonMaxSuppressionAsync(t.yxBoxes, t.scores as tf.Tensor1D, 896, iouThreshold, minScore);
  const seedIdx = Array.from(await seeds.data());
  const scores = Array.from(await t.scores.data());
  const boxes = (await t.boxes.array()) as number[][];
  const kps = (await t.kps.array()) as number[][][];
  const logits = Array.from(await t.logits.data());
  const reg = (await t.reg.array()) as number[][];
  // Blending: every candidate (score >= minScore) goes to the first seed, in score order, that
  // it overlaps by more than the threshold.
  const taken = new Set<number>();
  const cand = scores.map((s, i) => [s, i] as const).filter(([s]) => s >= minScore).map(([, i]) => i);
  const faces: RefFace[] = [];
  for (const s of seedIdx) {
    const group = cand.filter((c) => !taken.has(c) && (c === s || iou(boxes[s]!, boxes[c]!) > iouThreshold));
    group.forEach((c) => taken.add(c));
    const w = group.reduce((a, c) => a + scores[c]!, 0);
    const box = [0, 1, 2, 3].map((k) => group.reduce((a, c) => a + scores[c]! * boxes[c]![k]!, 0) / w);
    const keypoints = kps[s]!.map((_, k) => [0, 1].map((d) => group.reduce((a, c) => a + scores[c]! * kps[c]![k]![d]!, 0) / w));
    // Back to image pixels: image = input * scale - pad.
    faces.push({
      box: [box[0]! * scale - padX, box[1]! * scale - padY, box[2]! * scale - padX, box[3]! * scale - padY],
      keypoints: keypoints.map(([x, y]) => [x! * scale - padX, y! * scale - padY]),
      score: scores[s]!,
      anchor: s,
    });
  }
  // The strongest anchors' raw outputs, for a check of the network alone.
  const top = scores
    .map((s, i) => [s, i] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, 5)
    .map(([, i]) => ({ anchor: i, logit: logits[i]!, regressors: reg[i]! }));
  tf.dispose([t.logits, t.reg, t.scores, t.boxes, t.kps, t.yxBoxes, seeds]);
  return { width: img.width, height: img.height, faces, top };
}

async function main(argv: string[]): Promise<void> {
  const i = argv.indexOf('--from');
  const files = readBlazeFaceGraphModel(i >= 0 ? argv[i + 1] : undefined);
  await tf.setBackend('cpu');
  await tf.ready();
  const model = await loadModel(files);
  const anchors = tf.tensor2d(humanAnchors(REFERENCE_SETTINGS.inputSize));
  const photos = readdirSync(photosDir).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
  const round = (v: number) => Math.round(v * 1e4) / 1e4;
  const out: Record<string, unknown> = {
    generator: 'scripts/blazeface/reference.ts',
    model: `${HUMAN_PACKAGE}@${HUMAN_VERSION} models/blazeface.json`,
    tfjs: `${tf.version.tfjs} (${tf.getBackend()} backend)`,
    settings: REFERENCE_SETTINGS,
    photos: {},
  };
  for (const p of photos) {
    const r = await detect(model, anchors, path.join(photosDir, p));
    (out.photos as Record<string, unknown>)[p] = {
      width: r.width,
      height: r.height,
      faces: r.faces.map((f) => ({ score: round(f.score), anchor: f.anchor, box: f.box.map(round), keypoints: f.keypoints.map((k) => k.map(round)) })),
      top: r.top.map((t) => ({ anchor: t.anchor, logit: round(t.logit), regressors: t.regressors.map(round) })),
    };
    process.stderr.write(`${p}: ${r.faces.length} face(s) ${r.faces.map((f) => f.score.toFixed(3)).join(' ')}\n`);
  }
  writeFileSync(outFile + '.tmp', JSON.stringify(out, null, 1) + '\n');
  renameSync(outFile + '.tmp', outFile);
  process.stdout.write(`wrote ${outFile}\n`);
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
