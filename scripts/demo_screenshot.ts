/**
 * The README's picture of the demo (docs/demo.png): builds the demo as `npm run demo` does, opens
 * it in headless Chromium (WebGPU on SwiftShader), picks a photo through the file input and saves
 * a scaled screenshot of the page, written atomically.
 *
 *   XDG_RUNTIME_DIR=/tmp npx tsx scripts/demo_screenshot.ts [--photo tests/fixtures/photos/astronaut.jpg]
 *       [--out docs/demo.png] [--width 1100] [--height 760] [--scale 0.6]
 *
 * The classifier is the demo's: weights/resemotenet/ (or $RESEMOTENET_DEMO_WEIGHTS); without one
 * the script stops, since a screenshot of an untrained model would show meaningless labels.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { findChromium } from '../tests/browser/harness.js';
import { openPage } from '../tests/browser/cdp.js';
import { buildDemo, serveDemo, shippedSidecar } from '../tests/browser/demo_harness.js';

const { values: o } = parseArgs({
  options: {
    photo: { type: 'string', default: 'tests/fixtures/photos/astronaut.jpg' },
    out: { type: 'string', default: 'docs/demo.png' },
    width: { type: 'string', default: '1100' },
    height: { type: 'string', default: '760' },
    scale: { type: 'string', default: '0.6' },
  },
});
if (!shippedSidecar()) throw new Error('demo_screenshot: no trained classifier in weights/resemotenet/ (set RESEMOTENET_DEMO_WEIGHTS to a folder with model.json, or a run\'s best.json)');
const chromium = findChromium();
if (!chromium) throw new Error('demo_screenshot: no chromium (apt-get install chromium, or set CHROMIUM_BIN)');

const dir = await mkdtemp(join(tmpdir(), 'resemotenet-screenshot-'));
const server = await buildDemo(join(dir, 'dist')).then(() => serveDemo(join(dir, 'dist')));
const page = await openPage(chromium);
try {
  await page.viewport(Number(o.width), Number(o.height));
  await page.goto(server.url);
  await page.waitFor(`document.body.dataset.state === 'ready'`, 120_000);
  // Twice: the first run compiles the GPU pipelines, the second shows the time of a warm frame.
  for (const run of [1, 2]) {
    await page.setFiles('#photo-input', [resolve(o.photo!)]);
    await page.waitFor(`Number(document.body.dataset.runs) >= ${run} && document.body.dataset.state === 'ready'`, 300_000);
  }
  if (page.errors.length) throw new Error(`the page logged errors: ${page.errors.join(' | ')}`);
  await page.screenshot(resolve(o.out!), Number(o.scale));
  console.log(`wrote ${o.out}: ${await page.evaluate<string>('document.getElementById("stats").textContent')}`);
} finally {
  await page.browser.kill();
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
