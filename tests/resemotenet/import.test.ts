/**
 * Importing official-format PyTorch checkpoints (tests/fixtures/gen_resemotenet.py: the official
 * ResEmoteNet at width 1/32 saved with torch.save, as a plain state_dict and wrapped in
 * {'model_state_dict': ...}): strict key checking, the eval-mode logits on fixed inputs equal
 * PyTorch's to 1e-4, our safetensors + sidecar round trip, class names as a checkpoint property,
 * and the `import` / `predict` commands.
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { no_grad, tensor, tidy, type Device } from '../../src/index.js';
import { save_file } from '../../src/nn/serialization/index.js';
import { importCheckpoint, loadCheckpoint, readSidecar, CLASS_NAME_PRESETS } from '../../src/resemotenet/checkpoint.js';
import { predictImages } from '../../src/resemotenet/predict.js';
import { evalTransform } from '../../src/resemotenet/evaluate.js';
import { main } from '../../src/resemotenet/cli.js';
import type { ResEmoteNet } from '../../src/resemotenet/model.js';
import { closeTo } from '../helpers/close.js';
import { loadFixture } from '../helpers/fixtures.js';
import { SAMPLE, TRAIN_DEVICES, tmpDir, itWithSample } from './helpers.js';

const FX_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../fixtures/resemotenet');
const PTH = path.join(FX_DIR, 'resemotenet_w32.pth');
const CKPT = path.join(FX_DIR, 'resemotenet_w32_ckpt.pth');
interface Fx {
  width: number;
  num_classes: number;
  parameters: number;
  keys: number;
  input_shape: [number, number, number, number];
  logits: { shape: number[]; data: number[] };
  probs: { shape: number[]; data: number[] };
}
const fx = loadFixture<Fx>('resemotenet/resemotenet_w32.json');

/** The fixture inputs: float32(1.5 * sin(0.37 * i + 0.1 * n)). */
function fixtureInputs(): Float32Array {
  const [n, c, h, w] = fx.input_shape;
  const per = c * h * w;
  const x = new Float32Array(n * per);
  for (let k = 0; k < n; k++) for (let i = 0; i < per; i++) x[k * per + i] = 1.5 * Math.sin(0.37 * i + 0.1 * k);
  return x;
}

async function logitsOf(model: ResEmoteNet, device: Device): Promise<Float32Array> {
  model.eval();
  const y = tidy(() => no_grad(() => model.call(tensor(fixtureInputs(), { shape: fx.input_shape, device }))));
  const d = (await y.data()) as Float32Array;
  y.dispose();
  return d;
}

describe('import an official PyTorch checkpoint', () => {
  it('a plain state_dict .pth: strict load, width/classes inferred, logits equal PyTorch to 1e-4, saved in our format', async () => {
    const out = tmpDir('import');
    const { model, sidecar, prefix } = await importCheckpoint(PTH, { out: path.join(out, 'w32') });
    expect(sidecar.config).toMatchObject({ arch: 'ResEmoteNet', width: fx.width, num_classes: 7, class_names: [...CLASS_NAME_PRESETS.fer2013!], image_size: 64 });
    expect(Object.keys(model.state_dict()).length).toBe(fx.keys);
    closeTo(await logitsOf(model, 'cpu'), fx.logits.data, { atol: 1e-4, rtol: 0 });
    // our format round trip: same logits, sidecar next to the safetensors
    expect(existsSync(`${prefix}.safetensors`) && existsSync(`${prefix}.json`)).toBe(true);
    const back = await loadCheckpoint(`${prefix}.json`);
    closeTo(await logitsOf(back.model, 'cpu'), fx.logits.data, { atol: 1e-4, rtol: 0 });
    expect((await readSidecar(`${prefix}.json`)).source).toBe(PTH);
    // a model file from another save (a crash between the renames) is detected, not silently paired
    const other = await importCheckpoint(PTH, { out: path.join(out, 'again') });
    const mine = (await readSidecar(`${prefix}.json`)).model_file; // the generation file the sidecar names
    expect(mine).toMatch(/^w32\.[0-9a-f]{16}\.safetensors$/);
    copyFileSync(`${other.prefix}.safetensors`, path.join(out, mine));
    await expect(loadCheckpoint(`${prefix}.json`)).rejects.toThrow(/w32\.[0-9a-f]{16}\.safetensors does not belong to .*w32\.json \(checkpoint_id [0-9a-f]+ vs [0-9a-f]+\)/);
  });

  it("{'model_state_dict': ...} with official class names; probabilities labelled in that order", async () => {
    const out = tmpDir('import-ck');
    const names = [...CLASS_NAME_PRESETS.official!];
    const { sidecar, prefix } = await importCheckpoint(CKPT, { out, classNames: names });
    expect(prefix).toBe(path.join(out, 'imported'));
    expect(sidecar.config.class_names).toEqual(names);
    const ck = await loadCheckpoint(out); // a folder: finds imported.json
    expect(ck.sidecar.config.class_names).toEqual(names);
    closeTo(await logitsOf(ck.model, 'cpu'), fx.logits.data, { atol: 1e-4, rtol: 0 });
    // predictImages labels the softmax with the checkpoint's names, in logit order
    const img = { width: 64, height: 64, data: new Uint8Array(64 * 64).map((_, i) => (i * 7) % 256) };
    const [p] = await predictImages(ck.model, [{ name: 'x', image: img }], { device: 'cpu', transform: evalTransform(ck.sidecar.config), classNames: names });
    expect(Object.keys(p!.probabilities)).toEqual(names);
    const probs = Object.values(p!.probabilities);
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p!.label).toBe(names[probs.indexOf(Math.max(...probs))]);
  });

  it('strict key checking: missing and unexpected keys are both named; nothing is written', async () => {
    const out = tmpDir('import-bad');
    const { model } = await importCheckpoint(PTH, { out: path.join(out, 'ok') });
    const sd = model.state_dict();
    delete sd['res_block2.bn1.running_var'];
    sd['fc5.weight'] = tensor([1, 2, 3]);
    const bad = path.join(out, 'bad.safetensors');
    await save_file(sd, bad);
    await expect(importCheckpoint(bad, { out: path.join(out, 'bad_out') })).rejects.toThrow(/Missing key\(s\) in state_dict: "res_block2\.bn1\.running_var"[\s\S]*Unexpected key\(s\) in state_dict: "fc5\.weight"/);
    expect(existsSync(path.join(out, 'bad_out.json'))).toBe(false);
    // wrong shapes (a width the file does not have) are refused too
    await expect(importCheckpoint(PTH, { out: path.join(out, 'w16'), width: 1 / 16 })).rejects.toThrow(/size mismatch for/);
    // not a ResEmoteNet at all
    const other = path.join(out, 'other.safetensors');
    await save_file({ 'encoder.weight': tensor([1, 2]) }, other);
    await expect(importCheckpoint(other, { out: path.join(out, 'o') })).rejects.toThrow(/not a ResEmoteNet state dict/);
  });

  describe.each(TRAIN_DEVICES)('on %s', (device) => {
    it('the imported model (moved to the device) gives PyTorch\'s logits to 1e-4', async () => {
      const ck = await loadCheckpoint((await importCheckpoint(PTH, { out: path.join(tmpDir('dev'), 'w32') })).prefix + '.json', { device });
      closeTo(await logitsOf(ck.model, device), fx.logits.data, { atol: 1e-4, rtol: 0 });
      // repeated inference takes the cached paths (packed weights, the GEMV kernel for the
      // 1-4 pixel maps of one sample, cached batch_norm coefficients): same logits, batch 1 too
      closeTo(await logitsOf(ck.model, device), fx.logits.data, { atol: 1e-4, rtol: 0 });
      const [n, c, h, w] = fx.input_shape;
      const one = fixtureInputs().subarray(0, c * h * w);
      const k = fx.logits.data.length / n;
      for (let call = 0; call < 3; call++) {
        const y = tidy(() => no_grad(() => ck.model.call(tensor(one, { shape: [1, c, h, w], device }))));
        closeTo((await y.data()) as Float32Array, fx.logits.data.slice(0, k), { atol: 1e-4, rtol: 0 });
        y.dispose();
      }
    });
  });
});

describe('import and predict commands', () => {
  itWithSample('import.test')('resemotenet import --class-names official, then predict (table and --json)', async () => {
    const out = tmpDir('cli-import');
    const lines: string[] = [];
    const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), progress: false, handleSignals: false };
    expect(await main(['import', PTH, '--out', path.join(out, 'official'), '--class-names', 'official'], io)).toBe(0);
    expect(lines.join('\n')).toMatch(/width 0\.03125, 7 classes \(happy, surprise, sad, anger, disgust, fear, neutral\), 85,767 parameters/);
    const img1 = path.join(SAMPLE, 'test/happy', readDirFirst(path.join(SAMPLE, 'test/happy')));
    const img2 = path.join(SAMPLE, 'test/sad', readDirFirst(path.join(SAMPLE, 'test/sad')));
    lines.length = 0;
    expect(await main(['predict', '-c', path.join(out, 'official.json'), img1, img2, '--no-detect', '--json', '--device', 'cpu'], io)).toBe(0);
    const r = JSON.parse(lines.filter((l) => l.startsWith('{')).join('\n')) as { class_names: string[]; predictions: { image: string; probabilities: Record<string, number>; label: string }[] };
    expect(r.class_names).toEqual([...CLASS_NAME_PRESETS.official!]);
    expect(r.predictions.map((p) => p.image)).toEqual([img1, img2]);
    for (const p of r.predictions) {
      expect(Object.keys(p.probabilities)).toEqual(r.class_names);
      expect(Object.values(p.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      expect(Object.values(p.probabilities).every((v) => v > 0 && v < 1)).toBe(true);
    }
    lines.length = 0;
    expect(await main(['predict', '-c', path.join(out, 'official.json'), img1, '--no-detect', '--device', 'cpu'], io)).toBe(0);
    const table = lines.join('\n').split('\n').filter((l) => l.trim());
    expect(table[0]).toMatch(/^image\s+face\s+box \(x1,y1,x2,y2\)\s+face score\s+happy\s+surprise\s+sad\s+anger\s+disgust\s+fear\s+neutral\s+prediction$/);
    const cells = table[1]!.trim().split(/\s+/); // path, 'whole', (no box, no score), 7 probabilities, label
    expect(cells[0]).toBe(img1);
    expect(cells[1]).toBe('whole');
    const probs = cells.slice(2, 9).map(Number);
    expect(Math.abs(probs.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(0.004); // 7 values rounded to 3 places
    // an unreadable image is an error naming the file (exit 1)
    lines.length = 0;
    expect(await main(['predict', '-c', path.join(out, 'official.json'), PTH, '--device', 'cpu'], io)).toBe(1);
    expect(lines.join('\n')).toMatch(/resemotenet_w32\.pth: not a PNG or JPEG image/);
  });
});

function readDirFirst(dir: string): string {
  return (readFileSync(path.join(SAMPLE, 'index.csv'), 'utf8').split('\n').find((l) => l.startsWith(path.relative(SAMPLE, dir) + '/')) ?? '').split(',')[0]!.split('/').pop()!;
}
