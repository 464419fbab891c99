/**
 * Full-width ResEmoteNet: N training steps on FER2013's Training rows with the official recipe
 * (SGD lr 1e-3, momentum 0.9, weight decay 1e-4, batch 16, cross-entropy, train-mode dropout and
 * batch norm), logging every step's loss and the throughput. Used for the README's numbers.
 *   XDG_RUNTIME_DIR=/tmp npx tsx scripts/train_steps.ts [--steps 200] [--batch 16] [--width 1]
 *       [--data ../shared/data/fer2013/fer2013.csv.gz] [--device webgpu] [--log runs/steps.jsonl]
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { initWebGPU, manual_seed, nn, tidy, cross_entropy, webgpuRuntime, type Device } from '../src/index.js';
import { ResEmoteNet } from '../src/resemotenet/model.js';
import { loadFer2013Csv, DataLoader, resEmoteNetTransform } from '../src/resemotenet/data/index.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '200' },
    batch: { type: 'string', default: '16' },
    width: { type: 'string', default: '1' },
    data: { type: 'string', default: '../shared/data/fer2013/fer2013.csv.gz' },
    device: { type: 'string', default: 'webgpu' },
    log: { type: 'string', default: 'runs/train_steps.jsonl' },
    seed: { type: 'string', default: '0' },
  },
});
const steps = Number(values.steps), batch = Number(values.batch), device = values.device as Device;
if (device === 'webgpu') {
  const r = await initWebGPU();
  console.log(`adapter: ${r.description} (${r.isSoftware ? 'software' : 'hardware'})`);
}
manual_seed(Number(values.seed));
const data = await loadFer2013Csv(values.data!, { usage: 'Training' });
const loader = new DataLoader(data, { batchSize: batch, transform: resEmoteNetTransform(true), seed: Number(values.seed), dropLast: true });
const model = new ResEmoteNet({ width: Number(values.width), device });
model.train();
const opt = new nn.optim.SGD(model.parameters(), { lr: 1e-3, momentum: 0.9, weight_decay: 1e-4 });
const rows: { step: number; loss: number; ms: number }[] = [];
let step = 0;
const t0 = performance.now();
outer: for (;;) {
  for await (const b of loader) {
    const ts = performance.now();
    const { images, labels } = b.toTensors(device);
    const loss = tidy(() => {
      opt.zero_grad();
      const l = cross_entropy(model.call(images), labels);
      l.backward();
      opt.step();
      return l;
    });
    const v = await loss.item();
    loss.dispose();
    images.dispose();
    labels.dispose();
    rows.push({ step: ++step, loss: v, ms: performance.now() - ts });
    if (step % 10 === 0) {
      const last = rows.slice(-10);
      const mean = last.reduce((a, r) => a + r.loss, 0) / last.length;
      const ips = (last.length * batch * 1000) / last.reduce((a, r) => a + r.ms, 0);
      const mem = device === 'webgpu' ? ` live ${(webgpuRuntime().liveBytes / 2 ** 20).toFixed(0)} MiB` : '';
      console.log(`step ${step}: mean loss (last 10) ${mean.toFixed(4)}, ${ips.toFixed(2)} img/s${mem}`);
    }
    if (step >= steps) break outer;
  }
}
const total = (performance.now() - t0) / 1000;
const first = rows.slice(0, 20).reduce((a, r) => a + r.loss, 0) / Math.min(20, rows.length);
const last = rows.slice(-20).reduce((a, r) => a + r.loss, 0) / Math.min(20, rows.length);
const steady = rows.slice(1);
const ips = (steady.length * batch * 1000) / steady.reduce((a, r) => a + r.ms, 0);
console.log(`${steps} steps in ${total.toFixed(0)} s; mean loss first 20 ${first.toFixed(4)} -> last 20 ${last.toFixed(4)}; ${ips.toFixed(2)} img/s (steps 2..${steps})`);
mkdirSync(dirname(values.log!), { recursive: true });
writeFileSync(values.log!, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
process.exit(0);
