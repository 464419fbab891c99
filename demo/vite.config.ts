/**
 * The demo's build (`npm run demo` = vite build + vite preview on 127.0.0.1). A static site in
 * demo/dist/: the page, its script (the library's browser entry, src/browser), the face detector's
 * weights (emitted by Vite from src/facedetect/weights.ts's `new URL(..., import.meta.url)`), and
 * the shipped classifier copied from weights/resemotenet/ when it exists, with
 * weights/manifest.json telling the page whether it does. RESEMOTENET_DEMO_WEIGHTS=<folder with
 * model.json, or a checkpoint sidecar such as runs/r1/best.json> ships that classifier instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const HERE = fileURLToPath(new URL('.', import.meta.url));

/**
 * The classifier's files (sidecar + the model file it names), or null when there are none.
 * `where` is a folder holding model.json (weights/resemotenet/) or a sidecar .json (a run's best.json).
 */
function classifierFiles(where: string): { name: string; path: string }[] | null {
  const sidecar = where.endsWith('.json') ? where : join(where, 'model.json');
  if (!existsSync(sidecar)) return null;
  const modelFile = (JSON.parse(readFileSync(sidecar, 'utf8')) as { model_file?: unknown }).model_file;
  if (typeof modelFile !== 'string' || basename(modelFile) !== modelFile) throw new Error(`${sidecar}: model_file must be a file name next to it, got ${String(modelFile)}`);
  if (!existsSync(join(dirname(sidecar), modelFile))) throw new Error(`${sidecar} names ${modelFile}, which is missing`);
  return [
    { name: 'model.json', path: sidecar },
    { name: modelFile, path: join(dirname(sidecar), modelFile) },
  ];
}

/** Emits weights/resemotenet/* and weights/manifest.json (build), and serves them (dev server). */
function shippedWeights(where: string): Plugin {
  const manifest = (files: unknown[] | null) => JSON.stringify({ resemotenet: files ? 'weights/resemotenet/' : null });
  return {
    name: 'resemotenet-shipped-weights',
    generateBundle() {
      const files = classifierFiles(where);
      for (const f of files ?? []) this.emitFile({ type: 'asset', fileName: `weights/resemotenet/${f.name}`, source: readFileSync(f.path) });
      this.emitFile({ type: 'asset', fileName: 'weights/manifest.json', source: manifest(files) });
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = (req.url ?? '').split('?')[0]!;
        const files = classifierFiles(where);
        const hit = url === '/weights/manifest.json' ? manifest(files) : files?.find((f) => url === `/weights/resemotenet/${f.name}`);
        if (!hit) return next();
        res.setHeader('content-type', url.endsWith('.json') ? 'application/json' : 'application/octet-stream');
        res.end(typeof hit === 'string' ? hit : readFileSync(hit.path));
      });
    },
  };
}

export default defineConfig({
  root: HERE,
  base: './',
  publicDir: false,
  appType: 'mpa',
  plugins: [shippedWeights(process.env.RESEMOTENET_DEMO_WEIGHTS ?? join(HERE, '..', 'weights', 'resemotenet'))],
  build: { outDir: join(HERE, 'dist'), emptyOutDir: true, target: 'es2022', assetsInlineLimit: 0, reportCompressedSize: false },
  preview: { host: '127.0.0.1', port: 4173 },
  server: { host: '127.0.0.1' },
});
