import { describe, expect, it } from 'vitest';
import { nn, tensor, zeros, ones, arange, tidy, manual_seed, Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

const { Module, Parameter } = nn;

/** ResEmoteNet-style residual block: keys conv1/bn1/conv2/bn2/shortcut.{0,1}. */
class ResBlock extends Module {
  conv1: nn.Conv2d;
  bn1: nn.BatchNorm2d;
  conv2: nn.Conv2d;
  bn2: nn.BatchNorm2d;
  shortcut: nn.Sequential;
  constructor(cin: number, cout: number, stride: number) {
    super();
    this.conv1 = new nn.Conv2d(cin, cout, 3, { stride, padding: 1 });
    this.bn1 = new nn.BatchNorm2d(cout);
    this.conv2 = new nn.Conv2d(cout, cout, 3, { padding: 1 });
    this.bn2 = new nn.BatchNorm2d(cout);
    this.shortcut = new nn.Sequential();
    if (stride !== 1 || cin !== cout) this.shortcut = new nn.Sequential(new nn.Conv2d(cin, cout, 1, { stride }), new nn.BatchNorm2d(cout));
  }
  override forward(x: Tensor): Tensor {
    const out = this.bn2.call(this.conv2.call(this.bn1.call(this.conv1.call(x)).relu()));
    return out.add(this.shortcut.call(x)).relu();
  }
}

class Net extends Module {
  conv1 = new nn.Conv2d(3, 4, 3, { padding: 1 });
  bn1 = new nn.BatchNorm2d(4);
  res_block1 = new ResBlock(4, 6, 2);
  fc = new nn.Linear(6, 2);
  override forward(x: Tensor): Tensor {
    const h = this.res_block1.call(this.bn1.call(this.conv1.call(x)).relu());
    return this.fc.call(h.mean([2, 3]));
  }
}

const NET_KEYS = [
  'conv1.weight', 'conv1.bias',
  'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var', 'bn1.num_batches_tracked',
  'res_block1.conv1.weight', 'res_block1.conv1.bias',
  'res_block1.bn1.weight', 'res_block1.bn1.bias', 'res_block1.bn1.running_mean', 'res_block1.bn1.running_var', 'res_block1.bn1.num_batches_tracked',
  'res_block1.conv2.weight', 'res_block1.conv2.bias',
  'res_block1.bn2.weight', 'res_block1.bn2.bias', 'res_block1.bn2.running_mean', 'res_block1.bn2.running_var', 'res_block1.bn2.num_batches_tracked',
  'res_block1.shortcut.0.weight', 'res_block1.shortcut.0.bias',
  'res_block1.shortcut.1.weight', 'res_block1.shortcut.1.bias', 'res_block1.shortcut.1.running_mean', 'res_block1.shortcut.1.running_var', 'res_block1.shortcut.1.num_batches_tracked',
  'fc.weight', 'fc.bias',
];

describe('Module tree', () => {
  it('state_dict keys come out in PyTorch order (params, buffers, then children)', () => {
    const net = new Net();
    expect(Object.keys(net.state_dict())).toEqual(NET_KEYS);
    const sd = net.state_dict();
    expect(sd['bn1.num_batches_tracked']!.dtype).toBe('int32');
    expect(sd['bn1.num_batches_tracked']!.shape).toEqual([]);
    expect(sd['res_block1.shortcut.0.weight']!.shape).toEqual([6, 4, 1, 1]);
  });

  it('named_parameters / parameters / buffers / children / modules', () => {
    const net = new Net();
    const pnames = net.named_parameters().map(([n]) => n);
    expect(pnames).toEqual(NET_KEYS.filter((k) => !/running_|num_batches/.test(k)));
    expect(net.parameters().every((p) => p instanceof Parameter && p.requires_grad && p.is_leaf)).toBe(true);
    expect(net.named_buffers().map(([n]) => n)).toEqual(NET_KEYS.filter((k) => /running_|num_batches/.test(k)));
    expect(net.named_children().map(([n]) => n)).toEqual(['conv1', 'bn1', 'res_block1', 'fc']);
    expect(net.children()[3]).toBe(net.fc);
    expect(net.named_modules().map(([n]) => n)).toEqual([
      '', 'conv1', 'bn1', 'res_block1', 'res_block1.conv1', 'res_block1.bn1', 'res_block1.conv2', 'res_block1.bn2',
      'res_block1.shortcut', 'res_block1.shortcut.0', 'res_block1.shortcut.1', 'fc',
    ]);
    expect(net.modules()[0]).toBe(net);
    expect(net.named_parameters('model', false).map(([n]) => n)).toEqual([]);
    expect(net.fc.named_parameters('fc').map(([n]) => n)).toEqual(['fc.weight', 'fc.bias']);
    expect(net.get_submodule('res_block1.shortcut.1')).toBeInstanceOf(nn.BatchNorm2d);
    expect(net.get_parameter('res_block1.conv2.bias')).toBe(net.res_block1.conv2.bias);
    expect(net.get_buffer('bn1.running_var')).toBe(net.bn1.running_var);
    expect(() => net.get_submodule('res_block1.nope')).toThrow(/no submodule 'nope'/);
    // conv: 4*3*9+4, bn: 8, res: conv1 6*4*9+6, bn 12, conv2 6*6*9+6, bn 12, sc conv 24+6, bn 12; fc 12+2
    expect(nn.num_parameters(net)).toBe(112 + 8 + 222 + 12 + 330 + 12 + 30 + 12 + 14);
  });

  it('a shared parameter is listed once by parameters() but under both names in state_dict', () => {
    class Tied extends Module {
      a = new nn.Linear(3, 3, { bias: false });
      b = new nn.Linear(3, 3, { bias: false });
      constructor() {
        super();
        this.b.weight = this.a.weight;
      }
    }
    const m = new Tied();
    expect(m.parameters()).toHaveLength(1);
    expect(m.named_parameters().map(([n]) => n)).toEqual(['a.weight']);
    expect(m.named_parameters('', true, false).map(([n]) => n)).toEqual(['a.weight', 'b.weight']);
    expect(Object.keys(m.state_dict())).toEqual(['a.weight', 'b.weight']);
    expect(nn.num_parameters(m)).toBe(9);
    m.to('float64');
    expect(m.a.weight).toBe(m.b.weight);
    expect(m.a.weight.dtype).toBe('float64');
  });

  it('train()/eval() set training recursively', () => {
    const net = new Net();
    expect(net.modules().every((m) => m.training)).toBe(true);
    expect(net.eval()).toBe(net);
    expect(net.modules().every((m) => !m.training)).toBe(true);
    net.res_block1.train();
    expect(net.training).toBe(false);
    expect(net.res_block1.bn2.training).toBe(true);
    net.train();
    expect(net.modules().every((m) => m.training)).toBe(true);
  });

  it('register_parameter / register_buffer / register_module and their errors', () => {
    class M extends Module {
      plain = 3;
      constructor() {
        super();
        this.register_parameter('w', new Parameter(ones([2])));
        this.register_buffer('stats', zeros([2]));
        this.register_buffer('scratch', zeros([2]), false);
        this.register_module('sub', new nn.Identity());
        this.register_parameter('missing', null);
      }
    }
    const m = new M();
    expect(Object.keys(m.state_dict())).toEqual(['w', 'stats']);
    expect(m.named_buffers().map(([n]) => n)).toEqual(['stats', 'scratch']);
    expect(m.named_children().map(([n]) => n)).toEqual(['sub']);
    expect(() => m.register_parameter('x.y', new Parameter(ones([1])))).toThrow(/can't contain "\."/);
    expect(() => m.register_parameter('', new Parameter(ones([1])))).toThrow(/can't be empty/);
    expect(() => m.register_parameter('q', ones([1]) as unknown as nn.Parameter)).toThrow(/nn\.Parameter or null expected/);
    expect(() => m.register_parameter('plain', new Parameter(ones([1])))).toThrow(/attribute 'plain' already exists/);
    expect(() => m.register_parameter('stats', new Parameter(ones([1])))).toThrow(/already exists/);
    expect(() => m.register_buffer('w', zeros([1]))).toThrow(/already exists/);
    expect(() => m.register_buffer('forward', zeros([1]))).toThrow(/already exists/);
    expect(() => m.register_buffer('p', new Parameter(ones([1])))).toThrow(/plain Tensor/);
    expect(() => m.register_module('plain', new nn.Identity())).toThrow(/already exists/);
    expect(() => new Parameter(arange(3))).toThrow(/floating-point/);
    expect(() => (new Module() as nn.AnyModule).forward()).toThrow(/missing the required "forward"/);
  });

  it('Parameter shares storage, is a kept leaf, and survives tidy', () => {
    const t = tensor([1, 2, 3]);
    const p = tidy(() => new Parameter(t));
    expect(p.isDisposed).toBe(false);
    expect(p.is_leaf && p.requires_grad).toBe(true);
    expect(new Parameter(t, false).requires_grad).toBe(false);
    expect(p.toString()).toMatch(/^Parameter containing: Tensor\(shape=\[3\]/);
    // A module built inside tidy keeps its parameters and buffers.
    const bn = tidy(() => new nn.BatchNorm2d(2));
    expect(bn.weight!.isDisposed || bn.running_mean!.isDisposed || bn.num_batches_tracked!.isDisposed).toBe(false);
  });

  it('apply visits children first, then the module', () => {
    const net = new Net();
    const seen: string[] = [];
    net.apply((m) => seen.push(m._get_name()));
    expect(seen).toEqual(['Conv2d', 'BatchNorm2d', 'Conv2d', 'BatchNorm2d', 'Conv2d', 'BatchNorm2d', 'Conv2d', 'BatchNorm2d', 'Sequential', 'ResBlock', 'Linear', 'Net']);
    net.apply((m) => {
      if (m instanceof nn.Linear) nn.init.constant_(m.weight, 0.5);
    });
    expect(Array.from(net.fc.weight.dataSync())).toEqual(new Array(12).fill(0.5));
  });

  it('zero_grad sets grads to null (default) or zeroes them in place', () => {
    const lin = new nn.Linear(2, 1);
    lin.call(tensor([[1, 2]])).sum().backward();
    expect(lin.weight.grad!.toArray()).toEqual([[1, 2]]);
    lin.zero_grad(false);
    expect(lin.weight.grad!.toArray()).toEqual([[0, 0]]);
    lin.call(tensor([[3, 4]])).sum().backward();
    expect(lin.weight.grad!.toArray()).toEqual([[3, 4]]);
    const g = lin.weight.grad!;
    lin.zero_grad();
    expect(lin.weight.grad).toBeNull();
    expect(lin.bias!.grad).toBeNull();
    expect(g.isDisposed).toBe(true);
  });

  it('call runs forward; requires_grad_ freezes parameters', () => {
    const lin = new nn.Linear(2, 2, { bias: false });
    nn.init.constant_(lin.weight, 1);
    expect(lin.call(tensor([[1, 2]])).toArray()).toEqual([[3, 3]]);
    lin.requires_grad_(false);
    expect(lin.parameters().every((p) => !p.requires_grad)).toBe(true);
    expect(lin.call(tensor([[1, 2]])).requires_grad).toBe(false);
  });

  it('to(dtype) casts floating parameters and buffers only; parameters stay leaves', () => {
    const bn = new nn.BatchNorm2d(3);
    bn.weight!.requires_grad = false;
    bn.to('float64');
    expect(bn.weight!.dtype).toBe('float64');
    expect(bn.weight).toBeInstanceOf(Parameter);
    expect(bn.weight!.requires_grad).toBe(false);
    expect(bn.bias!.requires_grad && bn.bias!.is_leaf).toBe(true);
    expect(bn.running_var!.dtype).toBe('float64');
    expect(bn.num_batches_tracked!.dtype).toBe('int32');
    expect(Array.from(bn.running_var!.dataSync())).toEqual([1, 1, 1]);
    expect(bn.to('cpu')).toBe(bn);
  });

  it('toString mirrors PyTorch repr', () => {
    const seq = new nn.Sequential(new nn.Conv2d(3, 8, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(8), new nn.ReLU(true), new nn.MaxPool2d(2));
    expect(seq.toString()).toBe(
      [
        'Sequential(',
        '  (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)',
        '  (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)',
        '  (2): ReLU(inplace=True)',
        '  (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)',
        ')',
      ].join('\n'),
    );
    expect(new nn.Linear(4, 2).toString()).toBe('Linear(in_features=4, out_features=2, bias=True)');
    expect(new nn.Sigmoid().toString()).toBe('Sigmoid()');
  });
});

describe('Sequential and ModuleList', () => {
  it('names children 0, 1, ... (and 10 after 9), chains forward, indexes', () => {
    const layers = Array.from({ length: 11 }, () => new nn.Identity());
    const seq = new nn.Sequential(...layers);
    expect(seq.named_children().map(([n]) => n)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    expect(seq.length).toBe(11);
    expect(seq.at(-1)).toBe(layers[10]);
    expect(() => seq.at(11)).toThrow(/out of range/);
    const s2 = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU(), new nn.Linear(3, 1));
    expect(Object.keys(s2.state_dict())).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    const x = tensor([[1, -2]]);
    const l0 = s2.at<nn.Linear>(0);
    const l2 = s2.at<nn.Linear>(2);
    const ref = l2.call(l0.call(x).relu());
    expect(s2.call(x).toArray()).toEqual(ref.toArray());
    s2.append(new nn.Sigmoid());
    expect(s2.length).toBe(4);
    expect([...s2].map((m) => m._get_name())).toEqual(['Linear', 'ReLU', 'Linear', 'Sigmoid']);
    expect(new nn.Sequential().call(x)).toBe(x);
    const named = new nn.Sequential({ conv: new nn.Conv2d(1, 1, 1), act: new nn.ReLU() });
    expect(Object.keys(named.state_dict())).toEqual(['conv.weight', 'conv.bias']);
    expect(() => new nn.Sequential(3 as unknown as nn.TensorModule)).toThrow(TypeError);
  });

  it('ModuleList registers its items', () => {
    const ml = new nn.ModuleList([new nn.Linear(1, 1), new nn.Linear(1, 1)]);
    ml.append(new nn.Linear(1, 2));
    expect(Object.keys(ml.state_dict())).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '2.weight', '2.bias']);
    expect(ml.at(2).out_features).toBe(2);
    expect([...ml]).toHaveLength(3);
    expect(() => (ml as nn.AnyModule).forward()).toThrow(/missing the required "forward"/);
  });
});

describe('state_dict / load_state_dict', () => {
  it('round-trips into a fresh model (values copied, not aliased)', () => {
    manual_seed(1);
    const a = new Net();
    manual_seed(2);
    const b = new Net();
    expect(a.conv1.weight.dataSync()).not.toEqual(b.conv1.weight.dataSync());
    // Make buffers non-default so they are checked too.
    a.train();
    a.call(tensor(new Float32Array(2 * 3 * 4 * 4).map((_, i) => Math.sin(i)), { shape: [2, 3, 4, 4] }));
    const res = b.load_state_dict(a.state_dict());
    expect(res).toEqual({ missing_keys: [], unexpected_keys: [] });
    const sa = a.state_dict();
    const sb = b.state_dict();
    for (const k of NET_KEYS) expect(Array.from(sb[k]!.dataSync())).toEqual(Array.from(sa[k]!.dataSync()));
    expect(sb['bn1.num_batches_tracked']!.itemSync()).toBe(1);
    // b's tensors are its own: changing a does not change b.
    nn.init.zeros_(a.fc.weight);
    expect(Array.from(b.fc.weight.dataSync()).some((v) => v !== 0)).toBe(true);
    // parameters are still the same leaf objects
    expect(b.fc.weight.is_leaf && b.fc.weight.requires_grad).toBe(true);
  });

  it('state_dict values share storage (detached); keep_vars returns the tensors', () => {
    const lin = new nn.Linear(2, 2);
    const sd = lin.state_dict();
    expect(sd.weight!.requires_grad).toBe(false);
    expect(sd.weight!._ref).toBe(lin.weight._ref);
    expect(lin.state_dict({ keep_vars: true }).weight).toBe(lin.weight);
    expect(Object.keys(lin.state_dict({ prefix: 'head.' }))).toEqual(['head.weight', 'head.bias']);
  });

  it('strict mode reports missing, unexpected and mis-shaped keys by name and changes nothing', () => {
    const net = new Net();
    const before = Array.from(net.conv1.weight.dataSync());
    const sd = { ...new Net().state_dict() };
    delete sd['bn1.running_var'];
    sd['extra.weight'] = zeros([1]);
    sd['fc.weight'] = zeros([3, 6]);
    let msg = '';
    try {
      net.load_state_dict(sd);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('Error(s) in loading state_dict for Net:');
    expect(msg).toContain('Missing key(s) in state_dict: "bn1.running_var".');
    expect(msg).toContain('Unexpected key(s) in state_dict: "extra.weight".');
    expect(msg).toContain('size mismatch for fc.weight: copying a param with shape [3, 6] from checkpoint, the shape in current model is [2, 6].');
    expect(Array.from(net.conv1.weight.dataSync())).toEqual(before);
  });

  it('non-strict returns missing/unexpected keys, loads the rest, still refuses mis-shaped keys', () => {
    const net = new Net();
    const src = new Net();
    nn.init.constant_(src.fc.bias!, 7);
    const sd = { ...src.state_dict() };
    delete sd['conv1.bias'];
    sd['junk'] = zeros([1]);
    const res = net.load_state_dict(sd, { strict: false });
    expect(res).toEqual({ missing_keys: ['conv1.bias'], unexpected_keys: ['junk'] });
    expect(Array.from(net.fc.bias!.dataSync())).toEqual([7, 7]);
    expect(net.load_state_dict(new Map([['fc.bias', tensor([1, 2])]]), false).missing_keys).toHaveLength(NET_KEYS.length - 1);
    expect(Array.from(net.fc.bias!.dataSync())).toEqual([1, 2]);
    expect(() => net.load_state_dict({ 'fc.bias': zeros([3]) }, { strict: false })).toThrow(/size mismatch for fc\.bias/);
    expect(() => net.load_state_dict({ 'fc.bias': 3 as unknown as Tensor }, { strict: false })).toThrow(/expected a Tensor/);
  });

  it('accepts int32 num_batches_tracked (converted from int64), also as shape [1], and converts dtypes', () => {
    const bn = new nn.BatchNorm2d(2);
    const sd = {
      weight: tensor([1.5, 2.5], { dtype: 'float64' }),
      bias: tensor([0, 1]),
      running_mean: tensor([0.1, 0.2]),
      running_var: tensor([2, 3]),
      num_batches_tracked: tensor([42], { dtype: 'int32' }),
    };
    bn.load_state_dict(sd);
    expect(bn.num_batches_tracked!.shape).toEqual([]);
    expect(bn.num_batches_tracked!.itemSync()).toBe(42);
    expect(bn.weight!.dtype).toBe('float32');
    expect(Array.from(bn.weight!.dataSync())).toEqual([1.5, 2.5]);
    expect(bn.num_batches_tracked!._version).toBeGreaterThan(0);
  });
});

describe.each(DEVICES)('moving modules and loading state onto %s', (device) => {
  it('to(device) moves parameters (leaves), grads and buffers; load_state_dict copies from cpu; toAsync comes back', async () => {
    manual_seed(4);
    const src = new Net();
    const lin = src.fc;
    lin.call(tensor([[1, 2, 3, 4, 5, 6]])).sum().backward();
    const cpuState = Object.fromEntries(Object.entries(src.state_dict()).map(([k, v]) => [k, Array.from(v.dataSync())]));
    const gradBefore = Array.from(lin.weight.grad!.dataSync());
    expect(src.to(device)).toBe(src);
    for (const [, p] of src.named_parameters()) {
      expect(p.device).toBe(device);
      expect(p).toBeInstanceOf(nn.Parameter);
      expect(p.is_leaf && p.requires_grad).toBe(true);
    }
    for (const b of src.buffers()) expect(b.device).toBe(device);
    expect(src.fc.weight.grad!.device).toBe(device);
    expect(Array.from(await src.fc.weight.grad!.data())).toEqual(gradBefore);
    const sd = src.state_dict();
    expect(Object.keys(sd)).toEqual(NET_KEYS);
    for (const k of NET_KEYS) expect(Array.from(await sd[k]!.data()), k).toEqual(cpuState[k]);
    // load a cpu state dict into the device model
    manual_seed(5);
    const other = new Net();
    const otherState = other.state_dict();
    src.load_state_dict(otherState);
    for (const k of NET_KEYS) expect(Array.from(await src.state_dict()[k]!.data()), k).toEqual(Array.from(otherState[k]!.dataSync()));
    if (device !== 'cpu') {
      expect(() => src.to('cpu')).toThrow(/must be read back asynchronously; use await module\.toAsync\('cpu'\)/);
      expect(() => other.load_state_dict(src.state_dict())).toThrow(/is on 'webgpu' but the model's is on 'cpu'/);
    }
    await src.toAsync('cpu');
    for (const p of src.parameters()) expect(p.device === 'cpu' && p.is_leaf && p.requires_grad).toBe(true);
    for (const k of NET_KEYS) expect(Array.from(src.state_dict()[k]!.dataSync()), k).toEqual(Array.from(otherState[k]!.dataSync()));
  });
});
