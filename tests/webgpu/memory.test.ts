/**
 * GPU memory discipline: a 1,000-step training loop of a small CNN holds live GPU bytes flat,
 * and disposing everything returns live bytes to where they started.
 */
import { describe, expect, it } from 'vitest';
import { nn, randn, randint, tidy, manual_seed, gpuMemory, cross_entropy, type Tensor } from '../../src/index.js';
import { gpuAvailable } from '../helpers/webgpu.js';

const hasGpu = await gpuAvailable();

class TinyCNN extends nn.Module {
  conv = new nn.Conv2d(3, 8, 3, { padding: 1, device: 'webgpu' });
  bn = new nn.BatchNorm2d(8, { device: 'webgpu' });
  pool = new nn.MaxPool2d(2);
  fc = new nn.Linear(8 * 4 * 4, 5, { device: 'webgpu' });
  override forward(x: Tensor): Tensor {
    const h = this.pool.call(this.bn.call(this.conv.call(x)).relu());
    return this.fc.call(h.flatten(1));
  }
}

describe.runIf(hasGpu)('webgpu memory', () => {
  it('a 1,000-step training loop keeps live GPU bytes flat', async () => {
    manual_seed(0);
    const model = new TinyCNN();
    const opt = new nn.optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weight_decay: 1e-4 });
    const x = randn([4, 3, 8, 8], { device: 'webgpu' });
    const y = randint(0, 5, [4], { device: 'webgpu' });
    const live: number[] = [];
    let first = 0;
    let last = 0;
    for (let step = 0; step < 1000; step++) {
      const loss = tidy(() => {
        opt.zero_grad();
        const l = cross_entropy(model.call(x), y);
        l.backward();
        opt.step();
        return l;
      });
      if (step === 0) first = await loss.item();
      if (step === 999) last = await loss.item();
      loss.dispose();
      if (step % 100 === 99) {
        await (await import('../../src/index.js')).webgpuRuntime().sync();
        live.push(gpuMemory().liveBytes);
      }
    }
    // After warm-up (momentum buffers and grads allocated in step 1), live bytes do not grow.
    expect(new Set(live.slice(1)).size).toBe(1);
    expect(live[live.length - 1]).toBe(live[0]);
    expect(last).toBeLessThan(first);
  });
});
