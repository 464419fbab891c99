import { describe, expect, it } from 'vitest';
import { tensor, rand, randn, arange, Tensor } from '../../src/index.js';
import { gpuAvailable } from '../helpers/webgpu.js';

const hasGpu = await gpuAvailable();

async function same(cpu: Tensor, gpu: Tensor, rtol = 1e-6, atol = 1e-6) {
  expect(gpu.device).toBe('webgpu');
  expect(gpu.shape).toEqual(cpu.shape);
  const a = cpu.dataSync();
  const b = await gpu.data();
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (Number.isNaN(x)) expect(Number.isNaN(y)).toBe(true);
    else expect(Math.abs(x - y)).toBeLessThanOrEqual(atol + rtol * Math.abs(x));
  }
}

describe.runIf(hasGpu)('webgpu elementwise', () => {
  it('unary ops agree with cpu', async () => {
    const x = randn([3, 5, 7]).mul(3);
    const g = x.to('webgpu');
    await same(x.exp(), g.exp(), 1e-5);
    await same(x.abs().log(), g.abs().log(), 1e-5, 1e-5);
    await same(x.relu(), g.relu());
    await same(x.sigmoid(), g.sigmoid(), 1e-5);
    await same(x.tanh(), g.tanh(), 1e-5, 1e-6);
    await same(x.pow(3), g.pow(3), 1e-5);
    await same(x.abs().sqrt(), g.abs().sqrt(), 1e-6);
    await same(x.neg(), g.neg());
  });
  it('binary with broadcasting and strided views', async () => {
    const a = rand([4, 1, 6]);
    const b = rand([5, 1]);
    await same(a.add(b), a.to('webgpu').add(b.to('webgpu')));
    await same(a.mul(b).sub(a), a.to('webgpu').mul(b.to('webgpu')).sub(a.to('webgpu')));
    const p = rand([3, 4, 5]);
    const gp = p.to('webgpu');
    await same(p.permute(2, 0, 1).div(p.permute(2, 0, 1).add(1)), gp.permute(2, 0, 1).div(gp.permute(2, 0, 1).add(1)));
    await same(p.slice(1, 1, 4, 2).contiguous(), gp.slice(1, 1, 4, 2).contiguous());
  });
  it('int32 ops and dtype conversion', async () => {
    const i = arange(10);
    const g = i.to('webgpu');
    expect(Array.from(await g.add(g).data())).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(Array.from(await g.float().mul(0.5).int().data())).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    expect(Array.from(await tensor([1, 2, 3]).to('webgpu').eq(tensor([1, 0, 3]).to('webgpu')).data())).toEqual([1, 0, 1]);
  });
  it('NaN propagates through maximum and relu', async () => {
    const x = tensor([NaN, 1, -2]).to('webgpu');
    const m = await x.maximum(tensor([0, NaN, 0]).to('webgpu')).data();
    expect(Number.isNaN(m[0]!) && Number.isNaN(m[1]!) && m[2] === 0).toBe(true);
    const r = await x.relu().data();
    expect(Number.isNaN(r[0]!)).toBe(true);
  });
});
