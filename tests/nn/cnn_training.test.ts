/**
 * A small CNN (Conv2d, BatchNorm2d, ReLU, MaxPool2d, an SE gate, a residual block with a
 * projection shortcut, Flatten, Linear) starts from PyTorch's weights and trains 10 steps with
 * SGD (momentum 0.9, weight decay 1e-4) and, from the same start, 10 steps with AdamW (label
 * smoothing, StepLR) on fixed data: per-step losses, final weights and buffers, and eval-mode
 * logits match PyTorch 1.13 (tests/fixtures/gen_nn.py) within 1e-4 relative (see relErr).
 * The body is device-generic: it runs on every device of tests/helpers/devices.ts.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { nn, tensor, tidy, no_grad, type Device, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

interface Arr {
  shape: number[];
  data: number[];
}
interface Phase {
  losses: number[];
  lrs: number[];
  final: [string, Arr][];
  eval_logits: Arr;
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/nn_cnn.json', import.meta.url), 'utf8')) as {
  x: Arr;
  y: Arr;
  init: [string, Arr][];
  sgd: Phase & { lr: number; momentum: number; weight_decay: number };
  adamw: Phase & { lr: number; weight_decay: number; label_smoothing: number; step_size: number; gamma: number };
};

class SE extends nn.Module {
  avg_pool = new nn.AdaptiveAvgPool2d(1);
  fc: nn.Sequential;
  constructor(c: number, r: number) {
    super();
    this.fc = new nn.Sequential(new nn.Linear(c, r), new nn.ReLU(), new nn.Linear(r, c), new nn.Sigmoid());
  }
  override forward(x: Tensor): Tensor {
    const [b, c] = x.shape as [number, number];
    const y = this.avg_pool.call(x).view(b, c);
    return x.mul(this.fc.call(y).view(b, c, 1, 1).expand_as(x));
  }
}

class ResBlock extends nn.Module {
  conv1: nn.Conv2d;
  bn1: nn.BatchNorm2d;
  conv2: nn.Conv2d;
  bn2: nn.BatchNorm2d;
  shortcut: nn.Sequential;
  constructor(cin: number, cout: number, stride: number) {
    super();
    this.conv1 = new nn.Conv2d(cin, cout, 3, { stride, padding: 1, bias: false });
    this.bn1 = new nn.BatchNorm2d(cout);
    this.conv2 = new nn.Conv2d(cout, cout, 3, { padding: 1, bias: false });
    this.bn2 = new nn.BatchNorm2d(cout);
    this.shortcut = new nn.Sequential(new nn.Conv2d(cin, cout, 1, { stride, bias: false }), new nn.BatchNorm2d(cout));
  }
  override forward(x: Tensor): Tensor {
    const out = this.bn2.call(this.conv2.call(this.bn1.call(this.conv1.call(x)).relu()));
    return out.add(this.shortcut.call(x)).relu();
  }
}

class Net extends nn.Module {
  conv1 = new nn.Conv2d(3, 8, 3, { padding: 1, bias: false });
  bn1 = new nn.BatchNorm2d(8);
  relu = new nn.ReLU();
  pool = new nn.MaxPool2d(2);
  se = new SE(8, 4);
  res_block1 = new ResBlock(8, 12, 2);
  flatten = new nn.Flatten();
  fc = new nn.Linear(48, 5);
  override forward(x: Tensor): Tensor {
    let h = this.pool.call(this.relu.call(this.bn1.call(this.conv1.call(x))));
    h = this.se.call(h);
    h = this.res_block1.call(h);
    return this.fc.call(this.flatten.call(h));
  }
}

function cpuTensor(a: Arr, int = false): Tensor {
  return tensor(int ? Int32Array.from(a.data) : Float32Array.from(a.data), { shape: a.shape });
}

/**
 * Max over elements of |a - e| / (|e| + 0.1 * max|E|): relative error, where entries below a tenth
 * of the tensor's largest are judged on that scale (float32 rounding of a sum is relative to its
 * terms, not to a result that happens to be near zero).
 */
function relErr(actual: ArrayLike<number>, expected: readonly number[]): number {
  const scale = Math.max(...expected.map(Math.abs), 1e-30);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    worst = Math.max(worst, Math.abs(actual[i]! - e) / (Math.abs(e) + 0.1 * scale));
  }
  return worst;
}

async function buildModel(device: Device): Promise<Net> {
  const model = new Net();
  const sd: Record<string, Tensor> = {};
  for (const [k, a] of fx.init) sd[k] = cpuTensor(a, k.endsWith('num_batches_tracked'));
  // Same keys, same order as PyTorch's state_dict.
  expect(Object.keys(model.state_dict())).toEqual(fx.init.map(([k]) => k));
  model.load_state_dict(sd);
  model.to(device);
  for (const p of model.parameters()) expect(p.device).toBe(device);
  return model;
}

async function checkPhase(model: Net, phase: Phase, losses: number[], x: Tensor): Promise<void> {
  for (let i = 0; i < losses.length; i++) expect(relErr([losses[i]!], [phase.losses[i]!]), `loss at step ${i + 1}`).toBeLessThan(1e-4);
  const sd = model.state_dict();
  expect(Object.keys(sd)).toEqual(phase.final.map(([k]) => k));
  for (const [k, a] of phase.final) {
    const got = await sd[k]!.data();
    if (k.endsWith('num_batches_tracked')) expect(Array.from(got)).toEqual(a.data);
    else expect(relErr(got, a.data), k).toBeLessThan(1e-4);
  }
  model.eval();
  const logits = no_grad(() => model.call(x));
  expect(relErr(await logits.data(), phase.eval_logits.data), 'eval logits').toBeLessThan(1e-4);
  logits.dispose();
}

describe.each(DEVICES)('small CNN trained as in PyTorch 1.13 (%s)', (device) => {
  const x = cpuTensor(fx.x).to(device);
  const y = cpuTensor(fx.y, true).to(device);

  it('10 steps of SGD(momentum 0.9, weight_decay 1e-4)', async () => {
    const model = await buildModel(device);
    model.train();
    const opt = new nn.optim.SGD(model.parameters(), { lr: fx.sgd.lr, momentum: fx.sgd.momentum, weight_decay: fx.sgd.weight_decay });
    const crit = new nn.CrossEntropyLoss();
    const losses: number[] = [];
    for (let step = 0; step < 10; step++) {
      const loss = tidy(() => {
        opt.zero_grad();
        const l = crit.call(model.call(x), y);
        l.backward();
        opt.step();
        return l;
      });
      losses.push(await loss.item());
      loss.dispose();
    }
    await checkPhase(model, fx.sgd, losses, x);
    // Momentum buffers exist for every parameter and are alive after the tidy scopes.
    expect([...opt.state.values()].every((s) => !(s.momentum_buffer as Tensor).isDisposed)).toBe(true);
  });

  it('10 steps of AdamW with label smoothing and a StepLR schedule', async () => {
    const model = await buildModel(device);
    model.train();
    const opt = new nn.optim.AdamW(model.parameters(), { lr: fx.adamw.lr, weight_decay: fx.adamw.weight_decay });
    const sched = new nn.optim.lr_scheduler.StepLR(opt, fx.adamw.step_size, { gamma: fx.adamw.gamma });
    const crit = new nn.CrossEntropyLoss({ label_smoothing: fx.adamw.label_smoothing });
    const losses: number[] = [];
    const lrs: number[] = [];
    for (let step = 0; step < 10; step++) {
      const loss = tidy(() => {
        opt.zero_grad();
        const l = crit.call(model.call(x), y);
        l.backward();
        opt.step();
        return l;
      });
      sched.step();
      lrs.push(opt.param_groups[0]!.lr);
      losses.push(await loss.item());
      loss.dispose();
    }
    expect(lrs).toEqual(fx.adamw.lrs);
    await checkPhase(model, fx.adamw, losses, x);
  });
});
