/**
 * The package as a user installs it: the compiled `dist/` (built by `npm run build`, which
 * `pretest` and `prepare` run) imported by its own name with plain Node (no TypeScript loader),
 * through every entry of package.json "exports", and the `resemotenet` bin.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as {
  name: string;
  exports: Record<string, string | { types: string; default: string }>;
  bin: Record<string, string>;
};

const node = (args: string[]): string => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });

describe('package', () => {
  it('every export points at a built file (run `npm run build` if this fails)', () => {
    for (const [k, v] of Object.entries(pkg.exports)) {
      const files = typeof v === 'string' ? [v] : [v.types, v.default];
      for (const f of files) expect(existsSync(`${root}/${f}`), `${k} -> ${f}`).toBe(true);
    }
  });

  it('the declarations do not pull in @webgpu/types (it clashes with lib.dom from TypeScript 6 on; see package_types.test.ts)', () => {
    expect(readFileSync(`${root}/dist/index.d.ts`, 'utf8')).not.toMatch(/<reference types="@webgpu\/types"/);
  });

  it('imports by name with plain node and computes on the cpu', () => {
    const code = `
      const m = await import('${pkg.name}');
      const nn = await import('${pkg.name}/nn');
      const r = await import('${pkg.name}/resemotenet');
      const a = m.tensor([[1, 2], [3, 4]]);
      const lin = new nn.Linear(2, 1); if (m.nn.Linear !== nn.Linear) throw new Error('nn entry differs');
      const model = new r.ResEmoteNet({ width: 1 / 32 });
      const n = model.parameters().reduce((s, p) => s + p.numel(), 0);
      console.log(JSON.stringify({ mm: Array.from(await a.matmul(a).data()), lin: lin.weight.shape, n }));`;
    const out = JSON.parse(node(['--input-type=module', '-e', code]).trim().split('\n').pop()!);
    expect(out.mm).toEqual([7, 10, 15, 22]);
    expect(out.lin).toEqual([1, 2]);
    expect(out.n).toBeGreaterThan(50_000);
  });

  it('the facedetect entry finds its shipped weights from dist/ (weights/ is in "files")', () => {
    const code = `
      const f = await import('${pkg.name}/facedetect');
      const m = await f.loadBlazeFace({ device: 'cpu' });
      console.log(JSON.stringify({ n: m.parameters().reduce((s, p) => s + p.numel(), 0) }));`;
    expect(JSON.parse(node(['--input-type=module', '-e', code]).trim().split('\n').pop()!).n).toBe(134704);
    const files = (JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { files: string[] }).files;
    expect(files.some((f) => f === 'weights' || f === 'weights/blazeface'), files.join(', ')).toBe(true);
  });

  it('the resemotenet bin runs without a TypeScript loader', () => {
    const out = node([`${root}/${pkg.bin.resemotenet}`, '--help']);
    expect(out).toMatch(/Usage: resemotenet/);
    expect(out).toMatch(/train/);
  });
});
