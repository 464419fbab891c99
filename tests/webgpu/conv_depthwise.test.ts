/**
 * The depthwise forward kernel (src/kernels/webgpu/conv_depthwise.ts, groups == C_in) against the
 * CPU reference through the front end's conv2d, on awkward shapes: output widths that are not a
 * multiple of the 4-output strips, stride 2 on odd and even sizes, padding larger than the taps
 * reach, dilation, channel multipliers 1-3, with and without bias, batches of 1-3, and BlazeFace's
 * own layer; also that the kernel is what runs (one dispatch, where the GEMM path needs more) and
 * that the GEMM path (convTuning.depthwise = false) agrees. Tolerance 1e-5 * max(1, max |cpu|):
 * at most KH*KW = 25 products per output.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { conv2d, tensor, webgpuRuntime, no_grad } from '../../src/index.js';
import { convTuning } from '../../src/kernels/webgpu/conv.js';
import { gpuAvailable } from '../helpers/webgpu.js';
import { rng } from '../helpers/close.js';

const hasGpu = await gpuAvailable();

interface Case {
  N: number;
  C: number;
  M: number;
  H: number;
  W: number;
  K: [number, number];
  s: [number, number];
  p: [number, number];
  d: [number, number];
  bias: boolean;
}

const CASES: Case[] = [
  { N: 1, C: 24, M: 1, H: 128, W: 128, K: [3, 3], s: [1, 1], p: [1, 1], d: [1, 1], bias: false }, // BlazeFace
  { N: 1, C: 24, M: 1, H: 129, W: 129, K: [3, 3], s: [2, 2], p: [0, 0], d: [1, 1], bias: false }, // BlazeFace stride 2 after pad
  { N: 2, C: 5, M: 1, H: 7, W: 9, K: [3, 3], s: [1, 1], p: [1, 1], d: [1, 1], bias: true },
  { N: 3, C: 3, M: 2, H: 6, W: 11, K: [3, 5], s: [2, 1], p: [2, 3], d: [1, 1], bias: true },
  { N: 1, C: 4, M: 3, H: 10, W: 6, K: [5, 3], s: [1, 2], p: [1, 0], d: [2, 1], bias: false },
  { N: 2, C: 7, M: 1, H: 5, W: 5, K: [1, 1], s: [2, 2], p: [0, 0], d: [1, 1], bias: true },
  { N: 1, C: 2, M: 1, H: 3, W: 13, K: [3, 3], s: [1, 3], p: [3, 1], d: [2, 2], bias: true },
];

const label = (c: Case) => `N${c.N} C${c.C}x${c.M} ${c.H}x${c.W} k${c.K} s${c.s} p${c.p} d${c.d}${c.bias ? ' bias' : ''}`;

describe.runIf(hasGpu)('webgpu depthwise conv2d forward vs cpu', () => {
  afterEach(() => {
    convTuning.depthwise = true;
  });

  it.each(CASES.map((c) => [label(c), c] as const))('%s', async (_name, c) => {
    const r = rng(c.C * 131 + c.H);
    const rand = (n: number) => Float32Array.from({ length: n }, () => r() * 2 - 1);
    const xs = rand(c.N * c.C * c.H * c.W);
    const ws = rand(c.C * c.M * c.K[0] * c.K[1]);
    const bs = rand(c.C * c.M);
    const opts = { stride: c.s, padding: c.p, dilation: c.d, groups: c.C };
    const run = async (device: 'cpu' | 'webgpu') =>
      no_grad(() => {
        const x = tensor(xs, { shape: [c.N, c.C, c.H, c.W], device });
        const w = tensor(ws, { shape: [c.C * c.M, 1, c.K[0], c.K[1]], device });
        const b = c.bias ? tensor(bs, { device }) : null;
        return conv2d(x, w, b, opts);
      });
    const ref = await run('cpu');
    const rt = webgpuRuntime();
    const before = rt.dispatchCount;
    const got = await run('webgpu');
    expect(rt.dispatchCount - before, 'one dispatch: the depthwise kernel').toBe(1);
    expect(got.shape).toEqual(ref.shape);
    const a = ref.dataSync();
    const g = await got.data();
    let big = 1;
    for (let i = 0; i < a.length; i++) big = Math.max(big, Math.abs(a[i]!));
    const tol = 1e-5 * big;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - g[i]!));
    expect(worst, label(c)).toBeLessThanOrEqual(tol);
    // The GEMM path gives the same numbers.
    convTuning.depthwise = false;
    const gemm = await (await run('webgpu')).data();
    let worst2 = 0;
    for (let i = 0; i < a.length; i++) worst2 = Math.max(worst2, Math.abs(a[i]! - gemm[i]!));
    expect(worst2, `${label(c)} (GEMM path)`).toBeLessThanOrEqual(tol);
  });
});
