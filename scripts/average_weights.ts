/**
 * Stochastic weight averaging (Izmailov et al., "Averaging Weights Leads to Wider Optima and Better
 * Generalization", UAI 2018; PyTorch's torch.optim.swa_utils): the mean of several checkpoints of
 * one training run (typically its last epochs), with the BatchNorm running statistics recomputed
 * for the averaged weights by one pass over the training images in train mode (no gradients,
 * no augmentation; each layer's statistics are the cumulative average over the batches, as
 * swa_utils.update_bn does with momentum=None). Writes a run-like folder (best.json +
 * safetensors, the base run's history) that `scripts/export_weights.ts --run` and
 * `resemotenet eval -c` take. Whether the average beats the run's best epoch is for PublicTest to
 * say (`resemotenet eval -c <out>/best.json --split PublicTest`); PrivateTest stays untouched.
 *
 *   npx tsx scripts/average_weights.ts --base runs/x/best.json --out runs/x_swa \
 *       --data ../shared/data/fer2013/fer2013.csv.gz [--device webgpu] [--batch-size 256] [--limit n] snap/epoch_25.safetensors ...
 *
 * @throws Error when a snapshot's keys or shapes differ from the base checkpoint's.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initWebGPU } from '../src/kernels/webgpu/index.js';
import { load_file } from '../src/nn/serialization/index.js';
import { no_grad } from '../src/tensor/grad_mode.js';
import { tidy } from '../src/tensor/memory.js';
import { tensor } from '../src/tensor/ops/creation.js';
import type { Tensor } from '../src/tensor/tensor.js';
import type { Device } from '../src/tensor/device.js';
import { BatchNorm2d } from '../src/nn/layers/batchnorm.js';
import { copyInto } from '../src/nn/_util.js';
import { loadCheckpoint, saveCheckpoint, readSidecar } from '../src/resemotenet/checkpoint.js';
import { loadSplit, resolveDataSource } from '../src/resemotenet/datasets.js';
import { DataLoader } from '../src/resemotenet/data/loader.js';
import { evalTransform } from '../src/resemotenet/evaluate.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    base: { type: 'string' },
    out: { type: 'string' },
    data: { type: 'string' },
    device: { type: 'string', default: 'webgpu' },
    'batch-size': { type: 'string', default: '256' },
    split: { type: 'string', default: 'Training' },
    limit: { type: 'string' },
  },
});
if (!values.base || !values.out || positionals.length === 0) {
  throw new Error('average_weights: --base <sidecar>, --out <folder> and at least one snapshot .safetensors are required');
}
const device = values.device as Device;
if (device === 'webgpu') await initWebGPU();
const base = await loadCheckpoint(values.base, { device: 'cpu' });
const baseSidecar = await readSidecar(values.base);

// 1. the mean of the float parameters of every snapshot (running statistics are recomputed below)
const sums = new Map<string, Float64Array>();
const isStat = (k: string) => /running_(mean|var)$|num_batches_tracked$/.test(k);
const ref = base.model.state_dict();
for (const file of positionals) {
  const sd = await load_file(file);
  for (const [k, r] of Object.entries(ref)) {
    if (isStat(k)) continue;
    const t = sd[k];
    if (!t) throw new Error(`average_weights: ${file} has no tensor '${k}'`);
    if (t.shape.join(',') !== r.shape.join(',')) throw new Error(`average_weights: ${file}: '${k}' is [${t.shape}], the base has [${r.shape}]`);
    const d = t.dataSync();
    let acc = sums.get(k);
    if (!acc) sums.set(k, (acc = new Float64Array(d.length)));
    for (let i = 0; i < d.length; i++) acc[i] = acc[i]! + d[i]!;
  }
  for (const t of Object.values(sd)) t.dispose();
}
const model = base.model;
no_grad(() => {
  for (const [name, p] of [...model.named_parameters()]) {
    const acc = sums.get(name)!;
    const avg = Float32Array.from(acc, (v) => v / positionals.length);
    const src = tensor(avg, { shape: p.shape });
    copyInto(p, src, `average_weights: ${name}`);
    src.dispose();
  }
});
for (const t of Object.values(ref)) t.dispose();
model.to(device);

// 2. BatchNorm statistics for the averaged weights: cumulative average over the training batches
const bns = model.modules().filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
for (const bn of bns) bn.reset_running_stats();
const split = await loadSplit(resolveDataSource(values.data), values.split!, { limit: values.limit ? Number(values.limit) : undefined });
const bs = Number(values['batch-size']);
const loader = new DataLoader(split.dataset, { batchSize: bs, transform: { ...evalTransform(base.sidecar.config), flipProb: 0 }, shuffle: false, prefetch: 1, dropLast: false });
model.train();
let k = 0;
const t0 = performance.now();
for await (const b of loader) {
  k++;
  for (const bn of bns) bn.momentum = 1 / k; // new = (1 - 1/k) old + (1/k) batch: the mean of k batches
  const y = tidy(() => no_grad(() => model.call(tensor(b.images, { shape: b.shape, device })) as Tensor));
  await y.data();
  y.dispose();
}
for (const bn of bns) bn.momentum = 0.1;
model.eval();
console.log(`averaged ${positionals.length} snapshots; BatchNorm statistics from ${k} batches of ${values.split} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);

// 3. a run-like folder
const out = path.resolve(values.out);
await saveCheckpoint({
  prefix: path.join(out, 'best'),
  model,
  config: base.sidecar.config,
  kind: 'best',
  extra: {
    epoch: baseSidecar.epoch,
    metrics: baseSidecar.metrics,
    train_config: baseSidecar.train_config,
    history: baseSidecar.history,
    averaged: { snapshots: positionals.map((f) => path.basename(f)), bn_batches: k, bn_split: values.split, method: 'SWA (uniform mean of the snapshots, BatchNorm statistics recomputed)' },
  },
});
console.log(`wrote ${path.join(out, 'best.json')}`);
process.exit(0);
