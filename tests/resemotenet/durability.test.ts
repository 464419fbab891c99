/**
 * Checkpoint durability and runs: a kill -9 at every stage of a checkpoint save (fault injection
 * through RESEMOTENET_CRASH_AT, see checkpoint.ts) always leaves a run that `--resume` finishes
 * with exactly the weights and log of an uninterrupted run; stale temporary and orphaned
 * generation files are removed on start; `train` refuses to start over in a run folder without
 * --overwrite; --resume keeps the run's device and refuses contradicting settings; --max-steps
 * does not carry over or overshoot.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { load_file } from '../../src/nn/serialization/index.js';
import { fromJson } from '../../src/resemotenet/checkpoint.js';
import { main } from '../../src/resemotenet/cli.js';
import { REPO_ROOT, SAMPLE, TRAIN_DEVICES, itWithSample, tmpDir } from './helpers.js';

const itData = itWithSample('durability.test.ts');
const RUN = ['--data', SAMPLE, '--width', '1/16', '--image-size', '16', '--batch-size', '8', '--limit-train', '32', '--limit-val', '16', '--epochs', '2', '--test-split', 'none', '--device', 'cpu', '--no-progress', '--seed', '3'];

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['bin/resemotenet.mjs', ...args], { cwd: REPO_ROOT, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (err += String(d)));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out, err })));
}

function collector() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s), progress: false, handleSignals: false } };
}

/** The run's final model weights (via its last sidecar) and the deterministic columns of its log. */
async function finalState(dir: string): Promise<{ weights: Record<string, number[]>; log: unknown[] }> {
  const side = fromJson<{ model_file: string }>(readFileSync(path.join(dir, 'last.json'), 'utf8'));
  const sd = await load_file(path.join(dir, side.model_file));
  const weights: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(sd)) {
    weights[k] = Array.from(t.dataSync() as ArrayLike<number>);
    t.dispose();
  }
  const log = readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const r = JSON.parse(l);
    return [r.epoch, r.train_loss, r.train_acc, r.val_loss, r.val_acc, r.lr, r.steps, r.best_epoch];
  });
  return { weights, log };
}

/** Tensor files in a run folder must all be named by its sidecars (or be the plain aliases). */
function expectNoOrphans(dir: string): void {
  const named = new Set<string>();
  for (const k of ['best', 'last']) {
    const f = path.join(dir, `${k}.json`);
    if (!existsSync(f)) continue;
    const s = fromJson<{ model_file: string; optimizer_file: string | null }>(readFileSync(f, 'utf8'));
    named.add(s.model_file);
    if (s.optimizer_file) named.add(s.optimizer_file);
  }
  for (const n of readdirSync(dir)) {
    expect(n.endsWith('.tmp'), `stale temp file ${n}`).toBe(false);
    if (/^(best|last)\.[0-9a-f]{16}/.test(n)) expect(named.has(n), `orphaned generation file ${n}`).toBe(true);
  }
}

describe('a kill -9 at any stage of a save leaves a resumable run', () => {
  itData(
    'every stage of the 3rd and 4th save: --resume ends with the uninterrupted weights and log',
    async () => {
      const ref = tmpDir('dur-ref');
      const r0 = await cli(['train', ...RUN, '--out', ref]);
      expect(r0.code, r0.err).toBe(0);
      const want = await finalState(ref);
      // saves in order: best(1), last(1), [best(2)], last(2)
      const improvedLater = (want.log as unknown[][]).filter((r, i) => i > 0 && r[7] === i + 1).length;
      const saves = 1 + want.log.length + improvedLater;
      let killed = 0;
      for (const n of [3, 4].filter((k) => k <= saves)) {
        for (const stage of ['model', 'optim', 'sidecar', 'alias', 'cleanup']) {
          const dir = tmpDir(`dur-${n}-${stage}`);
          const r = await cli(['train', ...RUN, '--out', dir], { RESEMOTENET_CRASH_AT: `*:${stage}:${n}` });
          if (r.signal === 'SIGKILL') {
            killed++;
            const res = await cli(['train', '--resume', dir]);
            expect(res.code, `${n}:${stage}\n${res.err}`).toBe(0);
          } else {
            expect(r.code, `${n}:${stage} (stage not in this save)\n${r.err}`).toBe(0); // e.g. 'optim' of a best save
          }
          const got = await finalState(dir);
          expect(got.log, `${n}:${stage}`).toEqual(want.log);
          expect(got.weights, `${n}:${stage}`).toEqual(want.weights);
          expectNoOrphans(dir);
        }
      }
      // every stage of save 3 (the optim stage only when it is a `last` save) and, when there is one, of save 4
      expect(killed).toBe(saves === 4 ? 4 + 5 : 5);
    },
    600_000,
  );

  if (TRAIN_DEVICES.includes('webgpu')) {
    itData(
      'on webgpu too: killed while switching a save, then resumed in a new process, bit-identical to the uninterrupted run',
      async () => {
        const gpu = RUN.map((a, i) => (RUN[i - 1] === '--device' ? 'webgpu' : a));
        const ref = tmpDir('dur-gpu-ref');
        const r0 = await cli(['train', ...gpu, '--out', ref]);
        expect(r0.code, r0.err).toBe(0);
        const want = await finalState(ref);
        for (const stage of ['optim', 'sidecar']) {
          const dir = tmpDir(`dur-gpu-${stage}`);
          const r = await cli(['train', ...gpu, '--out', dir], { RESEMOTENET_CRASH_AT: `last:${stage}:2` });
          expect(r.signal, r.err).toBe('SIGKILL');
          const res = await cli(['train', '--resume', dir]);
          expect(res.code, res.err).toBe(0);
          expect(res.err).not.toMatch(/overriding device/); // the run's own device is kept
          const got = await finalState(dir);
          expect(got.log).toEqual(want.log);
          expect(got.weights).toEqual(want.weights);
        }
      },
      300_000,
    );
  }
});

describe('run folders', () => {
  itData(
    'refuses to start over without --overwrite; removes stale temp files; resume keeps the device and refuses contradictions',
    async () => {
      const dir = tmpDir('runs');
      const c1 = collector();
      expect(await main(['train', ...RUN, '--epochs', '1', '--out', dir], c1.io), c1.err.join('\n')).toBe(0);
      const before = readFileSync(path.join(dir, 'last.json'), 'utf8');
      const c2 = collector();
      expect(await main(['train', ...RUN, '--epochs', '1', '--out', dir], c2.io)).toBe(2);
      expect(c2.err.join('\n')).toMatch(/already holds a training run .*--resume .*--overwrite/s);
      expect(readFileSync(path.join(dir, 'last.json'), 'utf8')).toBe(before); // untouched

      // stale temp files of a dead process are removed on start, and named in the log
      const stale = path.join(dir, '.last.0123456789abcdef.safetensors.999999.a1b2c3d4e5f6.tmp');
      writeFileSync(stale, 'x');
      const c3 = collector();
      expect(await main(['train', '--resume', dir, '--epochs', '2'], c3.io), c3.err.join('\n')).toBe(0);
      expect(existsSync(stale)).toBe(false);
      expect(c3.err.join('\n')).toMatch(/removed 1 stale file/);
      expect(c3.err.join('\n')).toMatch(/overriding epochs: 1 -> 2/);
      const side = fromJson<any>(readFileSync(path.join(dir, 'last.json'), 'utf8'));
      expect(side.train_config.device).toBe('cpu');

      const c3b = collector();
      expect(await main(['train', '--resume', dir], c3b.io), c3b.err.join('\n')).toBe(0);
      expect(c3b.err.join('\n')).toMatch(/is a finished run \(2 of 2 epochs\); pass --epochs N/);

      const c4 = collector();
      expect(await main(['train', '--resume', dir, '--width', '1/8'], c4.io)).toBe(2);
      expect(c4.err.join('\n')).toMatch(/contradict it: --width \(checkpoint 0.0625, given 0.125\)/);

      const c5 = collector();
      expect(await main(['train', ...RUN, '--epochs', '1', '--out', dir, '--overwrite'], c5.io), c5.err.join('\n')).toBe(0);
      expectNoOrphans(dir);
    },
    120_000,
  );

  itData(
    '--max-steps stops exactly there, and does not carry over to --resume',
    async () => {
      const dir = tmpDir('maxsteps');
      const c1 = collector();
      expect(await main(['train', ...RUN, '--out', dir, '--max-steps', '3', '--json'], c1.io), c1.err.join('\n')).toBe(0);
      expect(JSON.parse(c1.out.join('\n'))).toMatchObject({ stopReason: 'max_steps', globalStep: 3 });
      const c2 = collector();
      expect(await main(['train', '--resume', dir, '--max-steps', '3', '--json'], c2.io), c2.err.join('\n')).toBe(0);
      expect(JSON.parse(c2.out.join('\n'))).toMatchObject({ stopReason: 'max_steps', globalStep: 3 }); // no extra step
      const c3 = collector();
      expect(await main(['train', '--resume', dir, '--json'], c3.io), c3.err.join('\n')).toBe(0);
      expect(JSON.parse(c3.out.join('\n'))).toMatchObject({ stopReason: 'completed', globalStep: 8 });
    },
    120_000,
  );
});
