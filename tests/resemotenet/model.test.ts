import { describe, expect, it } from 'vitest';
import { ResEmoteNet } from '../../src/resemotenet/model.js';
import { num_parameters } from '../../src/nn/index.js';
import { randn, manual_seed, tensor, cross_entropy, max_pool2d, type Tensor } from '../../src/index.js';
import type { BatchNorm2d } from '../../src/nn/layers/batchnorm.js';
import type { Conv2d } from '../../src/nn/layers/conv.js';

describe('ResEmoteNet', () => {
  it('has the official parameter count and state_dict keys', () => {
    const m = new ResEmoteNet();
    expect(num_parameters(m)).toBe(80_238_599);
    const keys = Object.keys(m.state_dict());
    for (const k of ['conv1.weight', 'bn1.running_mean', 'bn1.num_batches_tracked', 'se.fc.0.weight', 'se.fc.2.weight',
      'res_block1.conv1.weight', 'res_block1.shortcut.0.weight', 'res_block1.shortcut.1.running_var', 'res_block3.conv2.weight', 'fc4.bias']) {
      expect(keys).toContain(k);
    }
    expect(m.state_dict()['res_block3.conv2.weight']!.shape).toEqual([2048, 2048, 3, 3]);
    expect(m.state_dict()['se.fc.0.weight']!.shape).toEqual([16, 256]);
    expect(keys.length).toBe(94);
  });
  it('a width-1/8 variant maps (N,3,64,64) to (N,7) logits on the cpu', () => {
    manual_seed(0);
    const m = new ResEmoteNet({ width: 1 / 8 });
    m.eval();
    const y = m.call(randn([2, 3, 64, 64]));
    expect(y.shape).toEqual([2, 7]);
    expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
  });
});

describe('ResEmoteNet stem stages', () => {
  it('training computes relu after the pool: the same loss and gradients as relu before it (the paper\'s order)', () => {
    manual_seed(3);
    const m = new ResEmoteNet({ width: 1 / 16, dropout: 0, fc_dropout: 0 });
    m.train();
    const x = randn([3, 3, 32, 32]);
    const t = tensor([0, 4, 6], { dtype: 'int32' });
    const grads = (loss: Tensor): Map<string, Float32Array> => {
      m.zero_grad();
      loss.backward();
      return new Map(m.named_parameters().map(([n, p]) => [n, p.grad!.dataSync() as Float32Array]));
    };
    const l1 = cross_entropy(m.call(x), t);
    const g1 = grads(l1);
    // the reference order, spelled out: max_pool2d(relu(bn(conv(h))), 2)
    const stage = (bn: BatchNorm2d, conv: Conv2d, h: Tensor) => max_pool2d(bn.call(conv.call(h)).relu(), 2);
    let h = stage(m.bn3, m.conv3, stage(m.bn2, m.conv2, stage(m.bn1, m.conv1, x)));
    h = m.res_block3.call(m.res_block2.call(m.res_block1.call(m.se.call(h))));
    h = m.pool.call(h);
    h = h.view(h.shape[0]!, -1);
    h = m.fc4.call(m.fc3.call(m.fc2.call(m.fc1.call(h).relu()).relu()).relu());
    const l2 = cross_entropy(h, t);
    expect(l1.itemSync()).toBeCloseTo(l2.itemSync(), 6);
    const g2 = grads(l2);
    for (const [name, a] of g1) {
      const b = g2.get(name)!;
      let worst = 0, scale = 0;
      for (let i = 0; i < a.length; i++) {
        worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
        scale = Math.max(scale, Math.abs(b[i]!));
      }
      expect(worst, `${name} gradient`).toBeLessThanOrEqual(1e-6 + 1e-5 * scale);
    }
    expect([...g1.values()].some((a) => a.some((v) => v !== 0))).toBe(true);
  });
});
