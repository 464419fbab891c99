/**
 * WebGPU fused squeeze-excitation block (forward: out, hidden, gate; backward: gx, gW1, gW2)
 * cross-checked against the CPU reference backend on the same uploaded data: S = 1, S not a
 * multiple of 4, S below and above the 64-wide row reduction, R = 1, hidden units dead after the
 * ReLU (negative first layer), and the ResEmoteNet SE shape (16 x 256 x 8 x 8, R = 16).
 *
 * Tolerance: 1e-4 relative + 1e-5 absolute (float32 sums over S <= 4096 and C <= 256 against
 * float64; gate and hidden are O(1)).
 */
import { describe, expect, it } from 'vitest';
import { getBackend } from '../../src/tensor/device.js';
import type { Backend, SEParams } from '../../src/kernels/backend.js';
import { gpuAvailable } from '../helpers/webgpu.js';

const hasGpu = await gpuAvailable();

let seed = 99;
function rnd(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed / 2 ** 32) * 2 - 1;
}

function close(what: string, ref: ArrayLike<number>, got: ArrayLike<number>): void {
  expect(got.length, what).toBe(ref.length);
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!, g = got[i]!;
    if (!(Math.abs(r - g) <= 1e-5 + 1e-4 * Math.abs(r))) expect.fail(`${what}[${i}]: expected ${r}, got ${g}`);
  }
}

async function runAll(be: Backend, p: SEParams, d: Float32Array[]): Promise<ArrayLike<number>[]> {
  const [x, gy, w1, w2] = d.map((a) => be.upload(a, 'float32'));
  const { N, C, S, R } = p;
  const out = be.alloc('float32', N * C * S), hidden = be.alloc('float32', N * R), gate = be.alloc('float32', N * C);
  const gx = be.alloc('float32', N * C * S), gw1 = be.alloc('float32', R * C), gw2 = be.alloc('float32', C * R);
  be.seForward(x!, w1!, w2!, out, hidden, gate, p);
  be.seBackward(gy!, x!, w1!, w2!, hidden, gate, gx, gw1, gw2, p);
  const res = [await be.read(out), await be.read(hidden), await be.read(gate), await be.read(gx), await be.read(gw1), await be.read(gw2)];
  for (const s of [x!, gy!, w1!, w2!, out, hidden, gate, gx, gw1, gw2]) be.free(s);
  return res;
}

async function check(p: SEParams, w1Bias = 0): Promise<void> {
  const { N, C, S, R } = p;
  const d = [
    Float32Array.from({ length: N * C * S }, rnd),
    Float32Array.from({ length: N * C * S }, rnd),
    Float32Array.from({ length: R * C }, () => rnd() * 0.5 + w1Bias),
    Float32Array.from({ length: C * R }, () => rnd() * 0.5),
  ];
  const ref = await runAll(getBackend('cpu'), p, d);
  const got = await runAll(getBackend('webgpu'), p, d);
  ['out', 'hidden', 'gate', 'gx', 'gw1', 'gw2'].forEach((k, i) => close(`${JSON.stringify(p)} ${k}`, ref[i]!, got[i]!));
}

describe.runIf(hasGpu)('webgpu squeeze-excitation', () => {
  it('awkward shapes', async () => {
    for (const [N, C, S, R] of [[2, 8, 5, 2], [3, 16, 64, 4], [1, 7, 1, 3], [4, 32, 100, 8], [2, 6, 63, 1], [1, 5, 4096, 2], [3, 12, 66, 5]] as const) await check({ N, C, S, R });
  });

  it('dead hidden units (ReLU gradient masked)', async () => {
    // x in [-1, 1] has a mean near 0 per plane; with a shifted first layer many pre-activations are <= 0
    await check({ N: 4, C: 16, S: 9, R: 6 }, -0.4);
    await check({ N: 4, C: 16, S: 9, R: 6 }, 0.4);
  });

  it('ResEmoteNet SE shape: 16 x 256 x 8 x 8, R = 16', async () => {
    await check({ N: 16, C: 256, S: 64, R: 16 });
  });
});
