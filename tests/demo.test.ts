/**
 * The demo page (demo/) in headless Chromium on SwiftShader's WebGPU, driven over the DevTools
 * protocol: built as `npm run demo` builds it (no Node import, no warning), served by Vite's
 * preview server, then
 *  - photos picked through the file input (and one dropped on the picture) show the faces, labels and probabilities that Node's
 *    `predictFiles` gives for the same files and weights (boxes within 1 px, same top label,
 *    probabilities within 1e-3): with the shipped weights when the build has them, and always
 *    with a checkpoint picked through the page's checkpoint input (a tiny untrained ResEmoteNet
 *    made input-sensitive, see saveTinyCheckpoint: its labels mean nothing, but page and Node must
 *    agree on them);
 *  - the webcam, Chromium's fake camera playing a Y4M made from astronaut.jpg, shows a labelled
 *    face where BlazeFace finds it in that frame;
 *  - without WebGPU the page says so and labels faces on the cpu backend;
 *  - no console error anywhere; the page fits a phone's width.
 * Photos go in as lossless PNGs of the fixture photos (decoded by the Node decoder once), because
 * Chromium's JPEG decoder differs from jpeg-js by up to 3 levels per pixel (46 on grace_hopper.jpg)
 * and the comparison is about the pipeline, not the decoders. Screenshots are saved outside the
 * repository: /tmp/resemotenet-demo.png, -phone.png, -webcam.png.
 * Without Chromium: fails with CI=true, skips with a warning otherwise (as tests/browser.test.ts).
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictFiles, type FacePrediction } from '../src/resemotenet/predict.js';
import { FaceDetector } from '../src/facedetect/detect.js';
import { findChromium } from './browser/harness.js';
import { openPage, type Page } from './browser/cdp.js';
import {
  PHOTOS,
  SHOWN_FACES,
  buildDemo,
  fakeCameraFlags,
  fitFrame,
  photoAsPng,
  saveTinyCheckpoint,
  serveDemo,
  shippedSidecar,
  writeY4m,
  type ShownFace,
} from './browser/demo_harness.js';
import type { NodeImportLog } from './browser/node_free.js';

const chromium = findChromium();
const CI = process.env.CI === 'true';
if (!chromium && !CI) console.warn('demo test skipped: no chromium found (apt-get install chromium, or set CHROMIUM_BIN)');
const SCREENSHOT = '/tmp/resemotenet-demo.png';

let dir: string;
let buildLog: NodeImportLog;
let server: { url: string; close: () => Promise<void> } | null = null;
/** The tiny checkpoint picked through the page: sidecar and model file. */
let tiny: { json: string; model: string };
const shipped = shippedSidecar();
const photos: Record<string, string> = {};

beforeAll(async () => {
  if (!chromium) return;
  dir = mkdtempSync(join(tmpdir(), 'resemotenet-demo-'));
  buildLog = await buildDemo(join(dir, 'dist'));
  server = await serveDemo(join(dir, 'dist'));
  tiny = await saveTinyCheckpoint(join(dir, 'tiny'));
  photos.astronaut = join(dir, 'astronaut.png');
  photoAsPng(join(PHOTOS, 'astronaut.jpg'), photos.astronaut);
  photos.montage = join(dir, 'montage.png');
  photoAsPng(join(PHOTOS, 'montage.jpg'), photos.montage);
  photos.basketball = join(dir, 'basketball.png');
  copyFileSync(join(PHOTOS, 'basketball.png'), photos.basketball);
}, 300_000);

afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function requireChromium(ctx: { skip: () => void }): boolean {
  if (chromium) return true;
  if (CI) throw new Error("CI=true but no chromium: run `bash scripts/setup.sh` (installs Debian's chromium) or set CHROMIUM_BIN");
  ctx.skip();
  return false;
}

/** Opens the demo and waits until it has loaded its models (ready, or waiting for a checkpoint). */
async function open(flags?: string[], extraFlags?: string[]): Promise<Page> {
  const page = await openPage(chromium!, { flags, extraFlags });
  await page.viewport(1280, 900);
  await page.goto(server!.url);
  await page.waitFor(`['ready', 'need-weights', 'error'].includes(document.body.dataset.state)`, 90_000);
  return page;
}

const state = (page: Page) => page.evaluate<string>('document.body.dataset.state');
const runs = (page: Page) => page.evaluate<number>('Number(document.body.dataset.runs ?? 0)');

/** Picks the tiny checkpoint through the page's checkpoint input and waits for it to load. */
async function pickTiny(page: Page): Promise<void> {
  await page.setFiles('#checkpoint-input', [tiny.json, tiny.model]);
  await page.waitFor(`document.getElementById('model-name').textContent.includes('tiny.json') && document.body.dataset.state !== 'busy'`, 60_000);
  expect(await state(page)).toBe('ready');
}

/** Picks `photo` through the file input and returns the faces the page then shows. */
async function showPhoto(page: Page, photo: string): Promise<ShownFace[]> {
  const before = await runs(page);
  await page.setFiles('#photo-input', [photo]);
  await page.waitFor(`Number(document.body.dataset.runs) > ${before} && document.body.dataset.state === 'ready'`, 120_000);
  return page.evaluate<ShownFace[]>(SHOWN_FACES);
}

/** The page's faces must be Node's: same count and order, boxes within 1 px, same label, probabilities within 1e-3. */
function expectSameFaces(shown: ShownFace[], node: FacePrediction[], what: string): void {
  expect(shown.length, `${what}: faces shown vs Node's`).toBe(node.length);
  node.forEach((n, i) => {
    const s = shown[i]!;
    for (let k = 0; k < 4; k++) expect(Math.abs(s.box[k]! - n.box![k]!), `${what} face ${i} box[${k}]: page ${s.box[k]} vs node ${n.box![k]}`).toBeLessThanOrEqual(1);
    expect(s.label, `${what} face ${i} label`).toBe(n.label);
    expect(Object.keys(s.probs)).toEqual(Object.keys(n.probabilities));
    for (const [k, p] of Object.entries(n.probabilities)) expect(Math.abs(s.probs[k]! - p), `${what} face ${i} p(${k}): page ${s.probs[k]} vs node ${p}`).toBeLessThanOrEqual(1e-3);
    expect(s.text).toContain(`${n.label} ${Math.round(n.confidence * 100)}%`);
  });
}

async function nodeFaces(checkpoint: string, photo: string): Promise<FacePrediction[]> {
  const r = await predictFiles(checkpoint, [photo], { device: 'cpu' });
  expect(r.failed).toBe(0);
  return r.predictions;
}

describe('demo page (headless Chromium, WebGPU on SwiftShader)', () => {
  it('builds as a browser app: no Node built-in, no Node-only package, no warning', (ctx) => {
    if (!requireChromium(ctx)) return;
    expect(buildLog.builtins).toEqual([]);
    expect(buildLog.packages).toEqual([]);
    expect(buildLog.warnings).toEqual([]);
  });

  it('photos from the file input: the faces and emotions Node predicts, with the shipped weights and a picked checkpoint', async (ctx) => {
    if (!requireChromium(ctx)) return;
    const page = await open();
    try {
      expect(await page.evaluate('document.body.dataset.device')).toBe('webgpu');
      expect(await page.evaluate('document.getElementById("notice").hidden')).toBe(true);
      expect(await page.evaluate<string>('document.getElementById("stats").textContent')).toMatch(/^WebGPU, /);
      const sets: { name: string; checkpoint: string }[] = [];
      if (shipped) {
        expect(await state(page)).toBe('ready');
        expect(await page.evaluate<string>('document.getElementById("model-name").textContent')).toMatch(/shipped weights/);
        sets.push({ name: 'shipped weights', checkpoint: shipped });
      } else {
        expect(await state(page)).toBe('need-weights');
        console.warn('demo test: no shipped weights (weights/resemotenet/model.json); only the picked checkpoint is compared');
      }
      sets.push({ name: 'picked checkpoint', checkpoint: tiny.json });
      for (const set of sets) {
        if (set.checkpoint === tiny.json) await pickTiny(page);
        for (const [name, file] of Object.entries(photos)) {
          const shown = await showPhoto(page, file);
          expectSameFaces(shown, await nodeFaces(set.checkpoint, file), `${set.name}, ${name}`);
          expect(shown.length, `${name} has faces`).toBeGreaterThan(0);
          if (set === sets[0] && name === 'astronaut') await page.screenshot(SCREENSHOT);
        }
      }
      // Drag and drop: a photo dropped on the picture is analysed as one picked.
      const before = await runs(page);
      await page.dropFiles('#stage', [photos.montage!]);
      await page.waitFor(`Number(document.body.dataset.runs) > ${before} && document.body.dataset.state === 'ready'`, 120_000);
      expect(await page.evaluate('document.body.dataset.source')).toBe('photo:montage.png');
      expectSameFaces(await page.evaluate<ShownFace[]>(SHOWN_FACES), await nodeFaces(sets.at(-1)!.checkpoint, photos.montage!), 'dropped montage');
      // Timings are shown; the page fits a phone's width.
      expect(await page.evaluate<string>('document.getElementById("stats").textContent')).toMatch(/detection [\d.]+ ms · classification [\d.]+ ms · frame [\d.]+ ms/);
      await page.viewport(390, 844, true);
      expect(await page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      await page.screenshot(SCREENSHOT.replace('.png', '-phone.png'));
      expect(page.errors).toEqual([]);
    } finally {
      await page.browser.kill();
    }
  }, 600_000);

  it('the webcam (fake camera playing astronaut.jpg): a labelled face where BlazeFace finds it in the frame', async (ctx) => {
    if (!requireChromium(ctx)) return;
    const fit = fitFrame(photoAsPng(join(PHOTOS, 'astronaut.jpg'), join(dir, 'cam.png')), 640, 480);
    const y4m = join(dir, 'astronaut.y4m');
    writeY4m(y4m, fit.frame);
    const expected = await (await FaceDetector.create({ device: 'cpu' })).detect(fit.frame);
    expect(expected.length).toBe(1);
    const page = await open(undefined, fakeCameraFlags(y4m));
    try {
      if ((await state(page)) === 'need-weights') await pickTiny(page);
      await page.evaluate(`document.getElementById('webcam-button').click()`);
      await page.waitFor(`document.body.dataset.source === 'webcam' && document.querySelectorAll('#faces li').length > 0`, 120_000);
      const shown = await page.evaluate<ShownFace[]>(SHOWN_FACES);
      const names = await page.evaluate<string[]>(`[...document.querySelectorAll('#faces li:first-child .bars span:not(.bar):not(.pct)')].map((s) => s.textContent)`);
      expect(shown.length).toBe(1);
      const f = shown[0]!;
      expect(names).toContain(f.label);
      expect(Object.values(f.probs).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(f.text).toMatch(new RegExp(`${f.label} \\d+%`));
      const side = expected[0]!.box[2] - expected[0]!.box[0];
      for (let k = 0; k < 4; k++) expect(Math.abs(f.box[k]! - expected[0]!.box[k]!), `box[${k}]`).toBeLessThanOrEqual(0.1 * side);
      expect(await page.evaluate<string>('document.getElementById("stats").textContent')).toMatch(/640×480 .* frames\/s/);
      await page.screenshot(SCREENSHOT.replace('.png', '-webcam.png'));
      await page.evaluate(`document.getElementById('webcam-button').click()`);
      await page.waitFor(`document.getElementById('webcam-button').textContent === 'Start webcam'`, 30_000);
      expect(page.errors).toEqual([]);
    } finally {
      await page.browser.kill();
    }
  }, 600_000);

  it('without WebGPU: says so, and labels the faces on the cpu backend as Node does', async (ctx) => {
    if (!requireChromium(ctx)) return;
    const page = await open([]); // no --enable-unsafe-webgpu: navigator.gpu gives no adapter
    try {
      expect(await page.evaluate('document.body.dataset.device')).toBe('cpu');
      expect(await page.evaluate<string>('document.getElementById("notice").textContent')).toMatch(/WebGPU is not available .* CPU backend/);
      if ((await state(page)) === 'need-weights') await pickTiny(page);
      const checkpoint = shipped ?? tiny.json;
      expectSameFaces(await showPhoto(page, photos.basketball!), await nodeFaces(checkpoint, photos.basketball!), 'cpu backend, basketball');
      expect(await page.evaluate<string>('document.getElementById("stats").textContent')).toMatch(/^CPU backend · /);
      expect(page.errors).toEqual([]);
    } finally {
      await page.browser.kill();
    }
  }, 600_000);
});
