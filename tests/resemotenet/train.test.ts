/**
 * Training ResEmoteNet (tiny width, 32x32 inputs, a few images of the shared FER2013 sample):
 * the loss falls over a few steps on a fixed batch; GPU/CPU memory stays flat across steps
 * (each step runs inside tidy); a run stopped mid-epoch and again during the epoch-end
 * validation (requestStop, as Ctrl-C does), then resumed, gives bit-identical step losses,
 * validation metrics and final weights to an uninterrupted run; the recipe defaults.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { default_generator, getBackend, gpuMemory, manual_seed, no_grad, tidy, type Device } from '../../src/index.js';
import type { Backend, Storage } from '../../src/kernels/backend.js';
import { nn } from '../../src/index.js';
import { ResEmoteNet } from '../../src/resemotenet/model.js';
import { DEFAULT_TRAIN_CONFIG, RECIPES, Trainer, makeOptimizer, trainStep, type StepInfo, type TrainConfig } from '../../src/resemotenet/train.js';
import { loadSplit } from '../../src/resemotenet/datasets.js';
import { DataLoader, resEmoteNetTransform, type Batch } from '../../src/resemotenet/data/index.js';
import { fromJson } from '../../src/resemotenet/checkpoint.js';
import { SAMPLE, TRAIN_DEVICES, itWithSample, tmpDir } from './helpers.js';

const itData = itWithSample('train.test');

async function fixedBatch(n: number, size: number): Promise<Batch> {
  const split = await loadSplit({ kind: 'folder', root: SAMPLE }, 'Training', { limit: n, seed: 0 });
  const dl = new DataLoader(split.dataset, { batchSize: n, transform: resEmoteNetTransform(false, { size: [size, size] }), shuffle: false, prefetch: 0 });
  return dl.batchAt(0, 0);
}

/** Counts storages allocated and not yet freed on a backend (patches alloc/upload/free). */
function liveStorages(device: Device) {
  const b = getBackend(device) as Backend & Record<string, unknown>;
  const live = new Set<Storage>();
  const orig = { alloc: b.alloc, upload: b.upload, free: b.free };
  b.alloc = function (this: Backend, ...a: Parameters<Backend['alloc']>) {
    const s = orig.alloc.apply(this, a);
    live.add(s);
    return s;
  };
  b.upload = function (this: Backend, ...a: Parameters<Backend['upload']>) {
    const s = orig.upload.apply(this, a);
    live.add(s);
    return s;
  };
  b.free = function (this: Backend, s: Storage) {
    live.delete(s);
    return orig.free.call(this, s);
  };
  return {
    get count() {
      return live.size;
    },
    restore() {
      for (const k of ['alloc', 'upload', 'free']) Reflect.deleteProperty(b, k);
    },
  };
}

describe('recipe defaults', () => {
  it('are the official training script\'s', () => {
    expect(DEFAULT_TRAIN_CONFIG).toMatchObject({ optimizer: 'sgd', lr: 0.001, momentum: 0.9, weightDecay: 1e-4, batchSize: 16, epochs: 80, patience: 15, imageSize: 64, width: 1, flipProb: 0.5, valSplit: 'PublicTest', testSplit: 'PrivateTest', trainSplit: 'Training', scheduler: 'none' });
  });
  it("'shipped-2' is 'shipped' with the second stage's schedule and lighter augmentation (weights/resemotenet/README.md)", () => {
    const diff = Object.fromEntries(Object.entries(RECIPES['shipped-2']).filter(([k, v]) => RECIPES.shipped[k as keyof typeof RECIPES.shipped] !== v));
    expect(diff).toEqual({ lr: 0.02, pctStart: 0.2, rotation: 10, augScale: 0.1, translate: 0.08 });
    expect(Object.keys(RECIPES['shipped-2']).sort()).toEqual([...Object.keys(RECIPES.shipped), 'pctStart'].sort());
  });
});

describe.each(TRAIN_DEVICES)('training steps on %s', (device) => {
  itData('the loss on a fixed batch falls over a few steps (same dropout masks before and after)', async () => {
    const b = await fixedBatch(8, 32);
    manual_seed(0);
    const model = new ResEmoteNet({ width: 1 / 16 });
    if (device !== 'cpu') model.to(device);
    const opt = makeOptimizer({ ...DEFAULT_TRAIN_CONFIG, lr: 0.05 }, model.parameters());
    const ce = new nn.CrossEntropyLoss();
    const masks = default_generator.get_state();
    /** Train-mode loss (batch statistics) with the dropout masks of `masks`, without updating anything but BN running stats. */
    const probe = async () => {
      const cur = default_generator.get_state();
      default_generator.set_state(masks);
      const l = tidy(() =>
        no_grad(() => {
          const { images, labels } = b.toTensors(device);
          return ce.call(model.call(images), labels);
        }),
      );
      default_generator.set_state(cur);
      const v = await l.item();
      l.dispose();
      return v;
    };
    const losses = [await probe()];
    const steps = device === 'cpu' ? 6 : 3;
    for (let i = 0; i < steps; i++) {
      const { loss, logits } = trainStep(model, opt, ce, () => b.toTensors(device));
      expect(Number.isFinite(await loss.item())).toBe(true);
      loss.dispose();
      logits.dispose();
      losses.push(await probe());
    }
    const first = losses[0]!;
    const last = losses[losses.length - 1]!;
    expect(last).toBeLessThan(first * (device === 'cpu' ? 0.85 : 0.97));
    for (let i = 1; i < losses.length; i++) expect(losses[i]!).toBeLessThan(losses[i - 1]! + 0.02);
  });

  itData('memory stays flat across steps (each step inside tidy)', async () => {
    const b = await fixedBatch(4, 32);
    manual_seed(1);
    const model = new ResEmoteNet({ width: 1 / 16 });
    if (device !== 'cpu') model.to(device);
    const opt = makeOptimizer(DEFAULT_TRAIN_CONFIG, model.parameters());
    const ce = new nn.CrossEntropyLoss();
    const counter = liveStorages(device);
    try {
      const counts: number[] = [];
      const bytes: number[] = [];
      for (let i = 0; i < 4; i++) {
        const { loss, logits } = trainStep(model, opt, ce, () => b.toTensors(device));
        await loss.item();
        await logits.data();
        loss.dispose();
        logits.dispose();
        counts.push(counter.count);
        if (device === 'webgpu') bytes.push(gpuMemory().liveBytes);
      }
      // step 1 creates the gradients and momentum buffers; after that nothing accumulates
      expect(counts[1]).toBeGreaterThan(0);
      expect(counts.slice(1)).toEqual([counts[1], counts[1], counts[1]]);
      if (device === 'webgpu') expect(bytes.slice(1)).toEqual([bytes[1], bytes[1], bytes[1]]);
    } finally {
      counter.restore();
    }
  });
});

describe.each(TRAIN_DEVICES)('checkpoint and resume on %s', (device) => {
  const base = (out: string, maxSteps: number): Partial<TrainConfig> => ({
    data: SAMPLE,
    out,
    device,
    width: 1 / 16,
    imageSize: 32,
    batchSize: 4,
    limitTrain: 12, // 3 batches per epoch
    limitVal: 8,
    evalBatchSize: 8,
    epochs: 2,
    seed: 3,
    maxSteps,
    testSplit: null,
  });

  itData(
    'a run interrupted mid-epoch and again during validation, then resumed, matches an uninterrupted run exactly',
    async () => {
      const total = device === 'cpu' ? 5 : 4;
      // A: uninterrupted
      const outA = tmpDir('resumeA');
      const stepsA: StepInfo[] = [];
      const a = await Trainer.create(base(outA, total));
      const ra = await a.fit({ onStep: (s) => stepsA.push(s) });
      expect(ra.stopReason).toBe('max_steps');
      expect(stepsA.map((s) => s.globalStep)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(ra.history.length).toBe(1);
      const rngA = default_generator.get_state();

      // B1: Ctrl-C during step 2 (mid-epoch)
      const outB = tmpDir('resumeB');
      const stepsB: StepInfo[] = [];
      const b1 = await Trainer.create(base(outB, total));
      const rb1 = await b1.fit({ onStep: (s) => (stepsB.push(s), s.globalStep === 2 && b1.requestStop()) });
      expect(rb1.stopReason).toBe('interrupted');
      expect(rb1.globalStep).toBe(2);
      const side = fromJson<Record<string, any>>(readFileSync(path.join(outB, 'last.json'), 'utf8'));
      expect(side.loader_state).toMatchObject({ epoch: 0, batchIndex: 2, datasetLength: 12, batchSize: 4 });
      expect(side.train_state).toMatchObject({ epoch: 0, globalStep: 2, epochEndPending: false });
      expect(side.rng_state.offset).toBeGreaterThan(0);
      expect(side.optimizer_state.param_groups[0]).toMatchObject({ lr: 0.001, momentum: 0.9, weight_decay: 1e-4 });
      expect(side.config).toMatchObject({ width: 1 / 16, image_size: 32, num_classes: 7 });

      // B2: resume; Ctrl-C during step 3, the last of epoch 1: validation is aborted, the epoch end stays pending
      const b2 = await Trainer.create({ maxSteps: total }, { resume: outB });
      expect(b2.config.device).toBe(device);
      const rb2 = await b2.fit({ onStep: (s) => (stepsB.push(s), s.globalStep === 3 && b2.requestStop()) });
      expect(rb2.stopReason).toBe('interrupted');
      expect(rb2.history.length).toBe(0);
      const side2 = fromJson<Record<string, any>>(readFileSync(path.join(outB, 'last.json'), 'utf8'));
      expect(side2.train_state).toMatchObject({ epoch: 0, globalStep: 3, epochEndPending: true });

      // B3: resume to the end: validation of epoch 1 first, then the remaining steps
      const b3 = await Trainer.create({ maxSteps: total }, { resume: outB });
      const rb3 = await b3.fit({ onStep: (s) => stepsB.push(s) });
      expect(rb3.stopReason).toBe('max_steps');

      expect(stepsB.map((s) => s.globalStep)).toEqual(stepsA.map((s) => s.globalStep));
      expect(stepsB.map((s) => s.loss)).toEqual(stepsA.map((s) => s.loss)); // bit for bit
      expect(stepsB.map((s) => s.epochLoss)).toEqual(stepsA.map((s) => s.epochLoss));
      const strip = (h: typeof ra.history) => h.map(({ train_seconds, val_seconds, images_per_s, ...r }) => (void train_seconds, void val_seconds, void images_per_s, r));
      expect(strip(rb3.history)).toEqual(strip(ra.history));
      const wa = a.model.state_dict();
      const wb = b3.model.state_dict();
      for (const k of Object.keys(wa)) expect(Array.from(await wb[k]!.data()), k).toEqual(Array.from(await wa[k]!.data()));
      expect(default_generator.get_state()).toEqual(rngA); // dropout draws consumed identically
      // the checkpoint files: best (model only) and last (model + optimizer), logs
      const logA = readFileSync(path.join(outA, 'log.jsonl'), 'utf8').trim().split('\n');
      expect(logA.length).toBe(1);
      expect(readFileSync(path.join(outB, 'log.csv'), 'utf8').split('\n')[0]).toMatch(/^epoch,train_loss,train_acc,val_loss,val_acc,lr,/);
    },
    device === 'cpu' ? 60_000 : 300_000,
  );
});

describe('stopping rules', () => {
  itData('early stopping after `patience` epochs without a better validation accuracy; the time budget', async () => {
    const cfg: Partial<TrainConfig> = { data: SAMPLE, device: 'cpu', width: 1 / 16, imageSize: 16, batchSize: 4, limitTrain: 8, limitVal: 8, evalBatchSize: 8, seed: 5, testSplit: null };
    const r = await (await Trainer.create({ ...cfg, out: tmpDir('early'), epochs: 4, patience: 1 })).fit();
    // Expected from the recorded validation accuracies: stop at the first epoch that does not beat the best so far.
    let best = -1;
    let stopAt = 4;
    for (const h of r.history) {
      if (h.val_acc > best) best = h.val_acc;
      else {
        stopAt = h.epoch;
        break;
      }
    }
    expect(r.history.length).toBe(stopAt);
    expect(r.stopReason).toBe(stopAt < 4 ? 'early_stopping' : 'completed');
    expect(r.history.map((h) => h.improved)).toEqual(r.history.map((h, i) => h.val_acc > Math.max(-1, ...r.history.slice(0, i).map((x) => x.val_acc))));
    expect(r.bestValAcc).toBe(Math.max(...r.history.map((h) => h.val_acc)));

    const t = await (await Trainer.create({ ...cfg, out: tmpDir('budget'), epochs: 3, timeBudgetMin: 1e-6 })).fit();
    expect(t.stopReason).toBe('time_budget');
    expect(t.globalStep).toBe(1); // one step, then the budget is spent; `last` is resumable
    expect(t.history.length).toBe(0);
  });
});

describe('Ctrl-C during the final test', () => {
  itData('stops the test, keeps the complete checkpoints, and says the test was skipped', async () => {
    const out = tmpDir('stop-test');
    const t = await Trainer.create({ data: SAMPLE, out, device: 'cpu', width: 1 / 16, imageSize: 16, batchSize: 8, epochs: 1, limitTrain: 16, limitVal: 8, limitTest: 64, evalBatchSize: 8 });
    let sawTest = false;
    const r = await t.fit({
      onEvalProgress: (what) => {
        if (what.startsWith('test') && !sawTest) {
          sawTest = true;
          expect(t.phase).toBe('test');
          t.requestStop('interrupted'); // what the CLI's SIGINT handler does
        }
      },
    });
    expect(sawTest).toBe(true);
    expect(r).toMatchObject({ stopReason: 'interrupted', testSkipped: true, epochs: 1 });
    expect(r.test).toBeUndefined();
    expect(r.bestCheckpoint).not.toBeNull();
    const side = fromJson<{ train_state: { epoch: number } }>(readFileSync(path.join(out, 'last.json'), 'utf8'));
    expect(side.train_state.epoch).toBe(1);
  });
});
