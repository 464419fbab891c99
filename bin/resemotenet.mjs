#!/usr/bin/env node
// The `resemotenet` command (package.json "bin"). Runs the compiled CLI from dist/ (built by
// `npm run build`, which `npm ci`/`npm install` run through "prepare"). In a git checkout where
// dist/ is missing or older than a file under src/ (an edit since the last build), it runs the
// TypeScript sources through tsx's loader (a dev dependency) instead. See `resemotenet --help`.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/resemotenet/cli.js', import.meta.url);
const srcDir = fileURLToPath(new URL('../src', import.meta.url));

function newestMtime(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

// Only a git checkout can have edits newer than its build: an installed package's file times are
// its unpacking times (src/ may land a few ms after dist/), so it always runs dist/.
const checkout = existsSync(new URL('../.git', import.meta.url));
let useDist = existsSync(compiled);
if (useDist && checkout && existsSync(srcDir)) useDist = statSync(compiled).mtimeMs >= newestMtime(srcDir);
let main;
if (!useDist) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    ({ main } = await import('../src/resemotenet/cli.ts'));
  } catch (e) {
    if (!existsSync(compiled)) throw e;
    console.warn('resemotenet: dist/ is older than src/ and tsx is not available; running dist/ (run `npm run build`)');
  }
}
if (!main) ({ main } = await import(compiled.href));
process.exit(await main(process.argv.slice(2)));
