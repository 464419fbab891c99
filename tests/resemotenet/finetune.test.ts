/**
 * Fine-tuning (`train --init`): a new head for other classes with the trunk's weights kept,
 * the freeze modes (exactly which tensors change), and the point of it: the shipped weights
 * fine-tuned on a small re-labelled set beat the same recipe from scratch.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { load_file } from '../../src/nn/serialization/index.js';
import { fromJson } from '../../src/resemotenet/checkpoint.js';
import { main } from '../../src/resemotenet/cli.js';
import { pretrainedSidecarPath } from '../../src/resemotenet/weights.js';
import { CI, SAMPLE, TRAIN_DEVICES, itWithSample, tmpDir } from './helpers.js';

const itData = itWithSample('finetune.test.ts');

function collector() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s), progress: false, handleSignals: false } };
}

/** The sample ImageFolder re-labelled into three classes: positive (happy, surprise), neutral, negative (the rest). */
function relabelled(): string {
  const root = tmpDir('relabel');
  const group = (e: string) => (e === 'happy' || e === 'surprise' ? 'positive' : e === 'neutral' ? 'neutral' : 'negative');
  for (const split of ['train', 'test']) {
    for (const e of readdirSync(path.join(SAMPLE, split))) {
      const dst = path.join(root, split, group(e));
      mkdirSync(dst, { recursive: true });
      for (const f of readdirSync(path.join(SAMPLE, split, e))) copyFileSync(path.join(SAMPLE, split, e, f), path.join(dst, `${e}_${f}`));
    }
  }
  return root;
}

async function tensors(dir: string, kind = 'best'): Promise<Record<string, number[]>> {
  const side = fromJson<{ model_file: string }>(readFileSync(path.join(dir, `${kind}.json`), 'utf8'));
  const sd = await load_file(path.join(dir, side.model_file));
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(sd)) {
    out[k] = Array.from(t.dataSync() as ArrayLike<number>);
    t.dispose();
  }
  return out;
}

const QUICK = ['--width', '1/16', '--image-size', '16', '--batch-size', '8', '--limit-train', '48', '--limit-val', '16', '--test-split', 'none', '--device', 'cpu', '--no-progress', '--seed', '1'];

describe('train --init', () => {
  itData(
    'a new 3-class head on a trained trunk; freeze features keeps the trunk and its BatchNorm statistics; all-but-head trains fc4 only',
    async () => {
      const base = tmpDir('ft-base');
      const c0 = collector();
      expect(await main(['train', '--data', SAMPLE, ...QUICK, '--epochs', '1', '--out', base], c0.io), c0.err.join('\n')).toBe(0);
      const before = await tensors(base);
      const data = relabelled();

      const ft = tmpDir('ft-features');
      const c1 = collector();
      expect(await main(['train', '--data', data, ...QUICK, '--epochs', '2', '--val-split', 'test', '--init', base, '--classes', 'auto', '--freeze', 'features', '--out', ft], c1.io), c1.err.join('\n')).toBe(0);
      expect(c1.err.join('\n')).toMatch(/classes \(the training folders, sorted\): negative, neutral, positive/);
      expect(c1.err.join('\n')).toMatch(/with a new 3-class head/);
      const side = fromJson<any>(readFileSync(path.join(ft, 'last.json'), 'utf8'));
      expect(side.config.class_names).toEqual(['negative', 'neutral', 'positive']);
      const after = await tensors(ft, 'last');
      expect(after['fc4.weight']!.length).toBe(3 * before['fc4.weight']!.length / 7);
      for (const k of ['conv1.weight', 'bn1.running_mean', 'bn3.running_var', 'se.fc.0.weight', 'res_block3.bn2.weight', 'res_block1.shortcut.1.running_mean']) expect(after[k], k).toEqual(before[k]);
      expect(after['fc1.weight']).not.toEqual(before['fc1.weight']);

      const head = tmpDir('ft-head');
      const c2 = collector();
      expect(await main(['train', '--data', data, ...QUICK, '--epochs', '1', '--val-split', 'test', '--init', base, '--classes', 'auto', '--freeze', 'all-but-head', '--out', head], c2.io), c2.err.join('\n')).toBe(0);
      const h = await tensors(head, 'last');
      for (const k of ['conv1.weight', 'fc1.weight', 'fc2.bias', 'fc3.weight']) expect(h[k], k).toEqual(before[k]);

      // same classes: every weight is loaded (the first step starts from the checkpoint)
      const same = tmpDir('ft-same');
      const c3 = collector();
      expect(await main(['train', '--data', SAMPLE, ...QUICK, '--epochs', '1', '--init', base, '--freeze', 'all-but-head', '--lr', '0', '--momentum', '0', '--weight-decay', '0', '--out', same], c3.io), c3.err.join('\n')).toBe(0);
      expect(c3.err.join('\n')).not.toMatch(/new .*head/);
      expect(await tensors(same, 'last')).toEqual(before); // lr 0: nothing moves, the head included

      // eval of the 3-class model reads the folder by its own class names
      const c4 = collector();
      expect(await main(['eval', '-c', ft, '--data', data, '--split', 'test', '--device', 'cpu', '--json', '--out', ft], c4.io), c4.err.join('\n')).toBe(0);
      const ev = JSON.parse(c4.out.join('\n'));
      expect(ev.class_names).toEqual(['negative', 'neutral', 'positive']);
      expect(ev.count).toBe(140);
    },
    180_000,
  );

  const havePretrained = existsSync(pretrainedSidecarPath());
  if (!havePretrained && !CI) console.warn('[finetune.test] no shipped weights (weights/resemotenet/model.json): the pretrained comparison is skipped');
  (havePretrained || CI ? itData : it.skip)(
    'the shipped weights fine-tuned on 350 re-labelled faces beat the same recipe from scratch',
    async () => {
      const data = relabelled();
      const device = TRAIN_DEVICES.includes('webgpu') ? 'webgpu' : 'cpu';
      const common = ['--data', data, '--classes', 'auto', '--val-split', 'test', '--test-split', 'none', '--epochs', '4', '--batch-size', '32', '--lr', '0.01', '--device', device, '--no-progress', '--seed', '0', '--json'];
      const ft = tmpDir('ft-pre');
      const c1 = collector();
      expect(await main(['train', ...common, '--init', 'pretrained', '--freeze', 'features', '--out', ft], c1.io), c1.err.join('\n')).toBe(0);
      const scratch = tmpDir('ft-scratch');
      const c2 = collector();
      expect(await main(['train', ...common, '--width', '1/4', '--image-size', '48', '--out', scratch], c2.io), c2.err.join('\n')).toBe(0);
      const a = JSON.parse(c1.out.join('\n')).bestValAcc as number;
      const b = JSON.parse(c2.out.join('\n')).bestValAcc as number;
      console.log(`[finetune.test] 3-class sample test split (140 faces): fine-tuned ${(a * 100).toFixed(1)}%, from scratch ${(b * 100).toFixed(1)}%`);
      expect(a).toBeGreaterThan(b + 0.1);
      expect(a).toBeGreaterThan(0.55);
    },
    600_000,
  );
});
