/**
 * Command-line details: --version, option names in errors, class-name overrides, empty class
 * folders, --skip-bad-data.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/resemotenet/cli.js';
import { REPO_ROOT, SAMPLE, itWithSample, tmpDir } from './helpers.js';

const itData = itWithSample('cli_misc.test.ts');
function collector() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s), progress: false, handleSignals: false } };
}
const QUICK = ['--width', '1/16', '--image-size', '16', '--batch-size', '8', '--limit-train', '24', '--limit-val', '8', '--epochs', '1', '--test-split', 'none', '--device', 'cpu', '--no-progress'];

describe('resemotenet CLI details', () => {
  it('--version prints the package version', async () => {
    const c = collector();
    expect(await main(['--version'], c.io)).toBe(0);
    expect(c.out.join('\n').trim()).toBe(JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version);
  });

  it('errors name the command-line options, not internal names', async () => {
    const c = collector();
    expect(await main(['train', '--data', SAMPLE, '--batch-size', '1', '--out', tmpDir('bs1')], c.io)).toBe(2);
    expect(c.err.join('\n')).toMatch(/--batch-size must be at least 2/);
    const c2 = collector();
    expect(await main(['train', '--data', SAMPLE, '--flip', '2', '--out', tmpDir('flip')], c2.io)).toBe(2);
    expect(c2.err.join('\n')).toMatch(/--flip must be/);
    expect(c2.err.join('\n')).not.toMatch(/flipProb|ImageTransform/);
  });

  itData(
    "a checkpoint's class names win over --class-names unless --override-class-names; empty class folders and bad images are reported",
    async () => {
      const data = tmpDir('misc-data');
      cpSync(SAMPLE, data, { recursive: true });
      rmSync(path.join(data, 'train', 'disgust'), { recursive: true });
      const run = tmpDir('misc-run');
      const c1 = collector();
      expect(await main(['train', '--data', data, ...QUICK, '--limit-train', '400', '--out', run], c1.io), c1.err.join('\n')).toBe(0);
      expect(c1.err.join('\n')).toMatch(/warning: no training images for class disgust/);

      const ev = (extra: string[]) => ['eval', '-c', run, '--data', data, '--split', 'PublicTest', '--limit', '8', '--device', 'cpu', '--json', '--out', run, ...extra];
      const c2 = collector();
      expect(await main(ev(['--class-names', 'official']), c2.io), c2.err.join('\n')).toBe(0);
      expect(c2.err.join('\n')).toMatch(/keeping them and ignoring the given happy,surprise/);
      expect(JSON.parse(c2.out.join('\n')).class_names).toEqual(['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']);
      const c3 = collector();
      expect(await main(ev(['--class-names', 'official', '--override-class-names']), c3.io), c3.err.join('\n')).toBe(0);
      expect(c3.err.join('\n')).toMatch(/warning: relabelling the outputs/);
      expect(JSON.parse(c3.out.join('\n')).class_names).toEqual(['happy', 'surprise', 'sad', 'anger', 'disgust', 'fear', 'neutral']);

      writeFileSync(path.join(data, 'train', 'happy', 'broken.png'), 'not a png at all');
      const c4 = collector();
      expect(await main(['train', '--data', data, ...QUICK, '--out', tmpDir('bad1')], c4.io)).toBe(1);
      expect(c4.err.join('\n')).toMatch(/broken\.png/);
      const c5 = collector();
      expect(await main(['train', '--data', data, ...QUICK, '--skip-bad-data', '--out', tmpDir('bad2')], c5.io), c5.err.join('\n')).toBe(0);
      expect(c5.err.join('\n')).toMatch(/warning: 1 unreadable or malformed input\(s\) skipped .*broken\.png/);

      // an ImageFolder with train/ and val/ only (one's own faces): no final test, said before training
      const own = tmpDir('misc-own');
      cpSync(path.join(SAMPLE, 'train'), path.join(own, 'train'), { recursive: true });
      cpSync(path.join(SAMPLE, 'test'), path.join(own, 'val'), { recursive: true });
      const c6 = collector();
      expect(await main(['train', '--data', own, ...QUICK.filter((x, i, a) => x !== '--test-split' && a[i - 1] !== '--test-split'), '--out', tmpDir('own')], c6.io), c6.err.join('\n')).toBe(0);
      expect(c6.err.join('\n')).toMatch(/has no test split \(no test\/ folder\): the final test is skipped/);

      // predict on an empty folder says so and fails
      const empty = tmpDir('misc-empty');
      const c7 = collector();
      expect(await main(['predict', '-c', run, empty, '--device', 'cpu'], c7.io)).toBe(1);
      expect(c7.err.join('\n') + c7.out.join('\n')).toMatch(/no images found in this folder/);
    },
    120_000,
  );
});
