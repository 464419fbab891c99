/**
 * Exports the best checkpoint of a training run as the package's shipped weights:
 *   weights/resemotenet/model.json                      sidecar (config, recipe, metrics, history)
 *   weights/resemotenet/<name>.safetensors              the state_dict, float tensors as F16
 *   weights/resemotenet/training/{log.jsonl,log.csv,curves.svg}
 * Float16 halves the download (loading widens it back to float32); the README beside the weights
 * gives the accuracy measured on the exported file itself.
 *
 *   npx tsx scripts/export_weights.ts --run runs/w4_shipped [--out weights/resemotenet] [--name resemotenet_fer2013_w4]
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { load_file, writeFileAtomic } from '../src/nn/serialization/index.js';
import { floatToHalf } from '../src/nn/serialization/convert.js';
import { checkPair, readSidecar, toJson, writeTextAtomic } from '../src/resemotenet/checkpoint.js';

const { values } = parseArgs({
  options: {
    run: { type: 'string' },
    out: { type: 'string', default: 'weights/resemotenet' },
    name: { type: 'string', default: 'resemotenet_fer2013_w4' },
  },
});
if (!values.run) throw new Error('export_weights: --run <training run folder> is required');
const run = path.resolve(values.run);
const bestJson = path.join(run, 'best.json');
const sc = await readSidecar(bestJson);
const modelFile = path.join(run, sc.model_file);
await checkPair(bestJson, modelFile, sc.checkpoint_id);
const sd = await load_file(modelFile);

// safetensors with F16 floats (int32 stays I32): header JSON padded to 8 bytes, then the data
const id = randomBytes(8).toString('hex');
const header: Record<string, unknown> = { __metadata__: { format: 'pt', checkpoint_id: id, arch: 'ResEmoteNet', storage: 'float16 (widened to float32 on load)' } };
const chunks: Uint8Array[] = [];
let offset = 0;
for (const [name, t] of Object.entries(sd)) {
  const data = t.dataSync();
  let bytes: Uint8Array;
  if (t.dtype === 'float32') {
    const h = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) h[i] = floatToHalf(data[i] as number);
    bytes = new Uint8Array(h.buffer);
    header[name] = { dtype: 'F16', shape: t.shape, data_offsets: [offset, offset + bytes.length] };
  } else if (t.dtype === 'int32') {
    bytes = new Uint8Array((data as Int32Array).slice().buffer);
    header[name] = { dtype: 'I32', shape: t.shape, data_offsets: [offset, offset + bytes.length] };
  } else throw new Error(`export_weights: ${name} has dtype ${t.dtype}`);
  chunks.push(bytes);
  offset += bytes.length;
  t.dispose();
}
let json = JSON.stringify(header);
json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
const hb = Buffer.from(json, 'utf8');
const len = Buffer.alloc(8);
len.writeBigUInt64LE(BigInt(hb.length));
const outDir = path.resolve(values.out!);
await mkdir(path.join(outDir, 'training'), { recursive: true });
const weightsName = `${values.name}.safetensors`;
await writeFileAtomic(path.join(outDir, weightsName), async (fh) => {
  await fh.write(len);
  await fh.write(hb);
  for (const c of chunks) await fh.write(c);
});

const history = (sc.history as Array<Record<string, number>>) ?? [];
const wall = history.reduce((a, r) => a + (r.train_seconds ?? 0) + (r.val_seconds ?? 0), 0);
const sidecar = {
  format: 'resemotenet-checkpoint',
  version: 1,
  kind: 'pretrained',
  checkpoint_id: id,
  model_file: weightsName,
  optimizer_file: null,
  created: new Date().toISOString(),
  config: sc.config,
  epoch: sc.epoch,
  metrics: sc.metrics,
  train_config: { ...(sc.train_config as Record<string, unknown>), data: 'fer2013.csv.gz (FER2013, Kaggle; ../shared/data/fer2013 in this workspace)', out: undefined },
  training_wall_seconds: Math.round(wall),
  history,
  source: { run: path.basename(run), checkpoint_id: sc.checkpoint_id },
};
await writeTextAtomic(path.join(outDir, 'model.json'), toJson(sidecar) + '\n');
for (const f of ['log.jsonl', 'log.csv', 'curves.svg']) if (existsSync(path.join(run, f))) await copyFile(path.join(run, f), path.join(outDir, 'training', f));
console.log(`wrote ${path.join(outDir, weightsName)} (${(offset / 1e6).toFixed(1)} MB of tensors) and ${path.join(outDir, 'model.json')}; best epoch ${sc.epoch}, training ${(wall / 60).toFixed(0)} min`);
