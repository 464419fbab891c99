/**
 * Child-process side of tests/helpers/child.ts: `node --import tsx load_probe.ts KIND FILE ARGS`
 * loads FILE with one of the library's loaders and prints one JSON line
 * `{"outcome":"error"|"ok",...}`. Any crash, heap exhaustion or hang shows as the child dying.
 */
import { loadFer2013Csv } from '../../src/resemotenet/data/fer_csv.js';
import { decodeImageToGray } from '../../src/resemotenet/data/image_decode.js';
import { loadImageFolder } from '../../src/resemotenet/data/image_folder.js';
import { readImageFile } from '../../src/resemotenet/data/read_file.js';
import { load_file, load_pth_object } from '../../src/nn/serialization/index.js';
import { Tensor } from '../../src/index.js';

const [kind, file, rawArgs] = process.argv.slice(2) as [string, string, string];
const args = JSON.parse(rawArgs || '{}') as Record<string, unknown>;

function summarize(v: unknown, seen = new Set<unknown>()): { tensors: number; elements: number } {
  const s = { tensors: 0, elements: 0 };
  const todo = [v];
  while (todo.length) {
    const x = todo.pop();
    if (typeof x !== 'object' || x === null || seen.has(x) || x instanceof Uint8Array) continue;
    seen.add(x);
    if (x instanceof Tensor) {
      s.tensors++;
      s.elements += x.numel();
      x.dispose();
    } else for (const y of Array.isArray(x) ? x : Object.values(x)) todo.push(y);
  }
  return s;
}

const t0 = performance.now();
try {
  let summary: unknown;
  if (kind === 'pth') summary = summarize(await load_pth_object(file));
  else if (kind === 'safetensors') summary = summarize(await load_file(file));
  else if (kind === 'csv') summary = { rows: (await loadFer2013Csv(file, args)).length };
  else if (kind === 'image') {
    const img = decodeImageToGray(await readImageFile(file), file);
    summary = { width: img.width, height: img.height };
  } else if (kind === 'folder') {
    const d = await loadImageFolder(file, args);
    summary = { paths: d.paths, labels: Array.from(d.labels), skippedLinks: d.skippedLinks };
  } else throw new Error(`load_probe: unknown kind ${kind}`);
  console.log(JSON.stringify({ outcome: 'ok', summary, ms: performance.now() - t0 }));
} catch (e) {
  const err = e as Error;
  console.log(JSON.stringify({ outcome: 'error', name: err?.name, message: String(err?.message ?? e), ms: performance.now() - t0 }));
}
