/**
 * The tensor core's acceptance test: a 2-layer CNN written with functional ops trains for 20
 * steps of SGD with falling loss, and its first-step gradients and every step's loss match
 * PyTorch (tests/fixtures/gen_cnn2.py) to 1e-4 relative. Runs on every available device.
 */
import { describe, expect, it } from 'vitest';
import { conv2d, cross_entropy, linear, max_pool2d, no_grad, relu, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { fromFixture, loadFixture, type FixtureTensor } from '../helpers/fixtures.js';

interface Fx {
  lr: number;
  x: FixtureTensor;
  y: FixtureTensor;
  params: Record<string, FixtureTensor>;
  grads0: Record<string, FixtureTensor>;
  losses: number[];
}
const fx = loadFixture<Fx>('cnn2.json');

/** Max over elements of |a - e| / (|e| + 1e-3 * max|e|): relative error, robust near zero. */
function relErr(a: ArrayLike<number>, e: number[]): number {
  const scale = Math.max(...e.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(a[i]! - e[i]!) / (Math.abs(e[i]!) + 1e-3 * scale));
  return worst;
}

describe.each(DEVICES)('2-layer CNN on %s', (device) => {
  it('trains 20 SGD steps with falling loss; first-step grads and losses match PyTorch to 1e-4', async () => {
    const p: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(fx.params)) p[k] = fromFixture(v).to(device).requires_grad_(true);
    const x = fromFixture(fx.x).to(device);
    const y = fromFixture(fx.y).to(device);
    const forward = () => {
      let h = max_pool2d(relu(conv2d(x, p.w1!, p.b1!, { padding: 1 })), 2);
      h = relu(conv2d(h, p.w2!, p.b2!, { stride: 2, padding: 1 }));
      return linear(h.mean([2, 3]), p.w3!, p.b3!);
    };
    const losses: number[] = [];
    for (let step = 0; step < 20; step++) {
      for (const t of Object.values(p)) t.grad = null;
      const loss = cross_entropy(forward(), y);
      loss.backward();
      losses.push(await loss.item());
      if (step === 0) {
        for (const [k, g] of Object.entries(fx.grads0)) {
          expect(relErr(await p[k]!.grad!.data(), g.data), `grad of ${k}`).toBeLessThan(1e-4);
        }
      }
      no_grad(() => {
        for (const [k, t] of Object.entries(p)) {
          const next = t.sub(t.grad!.mul(fx.lr)).detach().requires_grad_(true);
          t.dispose();
          p[k] = next;
        }
      });
    }
    expect(losses[19]).toBeLessThan(losses[0]! / 4);
    for (let i = 0; i < 20; i++) expect(Math.abs(losses[i]! - fx.losses[i]!) / fx.losses[i]!, `loss ${i}`).toBeLessThan(1e-4);
  });
});
