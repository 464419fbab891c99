/**
 * batch_norm_max_pool2d_relu (training batch_norm -> max_pool2d(2) -> relu as one op) against
 * the composition relu(max_pool2d(batch_norm(...), 2)) on the cpu reference: output, running
 * statistics and the gradients of x, weight and bias, on webgpu through the fused kernels
 * (software adapters) and through the separate passes (bnPoolTuning.fused = false), and on cpu
 * (whose backend composes its primitives: bit-identical there). Data are quantized to multiples
 * of 1/4 so that windows hold tied maxima (the first one wins, and gets the gradient) and relu
 * sees exact zeros.
 * Tolerances as tests/webgpu/batchnorm.test.ts: values 1e-4 relative + 1e-5, gradients 1e-3 + 1e-4.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { batch_norm, batch_norm_max_pool2d_relu, conv2d, conv2d_bn_eval, max_pool2d, no_grad, relu, tensor, type Tensor } from '../../src/index.js';
import { bnPoolTuning } from '../../src/kernels/webgpu/bn_pool.js';
import { gpuAvailable } from '../helpers/webgpu.js';
import { BatchNorm2d } from '../../src/nn/layers/batchnorm.js';
import { bn_max_pool2d_relu } from '../../src/nn/fusion.js';
import { closeTo } from '../helpers/close.js';

const hasGpu = await gpuAvailable();

let seed = 77;
function rnd(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed / 2 ** 32) * 2 - 1;
}
const quant = (n: number, scale = 2) => Float32Array.from({ length: n }, () => Math.round(rnd() * scale * 4) / 4);

interface Run {
  out: Float32Array;
  gx: Float32Array;
  gw: Float32Array | null;
  gb: Float32Array | null;
  rm: Float32Array | null;
  rv: Float32Array | null;
}

async function run(device: 'cpu' | 'webgpu', fused: boolean, shape: number[], d: { x: Float32Array; gy: Float32Array; w: Float32Array; b: Float32Array }, affine: boolean, running: boolean): Promise<Run> {
  const C = shape[1]!;
  const x = tensor(d.x, { shape, device }).requires_grad_(true);
  const w = affine ? tensor(d.w, { shape: [C], device }).requires_grad_(true) : null;
  const b = affine ? tensor(d.b, { shape: [C], device }).requires_grad_(true) : null;
  const rm = running ? tensor(new Float32Array(C).fill(0.5), { shape: [C], device }) : null;
  const rv = running ? tensor(new Float32Array(C).fill(2), { shape: [C], device }) : null;
  const y: Tensor = fused ? batch_norm_max_pool2d_relu(x, rm, rv, w, b, 0.3, 1e-5) : relu(max_pool2d(batch_norm(x, rm, rv, w, b, true, 0.3, 1e-5), 2));
  const gy = tensor(d.gy.subarray(0, y.numel()), { shape: [...y.shape], device });
  y.backward(gy);
  const read = async (t: Tensor | null | undefined) => (t ? Float32Array.from(await t.data()) : null);
  return { out: (await read(y))!, gx: (await read(x.grad))!, gw: await read(w?.grad), gb: await read(b?.grad), rm: await read(rm), rv: await read(rv) };
}

function near(got: Float32Array, ref: Float32Array, tol: { rtol: number; atol: number }, what: string): void {
  try {
    closeTo(got, ref, tol);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
}

function same(what: string, ref: Run, got: Run, vt: { rtol: number; atol: number }, gt: { rtol: number; atol: number }): void {
  near(got.out, ref.out, vt, `${what} output`);
  near(got.gx, ref.gx, gt, `${what} x gradient`);
  for (const k of ['gw', 'gb'] as const) {
    expect(got[k] === null, `${what} ${k}`).toBe(ref[k] === null);
    if (ref[k]) near(got[k]!, ref[k]!, gt, `${what} ${k}`);
  }
  for (const k of ['rm', 'rv'] as const) if (ref[k]) near(got[k]!, ref[k]!, vt, `${what} ${k}`);
}

const shapes: [number[], boolean, boolean][] = [
  [[2, 3, 4, 8], true, true], // W % 4 == 0: the fused kernels on webgpu
  [[3, 5, 6, 12], false, true], // no affine parameters; OH = 3 (odd), OW = 6: OHW % 4 != 0 -> separate passes
  [[4, 6, 8, 8], true, false], // no running statistics
  [[2, 4, 6, 6], true, true], // W % 4 != 0: separate passes on webgpu
  [[3, 2, 5, 8], true, true], // odd H: the composition (max_pool2d floors)
  [[16, 8, 24, 24], true, true], // several batch splits in the backward sums
];

describe('batch_norm_max_pool2d_relu', () => {
  it('on cpu is the composition, bit for bit', async () => {
    for (const [shape, affine, running] of shapes.slice(0, 5)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const d = { x: quant(n), gy: quant(n), w: quant(shape[1]!, 1), b: quant(shape[1]!, 1) };
      const ref = await run('cpu', false, shape, d, affine, running);
      const got = await run('cpu', true, shape, d, affine, running);
      same(`cpu ${shape}`, ref, got, { rtol: 0, atol: 0 }, { rtol: 0, atol: 0 });
    }
  });
});

describe('float64 on cpu', () => {
  it('the fused op and conv2d_bn_eval with max_pool keep float64 through their temporaries (equal to the composition, bit for bit)', async () => {
    const shape = [2, 3, 4, 8];
    const n = 2 * 3 * 4 * 8;
    const x = tensor(Float64Array.from({ length: n }, (_, i) => Math.sin(i * 1.37) * 3 + 1e-9 * i), { shape, dtype: 'float64' }).requires_grad_(true);
    const x2 = tensor(Float64Array.from(await x.data()), { shape, dtype: 'float64' }).requires_grad_(true);
    const y = batch_norm_max_pool2d_relu(x, null, null);
    const r = relu(max_pool2d(batch_norm(x2, null, null, null, null, true), 2));
    expect(y.dtype).toBe('float64');
    expect(Array.from(await y.data())).toEqual(Array.from(await r.data()));
    y.sum().backward();
    r.sum().backward();
    expect(Array.from(await x.grad!.data())).toEqual(Array.from(await x2.grad!.data()));
    // inference's fused conv -> batch_norm -> relu -> max_pool on the cpu reference
    const w = tensor(Float64Array.from({ length: 4 * 3 * 9 }, (_, i) => Math.cos(i) / 5), { shape: [4, 3, 3, 3], dtype: 'float64' });
    const rm = tensor(Float64Array.from([0.1, -0.2, 0.3, 0]), { dtype: 'float64' });
    const rv = tensor(Float64Array.from([1.5, 0.5, 2, 1]), { dtype: 'float64' });
    const fused = no_grad(() => conv2d_bn_eval(x2, w, null, rm, rv, null, null, { padding: [1, 1], relu: true, max_pool: true }));
    const plain = no_grad(() => max_pool2d(relu(batch_norm(conv2d(x2, w, null, { padding: 1 }), rm, rv, null, null, false)), 2));
    expect(fused.dtype).toBe('float64');
    expect(Array.from(await fused.data())).toEqual(Array.from(await plain.data()));
  });
});

describe('nn fusion bn_max_pool2d_relu', () => {
  it("keeps BatchNorm2d's bookkeeping (num_batches_tracked, momentum null, eval mode) and equals the module calls", async () => {
    for (const momentum of [0.1, null]) {
      const a = new BatchNorm2d(3, { momentum });
      const b = new BatchNorm2d(3, { momentum });
      for (const step of [0, 1, 2]) {
        if (step === 2) {
          a.eval();
          b.eval();
        }
        const z = tensor(quant(2 * 3 * 4 * 8), { shape: [2, 3, 4, 8] });
        const got = bn_max_pool2d_relu(a, z);
        const ref = relu(max_pool2d(b.call(z), 2));
        near(Float32Array.from(await got.data()), Float32Array.from(await ref.data()), { rtol: 0, atol: 0 }, `momentum ${momentum} step ${step} output`);
        for (const k of ['running_mean', 'running_var'] as const) {
          near(Float32Array.from(await a[k]!.data()), Float32Array.from(await b[k]!.data()), { rtol: 0, atol: 0 }, `momentum ${momentum} step ${step} ${k}`);
        }
        expect(await a.num_batches_tracked!.item()).toBe(await b.num_batches_tracked!.item());
      }
      expect(await a.num_batches_tracked!.item()).toBe(2);
    }
  });
});

describe.runIf(hasGpu)('batch_norm_max_pool2d_relu on webgpu', () => {
  afterEach(() => {
    bnPoolTuning.fused = true;
  });

  it('fused kernels and separate passes agree with the cpu composition (ties, exact zeros, no affine, no running stats)', async () => {
    for (const [shape, affine, running] of shapes) {
      const n = shape.reduce((a, b) => a * b, 1);
      // negative weights too: the maximum of the normalized window is then at the input's minimum
      const d = { x: quant(n), gy: quant(n), w: quant(shape[1]!, 1.5), b: quant(shape[1]!, 1) };
      const ref = await run('cpu', false, shape, d, affine, running);
      for (const fused of [true, false]) {
        bnPoolTuning.fused = fused;
        const got = await run('webgpu', true, shape, d, affine, running);
        same(`webgpu ${fused ? 'fused' : 'separate'} ${shape}`, ref, got, { rtol: 1e-4, atol: 1e-5 }, { rtol: 1e-3, atol: 1e-4 });
      }
    }
  });

  it('NaN in a window is selected and propagates through relu, as the composition', async () => {
    const shape = [2, 2, 4, 8];
    const n = 2 * 2 * 4 * 8;
    const d = { x: quant(n), gy: quant(n), w: quant(2, 1), b: quant(2, 1) };
    d.x[5] = NaN; // channel 0 of sample 0: its statistics are NaN, the whole channel is NaN
    const ref = await run('cpu', false, shape, d, true, true);
    const got = await run('webgpu', true, shape, d, true, true);
    same('webgpu NaN', ref, got, { rtol: 1e-4, atol: 1e-5 }, { rtol: 1e-3, atol: 1e-4 });
    expect(Number.isNaN(got.out[0]!)).toBe(true);
    expect(Number.isNaN(got.out[16]!)).toBe(true); // channel 0 of sample 1 (the same statistics)
    expect(Number.isNaN(got.out[8]!)).toBe(false); // channel 1 is untouched
  });
});
