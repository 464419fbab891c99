/**
 * WebGPU conv2d (forward, input gradient, weight gradient) cross-checked against the CPU
 * reference backend on the same uploaded data, for both kernel families ("sg" for software
 * adapters, "tiled" for hardware GPUs, forced through convTuning), on random shapes and the
 * awkward ones: batch 1, 1x1 and 2x2 maps, stride 2 on odd sizes, padding, dilation, groups,
 * channel counts not a multiple of 4, binding-limit chunking (forced with a tiny limit), split
 * reductions, and the real 2048x2048x3x3 weight (151 MB > the 128 MiB binding limit).
 *
 * Also the PyTorch 1.13 fixtures (tests/fixtures/conv_pool.json) through the front end's conv2d
 * with autograd on webgpu tensors: |ours - torch| <= 1e-5 * (1 + |torch|), as for float32 on cpu.
 *
 * Tolerance: |gpu - cpu| <= 1e-4 * max(1, max |cpu|) per output tensor. The CPU accumulates in
 * float64, the GPU in float32 over K = C_in/groups*KH*KW <= 18432 products of values in [-1, 1]
 * (float32 error ~ sqrt(K) * 2^-24 * |terms|, far below 1e-4 of the largest output), while a
 * wrong index, a missing tap or a lost chunk is off by O(1).
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { getBackend } from '../../src/tensor/device.js';
import { conv2d, tensor } from '../../src/index.js';
import type { Backend, Conv2dParams, Storage } from '../../src/kernels/backend.js';
import type { GpuStorage } from '../../src/kernels/webgpu/runtime.js';
import { convTuning, convVariant, liveTaps, sgGroups } from '../../src/kernels/webgpu/conv.js';
import { pxApplies } from '../../src/kernels/webgpu/conv_px.js';
import { im2colApplies, im2colTuning } from '../../src/kernels/webgpu/conv_im2col.js';
import { gemvApplies } from '../../src/kernels/webgpu/conv_gemv.js';
import { pack, packTuning } from '../../src/kernels/webgpu/conv_pack.js';
import { webgpuRuntime } from '../../src/index.js';
import { gpuAvailable } from '../helpers/webgpu.js';

const hasGpu = await gpuAvailable();

let seed = 12345;
function rand(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    a[i] = ((seed / 2 ** 32) * 2 - 1) * scale;
  }
  return a;
}
function irand(lo: number, hi: number): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return lo + Math.floor((seed / 2 ** 32) * (hi - lo + 1));
}

function conv(N: number, C_in: number, H: number, W: number, C_out: number, KH: number, KW: number, s: [number, number] = [1, 1], pd: [number, number] = [0, 0], dl: [number, number] = [1, 1], groups = 1): Conv2dParams {
  const OH = Math.floor((H + 2 * pd[0] - dl[0] * (KH - 1) - 1) / s[0]) + 1;
  const OW = Math.floor((W + 2 * pd[1] - dl[1] * (KW - 1) - 1) / s[1]) + 1;
  return { N, C_in, H, W, C_out, KH, KW, OH, OW, strideH: s[0], strideW: s[1], padH: pd[0], padW: pd[1], dilationH: dl[0], dilationW: dl[1], groups };
}

function name(p: Conv2dParams): string {
  return `N${p.N} ${p.C_in}x${p.H}x${p.W} -> ${p.C_out} k${p.KH}x${p.KW} s${p.strideH},${p.strideW} p${p.padH},${p.padW} d${p.dilationH},${p.dilationW} g${p.groups}`;
}

function close(what: string, ref: ArrayLike<number>, got: ArrayLike<number>): void {
  expect(got.length, what).toBe(ref.length);
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) maxRef = Math.max(maxRef, Math.abs(ref[i]!));
  const tol = 1e-4 * Math.max(1, maxRef);
  let worst = 0, at = -1;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(ref[i]! - got[i]!);
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  expect(worst, `${what}: max error ${worst} at ${at} (ref ${ref[at]}, got ${got[at]}), tolerance ${tol}`).toBeLessThanOrEqual(tol);
}

interface Data {
  x: Float32Array;
  w: Float32Array;
  b: Float32Array;
  gy: Float32Array;
}

function data(p: Conv2dParams): Data {
  return {
    x: rand(p.N * p.C_in * p.H * p.W),
    w: rand((p.C_out * p.C_in * p.KH * p.KW) / p.groups),
    b: rand(p.C_out),
    gy: rand(p.N * p.C_out * p.OH * p.OW),
  };
}

async function runAll(be: Backend, p: Conv2dParams, d: Data, withBias: boolean): Promise<Float32Array[]> {
  const x = be.upload(d.x, 'float32'), w = be.upload(d.w, 'float32'), b = be.upload(d.b, 'float32'), gy = be.upload(d.gy, 'float32');
  const out = be.alloc('float32', d.gy.length), gx = be.alloc('float32', d.x.length), gw = be.alloc('float32', d.w.length);
  be.conv2d(x, w, withBias ? b : null, out, p);
  be.conv2dBackwardInput(gy, w, gx, p);
  be.conv2dBackwardWeight(gy, x, gw, p);
  const res = [await be.read(out), await be.read(gx), await be.read(gw)] as Float32Array[];
  for (const s of [x, w, b, gy, out, gx, gw] as Storage[]) be.free(s);
  return res;
}

async function check(p: Conv2dParams, withBias = true, d = data(p)): Promise<void> {
  const ref = await runAll(getBackend('cpu'), p, d, withBias);
  const got = await runAll(getBackend('webgpu'), p, d, withBias);
  close(`${name(p)} forward`, ref[0]!, got[0]!);
  close(`${name(p)} input gradient`, ref[1]!, got[1]!);
  close(`${name(p)} weight gradient`, ref[2]!, got[2]!);
}

const awkward: Conv2dParams[] = [
  conv(1, 3, 7, 5, 5, 3, 3, [1, 1], [1, 1]), // batch 1, odd sizes, 3 channels
  conv(2, 5, 1, 1, 7, 3, 3, [1, 1], [1, 1]), // 1x1 map with padding (only the centre tap)
  conv(17, 9, 2, 2, 10, 3, 3, [2, 2], [1, 1]), // 2x2 -> 1x1 stride 2, batch > tile
  conv(2, 6, 9, 7, 6, 3, 3, [2, 2], [1, 1]), // stride 2 on odd sizes
  conv(1, 6, 9, 9, 4, 3, 2, [2, 1], [1, 0], [1, 2], 2), // dilation, groups, rectangular kernel
  conv(3, 8, 6, 6, 12, 1, 1, [2, 2], [0, 0], [1, 1], 4), // 1x1 conv stride 2, 4 groups
  conv(2, 4, 11, 10, 4, 3, 3, [2, 3], [2, 1], [2, 1], 4), // depthwise, dilation 2, big padding
  conv(3, 8, 5, 5, 6, 3, 3, [1, 1], [1, 1]), // C_in multiple of 4 (weight gradient with taps in registers)
  conv(2, 16, 4, 5, 8, 2, 2, [2, 2], [0, 1], [1, 1], 2), // 2x2 kernel, groups
  conv(4, 33, 8, 8, 70, 3, 3, [1, 1], [1, 1]), // channels not a multiple of 4, several tiles
];

describe.runIf(hasGpu)('webgpu conv2d', () => {
  afterEach(() => {
    convTuning.variant = 'auto';
    convTuning.packWeights = 'auto';
    convTuning.splits = 0;
    convTuning.bindingLimitBytes = 0;
    convTuning.skipDeadTaps = 'auto';
    convTuning.pixelLanes = true;
    convTuning.cacheWeights = true;
    convTuning.gemv = true;
    convTuning.tile = null;
    convTuning.rowMajor = 'auto';
    convTuning.bwdwTM = 0;
    convTuning.minWorkgroups = 16;
  });

  it('channels-last repack: the 4-pixel kernel equals the 1-pixel one and the definition (groups, padded channels, offsets)', async () => {
    const rt = webgpuRuntime();
    const gpu = getBackend('webgpu') as Backend;
    try {
      for (const [N, G, Cg, S, start] of [[2, 1, 3, 8, 0], [3, 2, 5, 12, 4], [1, 1, 16, 4, 8], [2, 3, 8, 20, 0], [2, 1, 6, 6, 0], [1, 2, 4, 16, 2]] as const) {
        const host = rand(start + N * G * Cg * S + 3);
        const src = gpu.upload(host, 'float32');
        const Q = Math.ceil(Cg / 4);
        // the definition: dst[n][s][g][c] = src[start + ((n * G + g) * Cg + c) * S + s], zeros for c >= Cg
        const want = new Float32Array(N * S * G * Q * 4);
        for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) for (let g = 0; g < G; g++) for (let c = 0; c < Cg; c++) want[((n * S + s) * G + g) * Q * 4 + c] = host[start + ((n * G + g) * Cg + c) * S + s]!;
        for (const v4 of [true, false]) {
          packTuning.vec4 = v4;
          const d = pack(rt, src, start, N, G, Cg, S, 'test');
          expect(Array.from(await gpu.read(d)), `N${N} G${G} Cg${Cg} S${S} start ${start} vec4 ${v4}`).toEqual(Array.from(want));
          rt.free(d);
        }
        gpu.free(src);
      }
    } finally {
      packTuning.vec4 = true;
    }
  });

  it('sg forward rows (n, oh, ow) with vec4 stores and (oh, ow, n) with scalar stores agree with cpu', async () => {
    convTuning.variant = 'sg';
    const shapes = [
      conv(3, 3, 16, 16, 16, 3, 3, [1, 1], [1, 1]), // a stem: 768 rows, partial last column tile
      conv(2, 5, 6, 10, 9, 3, 3, [1, 1], [1, 1]), // OH*OW = 60 (rows of 4 cross image rows), 9 channels
      conv(5, 4, 4, 4, 8, 1, 1, [1, 1], [0, 0], [1, 1], 2), // 1x1 grouped, 80 rows: a partial row tile
      conv(2, 6, 9, 8, 12, 3, 3, [2, 2], [1, 1]), // stride 2: 5x4 output
    ];
    for (const rm of [true, false]) {
      convTuning.rowMajor = rm;
      for (const p of shapes) await check(p);
      for (const tile of [{ TM: 16, TN: 2 }, { TM: 32, TN: 4 }]) {
        convTuning.tile = tile;
        await check(shapes[0]!);
      }
      convTuning.tile = null;
    }
    // batch chunks (windows at multiples of 4 elements) and output-channel chunks
    convTuning.rowMajor = true;
    convTuning.bindingLimitBytes = 4096;
    await check(conv(5, 8, 4, 4, 40, 3, 3, [1, 1], [1, 1]));
  });

  it('weight gradient skips taps that never touch the input (1x1 and 2x2 maps, stride 2, padding 1)', async () => {
    expect(liveTaps(3, 1, 1, 1, 1, 1)).toEqual([1, 2]); // 3x3 p1 on a 1x1 map: the centre tap only
    expect(liveTaps(3, 2, 1, 1, 1, 2)).toEqual([1, 3]); // 2x2 map, stride 2, p1: OH = 1
    expect(liveTaps(3, 1, 1, 1, 2, 2)).toEqual([0, 3]); // 2x2 map, stride 1: all taps live
    expect(liveTaps(5, 1, 2, 1, 1, 1)).toEqual([2, 3]);
    expect(liveTaps(5, 1, 4, 1, 5, 1)).toEqual([0, 5]); // padding 4 on a 1x1 map: every tap sees the pixel once
    const shapes = [
      conv(3, 8, 1, 1, 12, 3, 3, [1, 1], [1, 1]), // 1x1 map: 8 of 9 taps dead
      conv(2, 12, 2, 2, 8, 3, 3, [2, 2], [1, 1]), // 2x2 map, stride 2: 5 of 9 dead
      conv(2, 6, 1, 2, 5, 3, 3, [2, 2], [1, 1]), // 1x2 map, stride 2
      conv(2, 4, 1, 1, 4, 5, 5, [1, 1], [2, 2]), // 5x5 p2 on 1x1: 24 of 25 dead
      conv(2, 4, 2, 2, 8, 5, 5, [1, 1], [3, 3]), // padding 3: dead taps on both sides
      conv(2, 4, 1, 1, 8, 3, 3, [1, 1], [1, 1], [1, 1], 2), // groups on a 1x1 map
    ];
    for (const variant of ['sg', 'tiled'] as const) {
      convTuning.variant = variant;
      for (const skip of [true, false]) {
        convTuning.skipDeadTaps = skip;
        for (const p of shapes) await check(p);
      }
    }
    convTuning.variant = 'sg';
    convTuning.skipDeadTaps = true;
    for (const splits of [1, 3]) {
      convTuning.splits = splits;
      for (const p of shapes.slice(0, 3)) await check(p);
    }
    // batch chunks accumulate into the zero-filled gradient
    convTuning.splits = 0;
    convTuning.bindingLimitBytes = 1024;
    await check(conv(60, 1, 1, 1, 8, 3, 3, [1, 1], [1, 1]));
  });

  it('picks the sg kernels on a software adapter with fixed-size subgroups', () => {
    const rt = webgpuRuntime();
    if (rt.report.isSoftware && rt.report.features.includes('subgroups')) expect(convVariant(rt)).toBe('sg');
    else expect(['sg', 'tiled']).toContain(convVariant(rt));
  });

  it('sg GEMMs with 8 subgroups per workgroup, with 1, and with the automatic choice agree with cpu', async () => {
    // sgGroups: halve the subgroups per workgroup until the dispatch has minWorkgroups workgroups
    expect(sgGroups(1000)).toBe(8);
    expect(sgGroups(128)).toBe(8); // 16 workgroups of 8
    expect(sgGroups(127)).toBe(8); // ceil(127 / 8) = 16
    expect(sgGroups(120)).toBe(4);
    expect(sgGroups(32)).toBe(2);
    expect(sgGroups(8)).toBe(1);
    convTuning.variant = 'sg';
    const shapes = [awkward[2]!, awkward[5]!, awkward[9]!, conv(5, 8, 6, 6, 40, 3, 3, [1, 1], [1, 1])];
    for (const mw of [0, 1000, 16]) {
      convTuning.minWorkgroups = mw;
      expect(sgGroups(40)).toBe(mw === 0 ? 8 : mw === 1000 ? 1 : 2);
      for (const p of shapes) await check(p);
    }
  });

  it('sg variant agrees with cpu on the awkward shapes', async () => {
    convTuning.variant = 'sg';
    for (const p of awkward) await check(p);
  });

  it('sg variant with packed and with unpacked weights, without bias', async () => {
    convTuning.variant = 'sg';
    for (const pack of [true, false]) {
      convTuning.packWeights = pack;
      for (const p of [awkward[0]!, awkward[4]!, awkward[9]!]) await check(p, false);
    }
  });

  it('sg and tiled variants agree with cpu on random shapes', async () => {
    for (let t = 0; t < 4; t++) {
      const groups = [1, 1, 2, 3][irand(0, 3)]!;
      const KH = irand(1, 3), KW = irand(1, 3);
      const dl: [number, number] = [irand(1, 2), irand(1, 2)];
      const H = irand(dl[0] * (KH - 1) + 1, 9), W = irand(dl[1] * (KW - 1) + 1, 9);
      const p = conv(irand(1, 4), groups * irand(1, 6), H, W, groups * irand(1, 9), KH, KW, [irand(1, 2), irand(1, 2)], [irand(0, KH - 1), irand(0, KW - 1)], dl, groups);
      const d = data(p);
      for (const v of ['sg', 'tiled'] as const) {
        convTuning.variant = v;
        await check(p, t % 2 === 0, d);
      }
    }
  });

  it('tiled variant agrees with cpu on the awkward shapes (with split-K)', async () => {
    convTuning.variant = 'tiled';
    for (const p of awkward) await check(p);
    convTuning.splits = 3;
    for (const p of [awkward[1]!, awkward[2]!, awkward[9]!]) await check(p);
  });

  it('sg weight gradient of layers with <= 4 input channels: im2col + matmul (conv_im2col.ts), pixel lanes (conv_px.ts) and the general kernel', async () => {
    convTuning.variant = 'sg';
    const shapes = [
      conv(1, 3, 7, 5, 5, 3, 3, [1, 1], [1, 1]), // 5 output channels (block of 8, 3 padded)
      conv(8, 3, 48, 48, 16, 3, 3, [1, 1], [1, 1]), // the width-1/4 stem at batch 8: 2 blocks, 64 splits
      conv(2, 1, 9, 9, 20, 3, 3, [2, 2], [2, 2]), // 3 blocks of 8 channels (the last 4 wide), stride 2, padding 2
      conv(2, 3, 9, 9, 4, 5, 5, [1, 1], [2, 2]), // 5x5: more taps than the pixel kernel unrolls (general kernel)
      conv(3, 4, 8, 8, 33, 3, 3, [1, 1], [1, 1], [2, 2]), // dilation 2, 3 blocks
      conv(2, 2, 6, 7, 3, 1, 1), // 1x1 kernel
    ];
    expect(shapes.map((p) => pxApplies(p))).toEqual([true, true, true, false, true, true]);
    const rt = webgpuRuntime();
    expect(shapes.map((p) => im2colApplies(rt, p))).toEqual([true, true, true, false, true, true]);
    try {
      for (const p of shapes) {
        const d = data(p);
        for (const [im2col, px] of [[true, true], [false, true], [false, false]] as const) {
          im2colTuning.enabled = im2col ? 'auto' : false;
          convTuning.pixelLanes = px;
          await check(p, true, d);
        }
      }
    } finally {
      im2colTuning.enabled = 'auto';
    }
  });

  it('repeated sg forwards reuse a packed copy of unchanged weights; a write to the weights drops it', async () => {
    convTuning.variant = 'sg';
    const rt = webgpuRuntime();
    const gpu = getBackend('webgpu'), cpu = getBackend('cpu');
    const p = conv(1, 24, 3, 3, 40, 3, 3, [1, 1], [1, 1]); // batch 1: one row tile, unpacked unless cached
    const d = data(p);
    const forward = async (be: Backend, w: Storage, x: Storage, b: Storage): Promise<Float32Array> => {
      const out = be.alloc('float32', d.gy.length);
      be.conv2d(x, w, b, out, p);
      const r = (await be.read(out)) as Float32Array;
      be.free(out);
      return r;
    };
    const cx = cpu.upload(d.x, 'float32'), cw = cpu.upload(d.w, 'float32'), cb = cpu.upload(d.b, 'float32');
    const gx = gpu.upload(d.x, 'float32'), gw = gpu.upload(d.w, 'float32'), gb = gpu.upload(d.b, 'float32');
    const ref = await forward(cpu, cw, cx, cb);
    const live0 = rt.liveBytes;
    const copy = () => [...((gw as GpuStorage).derived?.values() ?? [])].find((e) => e.copy)?.copy ?? null;
    close('1st call', ref, await forward(gpu, gw, gx, gb));
    expect(copy()).toBeNull();
    close('2nd call (packs and keeps a copy)', ref, await forward(gpu, gw, gx, gb));
    const kept = copy();
    expect(kept).not.toBeNull();
    expect(rt.liveBytes - live0).toBe(kept!.buffer.size);
    close('3rd call (the cached copy)', ref, await forward(gpu, gw, gx, gb));
    expect(copy()).toBe(kept);
    // any dispatch that binds the weights writable (here fill, as load_state_dict or an optimizer step would) drops the copy
    gpu.fill(gw, 0.25);
    cpu.fill(cw, 0.25);
    expect((gw as GpuStorage).derived).toBeNull();
    expect(rt.liveBytes).toBe(live0);
    const ref2 = await forward(cpu, cw, cx, cb);
    close('after the write', ref2, await forward(gpu, gw, gx, gb));
    close('after the write, 2nd call', ref2, await forward(gpu, gw, gx, gb));
    expect(copy()).not.toBeNull();
    gpu.free(gw); // freeing the weights frees the copy
    expect(rt.liveBytes).toBe(live0 - (gw as GpuStorage).buffer.size);
    for (const s of [gx, gb]) gpu.free(s);
    // the knob turns it off
    convTuning.cacheWeights = false;
    const gw2 = gpu.upload(d.w, 'float32'), gx2 = gpu.upload(d.x, 'float32'), gb2 = gpu.upload(d.b, 'float32');
    for (let i = 0; i < 3; i++) close(`uncached call ${i}`, ref, await forward(gpu, gw2, gx2, gb2));
    expect((gw2 as GpuStorage).derived).toBeNull();
    for (const s of [gw2, gx2, gb2]) gpu.free(s);
  });

  it('a conv whose only live tap is its own pixel runs, in repeated inference, as the 1x1 conv of a cached tap slice', async () => {
    convTuning.variant = 'sg';
    const gpu = getBackend('webgpu'), cpu = getBackend('cpu');
    const lim = webgpuRuntime().limits as { maxStorageBufferBindingSize: number };
    const saved = lim.maxStorageBufferBindingSize;
    // 3x3 pad 1 on 1x1 maps (the centre tap), dilation 2 with pad 2 (again the centre), and a
    // 1x3 kernel on 5x1 maps (columns: the middle tap) with stride 2 rows; batch 6 = 6+ rows: the GEMM
    const cases = [conv(6, 20, 1, 1, 12, 3, 3, [1, 1], [1, 1]), conv(6, 9, 1, 1, 7, 3, 3, [1, 1], [2, 2], [2, 2]), conv(3, 8, 5, 1, 10, 1, 3, [2, 1], [0, 1])];
    try {
      for (const small of [false, true]) {
        // a binding limit of 4 KiB: the slice is cut in windows of whole weight rows
        lim.maxStorageBufferBindingSize = small ? 4096 : saved;
        for (const p of cases) {
          const d = data(p);
          const cx = cpu.upload(d.x, 'float32'), cw = cpu.upload(d.w, 'float32'), cb = cpu.upload(d.b, 'float32');
          const gx = gpu.upload(d.x, 'float32'), gw = gpu.upload(d.w, 'float32'), gb = gpu.upload(d.b, 'float32');
          const cout = cpu.alloc('float32', d.gy.length), gout = gpu.alloc('float32', d.gy.length);
          cpu.conv2d(cx, cw, cb, cout, p);
          const ref = (await cpu.read(cout)) as Float32Array;
          for (let call = 1; call <= 3; call++) {
            gpu.conv2d(gx, gw, gb, gout, p);
            close(`${name(p)} call ${call}${small ? ' (small binding limit)' : ''}`, ref, (await gpu.read(gout)) as Float32Array);
          }
          const sliced = [...((gw as GpuStorage).derived?.keys() ?? [])].some((k) => k.startsWith('conv tap slice'));
          expect(sliced, `${name(p)}: a tap slice is cached`).toBe(true);
          // the inference epilogue (batch_norm, residual, relu) on the sliced path
          const C = p.C_out;
          const vec = (f: (i: number) => number) => Float32Array.from({ length: C }, (_, i) => f(i));
          const bnHost = [vec((i) => 0.5 + i / C), vec((i) => i / C - 0.3), vec((i) => 0.1 * i), vec((i) => 1 + i / C)];
          const res = rand(d.gy.length);
          const bnC = bnHost.map((a) => cpu.upload(a, 'float32')), bnG = bnHost.map((a) => gpu.upload(a, 'float32'));
          const rc = cpu.upload(res, 'float32'), rg = gpu.upload(res, 'float32');
          cpu.conv2dBatchNormEval(cx, cw, cb, bnC[0]!, bnC[1]!, bnC[2]!, bnC[3]!, cout, p, { eps: 1e-5, relu: true, residual: rc });
          const refE = (await cpu.read(cout)) as Float32Array;
          for (let call = 1; call <= 3; call++) {
            gpu.conv2dBatchNormEval(gx, gw, gb, bnG[0]!, bnG[1]!, bnG[2]!, bnG[3]!, gout, p, { eps: 1e-5, relu: true, residual: rg });
            close(`${name(p)} conv + batch_norm + residual + relu, call ${call}`, refE, (await gpu.read(gout)) as Float32Array);
          }
          for (const st of [...bnG, rg]) gpu.free(st);
          // new weights: the slice goes with the old ones (the elementwise copy needs a real binding limit)
          lim.maxStorageBufferBindingSize = saved;
          const w2 = d.w.map((v) => v * -0.5);
          const gw2 = gpu.upload(w2, 'float32'), cw2 = cpu.upload(w2, 'float32');
          gpu.copy(gw2, { shape: [w2.length], strides: [1], offset: 0 }, gw, { shape: [w2.length], strides: [1], offset: 0 });
          cpu.conv2d(cx, cw2, cb, cout, p);
          gpu.conv2d(gx, gw, gb, gout, p);
          close(`${name(p)} after a write to the weights`, (await cpu.read(cout)) as Float32Array, (await gpu.read(gout)) as Float32Array);
          for (const st of [gx, gw, gb, gout, gw2]) gpu.free(st);
          lim.maxStorageBufferBindingSize = small ? 4096 : saved;
        }
      }
    } finally {
      lim.maxStorageBufferBindingSize = saved;
    }
  });

  it('forwards of <= 4 output pixels with cached weights (the GEMV kernel) agree with cpu', async () => {
    convTuning.variant = 'sg';
    const gpu = getBackend('webgpu'), cpu = getBackend('cpu');
    const shapes = [
      conv(1, 24, 1, 1, 40, 3, 3, [1, 1], [1, 1]), // batch-1 1x1 map: only the centre tap
      conv(1, 17, 2, 2, 9, 3, 3, [1, 1], [1, 1]), // 4 rows, 5 channel quads (not a multiple of 8)
      conv(2, 8, 1, 1, 20, 3, 3, [1, 1], [1, 1]), // 2 rows from 2 samples
      conv(1, 64, 4, 4, 33, 3, 3, [2, 2], [1, 1]), // 4x4 -> 2x2 stride 2
      conv(4, 3, 1, 1, 5, 1, 1), // 1x1 kernel, 4 samples, 5 channels
      conv(1, 70, 3, 3, 16, 3, 3, [2, 2], [1, 1], [2, 2]), // dilation 2 -> one output pixel
      conv(1, 8, 1, 3, 12, 3, 3, [1, 1], [1, 1]), // 1x3 map: live taps are the middle row only
      conv(2, 5, 2, 3, 7, 2, 2, [1, 1], [0, 0]), // 2x2 kernel, 4 rows, 7 output channels (a tile of 8)
      conv(1, 36, 4, 4, 10, 3, 3, [1, 1], [1, 1]), // 16 rows: the GEMM on cached weights
      conv(3, 12, 2, 2, 9, 3, 3, [1, 1], [1, 1]), // 12 rows: the GEMM on cached weights
    ];
    expect(shapes.map((p) => gemvApplies(p))).toEqual([true, true, true, true, true, true, true, true, false, false]);
    for (const p of shapes) {
      for (const withBias of [true, false]) {
        const d = data(p);
        const cx = cpu.upload(d.x, 'float32'), cw = cpu.upload(d.w, 'float32'), cb = cpu.upload(d.b, 'float32');
        const cout = cpu.alloc('float32', d.gy.length);
        cpu.conv2d(cx, cw, withBias ? cb : null, cout, p);
        const ref = (await cpu.read(cout)) as Float32Array;
        const gx = gpu.upload(d.x, 'float32'), gw = gpu.upload(d.w, 'float32'), gb = gpu.upload(d.b, 'float32');
        for (let call = 0; call < 3; call++) {
          const out = gpu.alloc('float32', d.gy.length);
          gpu.conv2d(gx, gw, withBias ? gb : null, out, p);
          close(`${name(p)} call ${call + 1}${withBias ? '' : ' (no bias)'}`, ref, (await gpu.read(out)) as Float32Array);
          gpu.free(out);
        }
        for (const st of [gx, gw, gb]) gpu.free(st);
      }
    }
  });

  it('GEMV weights larger than one binding are packed in chunks of output channels (forced small limit)', async () => {
    convTuning.variant = 'sg';
    const lim = webgpuRuntime().limits as { maxStorageBufferBindingSize: number };
    const saved = lim.maxStorageBufferBindingSize;
    const p = conv(1, 24, 1, 1, 40, 3, 3, [1, 1], [1, 1]); // 34,560 bytes of weights, 1 of 9 taps live
    const d = data(p);
    const cpu = getBackend('cpu'), gpu = getBackend('webgpu');
    const cout = cpu.alloc('float32', d.gy.length);
    cpu.conv2d(cpu.upload(d.x, 'float32'), cpu.upload(d.w, 'float32'), cpu.upload(d.b, 'float32'), cout, p);
    const ref = (await cpu.read(cout)) as Float32Array;
    lim.maxStorageBufferBindingSize = 8192; // one tile of 8 channels (6,912 bytes) per packing dispatch
    try {
      const gx = gpu.upload(d.x, 'float32'), gw = gpu.upload(d.w, 'float32'), gb = gpu.upload(d.b, 'float32');
      for (let call = 0; call < 3; call++) {
        const out = gpu.alloc('float32', d.gy.length);
        gpu.conv2d(gx, gw, gb, out, p);
        close(`call ${call + 1}`, ref, (await gpu.read(out)) as Float32Array);
        gpu.free(out);
      }
      expect([...((gw as GpuStorage).derived?.keys() ?? [])].some((k) => k.startsWith('conv_sg_gemv'))).toBe(true);
      for (const st of [gx, gw, gb]) gpu.free(st);
    } finally {
      lim.maxStorageBufferBindingSize = saved;
    }
  });

  it('sg register tiles: 32x4 and 16x4 (many rows, >= 32 columns), 16x2, 16x1, agree with cpu', async () => {
    convTuning.variant = 'sg';
    // auto picks 32x4 here (2048 rows, 40 output / 36 input channels: a partial second column tile)
    const big = conv(8, 36, 16, 16, 40, 3, 3, [1, 1], [1, 1]);
    const d = data(big);
    await check(big, true, d);
    for (const tile of [{ TM: 16, TN: 4 }, { TM: 16, TN: 2 }, { TM: 16, TN: 1 }]) {
      convTuning.tile = tile;
      await check(conv(2, 36, 8, 8, 40, 3, 3, [1, 1], [1, 1]), true);
    }
  });

  it('sg weight gradient tiles of 64 shared channels (two cooperative loads per step), 48, and the automatic 64 from 128 channels', async () => {
    convTuning.variant = 'sg';
    // automatic: 130 output channels shared (lanes over input quads): 64 per tile, a partial third tile
    await check(conv(2, 36, 6, 6, 130, 3, 3, [1, 1], [1, 1]));
    for (const TM of [64, 48]) {
      convTuning.bwdwTM = TM;
      // lanes over input channels (shared = 70 output channels: a partial second tile), roles
      // swapped (3 input channels shared), stride 2 with dead taps, and split reductions
      for (const p of [awkward[9]!, conv(2, 3, 9, 9, 40, 3, 3, [1, 1], [1, 1]), conv(5, 20, 2, 2, 72, 3, 3, [2, 2], [1, 1])]) await check(p);
      convTuning.splits = 3;
      await check(awkward[9]!);
      convTuning.splits = 0;
    }
  });

  it('p.reuse: the weight gradient takes the packs the forward and the input gradient kept, and repacks after a write', async () => {
    convTuning.variant = 'sg';
    const gpu = getBackend('webgpu'), cpu = getBackend('cpu');
    const rt = webgpuRuntime();
    const p = { ...conv(4, 12, 6, 6, 20, 3, 3, [1, 1], [1, 1]), reuse: true };
    const d = data(p);
    const run = async (mutate: boolean) => {
      const x = gpu.upload(d.x, 'float32'), w = gpu.upload(d.w, 'float32'), gy = gpu.upload(d.gy, 'float32');
      const out = gpu.alloc('float32', d.gy.length), gx = gpu.alloc('float32', d.x.length), gw = gpu.alloc('float32', d.w.length);
      gpu.conv2d(x, w, null, out, p);
      gpu.conv2dBackwardInput(gy, w, gx, p);
      if (mutate) gpu.fill(x, 0.5); // a write between forward and weight gradient: the kept pack is stale
      const before = rt.dispatchCount;
      gpu.conv2dBackwardWeight(gy, x, gw, p);
      const dispatches = rt.dispatchCount - before;
      const got = (await gpu.read(gw)) as Float32Array;
      for (const s of [x, w, gy, out, gx, gw]) gpu.free(s);
      return { dispatches, got };
    };
    const plain = await run(false);
    const cx = cpu.upload(d.x, 'float32'), cgy = cpu.upload(d.gy, 'float32'), cgw = cpu.alloc('float32', d.w.length);
    cpu.conv2dBackwardWeight(cgy, cx, cgw, p);
    close('reused packs, weight gradient', (await cpu.read(cgw)) as Float32Array, plain.got);
    const mutated = await run(true);
    cpu.fill(cx, 0.5);
    cpu.conv2dBackwardWeight(cgy, cx, cgw, p);
    close('after a write to x, weight gradient', (await cpu.read(cgw)) as Float32Array, mutated.got);
    // the stale x pack is redone: one more dispatch than with both packs reused
    expect(mutated.dispatches).toBe(plain.dispatches + 1);
    // the im2col weight gradient (<= 4 input channels) takes the forward's pack of x as well
    const p3 = { ...conv(3, 3, 9, 9, 16, 3, 3, [1, 1], [1, 1]), reuse: true };
    expect(im2colApplies(rt, p3)).toBe(true);
    const d3 = data(p3);
    const im2colRun = async (hint: boolean) => {
      const q3 = { ...p3, reuse: hint };
      const x = gpu.upload(d3.x, 'float32'), w = gpu.upload(d3.w, 'float32'), gy = gpu.upload(d3.gy, 'float32');
      const out = gpu.alloc('float32', d3.gy.length), gw = gpu.alloc('float32', d3.w.length);
      gpu.conv2d(x, w, null, out, q3);
      const before = rt.dispatchCount;
      gpu.conv2dBackwardWeight(gy, x, gw, q3);
      const n = rt.dispatchCount - before;
      expect((x as GpuStorage).derived?.size ?? 0).toBe(0);
      const got = (await gpu.read(gw)) as Float32Array;
      for (const st of [x, w, gy, out, gw]) gpu.free(st);
      return { n, got };
    };
    const withHint = await im2colRun(true), without = await im2colRun(false);
    expect(withHint.n).toBe(without.n - 1);
    const c3x = cpu.upload(d3.x, 'float32'), c3gy = cpu.upload(d3.gy, 'float32'), c3gw = cpu.alloc('float32', d3.w.length);
    cpu.conv2dBackwardWeight(c3gy, c3x, c3gw, p3);
    close('im2col weight gradient from the kept pack', (await cpu.read(c3gw)) as Float32Array, withHint.got);
    // without the hint every call packs its own operands
    const q = { ...p, reuse: false };
    const x = gpu.upload(d.x, 'float32'), gy = gpu.upload(d.gy, 'float32'), gw = gpu.alloc('float32', d.w.length);
    const before = rt.dispatchCount;
    gpu.conv2dBackwardWeight(gy, x, gw, q);
    expect(rt.dispatchCount - before).toBe(plain.dispatches + 2);
    for (const s of [x, gy, gw]) gpu.free(s);
  });

  it('p.reuse: two convs on one input (a block\'s conv1 and shortcut) share one pack of it, freed after the last weight gradient', async () => {
    convTuning.variant = 'sg';
    const gpu = getBackend('webgpu'), cpu = getBackend('cpu');
    const rt = webgpuRuntime();
    const p1 = { ...conv(4, 12, 6, 6, 20, 3, 3, [2, 2], [1, 1]), reuse: true };
    const p2 = { ...conv(4, 12, 6, 6, 20, 1, 1, [2, 2], [0, 0]), reuse: true };
    const d1 = data(p1), d2 = data(p2);
    const x = gpu.upload(d1.x, 'float32');
    const live0 = rt.liveBytes;
    const w1 = gpu.upload(d1.w, 'float32'), w2 = gpu.upload(d2.w, 'float32');
    const o1 = gpu.alloc('float32', d1.gy.length), o2 = gpu.alloc('float32', d2.gy.length);
    gpu.conv2d(x, w1, null, o1, p1);
    const before = rt.dispatchCount;
    gpu.conv2d(x, w2, null, o2, p2);
    const second = rt.dispatchCount - before; // the GEMM (and its weight pack), not the input pack
    const gy1 = gpu.upload(d1.gy, 'float32'), gy2 = gpu.upload(d2.gy, 'float32');
    const g1 = gpu.alloc('float32', d1.w.length), g2 = gpu.alloc('float32', d2.w.length);
    gpu.conv2dBackwardWeight(gy2, x, g2, p2);
    const kept = [...((x as GpuStorage).derived?.values() ?? [])].filter((e) => e.copy).length;
    expect(kept, 'the pack stays for the second weight gradient').toBe(1);
    gpu.conv2dBackwardWeight(gy1, x, g1, p1);
    expect((x as GpuStorage).derived?.size ?? 0, 'freed after the last').toBe(0);
    const cx = cpu.upload(d1.x, 'float32');
    for (const [p, d, g] of [[p1, d1, g1], [p2, d2, g2]] as const) {
      const cgy = cpu.upload(d.gy, 'float32'), cg = cpu.alloc('float32', d.w.length);
      cpu.conv2dBackwardWeight(cgy, cx, cg, p);
      close(`${name(p)} weight gradient from the shared pack`, (await cpu.read(cg)) as Float32Array, (await gpu.read(g)) as Float32Array);
    }
    for (const st of [w1, w2, o1, o2, gy1, gy2, g1, g2]) gpu.free(st);
    expect(rt.liveBytes).toBe(live0);
    // without a shared pack the second forward packs its input: one dispatch more
    const x2 = gpu.upload(d1.x, 'float32'), w3 = gpu.upload(d2.w, 'float32'), o3 = gpu.alloc('float32', d2.gy.length);
    const b2 = rt.dispatchCount;
    gpu.conv2d(x2, w3, null, o3, { ...p2, reuse: false });
    expect(rt.dispatchCount - b2).toBe(second + 1);
    for (const st of [x, x2, w3, o3]) gpu.free(st);
  });

  it('sg weight gradient with split reductions', async () => {
    convTuning.variant = 'sg';
    for (const splits of [2, 5]) {
      convTuning.splits = splits;
      for (const p of [awkward[0]!, awkward[3]!, awkward[7]!, conv(3, 2, 16, 16, 3, 3, 3, [1, 1], [1, 1])]) await check(p);
    }
  });

  it('chunks activations and weights above the binding limit (forced small limit), both variants', async () => {
    // 4 KiB windows: a few samples per batch chunk, a few output channels per weight chunk, so
    // the forward runs chunk x chunk, the input gradient accumulates over output-channel chunks,
    // the weight gradient over batch chunks, and grouped convs take chunks of whole groups
    const cases: [number, Conv2dParams][] = [
      [4096, conv(5, 8, 6, 6, 24, 3, 3, [1, 1], [1, 1])], // 1 sample per chunk, 2 weight chunks
      [4096, conv(4, 24, 5, 5, 32, 3, 3, [2, 2], [1, 1], [1, 1], 4)], // one group per chunk
      [8192, conv(3, 40, 4, 4, 20, 3, 3, [1, 1], [1, 1])], // 4-channel weight chunks (C_in*9 = 360 floats each)
    ];
    for (const v of ['sg', 'tiled'] as const) {
      convTuning.variant = v;
      // (the tiled variant shares its chunk planner with sg: two cases keep the compile time down)
      for (const [limit, p] of v === 'sg' ? cases : cases.slice(0, 2)) {
        convTuning.bindingLimitBytes = limit;
        await check(p);
      }
    }
  });

  it('a conv whose channels-last packing runs over 65,535 workgroups (2-d grid)', async () => {
    // x 16 x 64 x 128 x 128 = 16.8M values = 4.19M vec4 = 65536 workgroups of 64 in conv_pack;
    // 1x1 conv to 8 channels keeps the CPU reference cheap
    const p = conv(16, 64, 128, 128, 8, 1, 1);
    expect((p.N * p.H * p.W * p.C_in) / 4 / 64).toBeGreaterThan(webgpuRuntime().limits.maxComputeWorkgroupsPerDimension);
    convTuning.variant = 'sg';
    const d = data(p);
    const cpu = getBackend('cpu'), gpu = getBackend('webgpu');
    const fwd = async (be: Backend) => {
      const x = be.upload(d.x, 'float32'), w = be.upload(d.w, 'float32'), out = be.alloc('float32', d.gy.length);
      const gy = be.upload(d.gy, 'float32'), gw = be.alloc('float32', d.w.length);
      be.conv2d(x, w, null, out, p);
      be.conv2dBackwardWeight(gy, x, gw, p);
      const r = [await be.read(out), await be.read(gw)];
      for (const s of [x, w, out, gy, gw]) be.free(s);
      return r;
    };
    const [ref, got] = [await fwd(cpu), await fwd(gpu)];
    close(`${name(p)} forward`, ref[0]!, got[0]!);
    close(`${name(p)} weight gradient`, ref[1]!, got[1]!);
  });

  it('2048x2048x3x3 weight (151 MB, over the 128 MiB binding limit) on a 1x1 map, batch 2', async () => {
    // conv2 of ResEmoteNet's last residual block; the weight is split into output-channel
    // chunks for the forward and the weight gradient and accumulated over chunks for the input
    // gradient. Full comparison with the CPU reference (only the centre tap touches the image).
    const rt = webgpuRuntime();
    const p = conv(2, 2048, 1, 1, 2048, 3, 3, [1, 1], [1, 1]);
    const wBytes = p.C_out * p.C_in * 9 * 4;
    expect(wBytes).toBeGreaterThan(rt.limits.maxStorageBufferBindingSize);
    await check(p, true, { x: rand(2 * 2048), w: rand(2048 * 2048 * 9, 0.05), b: rand(2048), gy: rand(2 * 2048) });
  });

  it('PyTorch fixtures through the front end (conv2d + autograd on webgpu tensors)', async () => {
    interface Fix {
      shape: number[];
      data: (number | string)[];
    }
    const F = JSON.parse(readFileSync(new URL('../fixtures/conv_pool.json', import.meta.url), 'utf8')) as {
      cases: { conv2d: { name: string; x: Fix; weight: Fix; bias: Fix | null; opts: object; out: Fix; gout: Fix; grads: Record<string, Fix> }[] };
    };
    const t = (f: Fix, requires_grad = false) => tensor(Float32Array.from(f.data.map(Number)), { shape: f.shape, dtype: 'float32', device: 'webgpu', requires_grad });
    const near = (what: string, got: ArrayLike<number>, f: Fix) => {
      const e = f.data.map(Number);
      expect(got.length, what).toBe(e.length);
      for (let i = 0; i < e.length; i++) if (!(Math.abs(got[i]! - e[i]!) <= 1e-5 * (1 + Math.abs(e[i]!)))) expect.fail(`${what}[${i}]: got ${got[i]}, torch ${e[i]}`);
    };
    expect(F.cases.conv2d.length).toBeGreaterThanOrEqual(6);
    for (const c of F.cases.conv2d) {
      const x = t(c.x, true), w = t(c.weight, true), b = c.bias ? t(c.bias, true) : null;
      const y = conv2d(x, w, b, c.opts);
      expect(y.device).toBe('webgpu');
      near(`${c.name} out`, await y.data(), c.out);
      y.backward(t(c.gout));
      near(`${c.name} grad x`, await x.grad!.data(), c.grads.x!);
      near(`${c.name} grad weight`, await w.grad!.data(), c.grads.weight!);
      if (b) near(`${c.name} grad bias`, await b.grad!.data(), c.grads.bias!);
    }
  });
});
