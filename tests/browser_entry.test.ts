/**
 * `resemotenet-webgpu/browser` (src/browser/index.ts) is browser code all the way down: Vite
 * bundles it for a browser target with no Node built-in and no package import anywhere in its
 * import graph, no warning (such as "externalized for browser compatibility"), and a bundle that
 * names neither Dawn nor `node:` modules. Control: the same build flags the Node-only modules
 * that a browser bundle must not reach (node:fs in the predict inputs, pngjs in the decoder).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeImportWatch, type NodeImportLog } from './browser/node_free.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Bundles `entry` as an ES library for browsers; returns the import log and the bundle's text. */
async function bundle(entry: string): Promise<{ log: NodeImportLog; code: string; assets: string[] }> {
  const { build } = await import('vite');
  const { plugin, logger, log } = nodeImportWatch(ROOT);
  const outDir = await mkdtemp(join(tmpdir(), 'resemotenet-browser-entry-'));
  // Vite reports a Node built-in in a browser build only in production (vitest sets NODE_ENV=test).
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    const out = await build({
      configFile: false,
      envDir: false,
      publicDir: false,
      root: ROOT,
      customLogger: logger,
      logLevel: 'warn',
      plugins: [plugin],
      build: {
        outDir,
        write: false,
        minify: false,
        target: 'es2022',
        reportCompressedSize: false,
        lib: { entry: join(ROOT, entry), formats: ['es'], fileName: () => 'entry.js' },
        rolldownOptions: { output: { codeSplitting: false }, onLog: (level, l) => void log.warnings.push(`${level}: ${l.message}`) },
      },
    });
    const outputs = (Array.isArray(out) ? out : [out]).flatMap((o) => ('output' in o ? o.output : []));
    const code = outputs.map((o) => (o.type === 'chunk' ? o.code : '')).join('\n');
    return { log, code, assets: outputs.filter((o) => o.type === 'asset').map((o) => o.fileName) };
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
    await rm(outDir, { recursive: true, force: true });
  }
}

describe('browser entry (src/browser/index.ts)', () => {
  it('bundles for a browser with no Node built-in, no package import and no warning', async () => {
    const { log, code } = await bundle('src/browser/index.ts');
    expect(log.builtins, 'Node built-ins in the import graph').toEqual([]);
    expect(log.packages, 'package imports in the import graph').toEqual([]);
    expect(log.warnings, 'warnings while bundling').toEqual([]);
    expect(code).not.toMatch(/externalized for browser compatibility|__vite-browser-external/);
    expect(code).not.toContain('dawn.node');
    expect(code).not.toContain('createRequire');
    expect(code).not.toMatch(/\bfrom\s*["'](?:node:|webgpu["'])/);
    // It is the real thing: the recognizer, the model and the loaders are in the bundle.
    for (const name of ['EmotionRecognizer', 'ResEmoteNet', 'loadPretrainedFromUrl', 'BlazeFace', 'imagePixels']) expect(code).toContain(name);
  }, 120_000);

  it('the same check flags Node-only modules (control)', async () => {
    const fsUser = await bundle('src/resemotenet/predict_inputs.ts');
    expect(fsUser.log.builtins).toEqual(expect.arrayContaining([expect.stringMatching(/^node:fs\/promises <- .*predict_inputs\.ts$/), expect.stringMatching(/^node:path <- /)]));
    expect(fsUser.log.warnings.join('\n')).toMatch(/externalized for browser compatibility/);
    const decoder = await bundle('src/facedetect/image.ts');
    expect(decoder.log.packages).toEqual(expect.arrayContaining([expect.stringMatching(/^pngjs <- .*image\.ts$/), expect.stringMatching(/^jpeg-js <- /)]));
  }, 120_000);
});
