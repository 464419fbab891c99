/**
 * The package's declarations as a consumer compiles them (issue 14): a small project importing
 * every entry of `dist/` type-checks with TypeScript 5.x and 7.x (the `typescript7` dev
 * dependency, npm's `latest`), with and without the DOM lib, skipLibCheck off. TypeScript >= 6's
 * lib.dom declares the WebGPU types that @webgpu/types also declares, so the declarations must not
 * pull @webgpu/types in (182 "Duplicate identifier 'GPU...'" errors with 7.0.2); where lib.dom has
 * them, the real GPU types must still reach the consumer. Needs `npm run build` (pretest).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string };
const COMPILERS = { 'TypeScript 5': join(root, 'node_modules/typescript/bin/tsc'), 'TypeScript 7': join(root, 'node_modules/typescript7/bin/tsc') };

const dir = mkdtempSync(join(tmpdir(), 'consumer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
symlinkSync(root, join(dir, 'node_modules', pkg.name), 'dir'); // as `npm link` would
symlinkSync(join(root, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'), 'dir');

writeFileSync(
  join(dir, 'main.ts'),
  `import { tensor, initWebGPU, webgpuRuntime, GpuOutOfMemoryError, cross_entropy, type Tensor } from '${pkg.name}';
import { ResEmoteNet, inferChannels, loadFer2013Csv, readImageFile } from '${pkg.name}/resemotenet';
import * as nn from '${pkg.name}/nn';
export async function run(): Promise<number> {
  const t: Tensor = tensor([1, 2]);
  const m = new ResEmoteNet({ width: 1 / 8, width_rule: 'floor' });
  const arch = inferChannels(m.state_dict());
  await initWebGPU({ powerPreference: 'high-performance' });
  const rt = webgpuRuntime();
  rt.transferChunkBytes = 1 << 20;
  const sd = await nn.load_file('x.safetensors');
  const d = await loadFer2013Csv('x.csv', { maxLineBytes: 1 << 16 });
  const e = new GpuOutOfMemoryError('x');
  const loss = cross_entropy(t.reshape([1, 2]), tensor([0], { dtype: 'int32' }));
  return arch.channels.conv1 + Object.keys(sd).length + d.length + e.requestedBytes + (await readImageFile('a.png')).length + loss.numel();
}
`,
);
// Uses the GPU types from lib.dom (TypeScript >= 6): they must be the ones the package's API takes and gives.
writeFileSync(
  join(dir, 'gpu.ts'),
  `import { initWebGPU, webgpuRuntime } from '${pkg.name}';
export async function withDevice(device: GPUDevice): Promise<GPUBuffer> {
  await initWebGPU({ device });
  const p: GPUComputePipeline = webgpuRuntime().pipeline('k', '');
  webgpuRuntime().dispatch('k', p, [], null, 1);
  return webgpuRuntime().alloc('float32', 4).buffer;
}
`,
);
function tsconfig(name: string, dom: boolean, files: string[]): string {
  const lib = ['ES2023', 'ESNext.Disposable', ...(dom ? ['DOM'] : [])];
  const compilerOptions = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib, types: ['node'], strict: true, noEmit: true, skipLibCheck: false };
  writeFileSync(join(dir, name), JSON.stringify({ compilerOptions, files }, null, 2));
  return name;
}

/** Runs a compiler on the consumer project; returns its diagnostics ('' when it compiles). */
function compile(tsc: string, project: string): string {
  try {
    execFileSync(process.execPath, [tsc, '-p', project], { cwd: dir, encoding: 'utf8', stdio: 'pipe', timeout: 120_000 });
    return '';
  } catch (e) {
    const r = e as { stdout?: string; stderr?: string; message: string };
    return `${r.stdout ?? ''}${r.stderr ?? ''}` || r.message;
  }
}

const version = (tsc: string) => execFileSync(process.execPath, [tsc, '-v'], { encoding: 'utf8' }).trim();

describe('the declarations compile for consumers', () => {
  it('both compilers are installed; the build itself uses TypeScript 5.9 (node_modules/.bin/tsc)', () => {
    for (const [what, tsc] of Object.entries(COMPILERS)) expect(existsSync(tsc), `${what} missing (${tsc}): run npm ci`).toBe(true);
    expect(version(COMPILERS['TypeScript 5'])).toMatch(/^Version 5\./);
    expect(version(COMPILERS['TypeScript 7'])).toMatch(/^Version 7\./);
    // both packages provide a `tsc` bin; npm links TypeScript 5's on a fresh install, but adding a
    // package later can relink it (fix: npm ci, or ln -sfn ../typescript/bin/tsc node_modules/.bin/tsc)
    expect(version(join(root, 'node_modules/.bin/tsc'))).toBe('Version 5.9.3');
    expect(readFileSync(join(root, 'dist/index.d.ts'), 'utf8')).not.toMatch(/<reference types="@webgpu\/types"/);
  });

  for (const [what, tsc] of Object.entries(COMPILERS)) {
    for (const dom of [true, false]) {
      it(`${what}, lib ${dom ? 'with' : 'without'} DOM`, () => {
        expect(compile(tsc, tsconfig(`tsconfig.${what.replace(' ', '')}.${dom}.json`, dom, ['main.ts']))).toBe('');
      });
    }
  }

  it("TypeScript 7 with DOM: lib.dom's GPUDevice, GPUBuffer and GPUComputePipeline are the package's types", () => {
    expect(compile(COMPILERS['TypeScript 7'], tsconfig('tsconfig.gpu.json', true, ['gpu.ts']))).toBe('');
    // and a wrong type is still caught (the types are not `any`)
    writeFileSync(join(dir, 'gpu_bad.ts'), `import { webgpuRuntime } from '${pkg.name}';\nexport const b: GPUTexture = webgpuRuntime().alloc('float32', 4).buffer;\n`);
    expect(compile(COMPILERS['TypeScript 7'], tsconfig('tsconfig.gpubad.json', true, ['gpu_bad.ts']))).toMatch(/gpu_bad\.ts\(2,14\): error TS2\d+: .*GPUBuffer.*GPUTexture/s);
  });
});
