// The README's API example, runnable: npx tsx examples/quickstart.ts
import { nn, randn, randint, tidy, initWebGPU, cross_entropy, type Tensor } from '../src/index.js';

const report = await initWebGPU(); // once per process; throws with setup advice when there is no adapter
console.log(`adapter: ${report.vendor} ${report.device} (${report.description})`);

class Net extends nn.Module {
  conv = new nn.Conv2d(3, 16, 3, { padding: 1, device: 'webgpu' });
  bn = new nn.BatchNorm2d(16, { device: 'webgpu' });
  fc = new nn.Linear(16, 7, { device: 'webgpu' });
  override forward(x: Tensor): Tensor {
    const h = this.bn.call(this.conv.call(x)).relu();
    return this.fc.call(h.mean([2, 3]));
  }
}

const model = new Net();
const opt = new nn.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
const x = randn([8, 3, 32, 32], { device: 'webgpu' });
const y = randint(0, 7, [8], { device: 'webgpu' });
for (let step = 0; step < 5; step++) {
  // tidy() frees every intermediate GPU buffer of the step; grads and optimizer state are kept.
  const loss = tidy(() => {
    opt.zero_grad();
    const l = cross_entropy(model.call(x), y);
    l.backward();
    opt.step();
    return l;
  });
  console.log(`step ${step}: loss ${(await loss.item()).toFixed(4)}`); // readback: the only wait on the GPU
  loss.dispose();
}
