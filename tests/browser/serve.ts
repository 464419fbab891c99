/**
 * Manual run of the browser smoke test in your own browser (e.g. Chrome with a real GPU):
 *   npx tsx tests/browser/serve.ts
 * builds the page, serves it on 127.0.0.1 and prints the report the page POSTs back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBrowserBundle, servePage } from './harness.js';

const dir = await mkdtemp(join(tmpdir(), 'resemotenet-browser-'));
await buildBrowserBundle(dir);
const server = await servePage(dir);
console.log(`open ${server.url} in a browser with WebGPU (Ctrl-C to stop)`);
const report = await server.report;
console.log(JSON.stringify(report, null, 2));
await server.close();
await rm(dir, { recursive: true, force: true });
