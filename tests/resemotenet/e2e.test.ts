/**
 * The `resemotenet` command end to end on the shared FER2013 sample (ImageFolder, tiny width,
 * 32x32 inputs, a few images): train -> eval -> predict -> curves, on the cpu and (a couple of
 * steps) on webgpu when it can train; the missing-data help (exit 2); and a real Ctrl-C
 * (SIGINT to the `bin/resemotenet.mjs` process): it finishes the step, saves a resumable
 * checkpoint, exits 130, and `--resume` continues.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/resemotenet/cli.js';
import { EMOTIONS } from '../../src/resemotenet/data/index.js';
import { fromJson } from '../../src/resemotenet/checkpoint.js';
import { REPO_ROOT, SAMPLE, TRAIN_DEVICES, itWithSample, tmpDir } from './helpers.js';

const itData = itWithSample('e2e.test');

function collector() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s), progress: false, handleSignals: false } };
}

/** The JSON object printed on stdout (the last line block starting with '{'). */
function jsonOut(lines: string[]): any {
  const text = lines.join('\n');
  return JSON.parse(text.slice(text.indexOf('{')));
}

describe('missing data', () => {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.RESEMOTENET_DATA;
    delete process.env.RESEMOTENET_DATA;
  });
  afterEach(() => {
    if (saved !== undefined) process.env.RESEMOTENET_DATA = saved;
  });

  it('train and eval without --data or RESEMOTENET_DATA print where to get FER2013 and exit 2', async () => {
    for (const argv of [['train', '--device', 'cpu'], ['eval', '-c', tmpDir('nodata'), '--device', 'cpu']]) {
      const c = collector();
      expect(await main(argv, c.io)).toBe(2);
      const msg = c.err.join('\n');
      expect(msg).toContain('no data: pass --data <path> or set RESEMOTENET_DATA');
      expect(msg).toContain('challenges-in-representation-learning-facial-expression-recognition-challenge');
      expect(msg).toContain('https://www.kaggle.com/competitions/challenges-in-representation-learning-facial-expression-recognition-challenge/data');
      expect(msg).toContain('fer2013.csv');
      expect(msg).toContain('resemotenet train --data /path/to/fer2013.csv');
      expect(msg).toContain('export RESEMOTENET_DATA=/path/to/fer2013.csv');
    }
  });

  it('a --data path that does not exist is named, exit 2; RESEMOTENET_DATA is used when set', async () => {
    const c = collector();
    expect(await main(['train', '--data', '/nonexistent/fer2013.csv', '--device', 'cpu'], c.io)).toBe(2);
    expect(c.err.join('\n')).toContain('error: --data points at /nonexistent/fer2013.csv, which does not exist.');
    process.env.RESEMOTENET_DATA = '/nonexistent/env.csv';
    const d = collector();
    expect(await main(['train', '--device', 'cpu'], d.io)).toBe(2);
    expect(d.err.join('\n')).toContain('error: RESEMOTENET_DATA points at /nonexistent/env.csv, which does not exist.');
  });

  it('bad usage exits 2', async () => {
    const c = collector();
    expect(await main(['train', '--optimizer', 'rmsprop'], c.io)).toBe(2);
    expect(c.err.join('\n')).toMatch(/Allowed choices are sgd, adam, adamw/);
    expect(await main(['nope'], collector().io)).toBe(2);
    // batch size 1 is refused before any data is read (train-mode BatchNorm needs 2+ images)
    const b = collector();
    const csv = path.join(mkdtempSync(path.join(tmpdir(), 'resemotenet-bs1-')), 'fer2013.csv');
    writeFileSync(csv, 'emotion,pixels,Usage\n');
    const code = await main(['train', '--batch-size', '1', '--data', csv, '--device', 'cpu'], b.io);
    expect(code).not.toBe(0);
    expect(b.err.join('\n')).toMatch(/--batch-size must be at least 2 \(BatchNorm in training mode needs more than one image per batch\), got 1/);
  });
});

describe.each(TRAIN_DEVICES)('train -> eval -> predict on the FER2013 sample on %s', (device) => {
  itData(
    'trains a tiny ResEmoteNet, logs, checkpoints, scores PrivateTest, evaluates PublicTest, predicts',
    async () => {
      const out = tmpDir(`e2e-${device}`);
      const small = ['--width', '1/16', '--image-size', '32', '--device', device, '--data', SAMPLE];
      const t = collector();
      const trainArgs = ['train', ...small, '--out', out, '--batch-size', '8', '--epochs', '2', '--limit-train', '16', '--limit-val', '16', '--limit-test', '16', '--eval-batch-size', '16', '--json'];
      if (device !== 'cpu') trainArgs.push('--max-steps', '2', '--epochs', '1');
      expect(await main(trainArgs, t.io), t.err.join('\n')).toBe(0);
      const r = jsonOut(t.out);
      const epochs = device === 'cpu' ? 2 : 1;
      expect(r).toMatchObject({ stopReason: 'completed', epochs, globalStep: 2 * epochs, bestEpoch: expect.any(Number) });
      expect(r.history).toHaveLength(epochs);
      for (const f of ['best.safetensors', 'best.json', 'last.safetensors', 'last.json', 'last.optim.safetensors', 'log.jsonl', 'log.csv', 'curves.svg', 'eval_PrivateTest.json', 'confusion_PrivateTest.svg']) {
        expect(existsSync(path.join(out, f)), f).toBe(true);
      }
      expect(readFileSync(path.join(out, 'log.jsonl'), 'utf8').trim().split('\n')).toHaveLength(epochs);
      expect(readFileSync(path.join(out, 'log.csv'), 'utf8').trim().split('\n')).toHaveLength(epochs + 1);
      const best = fromJson<any>(readFileSync(path.join(out, 'best.json'), 'utf8'));
      expect(best.config).toMatchObject({ arch: 'ResEmoteNet', width: 1 / 16, num_classes: 7, class_names: [...EMOTIONS], image_size: 32 });
      expect(best.metrics.val_acc).toBe(r.bestValAcc);
      // the final test score is the best checkpoint on PrivateTest (16 PrivateTest_* images of test/)
      const test = JSON.parse(readFileSync(path.join(out, 'eval_PrivateTest.json'), 'utf8'));
      expect(test.count).toBe(16);
      expect(test.samples.every((s: { id: string }) => /^test\/\w+\/PrivateTest_\d+\.png$/.test(s.id))).toBe(true);
      expect(r.test.accuracy).toBe(test.accuracy);

      // eval on PublicTest: metrics agree with the confusion matrix
      const e = collector();
      expect(await main(['eval', '-c', out, '--data', SAMPLE, '--split', 'PublicTest', '--limit', '16', '--device', device, '--json'], e.io), e.err.join('\n')).toBe(0);
      const ev = jsonOut(e.out);
      expect(ev.class_names).toEqual([...EMOTIONS]);
      const cm: number[][] = ev.confusion;
      const total = cm.flat().reduce((a, b) => a + b, 0);
      expect(total).toBe(16);
      expect(ev.accuracy).toBeCloseTo(cm.reduce((s, row, i) => s + row[i]!, 0) / total, 12);
      cm.forEach((row, c) => {
        const support = row.reduce((a, b) => a + b, 0);
        const predicted = cm.reduce((a, rr) => a + rr[c]!, 0);
        expect(ev.per_class[c].support).toBe(support);
        expect(ev.per_class[c].recall).toBeCloseTo(support ? row[c]! / support : 0, 12);
        expect(ev.per_class[c].precision).toBeCloseTo(predicted ? row[c]! / predicted : 0, 12);
      });
      for (const f of ['eval_PublicTest.json', 'confusion_PublicTest.svg', 'curves.svg']) expect(ev.files.map((x: string) => path.basename(x))).toContain(f);
      const svg = readFileSync(path.join(out, 'confusion_PublicTest.svg'), 'utf8');
      expect(svg).toMatch(/^<svg [\s\S]*<\/svg>\n$/);
      const txt = collector();
      expect(await main(['eval', '-c', path.join(out, 'best.json'), '--data', SAMPLE, '--split', 'PublicTest', '--limit', '16', '--device', device], txt.io)).toBe(0);
      expect(txt.out.join('\n')).toMatch(/precision\s+recall\s+f1-score\s+support[\s\S]*confusion matrix \(rows: true class, columns: predicted class\)/);

      // predict (FER2013 crops are faces already: --no-detect): probabilities labelled with the checkpoint's class names, summing to 1
      const imgs = ['test/happy', 'test/surprise'].map((d) => {
        const line = readFileSync(path.join(SAMPLE, 'index.csv'), 'utf8').split('\n').find((l) => l.startsWith(d + '/'))!;
        return path.join(SAMPLE, line.split(',')[0]!);
      });
      const p = collector();
      expect(await main(['predict', '-c', out, ...imgs, '--device', device, '--json', '--no-detect'], p.io), p.err.join('\n')).toBe(0);
      const pr = jsonOut(p.out);
      expect(pr.class_names).toEqual([...EMOTIONS]);
      expect(pr.predictions).toHaveLength(2);
      for (const q of pr.predictions) {
        expect(Object.keys(q.probabilities)).toEqual([...EMOTIONS]);
        expect((Object.values(q.probabilities) as number[]).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
        expect(EMOTIONS).toContain(q.label);
      }

      // curves from the log
      const c = collector();
      expect(await main(['curves', out, '-o', path.join(out, 'c.svg')], c.io)).toBe(0);
      const curves = readFileSync(path.join(out, 'c.svg'), 'utf8');
      expect((curves.match(/<circle /g) ?? []).length).toBe(4 * epochs); // train/val loss and accuracy per epoch
      if (epochs > 1) expect(curves).toContain('<polyline');
    },
    device === 'cpu' ? 60_000 : 300_000,
  );
});

describe('Ctrl-C', () => {
  itData(
    'SIGINT finishes the step, saves a resumable checkpoint and exits 130; --resume continues',
    async () => {
      const out = tmpDir('sigint');
      const args = ['bin/resemotenet.mjs', 'train', '--data', SAMPLE, '--out', out, '--width', '1/16', '--image-size', '32', '--batch-size', '4', '--limit-train', '12', '--limit-val', '8', '--epochs', '1', '--test-split', 'none', '--device', 'cpu', '--no-progress'];
      const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let sent = false;
      child.stdout.on('data', (d) => (stdout += String(d)));
      child.stderr.on('data', (d) => {
        stderr += String(d);
        if (!sent && stderr.includes('ResEmoteNet width')) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      expect(sent, stderr).toBe(true);
      expect(code, stderr + stdout).toBe(130);
      expect(stderr).toContain('Ctrl-C: finishing the current step and saving a resumable checkpoint');
      expect(stdout).toContain('stopped: interrupted');
      expect(stdout).toContain('logs: none yet (written at the end of each epoch)'); // no log files exist before the first epoch ends
      expect(stdout).not.toContain('log.jsonl');
      expect(stdout).toContain(`resume with: resemotenet train --resume ${out}`);
      const side = fromJson<any>(readFileSync(path.join(out, 'last.json'), 'utf8'));
      expect(side.train_state.globalStep).toBeGreaterThanOrEqual(1);
      expect(side.train_state.globalStep).toBeLessThan(3);
      const done = side.train_state.globalStep;
      const c = collector();
      expect(await main(['train', '--resume', out, '--json'], c.io), c.err.join('\n')).toBe(0);
      expect(c.err.join('\n')).toMatch(new RegExp(`resumed .*last\\.json: epoch 1, batch ${done}/3, step ${done}`));
      const r = jsonOut(c.out);
      expect(r).toMatchObject({ stopReason: 'completed', epochs: 1, globalStep: 3 });
    },
    60_000,
  );
});
