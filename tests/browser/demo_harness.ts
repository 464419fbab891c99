/**
 * The demo (demo/) under test: built with its own Vite config into a temporary folder while
 * watching for Node imports, served by Vite's preview server (what `npm run demo` runs), and the
 * inputs a test feeds it: photos re-encoded losslessly (so the page and Node decode the same
 * pixels) and a Y4M video for Chromium's fake camera. Used by tests/demo.test.ts and
 * bench/demo_frame.ts.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { manual_seed, no_grad, randn } from '../../src/index.js';
import { decodeImage, type RgbImage } from '../../src/facedetect/image.js';
import { encodePng } from '../../src/resemotenet/annotate.js';
import { buildModel, modelConfig, saveCheckpoint } from '../../src/resemotenet/checkpoint.js';
import { BatchNorm2d } from '../../src/nn/layers/batchnorm.js';
import { nodeImportWatch, type NodeImportLog } from './node_free.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const DEMO_CONFIG = join(REPO, 'demo', 'vite.config.ts');
export const PHOTOS = join(REPO, 'tests', 'fixtures', 'photos');

/** The sidecar of the classifier the demo build ships (as demo/vite.config.ts picks it), or null when there is none. */
export function shippedSidecar(): string | null {
  const where = process.env.RESEMOTENET_DEMO_WEIGHTS ?? join(REPO, 'weights', 'resemotenet');
  const sidecar = where.endsWith('.json') ? where : join(where, 'model.json');
  return existsSync(sidecar) ? sidecar : null;
}

/**
 * Builds the demo into `outDir` (production mode, as `npm run demo`); returns what the import
 * watch saw (Node built-ins, package imports, warnings).
 */
export async function buildDemo(outDir: string): Promise<NodeImportLog> {
  const { build } = await import('vite');
  const { plugin, logger, log } = nodeImportWatch(REPO);
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production'; // Vite reports Node built-ins in a browser build only in production
  try {
    await build({ configFile: DEMO_CONFIG, customLogger: logger, logLevel: 'warn', plugins: [plugin], build: { outDir, emptyOutDir: true } });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  return log;
}

/** Serves a built demo with Vite's preview server on 127.0.0.1 (a free port). */
export async function serveDemo(outDir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const { preview } = await import('vite');
  const server = await preview({ configFile: DEMO_CONFIG, logLevel: 'silent', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview gave no local URL');
  return { url, close: () => server.close() };
}

/**
 * Saves a tiny untrained ResEmoteNet (width 1/32, 32x32, seeded) whose outputs depend on its
 * input enough for a comparison to mean something: a freshly initialised network gives nearly the
 * same probabilities for every face (its BatchNorm running statistics are the defaults 0 and 1,
 * far from its activations'), so a crop off by a few pixels would go unnoticed at 1e-3. Running
 * statistics from 20 batches of noise, and fc4 scaled by 4, make a 0.2 -> 0.25 crop margin change
 * the probabilities by about 2e-2. Returns the sidecar and model file paths.
 */
export async function saveTinyCheckpoint(prefix: string, seed = 11): Promise<{ json: string; model: string }> {
  manual_seed(seed);
  const cfg = modelConfig({ width: 1 / 32, image_size: 32 });
  const model = buildModel(cfg, { dropout: 0, fc_dropout: 0 });
  model.train();
  for (const m of model.modules()) if (m instanceof BatchNorm2d) m.momentum = null; // cumulative average
  no_grad(() => {
    for (let i = 0; i < 20; i++) model.call(randn([16, 3, 32, 32])).dispose();
  });
  model.eval();
  const sd = model.state_dict();
  sd['fc4.weight'] = sd['fc4.weight']!.mul(4);
  sd['fc4.bias'] = sd['fc4.bias']!.mul(4);
  model.load_state_dict(sd);
  const sc = await saveCheckpoint({ prefix, model, config: cfg, kind: 'test' });
  return { json: `${prefix}.json`, model: join(dirname(prefix), sc.model_file) };
}

/** Decodes `src` with the Node decoders and writes it as a PNG (lossless: a browser decodes the same pixels). */
export function photoAsPng(src: string, dst: string): RgbImage {
  const rgb = decodeImage(readFileSync(src), src);
  writeFileSync(dst, encodePng(rgb));
  return rgb;
}

/**
 * `img` fitted into a width x height frame (scaled to fit, centred, grey around it), bilinear.
 * Returns the frame and where the image landed (scale, offset), to map boxes.
 */
export function fitFrame(img: RgbImage, width: number, height: number): { frame: RgbImage; scale: number; dx: number; dy: number } {
  const scale = Math.min(width / img.width, height / img.height);
  const w = Math.round(img.width * scale);
  const h = Math.round(img.height * scale);
  const dx = Math.floor((width - w) / 2);
  const dy = Math.floor((height - h) / 2);
  const data = new Uint8Array(width * height * 3).fill(96);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(Math.max((y + 0.5) / scale - 0.5, 0), img.height - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const fy = sy - y0;
    for (let x = 0; x < w; x++) {
      const sx = Math.min(Math.max((x + 0.5) / scale - 0.5, 0), img.width - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const p = (xx: number, yy: number) => img.data[3 * (yy * img.width + xx) + c]!;
        const top = p(x0, y0) * (1 - fx) + p(x1, y0) * fx;
        const bot = p(x0, y1) * (1 - fx) + p(x1, y1) * fx;
        data[3 * ((y + dy) * width + x + dx) + c] = Math.round(top * (1 - fy) + bot * fy);
      }
    }
  }
  return { frame: { width, height, data }, scale: w / img.width, dx, dy };
}

/**
 * Writes an RGB image as a one-frame Y4M video (YUV 4:2:0, BT.601 full range, "C420jpeg"), the
 * format Chromium's --use-file-for-fake-video-capture reads (it loops the frames). Even sizes only.
 */
export function writeY4m(file: string, img: RgbImage): void {
  const { width: w, height: h, data } = img;
  if (w % 2 || h % 2) throw new RangeError(`writeY4m: ${w}x${h} must have even sides for 4:2:0`);
  const clamp = (v: number) => Math.min(255, Math.max(0, Math.round(v)));
  const yPlane = new Uint8Array(w * h);
  const uPlane = new Uint8Array((w / 2) * (h / 2));
  const vPlane = new Uint8Array((w / 2) * (h / 2));
  for (let i = 0; i < w * h; i++) yPlane[i] = clamp(0.299 * data[3 * i]! + 0.587 * data[3 * i + 1]! + 0.114 * data[3 * i + 2]!);
  for (let y = 0; y < h / 2; y++) {
    for (let x = 0; x < w / 2; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const [ox, oy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
        const i = 3 * ((2 * y + oy) * w + 2 * x + ox);
        r += data[i]! / 4;
        g += data[i + 1]! / 4;
        b += data[i + 2]! / 4;
      }
      uPlane[y * (w / 2) + x] = clamp(128 - 0.168736 * r - 0.331264 * g + 0.5 * b);
      vPlane[y * (w / 2) + x] = clamp(128 + 0.5 * r - 0.418688 * g - 0.081312 * b);
    }
  }
  const header = Buffer.from(`YUV4MPEG2 W${w} H${h} F30:1 Ip A1:1 C420jpeg\nFRAME\n`, 'latin1');
  writeFileSync(file, Buffer.concat([header, yPlane, uPlane, vPlane]));
}

/** Chromium flags for a fake camera that plays `y4m` (and grants camera permission without asking). */
export function fakeCameraFlags(y4m: string): string[] {
  return ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`];
}

/** One face as the demo page lists it (#faces li data-* attributes and the visible label). */
export interface ShownFace {
  box: [number, number, number, number];
  label: string;
  probs: Record<string, number>;
  score: number;
  text: string;
}

/** Page expression giving the faces the demo lists, as ShownFace[]. */
export const SHOWN_FACES = `[...document.querySelectorAll('#faces li')].map((li) => ({
  box: JSON.parse(li.dataset.box), label: li.dataset.label, probs: JSON.parse(li.dataset.probs),
  score: Number(li.dataset.score), text: li.querySelector('.label').textContent }))`;
