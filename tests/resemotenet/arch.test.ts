/**
 * ResEmoteNet's width rule and channel inference (issue 14): `new ResEmoteNet({width: 1/8})` gives
 * conv1 16 channels (max(16, round(c*w))), PyTorch code that divides (`c // 8`) gives 8; such a
 * checkpoint must build and load. `inferChannels` reads every layer's channel count from the
 * shapes; the 'floor' width rule reproduces the division.
 */
import { describe, expect, it } from 'vitest';
import { manual_seed, randn, type Tensor } from '../../src/index.js';
import { Linear, num_parameters } from '../../src/nn/index.js';
import { channelsForWidth, ResEmoteNet, type ResEmoteNetChannels } from '../../src/resemotenet/model.js';
import { inferChannels } from '../../src/resemotenet/arch.js';
import { inferArchitecture } from '../../src/resemotenet/checkpoint.js';

/** Parameters of a ResEmoteNet with channels `c` and k classes, counted by hand from the layer list. */
function countParams(c: ResEmoteNetChannels, k = 7): number {
  const conv = (i: number, o: number, ks: number) => o * i * ks * ks + o;
  const bn = (n: number) => 2 * n;
  const lin = (i: number, o: number) => i * o + o;
  const block = (i: number, o: number) => conv(i, o, 3) + bn(o) + conv(o, o, 3) + bn(o) + conv(i, o, 1) + bn(o);
  return (
    conv(3, c.conv1, 3) + bn(c.conv1) + conv(c.conv1, c.conv2, 3) + bn(c.conv2) + conv(c.conv2, c.conv3, 3) + bn(c.conv3) +
    2 * c.se * c.conv3 +
    block(c.conv3, c.res_block1) + block(c.res_block1, c.res_block2) + block(c.res_block2, c.res_block3) +
    lin(c.res_block3, c.fc1) + lin(c.fc1, c.fc2) + lin(c.fc2, c.fc3) + lin(c.fc3, k)
  );
}

// What PyTorch code with `c // 8` builds: 64 // 8 = 8, ..., SE hidden 32 // 16 = 2.
const DIV8: ResEmoteNetChannels = { conv1: 8, conv2: 16, conv3: 32, se: 2, res_block1: 64, res_block2: 128, res_block3: 256, fc1: 128, fc2: 64, fc3: 32 };

describe('width rules', () => {
  it("the default rule keeps at least 16 channels; 'floor' divides like PyTorch's c // 8", () => {
    expect(channelsForWidth(1 / 8)).toEqual({ ...DIV8, conv1: 16, se: 2, fc3: 32 });
    expect(channelsForWidth(1 / 8, 'floor')).toEqual(DIV8);
    expect(channelsForWidth(1 / 64, 'floor')).toEqual({ conv1: 1, conv2: 2, conv3: 4, se: 1, res_block1: 8, res_block2: 16, res_block3: 32, fc1: 16, fc2: 8, fc3: 4 });
    expect(new ResEmoteNet({ width: 1 / 8 }).conv1.weight.shape).toEqual([16, 3, 3, 3]);
    const m = new ResEmoteNet({ width: 1 / 8, width_rule: 'floor' });
    expect(m.conv1.weight.shape).toEqual([8, 3, 3, 3]);
    expect(m.se.fc.at<Linear>(0).weight.shape).toEqual([2, 32]);
    expect(m.fc4.weight.shape).toEqual([7, 32]);
    expect(num_parameters(m)).toBe(countParams(DIV8));
    expect(countParams(channelsForWidth(1))).toBe(80_238_599); // the formula agrees with the paper's model
    expect(() => new ResEmoteNet({ width: 1 / 8, width_rule: 'ceil' as 'floor' })).toThrow("ResEmoteNet: width_rule must be 'max16' or 'floor', got 'ceil'");
  });

  it('explicit channels build any variant; bad specs name the layer', () => {
    const odd: ResEmoteNetChannels = { conv1: 10, conv2: 20, conv3: 48, se: 3, res_block1: 50, res_block2: 60, res_block3: 70, fc1: 40, fc2: 30, fc3: 20 };
    const m = new ResEmoteNet({ channels: odd, num_classes: 5 });
    expect(num_parameters(m)).toBe(countParams(odd, 5));
    expect(m.channels).toEqual(odd);
    expect(m.width).toBe(70 / 2048);
    manual_seed(1);
    m.eval();
    expect(m.call(randn([2, 3, 32, 32])).shape).toEqual([2, 5]);
    expect(() => new ResEmoteNet({ channels: { ...odd, se: 0 } })).toThrow(/^ResEmoteNet: channels\.se must be a positive integer, got 0 \(channels needs conv1, conv2, conv3, se, /);
    expect(() => new ResEmoteNet({ channels: { ...odd, fc2: 2.5 } })).toThrow(/channels\.fc2 must be a positive integer, got 2\.5/);
  });
});

describe('inferChannels', () => {
  /** A state dict with PyTorch's `c // 8` shapes and seeded values, as a checkpoint would hold. */
  function div8StateDict(): Record<string, Tensor> {
    manual_seed(7);
    const src = new ResEmoteNet({ channels: DIV8 }).state_dict();
    const sd: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(src)) sd[k] = t.dtype === 'int32' ? t : randn([...t.shape]);
    return sd;
  }

  it('a c // 8 checkpoint: every channel inferred, the floor rule recognized, strict load exact', () => {
    const sd = div8StateDict();
    expect(sd['conv1.weight']!.shape).toEqual([8, 3, 3, 3]);
    const arch = inferChannels(sd);
    expect(arch).toEqual({ num_classes: 7, width: 1 / 8, width_rule: 'floor', channels: DIV8 });
    // the width-only guess (inferArchitecture + the default rule) cannot hold these weights
    expect(() => new ResEmoteNet({ width: inferArchitecture(sd).width }).load_state_dict(sd, { strict: true })).toThrow(/conv1\.weight/);
    const m = new ResEmoteNet({ channels: arch.channels, num_classes: arch.num_classes });
    m.load_state_dict(sd, { strict: true });
    expect(Array.from(m.fc3.weight.dataSync())).toEqual(Array.from(sd['fc3.weight']!.dataSync()));
    const m2 = new ResEmoteNet({ width: arch.width, width_rule: arch.width_rule });
    m2.load_state_dict(sd, { strict: true });
  });

  it('the default rule is recognized too, and irregular channels give no rule', () => {
    const sd = new ResEmoteNet({ width: 1 / 16 }).state_dict();
    expect(inferChannels(sd)).toEqual({ num_classes: 7, width: 1 / 16, width_rule: 'max16', channels: channelsForWidth(1 / 16) });
    const odd: ResEmoteNetChannels = { conv1: 10, conv2: 20, conv3: 48, se: 3, res_block1: 50, res_block2: 60, res_block3: 70, fc1: 40, fc2: 30, fc3: 20 };
    const a = inferChannels(new ResEmoteNet({ channels: odd, num_classes: 4 }).state_dict());
    expect(a).toEqual({ num_classes: 4, width: 70 / 2048, channels: odd });
  });

  it('works from shapes alone (a safetensors header) and names a missing or inconsistent key', () => {
    const shapes = Object.fromEntries(Object.entries(new ResEmoteNet({ channels: DIV8 }).state_dict()).map(([k, t]) => [k, { shape: [...t.shape] }]));
    expect(inferChannels(shapes).channels).toEqual(DIV8);
    const { ['se.fc.0.weight']: _, ...noSe } = shapes;
    expect(() => inferChannels(noSe)).toThrow(/^not a ResEmoteNet state dict: no 'se\.fc\.0\.weight' \(keys: conv1\.weight, /);
    expect(() => inferChannels({ ...shapes, 'fc2.weight': { shape: [64, 100] } })).toThrow(
      "not a consistent ResEmoteNet state dict: 'fc2.weight' has shape [64, 100], the other layers' shapes call for [64, 128]",
    );
    expect(() => inferChannels({ ...shapes, 'res_block2.shortcut.0.weight': { shape: [128, 64, 3, 3] } })).toThrow(
      "'res_block2.shortcut.0.weight' has shape [128, 64, 3, 3], the other layers' shapes call for [128, 64, 1, 1]",
    );
  });
});

describe('checkpoints of other width rules load through the sidecar-free and import paths', () => {
  it("a 'c // 8' state dict imports, records its rule, and reloads with the same logits", async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { save_file } = await import('../../src/nn/serialization/index.js');
    const { importCheckpoint, loadCheckpoint } = await import('../../src/resemotenet/checkpoint.js');
    manual_seed(5);
    const m = new ResEmoteNet({ channels: DIV8 });
    m.eval();
    const dir = mkdtempSync(path.join(tmpdir(), 'resemotenet-div8-'));
    const file = path.join(dir, 'div8.safetensors');
    await save_file(m.state_dict(), file);
    const x = randn([2, 3, 32, 32]);
    const want = Array.from(m.call(x).dataSync());
    const imp = await importCheckpoint(file, { out: path.join(dir, 'out') + '/' });
    expect(imp.sidecar.config.width).toBe(0.125);
    expect(imp.sidecar.config.width_rule).toBe('floor');
    const back = await loadCheckpoint(imp.prefix + '.json');
    back.model.eval();
    const got = Array.from(back.model.call(x).dataSync());
    got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-5));
    const bare = await loadCheckpoint(file); // no sidecar: the config comes from the shapes
    expect(bare.sidecar.config.width_rule).toBe('floor');
  });
});
