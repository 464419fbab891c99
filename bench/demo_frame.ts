/**
 * Time per frame of the demo's pipeline (faces -> emotions) on one photo, in headless Chromium
 * (the built demo page, WebGPU on SwiftShader) and in Node (the same code, src/resemotenet/
 * face_emotions.ts, on Dawn + lavapipe), side by side:
 *
 *   XDG_RUNTIME_DIR=/tmp npx tsx bench/demo_frame.ts [--photo tests/fixtures/photos/basketball.png]
 *       [-c <checkpoint sidecar .json>] [--runs 5] [--warmup 1] [--no-node] [--no-browser]
 *
 * The classifier: the demo's shipped weights (weights/resemotenet, or $RESEMOTENET_DEMO_WEIGHTS),
 * else -c, picked through the page's checkpoint input. In the page one frame is what the demo
 * shows for a photo chosen through its file input: reading the pixels (canvas), detection and
 * classification (each up to its readback), as the page's own timings; the photo is chosen
 * --warmup + --runs times (the first run compiles the pipelines). In Node the same steps run on
 * the decoded RGBA pixels. Medians in milliseconds. Needs Chromium (see tests/browser.test.ts).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { initWebGPU } from '../src/index.js';
import { FaceDetector } from '../src/facedetect/detect.js';
import { decodeImage } from '../src/facedetect/image.js';
import { loadCheckpointBytes } from '../src/resemotenet/sidecar.js';
import { faceEmotions } from '../src/resemotenet/face_emotions.js';
import { findChromium } from '../tests/browser/harness.js';
import { openPage } from '../tests/browser/cdp.js';
import { buildDemo, serveDemo, shippedSidecar } from '../tests/browser/demo_harness.js';
import { stats, round } from './harness.js';

const args = process.argv.slice(2);
const opt = (name: string, def?: string) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : def;
};
const photo = resolve(opt('--photo', 'tests/fixtures/photos/basketball.png')!);
const runs = Number(opt('--runs', '5'));
const warmup = Number(opt('--warmup', '1'));
const sidecar = shippedSidecar() ?? opt('-c');
if (!sidecar) throw new Error('demo_frame: no shipped weights (weights/resemotenet/model.json): give a checkpoint with -c <sidecar.json>');
const modelFile = join(dirname(sidecar), (JSON.parse(readFileSync(sidecar, 'utf8')) as { model_file: string }).model_file);

type Timings = { pixelsMs: number; detectMs: number; classifyMs: number; totalMs: number };
const summary = (name: string, ts: Timings[], extra: string) => {
  const med = (k: keyof Timings) => round(stats(ts.map((t) => t[k])).median, 3);
  console.log(`${name}: pixels ${med('pixelsMs')} ms, detection ${med('detectMs')} ms, classification ${med('classifyMs')} ms, frame ${med('totalMs')} ms (median of ${ts.length}; ${extra})`);
};

const img = decodeImage(readFileSync(photo), photo);
console.log(`photo ${photo} (${img.width}x${img.height}), classifier ${sidecar}`);

if (!args.includes('--no-browser')) {
  const chromium = findChromium();
  if (!chromium) throw new Error('demo_frame: no chromium (apt-get install chromium, or set CHROMIUM_BIN)');
  const dir = await mkdtemp(join(tmpdir(), 'resemotenet-bench-demo-'));
  const server = await (async () => {
    await buildDemo(join(dir, 'dist'));
    return serveDemo(join(dir, 'dist'));
  })();
  const page = await openPage(chromium);
  try {
    await page.goto(server.url);
    await page.waitFor(`['ready', 'need-weights'].includes(document.body.dataset.state)`, 120_000);
    if ((await page.evaluate('document.body.dataset.state')) === 'need-weights') {
      await page.setFiles('#checkpoint-input', [sidecar, modelFile]);
      await page.waitFor(`document.body.dataset.state === 'ready'`, 120_000);
    }
    const adapter = await page.evaluate<string>('document.getElementById("stats").textContent');
    const ts: Timings[] = [];
    for (let i = 0; i < warmup + runs; i++) {
      const before = await page.evaluate<number>('Number(document.body.dataset.runs ?? 0)');
      await page.setFiles('#photo-input', [photo]);
      await page.waitFor(`Number(document.body.dataset.runs) > ${before} && document.body.dataset.state === 'ready'`, 300_000);
      const t = await page.evaluate<Record<string, string>>('({ ...document.getElementById("stats").dataset })');
      if (i >= warmup) ts.push({ pixelsMs: Number(t.pixelsMs), detectMs: Number(t.detectMs), classifyMs: Number(t.classifyMs), totalMs: Number(t.totalMs) });
    }
    const faces = await page.evaluate<number>('document.querySelectorAll("#faces li").length');
    summary('chromium (demo page)', ts, `${adapter.split(' · ')[0]}, ${faces} face(s)`);
    if (page.errors.length) console.log(`page errors: ${page.errors.join(' | ')}`);
  } finally {
    await page.browser.kill();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (!args.includes('--no-node')) {
  const adapter = await initWebGPU();
  const detector = await FaceDetector.create({ device: 'webgpu' });
  const ck = await loadCheckpointBytes(readFileSync(sidecar, 'utf8'), new Uint8Array(readFileSync(modelFile)), { device: 'webgpu', name: sidecar });
  const clf = { model: ck.model, config: ck.sidecar.config };
  const rgba = new Uint8ClampedArray(img.width * img.height * 4);
  for (let i = 0; i < img.width * img.height; i++) {
    rgba.set(img.data.subarray(3 * i, 3 * i + 3), 4 * i);
    rgba[4 * i + 3] = 255;
  }
  const ts: Timings[] = [];
  let faces = 0;
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    const r = await faceEmotions(clf, detector, { width: img.width, height: img.height, data: rgba }, { device: 'webgpu' });
    faces = r.faces.length;
    if (i >= warmup) ts.push({ pixelsMs: 0, ...r.timings, totalMs: performance.now() - t0 });
  }
  summary('node (Dawn)', ts, `${adapter.vendor} ${adapter.device} (${adapter.description}), ${faces} face(s)`);
}
process.exit(0);
