/**
 * conv2d_bn_eval (inference's conv -> BatchNorm2d -> ReLU in one primitive) on WebGPU against the
 * CPU reference composition relu?(batch_norm(conv2d(x))) on the same data: through the sg GEMM
 * (the normalization in its store), the batch-1 GEMV (cached weights from the 2nd call), the
 * tiled kernels and the depthwise path (a separate batch_norm pass), binding-limit chunks; NaN
 * through relu; the coefficient cache seeing a write to the statistics; autograd falling back to
 * the differentiable composition; errors before any dispatch. And the ResEmoteNet eval forward,
 * which takes this path for all 12 of its conv + BatchNorm2d pairs, against the CPU model.
 *
 * Tolerance: |gpu - cpu| <= 1e-4 * max(1, max |cpu|), as tests/webgpu/conv.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { batch_norm, conv2d, conv2d_bn_eval, max_pool2d, nn, no_grad, relu, tensor, type Tensor } from '../../src/index.js';
import { conv_bn } from '../../src/nn/fusion.js';
import { convTuning } from '../../src/kernels/webgpu/conv.js';
import { manual_seed, randn, rand } from '../../src/tensor/index.js';
import { ResEmoteNet } from '../../src/resemotenet/model.js';
import { constant_, normal_, uniform_ } from '../../src/nn/init.js';
import { gpuAvailable } from '../helpers/webgpu.js';

const hasGpu = await gpuAvailable();

function close(what: string, ref: ArrayLike<number>, got: ArrayLike<number>, rel = 1e-4): void {
  expect(got.length, what).toBe(ref.length);
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) if (Number.isFinite(ref[i]!)) maxRef = Math.max(maxRef, Math.abs(ref[i]!));
  const tol = rel * Math.max(1, maxRef);
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!, g = got[i]!;
    if (Number.isNaN(r)) {
      expect(Number.isNaN(g), `${what}: element ${i} is NaN in the reference, got ${g}`).toBe(true);
      continue;
    }
    expect(Math.abs(r - g), `${what}: element ${i} ref ${r} got ${g} (tolerance ${tol})`).toBeLessThanOrEqual(tol);
  }
}

interface Case {
  N: number;
  C_in: number;
  H: number;
  W: number;
  C_out: number;
  k: number;
  stride?: number;
  padding?: number;
  groups?: number;
  bias?: boolean;
  affine?: boolean;
  relu?: boolean;
  pool?: boolean;
  residual?: boolean;
}

/** The case's tensors on cpu and webgpu (same values), the running_var positive. */
function make(c: Case) {
  const g = c.groups ?? 1;
  const x = randn([c.N, c.C_in, c.H, c.W]);
  const w = randn([c.C_out, c.C_in / g, c.k, c.k]).mul(0.3);
  const b = c.bias === false ? null : randn([c.C_out]);
  const rm = randn([c.C_out]);
  const rv = rand([c.C_out]).add(0.2);
  const bw = c.affine === false ? null : randn([c.C_out]);
  const bb = c.affine === false ? null : randn([c.C_out]);
  const OH = Math.floor((c.H + 2 * (c.padding ?? 0) - c.k) / (c.stride ?? 1)) + 1;
  const OW = Math.floor((c.W + 2 * (c.padding ?? 0) - c.k) / (c.stride ?? 1)) + 1;
  const res = c.residual ? randn([c.N, c.C_out, OH, OW]) : null;
  const on = (t: Tensor | null, d: 'cpu' | 'webgpu') => (t ? t.to(d) : null);
  return (d: 'cpu' | 'webgpu') => ({ x: on(x, d)!, w: on(w, d)!, b: on(b, d), rm: on(rm, d)!, rv: on(rv, d)!, bw: on(bw, d), bb: on(bb, d), res: on(res, d) });
}

const opts = (c: Case) => ({ stride: c.stride ?? 1, padding: c.padding ?? 0, groups: c.groups ?? 1, eps: 1e-3, relu: c.relu ?? true, max_pool: c.pool ?? false });

async function reference(c: Case, t: ReturnType<ReturnType<typeof make>>): Promise<Float32Array> {
  let y = batch_norm(conv2d(t.x, t.w, t.b, opts(c)), t.rm, t.rv, t.bw, t.bb, false, 0.1, 1e-3);
  if (t.res) y = y.add(t.res);
  const z = c.relu ?? true ? relu(y) : y;
  return (await (c.pool ? max_pool2d(z, 2) : z).data()) as Float32Array;
}

async function fused(c: Case, t: ReturnType<ReturnType<typeof make>>): Promise<Float32Array> {
  return (await conv2d_bn_eval(t.x, t.w, t.b, t.rm, t.rv, t.bw, t.bb, { ...opts(c), residual: t.res }).data()) as Float32Array;
}

const vals = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

const CASES: [string, Case][] = [
  ['GEMM, 3x3 pad 1, bias, relu', { N: 3, C_in: 5, H: 9, W: 7, C_out: 12, k: 3, padding: 1 }],
  ['GEMM, stride 2, no conv bias, no relu', { N: 2, C_in: 8, H: 10, W: 10, C_out: 20, k: 3, stride: 2, padding: 1, bias: false, relu: false }],
  ['GEMM, 1x1 stride 2 (a projection shortcut), no affine', { N: 4, C_in: 16, H: 6, W: 6, C_out: 36, k: 1, stride: 2, affine: false }],
  ['GEMM, 3 input channels on a large map (a stem: rows (n, oh, ow), vec4 stores)', { N: 2, C_in: 3, H: 32, W: 32, C_out: 16, k: 3, padding: 1 }],
  ['GEMM, odd map', { N: 2, C_in: 3, H: 13, W: 11, C_out: 10, k: 3, padding: 1 }],
  ['GEMM, groups 2', { N: 2, C_in: 8, H: 5, W: 5, C_out: 12, k: 3, padding: 1, groups: 2 }],
  ['batch 1, 2x2 map (the GEMV from the 2nd call)', { N: 1, C_in: 20, H: 2, W: 2, C_out: 24, k: 3, padding: 1 }],
  ['batch 1, 1x1 map', { N: 1, C_in: 12, H: 1, W: 1, C_out: 9, k: 3, padding: 1, relu: false }],
  ['then max_pool2d(2): a stem (rows in 2x2 windows, the max stored)', { N: 2, C_in: 3, H: 16, W: 12, C_out: 16, k: 3, padding: 1, pool: true }],
  ['then max_pool2d(2), no relu (negative values pooled), groups, partial tiles', { N: 3, C_in: 8, H: 6, W: 10, C_out: 12, k: 3, padding: 1, groups: 2, pool: true, relu: false }],
  ['then max_pool2d(2) of an odd output (the pool floors; a separate pass)', { N: 2, C_in: 4, H: 7, W: 9, C_out: 8, k: 3, padding: 1, pool: true }],
  ['batch 1, 2x2 map, then max_pool2d(2) (not the GEMV)', { N: 1, C_in: 20, H: 2, W: 2, C_out: 24, k: 3, padding: 1, pool: true }],
  ['+ residual, relu (a residual block\'s conv2)', { N: 3, C_in: 8, H: 5, W: 5, C_out: 12, k: 3, padding: 1, residual: true }],
  ['+ residual, no relu, rows (n, oh, ow) with vec4 stores', { N: 2, C_in: 3, H: 16, W: 16, C_out: 8, k: 3, padding: 1, residual: true, relu: false }],
  ['+ residual, batch 1, 2x2 map (the GEMV)', { N: 1, C_in: 20, H: 2, W: 2, C_out: 24, k: 3, padding: 1, residual: true }],
  ['+ residual, depthwise (separate passes)', { N: 2, C_in: 6, H: 8, W: 8, C_out: 6, k: 3, padding: 1, groups: 6, residual: true }],
  ['depthwise (a separate batch_norm pass)', { N: 2, C_in: 6, H: 8, W: 8, C_out: 6, k: 3, padding: 1, groups: 6 }],
];

describe.runIf(hasGpu)('conv2d_bn_eval on webgpu', () => {
  afterEach(() => {
    convTuning.variant = 'auto';
    convTuning.bindingLimitBytes = 0;
  });

  for (const variant of ['sg', 'tiled'] as const) {
    it.each(CASES)(`${variant}: %s`, async (_name, c) => {
      convTuning.variant = variant;
      manual_seed(7);
      const m = make(c);
      const ref = await reference(c, m('cpu'));
      const g = m('webgpu');
      // twice: the GEMV and the cached coefficients start from the 2nd call with unchanged weights
      close('1st call', ref, await fused(c, g));
      close('2nd call', ref, await fused(c, g));
      close('3rd call', ref, await fused(c, g));
    });
  }

  it('binding-limit chunks (batch and output channels)', async () => {
    convTuning.variant = 'sg';
    convTuning.bindingLimitBytes = 4096;
    const c: Case = { N: 5, C_in: 4, H: 4, W: 4, C_out: 40, k: 3, padding: 1 };
    manual_seed(8);
    const m = make(c);
    close('chunked', await reference(c, m('cpu')), await fused(c, m('webgpu')));
    close('chunked, pooled', await reference({ ...c, pool: true }, m('cpu')), await fused({ ...c, pool: true }, m('webgpu')));
  });

  it('NaN stays NaN through the relu; a write to running_var is seen (coefficient cache)', async () => {
    const c: Case = { N: 2, C_in: 4, H: 5, W: 5, C_out: 8, k: 3, padding: 1 };
    manual_seed(9);
    const m = make(c);
    const cpu = m('cpu');
    const gpu = m('webgpu');
    const xa = Float32Array.from(await cpu.x.data());
    xa[1 * 100 + 2 * 25 + 3 * 5 + 4] = NaN;
    cpu.x = tensor(xa).view(2, 4, 5, 5);
    gpu.x = cpu.x.to('webgpu');
    const ref = await reference(c, cpu);
    expect(ref.some((v) => Number.isNaN(v))).toBe(true);
    close('with NaN', ref, await fused(c, gpu));
    const cp: Case = { ...c, H: 6, W: 6, pool: true };
    const mp = make(cp);
    const [cpuP, gpuP] = [mp('cpu'), mp('webgpu')];
    const xp = Float32Array.from(await cpuP.x.data());
    xp[1 * 144 + 2 * 36 + 3 * 6 + 4] = NaN;
    cpuP.x = tensor(xp).view(2, 4, 6, 6);
    gpuP.x = cpuP.x.to('webgpu');
    const refP = await reference(cp, cpuP);
    expect(refP.some((v) => Number.isNaN(v))).toBe(true);
    close('with NaN, pooled', refP, await fused(cp, gpuP));
    close('with NaN, 2nd call', ref, await fused(c, gpu));
    for (const t of [cpu.rv, gpu.rv]) constant_(t, 3);
    for (const t of [cpu.bw!, gpu.bw!]) constant_(t, 0.5);
    close('after writing running_var and weight', await reference(c, cpu), await fused(c, gpu));
  });

  it('records the differentiable composition when autograd needs it (gradients as conv2d -> batch_norm -> relu)', async () => {
    const c: Case = { N: 2, C_in: 4, H: 6, W: 6, C_out: 8, k: 3, padding: 1 };
    manual_seed(10);
    const m = make(c)('webgpu');
    const grads = async (f: (x: Tensor, w: Tensor) => Tensor) => {
      const x = m.x.detach().requires_grad_();
      const w = m.w.detach().requires_grad_();
      const y = f(x, w);
      y.mul(y).sum().backward();
      return [await vals(y), await vals(x.grad!), await vals(w.grad!)];
    };
    const a = await grads((x, w) => conv2d_bn_eval(x, w, m.b, m.rm, m.rv, m.bw, m.bb, { ...opts(c), max_pool: true }));
    const b = await grads((x, w) => max_pool2d(relu(batch_norm(conv2d(x, w, m.b, opts(c)), m.rm, m.rv, m.bw, m.bb, false, 0.1, 1e-3)), 2));
    for (let i = 0; i < 3; i++) close(['y', 'grad x', 'grad w'][i]!, b[i]!, a[i]!, 1e-6);
    // a residual that requires grad: the composition, gradient 1 * relu' into it
    const r = randn([2, 8, 6, 6]).to('webgpu').requires_grad_();
    const y = conv2d_bn_eval(m.x, m.w, m.b, m.rm, m.rv, m.bw, m.bb, { ...opts(c), residual: r });
    y.sum().backward();
    const ref = await vals(relu(batch_norm(conv2d(m.x, m.w, m.b, opts(c)), m.rm, m.rv, m.bw, m.bb, false, 0.1, 1e-3).add(r.detach())));
    close('y with residual', ref, await vals(y), 1e-6);
    close('grad residual', ref.map((v) => (v > 0 ? 1 : 0)), await vals(r.grad!), 1e-6);
  });

  it('bad statistics or eps throw naming the op and the values, before any GPU work', () => {
    manual_seed(11);
    const m = make({ N: 1, C_in: 4, H: 4, W: 4, C_out: 8, k: 3 })('webgpu');
    const bad = randn([7]).to('webgpu');
    expect(() => conv2d_bn_eval(m.x, m.w, m.b, bad, m.rv)).toThrow(/running_mean should contain 8 elements.*\[7\]/);
    expect(() => conv2d_bn_eval(m.x, m.w, m.b, m.rm, m.rv, bad)).toThrow(/weight should contain 8/);
    expect(() => conv2d_bn_eval(m.x, m.w, m.b, m.rm, m.rv, null, null, { eps: -1 })).toThrow(/conv2d_bn_eval: eps must be a finite non-negative number, got -1/);
    expect(() => conv2d_bn_eval(m.x, m.w.slice(0, 0, 4), m.b, m.rm, m.rv)).toThrow(/conv2d_bn_eval/);
    const r = randn([1, 8, 2, 3]).to('webgpu');
    expect(() => conv2d_bn_eval(m.x, m.w, m.b, m.rm, m.rv, null, null, { residual: r })).toThrow(/residual must have the output's shape \[1, 8, 2, 2\], got \[1, 8, 2, 3\]/);
    const r2 = randn([1, 8, 2, 2]).to('webgpu');
    expect(() => conv2d_bn_eval(m.x, m.w, m.b, m.rm, m.rv, null, null, { residual: r2, max_pool: true })).toThrow(/residual and max_pool cannot be combined/);
    expect(() => conv2d_bn_eval(m.x, m.w, m.b, m.rm, m.rv, null, null, { residual: randn([1, 8, 2, 2]) })).toThrow(/residual is on 'cpu'/);
  });

  it('ResEmoteNet eval forward (all conv + BatchNorm2d pairs fused) equals the CPU model', async () => {
    manual_seed(12);
    const net = new ResEmoteNet({ width: 0.125 });
    // non-trivial running statistics and affine parameters (fresh ones are 0 / 1)
    for (const [k, t] of Object.entries(net.state_dict())) {
      if (k.endsWith('running_mean') || k.endsWith('bn1.bias') || k.endsWith('bn2.bias')) normal_(t, 0, 0.1);
      if (k.endsWith('running_var')) uniform_(t, 0.5, 1.5);
    }
    net.eval();
    const x = randn([2, 3, 32, 32]);
    const ref = no_grad(() => net.forward(x));
    const refA = await vals(ref);
    net.to('webgpu');
    const xg = x.to('webgpu');
    for (let call = 0; call < 2; call++) {
      const got = await vals(no_grad(() => net.forward(xg)));
      close(`call ${call + 1}`, refA, got);
    }
  });
});

describe('conv2d_bn_eval on cpu (the reference backend) against the composition', () => {
  it.each(CASES)('%s', async (_name, c) => {
    manual_seed(13);
    const t = make(c)('cpu');
    close('cpu', await reference(c, t), await fused(c, t), 1e-6);
  });
});

describe.runIf(hasGpu)('nn.conv_bn (module-level fusion)', () => {
  it('evaluation: one fused call equal to the module calls; training: the module calls (running statistics updated)', async () => {
    manual_seed(14);
    const conv = new nn.Conv2d(4, 8, 3, { padding: 1, device: 'webgpu' });
    const bn = new nn.BatchNorm2d(8, { device: 'webgpu' });
    const x = randn([2, 4, 6, 6]).to('webgpu');
    bn.train();
    conv_bn(conv, bn, x, { relu: true }); // training: batch statistics, running stats move
    expect(await bn.num_batches_tracked!.item()).toBe(1);
    bn.eval();
    const res = randn([2, 8, 6, 6]).to('webgpu');
    const want = await vals(relu(bn.call(conv.call(x)).add(res)));
    close('eval, residual + relu', want, await vals(no_grad(() => conv_bn(conv, bn, x, { residual: res, relu: true }))), 1e-5);
    const wantPool = await vals(max_pool2d(relu(bn.call(conv.call(x))), 2));
    close('eval, relu + pool', wantPool, await vals(no_grad(() => conv_bn(conv, bn, x, { relu: true, max_pool: true }))), 1e-5);
    expect(await bn.num_batches_tracked!.item()).toBe(1);
    // 'same' padding is not fused (the module call), the same values
    const same = new nn.Conv2d(4, 8, 3, { padding: 'same', device: 'webgpu' });
    close("'same' padding", await vals(bn.call(same.call(x))), await vals(no_grad(() => conv_bn(same, bn, x))), 1e-5);
  });
});
