/**
 * One forward and backward pass of full-width ResEmoteNet on WebGPU (3x64x64 input through the
 * 2048-channel residual block, whose 2048x2048x3x3 weight is over lavapipe's 128 MiB binding
 * limit), checked for errors, finite values and a gradient in every parameter.
 */
import { describe, expect, it } from 'vitest';
import { randn, tensor, manual_seed, cross_entropy, tidy, webgpuRuntime } from '../../src/index.js';
import { ResEmoteNet } from '../../src/resemotenet/model.js';
import { gpuAvailable } from '../helpers/webgpu.js';

const hasGpu = await gpuAvailable();

describe.runIf(hasGpu)('full-width ResEmoteNet on webgpu', () => {
  it('runs forward and backward without error', async () => {
    manual_seed(1);
    const model = new ResEmoteNet({ device: 'webgpu' });
    model.train();
    const x = randn([2, 3, 64, 64], { device: 'webgpu' });
    const y = tensor([3, 6], { dtype: 'int32', device: 'webgpu' });
    const loss = tidy(() => {
      const l = cross_entropy(model.call(x), y);
      l.backward();
      return l;
    });
    const v = await loss.item();
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeGreaterThan(0);
    await webgpuRuntime().sync();
    const big = model.res_block3.conv2.weight.grad!;
    expect(big.shape).toEqual([2048, 2048, 3, 3]);
    const g = await big.data();
    let nonzero = 0;
    for (let i = 0; i < g.length; i += 997) if (g[i] !== 0 && Number.isFinite(g[i]!)) nonzero++;
    expect(nonzero).toBeGreaterThan(0);
    for (const [name, p] of model.named_parameters()) expect(p.grad, name).not.toBeNull();
  });
});
