import { describe, expect, it } from 'vitest';
import { ResEmoteNet } from '../../src/resemotenet/model.js';
import { num_parameters } from '../../src/nn/index.js';
import { randn, manual_seed } from '../../src/index.js';

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
