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
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { load_file, save_file } from '../src/nn/serialization/index.js';
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

const id = randomBytes(8).toString('hex');
const outDir = path.resolve(values.out!);
await mkdir(path.join(outDir, 'training'), { recursive: true });
const weightsName = `${values.name}.safetensors`;
const meta = { format: 'pt', checkpoint_id: id, arch: 'ResEmoteNet', storage: 'float16 (widened to float32 on load)' };
await save_file(sd, path.join(outDir, weightsName), meta, { float16: true });
const bytes = statSync(path.join(outDir, weightsName)).size;
for (const t of Object.values(sd)) t.dispose();

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
console.log(`wrote ${path.join(outDir, weightsName)} (${(bytes / 1e6).toFixed(1)} MB) and ${path.join(outDir, 'model.json')}; best epoch ${sc.epoch}, training ${(wall / 60).toFixed(0)} min`);
