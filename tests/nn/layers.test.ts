import { describe, expect, it } from 'vitest';
import { nn, tensor, zeros, ones, arange, manual_seed, randn, no_grad, type Tensor } from '../../src/index.js';

const { init } = nn;

function close(a: ArrayLike<number>, b: readonly number[], tol = 1e-6): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!), `index ${i}: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]!)));
}
const flat = (t: Tensor) => Array.from(t.dataSync());

describe('Linear / Identity', () => {
  it('computes x W^T + b', () => {
    const lin = new nn.Linear(2, 2);
    init.zeros_(lin.weight);
    lin.load_state_dict({ weight: tensor([[1, 2], [3, 4]]), bias: tensor([0.5, -1]) });
    expect(lin.call(tensor([[1, 1], [2, 0]])).toArray()).toEqual([[3.5, 6], [2.5, 5]]);
    expect(lin.call(tensor([[[1, 1]]])).shape).toEqual([1, 1, 2]);
    expect(() => lin.call(tensor([[1, 2, 3]]))).toThrow(/Linear: input of shape \[1, 3\] does not end in in_features=2/);
    const nb = new nn.Linear(3, 1, { bias: false, dtype: 'float64' });
    expect(nb.bias).toBeNull();
    expect(nb.weight.dtype).toBe('float64');
    expect(Object.keys(nb.state_dict())).toEqual(['weight']);
    const x = tensor([1]);
    expect(new nn.Identity(3, 'ignored').call(x)).toBe(x);
    expect(() => new nn.Linear(-1, 2)).toThrow(/in_features must be a non-negative integer/);
  });
});

describe('Conv2d', () => {
  it('convolves with stride/padding and validates its input', () => {
    const conv = new nn.Conv2d(1, 1, 2);
    conv.load_state_dict({ weight: ones([1, 1, 2, 2]), bias: tensor([0.5]) });
    const x = arange(9, undefined, 1, { dtype: 'float32' }).reshape(1, 1, 3, 3);
    expect(conv.call(x).toArray()).toEqual([[[[8.5, 12.5], [20.5, 24.5]]]]);
    expect(conv.call(x.reshape(1, 3, 3)).shape).toEqual([1, 2, 2]); // unbatched
    expect(() => conv.call(zeros([1, 2, 3, 3]))).toThrow(/Conv2d: expected input \(N, 1, H, W\)/);
    const strided = new nn.Conv2d(1, 2, 3, { stride: 2, padding: 1 });
    expect(strided.call(zeros([2, 1, 5, 5])).shape).toEqual([2, 2, 3, 3]);
  });

  it("padding='same' matches PyTorch, odd total padding included", () => {
    const x = arange(9, undefined, 1, { dtype: 'float32' }).reshape(1, 1, 3, 3);
    const c1 = new nn.Conv2d(1, 1, 2, { padding: 'same', bias: false });
    init.ones_(c1.weight);
    expect(c1.call(x).toArray()).toEqual([[[[8, 12, 7], [20, 24, 13], [13, 15, 8]]]]); // PyTorch 1.13
    const c2 = new nn.Conv2d(1, 1, [3, 2], { padding: 'same', dilation: [1, 2], bias: false });
    c2.load_state_dict({ weight: arange(6, undefined, 1, { dtype: 'float32' }).reshape(1, 1, 3, 2) });
    expect(c2.call(x).toArray()).toEqual([[[[23, 43, 18], [48, 87, 36], [25, 41, 14]]]]); // PyTorch 1.13
    expect(new nn.Conv2d(1, 1, 3, { padding: 'valid' }).call(x).shape).toEqual([1, 1, 1, 1]);
    expect(() => new nn.Conv2d(1, 1, 3, { padding: 'same', stride: 2 })).toThrow(/padding='same' is not supported for strided/);
  });

  it('validates constructor arguments', () => {
    expect(() => new nn.Conv2d(3, 4, 3, { groups: 2 })).toThrow(/in_channels \(3\) must be divisible by groups \(2\)/);
    expect(() => new nn.Conv2d(4, 3, 3, { groups: 2 })).toThrow(/out_channels \(3\) must be divisible by groups/);
    expect(() => new nn.Conv2d(1, 1, 0)).toThrow(/kernel_size must be a positive integer/);
    expect(() => new nn.Conv2d(1, 1, 3, { padding: -1 })).toThrow(/padding must be a non-negative integer/);
    expect(() => new nn.Conv2d(1, 1, 3, { padding_mode: 'reflect' as 'zeros' })).toThrow(/padding_mode 'reflect' is not supported/);
  });
});

describe('BatchNorm2d', () => {
  // x (2, 1, 1, 2) = [1, 3 | 5, 7]: batch mean 4, biased var 5, unbiased var 20/3.
  const x = () => tensor([1, 3, 5, 7]).reshape(2, 1, 1, 2);

  it('training: batch statistics, running stats with momentum, counter', () => {
    const bn = new nn.BatchNorm2d(1);
    const y = bn.call(x());
    const s = Math.sqrt(5 + 1e-5);
    close(y.dataSync(), [-3 / s, -1 / s, 1 / s, 3 / s]);
    close(bn.running_mean!.dataSync(), [0.4]);
    close(bn.running_var!.dataSync(), [0.9 + 0.1 * (20 / 3)]);
    expect(bn.num_batches_tracked!.itemSync()).toBe(1);
    bn.call(x());
    expect(bn.num_batches_tracked!.itemSync()).toBe(2);
    close(bn.running_mean!.dataSync(), [0.4 * 0.9 + 0.4]);
  });

  it('eval: running statistics, counter untouched, gradients flow to input and affine params', () => {
    const bn = new nn.BatchNorm2d(1);
    bn.load_state_dict({ weight: tensor([2]), bias: tensor([1]), running_mean: tensor([0.5]), running_var: tensor([4]), num_batches_tracked: tensor(3, { dtype: 'int32' }) });
    bn.eval();
    const xi = x().requires_grad_();
    const y = bn.call(xi);
    const s = Math.sqrt(4 + 1e-5);
    close(y.dataSync(), [1, 3, 5, 7].map((v) => (2 * (v - 0.5)) / s + 1));
    expect(bn.num_batches_tracked!.itemSync()).toBe(3);
    close(bn.running_mean!.dataSync(), [0.5]);
    y.sum().backward();
    close(xi.grad!.dataSync(), [2 / s, 2 / s, 2 / s, 2 / s]);
    close(bn.bias!.grad!.dataSync(), [4]);
  });

  it('momentum=null keeps a cumulative average (PyTorch 1.13 values)', () => {
    const bn = new nn.BatchNorm2d(1, { momentum: null });
    bn.call(x());
    bn.call(x().add(2));
    close(bn.running_mean!.dataSync(), [5]);
    close(bn.running_var!.dataSync(), [20 / 3], 1e-6);
    expect(bn.num_batches_tracked!.itemSync()).toBe(2);
    // still right after the counter is reloaded
    bn.load_state_dict({ ...bn.state_dict(), num_batches_tracked: tensor(9, { dtype: 'int32' }), running_mean: tensor([0]) });
    bn.call(x());
    close(bn.running_mean!.dataSync(), [4 / 10]);
    expect(bn.extra_repr()).toBe('1, eps=1e-05, momentum=None, affine=True, track_running_stats=True');
  });

  it('affine=false / track_running_stats=false', () => {
    const bn = new nn.BatchNorm2d(1, { affine: false, track_running_stats: false });
    expect(Object.keys(bn.state_dict())).toEqual([]);
    expect(bn.parameters()).toEqual([]);
    bn.eval(); // without running stats, eval still normalizes with the batch
    const s = Math.sqrt(5 + 1e-5);
    close(bn.call(x()).dataSync(), [-3 / s, -1 / s, 1 / s, 3 / s]);
    const bn2 = new nn.BatchNorm2d(3, { affine: false });
    expect(Object.keys(bn2.state_dict())).toEqual(['running_mean', 'running_var', 'num_batches_tracked']);
  });

  it('reset_running_stats / errors / BatchNorm1d', () => {
    const bn = new nn.BatchNorm2d(1);
    bn.call(x());
    bn.reset_running_stats();
    expect([flat(bn.running_mean!)[0], flat(bn.running_var!)[0], bn.num_batches_tracked!.itemSync()]).toEqual([0, 1, 0]);
    expect(() => bn.call(zeros([2, 1, 3]))).toThrow(/BatchNorm2d: expected 4D input \(got 3D input/);
    expect(() => bn.call(zeros([2, 3, 1, 1]))).toThrow(/expected input with 1 channels/);
    expect(() => new nn.BatchNorm2d(0)).toThrow(/num_features must be a positive integer/);
    const b1 = new nn.BatchNorm1d(1);
    const s = Math.sqrt(5 + 1e-5);
    close(b1.call(tensor([[1], [3], [5], [7]])).dataSync(), [-3 / s, -1 / s, 1 / s, 3 / s]);
    expect(() => b1.call(zeros([2, 1, 1, 1]))).toThrow(/BatchNorm1d: expected 2D or 3D input/);
  });
});

describe('pooling, activations, Flatten, Dropout', () => {
  const img = () => arange(16, undefined, 1, { dtype: 'float32' }).reshape(1, 1, 4, 4);

  it('MaxPool2d / AvgPool2d / AdaptiveAvgPool2d', () => {
    expect(new nn.MaxPool2d(2).call(img()).toArray()).toEqual([[[[5, 7], [13, 15]]]]);
    expect(new nn.MaxPool2d(3, { stride: 1, padding: 1 }).call(img()).shape).toEqual([1, 1, 4, 4]);
    expect(new nn.AvgPool2d(2).call(img()).toArray()).toEqual([[[[2.5, 4.5], [10.5, 12.5]]]]);
    expect(new nn.AvgPool2d(2, { stride: 2, padding: 1, count_include_pad: false }).call(img()).toArray()).toEqual([[[[0, 1.5, 3], [6, 7.5, 9], [12, 13.5, 15]]]]);
    expect(new nn.AdaptiveAvgPool2d(1).call(img()).toArray()).toEqual([[[[7.5]]]]);
    expect(new nn.AdaptiveAvgPool2d([null, 1]).call(img()).toArray()).toEqual([[[[1.5], [5.5], [9.5], [13.5]]]]);
    expect(new nn.AdaptiveAvgPool2d([2, null]).call(img()).shape).toEqual([1, 1, 2, 4]);
    expect(() => new nn.AdaptiveAvgPool2d(-1)).toThrow(/output_size must be/);
    expect(() => new nn.MaxPool2d(0)).toThrow(/kernel_size must be a positive integer/);
  });

  it('ReLU / Sigmoid / Tanh / Softmax / LogSoftmax', () => {
    const v = tensor([-1, 0, 2]);
    expect(new nn.ReLU().call(v).toArray()).toEqual([0, 0, 2]);
    close(new nn.Sigmoid().call(v).dataSync(), [1 / (1 + Math.E), 0.5, 1 / (1 + Math.exp(-2))]);
    close(new nn.Tanh().call(v).dataSync(), [Math.tanh(-1), 0, Math.tanh(2)]);
    const z = Math.exp(-1) + 1 + Math.exp(2);
    close(new nn.Softmax(0).call(v).dataSync(), [Math.exp(-1) / z, 1 / z, Math.exp(2) / z]);
    close(new nn.LogSoftmax(-1).call(v).dataSync(), [-1 - Math.log(z), -Math.log(z), 2 - Math.log(z)]);
  });

  it('Flatten', () => {
    expect(new nn.Flatten().call(zeros([2, 3, 4, 5])).shape).toEqual([2, 60]);
    expect(new nn.Flatten(0, 1).call(zeros([2, 3, 4, 5])).shape).toEqual([6, 4, 5]);
  });

  it('Dropout: identity in eval, Bernoulli(1-p) * 1/(1-p) in training', () => {
    manual_seed(5);
    const d = new nn.Dropout(0.25);
    const x = ones([4000]);
    const y = flat(d.call(x));
    expect(y.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6)).toBe(true);
    const kept = y.filter((v) => v !== 0).length / y.length;
    expect(Math.abs(kept - 0.75)).toBeLessThan(0.03);
    d.eval();
    expect(d.call(x)).toBe(x);
    expect(() => new nn.Dropout(1.5)).toThrow(/between 0 and 1, but got 1.5/);
    expect(d.toString()).toBe('Dropout(p=0.25, inplace=False)');
  });
});

describe('SEBlock', () => {
  it("has ResEmoteNet's keys; fused and composed forward/backward agree", () => {
    manual_seed(9);
    const se = new nn.SEBlock(8, { reduction: 4 });
    expect(Object.keys(se.state_dict())).toEqual(['fc.0.weight', 'fc.2.weight']);
    expect(se.state_dict()['fc.0.weight']!.shape).toEqual([2, 8]);
    const x1 = randn([3, 8, 5, 5]).requires_grad_();
    const x2 = x1.detach().clone().requires_grad_();
    const yf = se.call(x1);
    yf.mul(yf).sum().backward();
    const gFused = [flat(x1.grad!), flat(se.fc.at<nn.Linear>(0).weight.grad!), flat(se.fc.at<nn.Linear>(2).weight.grad!)];
    se.zero_grad();
    se.fused = false;
    const yc = se.call(x2);
    close(yf.dataSync(), flat(yc), 1e-5);
    yc.mul(yc).sum().backward();
    close(gFused[0]!, flat(x2.grad!), 1e-4);
    close(gFused[1]!, flat(se.fc.at<nn.Linear>(0).weight.grad!), 1e-4);
    close(gFused[2]!, flat(se.fc.at<nn.Linear>(2).weight.grad!), 1e-4);
    expect(() => se.call(zeros([1, 4, 2, 2]))).toThrow(/SEBlock: expected input \(N, 8, H, W\)/);
    expect(() => new nn.SEBlock(8)).toThrow(/at least one hidden unit/);
  });
});

describe('loss modules', () => {
  it('CrossEntropyLoss (plain, weighted with ignore_index, label smoothing, none)', () => {
    close(new nn.CrossEntropyLoss().call(tensor([[0, 0]]), tensor([1], { dtype: 'int32' })).dataSync(), [Math.LN2]);
    const w = new nn.CrossEntropyLoss({ weight: tensor([1, 3]) });
    expect(Object.keys(w.state_dict())).toEqual(['weight']);
    const logits = tensor([[0, 1], [2, 0], [1, 1]]);
    const t = tensor([1, 0, -100], { dtype: 'int32' });
    close(w.call(logits, t).dataSync(), [(3 * Math.log(1 + Math.exp(-1)) + Math.log(1 + Math.exp(-2))) / 4]); // PyTorch: 0.2666782736778259
    const ls = new nn.CrossEntropyLoss({ label_smoothing: 0.2 });
    close(ls.call(tensor([[0, Math.log(3)]]), tensor([1], { dtype: 'int32' })).dataSync(), [0.3975432515144348]); // PyTorch 1.13
    const none = new nn.CrossEntropyLoss({ reduction: 'none' }).call(logits, tensor([1, 0, 1], { dtype: 'int32' }));
    close(none.dataSync(), [Math.log(1 + Math.exp(-1)), Math.log(1 + Math.exp(-2)), Math.LN2]);
    expect(() => new nn.CrossEntropyLoss({ reduction: 'avg' as 'mean' })).toThrow(/avg is not a valid value for reduction/);
    expect(() => new nn.CrossEntropyLoss({ label_smoothing: 2 })).toThrow(/label_smoothing must be between/);
  });

  it('NLLLoss and MSELoss', () => {
    close(new nn.NLLLoss().call(tensor([[-1, -2], [-3, -4]]), tensor([1, 0], { dtype: 'int32' })).dataSync(), [2.5]);
    close(new nn.NLLLoss({ reduction: 'sum', ignore_index: 0 }).call(tensor([[-1, -2], [-3, -4]]), tensor([1, 0], { dtype: 'int32' })).dataSync(), [2]);
    expect(new nn.MSELoss().call(tensor([1, 2]), tensor([3, 5])).itemSync()).toBe(6.5);
    expect(new nn.MSELoss({ reduction: 'sum' }).call(tensor([1, 2]), tensor([3, 5])).itemSync()).toBe(13);
    expect(new nn.MSELoss({ reduction: 'none' }).call(tensor([1, 2]), tensor([3, 5])).toArray()).toEqual([4, 9]);
  });
});

describe('functional namespace', () => {
  it('re-exports the functional ops', () => {
    const F = nn.functional;
    expect(no_grad(() => F.relu(tensor([-1, 1])).toArray())).toEqual([0, 1]);
    expect(typeof F.conv2d).toBe('function');
    expect(typeof F.cross_entropy).toBe('function');
  });
});
