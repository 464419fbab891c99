/**
 * Faces in photos: images per second for face detection alone (BlazeFace, src/facedetect) and for
 * detection + classification (predict's path: detect, crop and level each face, ResEmoteNet on the
 * crops) of one 640x480 photo at batch 1, on webgpu and/or cpu.
 *
 *   XDG_RUNTIME_DIR=/tmp npx tsx bench/detect.ts [--device webgpu,cpu] [--runs 5] [--warmup 1]
 *       [--photo tests/fixtures/photos/basketball.png] [-c <checkpoint>] [--width 1] [--json out.json]
 *
 * Timed: wall time from the decoded RGB image to the results in JS (letterbox, the network, the
 * readback of its outputs, decoding and weighted NMS; then for "+ classify" the crops, the
 * classifier's transform, its forward and readback), median of --runs after --warmup uncounted
 * calls (the first call also compiles pipelines and fills the buffer pool). File decoding is not
 * timed. Without -c the classifier is a freshly initialised ResEmoteNet of --width (default 1, the
 * paper's 80M-parameter network): its speed does not depend on the weights. The default photo,
 * tests/fixtures/photos/basketball.png, is 640x480 with one face found at the default threshold.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { initWebGPU, type Device } from '../src/index.js';
import { FaceDetector } from '../src/facedetect/detect.js';
import { decodeImage } from '../src/facedetect/image.js';
import { predictPhoto, classifierFromCheckpoint, type EmotionClassifier } from '../src/resemotenet/predict.js';
import { loadCheckpoint, buildModel, modelConfig } from '../src/resemotenet/checkpoint.js';
import { repeat, round, type Stats } from './harness.js';

const args = process.argv.slice(2);
const opt = (name: string, def?: string) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : def;
};
const photo = opt('--photo', 'tests/fixtures/photos/basketball.png')!;
const runs = Number(opt('--runs', '5'));
const warmup = Number(opt('--warmup', '1'));
const devices = opt('--device', 'webgpu,cpu')!.split(',') as Device[];
const ckPath = opt('-c') ?? opt('--checkpoint');
const width = ((v: string) => (v.includes('/') ? Number(v.split('/')[0]) / Number(v.split('/')[1]) : Number(v)))(opt('--width', '1')!);

const img = decodeImage(readFileSync(photo), photo);
if (devices.includes('webgpu')) await initWebGPU();

interface Row {
  device: Device;
  what: string;
  faces: number;
  ms: Stats;
  imagesPerSec: number;
}
const rows: Row[] = [];
const timed = async (fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};

for (const device of devices) {
  const det = await FaceDetector.create({ device });
  let clf: EmotionClassifier;
  if (ckPath) clf = classifierFromCheckpoint(await loadCheckpoint(ckPath, { device }));
  else {
    const cfg = modelConfig({ width });
    const model = buildModel(cfg).to(device);
    clf = { model, config: cfg, source: `fresh ResEmoteNet width ${width}` };
  }
  const faces = (await det.detect(img)).length;
  const d = await repeat(() => timed(() => det.detect(img)), warmup, runs);
  rows.push({ device, what: 'detection', faces, ms: d, imagesPerSec: 1000 / d.median });
  const p = await repeat(() => timed(() => predictPhoto(clf, img, photo, { device, detector: det })), warmup, runs);
  rows.push({ device, what: `detection + classification (${clf.source})`, faces, ms: p, imagesPerSec: 1000 / p.median });
}

const command = `XDG_RUNTIME_DIR=/tmp npx tsx bench/detect.ts ${args.join(' ')}`.trim();
console.log(`${photo}: ${img.width}x${img.height}, batch 1, median of ${runs} runs after ${warmup} warm-up; ${command}`);
for (const r of rows) {
  console.log(`${r.device.padEnd(7)} ${r.what.padEnd(60)} ${String(r.faces).padStart(2)} face(s)  ${round(r.ms.median)} ms (min ${round(r.ms.min)}, max ${round(r.ms.max)})  ${round(r.imagesPerSec)} images/s`);
}
const json = opt('--json');
if (json) writeFileSync(json, JSON.stringify({ command, photo, width: img.width, height: img.height, runs, warmup, rows }, null, 2) + '\n');
process.exit(0);
