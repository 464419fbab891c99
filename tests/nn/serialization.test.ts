/**
 * Checkpoint formats: safetensors round trips and validation, PyTorch checkpoints written by
 * torch 1.13 (tests/fixtures/gen_checkpoints.py) compared value for value with the expected
 * JSON written next to them, the converter CLI.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arange, tensor, Tensor, zeros } from '../../src/index.js';
import {
  CheckpointError,
  extract_state_dict,
  load_file,
  load_pth,
  load_pth_object,
  load_safetensors_bytes,
  pth_to_safetensors,
  read_metadata,
  read_safetensors_header,
  safe_open,
  save_file,
  save_safetensors_bytes,
} from '../../src/nn/serialization/index.js';
import { main as cliMain } from '../../src/nn/serialization/cli.js';
import { DEVICES } from '../helpers/devices.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'checkpoints');
const GEN = join(import.meta.dirname, '..', 'fixtures', 'gen_checkpoints.py');
const EXPECTED = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as Record<string, unknown>;
const PYTHON = '/usr/bin/python3';
const hasPython = existsSync(PYTHON) && (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Our dtype for each torch dtype after loading. */
const LOADED: Record<string, string> = {
  float32: 'float32',
  float64: 'float64',
  float16: 'float32',
  bfloat16: 'float32',
  int64: 'int32',
  int32: 'int32',
  int16: 'int32',
  int8: 'int32',
  uint8: 'int32',
  bool: 'int32',
};

interface ExpTensor {
  __tensor__: true;
  dtype: string;
  shape: number[];
  values: number[];
  requires_grad: boolean;
}

/** Asserts a loaded object equals the expected JSON from gen_checkpoints.py, exactly. */
function expectMatches(actual: unknown, exp: unknown, path = '$'): void {
  if (exp !== null && typeof exp === 'object' && !Array.isArray(exp)) {
    const e = exp as Record<string, unknown>;
    if (e.__tensor__) {
      const x = e as unknown as ExpTensor;
      expect(actual, path).toBeInstanceOf(Tensor);
      const t = actual as Tensor;
      expect(t.shape, path).toEqual(x.shape);
      expect(t.dtype, path).toBe(LOADED[x.dtype]);
      expect(Array.from(t.dataSync()), path).toEqual(x.values);
      expect(t.requires_grad, path).toBe(x.requires_grad);
      return;
    }
    if ('__int__' in e) return void expect(actual, path).toBe(BigInt(e.__int__ as string));
    if ('__bytes__' in e) return void expect(Array.from(actual as Uint8Array), path).toEqual(e.__bytes__);
    expect(typeof actual, path).toBe('object');
    expect(Object.keys(actual as object), path).toEqual(Object.keys(e));
    for (const k of Object.keys(e)) expectMatches((actual as Record<string, unknown>)[k], e[k], `${path}.${k}`);
    return;
  }
  if (Array.isArray(exp)) {
    expect(Array.isArray(actual), path).toBe(true);
    expect((actual as unknown[]).length, path).toBe(exp.length);
    exp.forEach((x, i) => expectMatches((actual as unknown[])[i], x, `${path}[${i}]`));
    return;
  }
  expect(actual, path).toBe(exp);
}

/** The bytes of a safetensors file with this header (object or raw JSON text) and data. */
function stFile(header: unknown, data: Uint8Array = new Uint8Array(0), sizeOverride?: bigint): Uint8Array {
  const h = header instanceof Uint8Array ? header : new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, sizeOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serialization-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('safetensors round trip', () => {
  it('save -> load gives identical dtypes, shapes, values and bytes', async () => {
    const sd: Record<string, Tensor> = {
      'conv.weight': arange(0, 24, 1, { dtype: 'float32' }).reshape(2, 3, 4).mul(0.25).sub(1.5),
      'bn.num_batches_tracked': tensor(7, { dtype: 'int32' }),
      ints: tensor([-2147483648, 2147483647, 0, -1], { dtype: 'int32' }),
      f64: tensor([Math.PI, -1e300, 5e-324], { dtype: 'float64' }),
      scalar: tensor(-0.5),
      empty: zeros([0, 3]),
      empty_int: zeros([2, 0], { dtype: 'int32' }),
      transposed: arange(0, 6, 1, { dtype: 'float32' }).reshape(2, 3).t(),
    };
    const p = join(dir, 'round.safetensors');
    await save_file(sd, p, { format: 'pt', note: 'ünïcode ✓' });
    const back = await load_file(p);
    expect(Object.keys(back)).toEqual(Object.keys(sd));
    for (const [k, t] of Object.entries(sd)) {
      expect(back[k]!.dtype, k).toBe(t.dtype);
      expect(back[k]!.shape, k).toEqual(t.shape);
      expect(Array.from(back[k]!.dataSync()), k).toEqual(Array.from(t.dataSync()));
    }
    expect(back.transposed!.toArray()).toEqual([[0, 3], [1, 4], [2, 5]]);
    expect(back.scalar!.itemSync()).toBe(-0.5);
    expect(await read_metadata(p)).toEqual({ format: 'pt', note: 'ünïcode ✓' });
    // Saving what was loaded reproduces the file byte for byte; the in-memory writer agrees.
    const p2 = join(dir, 'round2.safetensors');
    await save_file(back, p2, { format: 'pt', note: 'ünïcode ✓' });
    const bytes = await readFile(p);
    expect(Buffer.compare(bytes, await readFile(p2))).toBe(0);
    expect(Buffer.compare(bytes, Buffer.from(await save_safetensors_bytes(sd, { format: 'pt', note: 'ünïcode ✓' })))).toBe(0);
    const fromBytes = await load_safetensors_bytes(new Uint8Array(bytes));
    expect(fromBytes.ints!.toArray()).toEqual([-2147483648, 2147483647, 0, -1]);
  });

  it('writes the layout the spec describes', async () => {
    const p = join(dir, 'layout.safetensors');
    await save_file({ a: tensor([1, 2, 3]), b: tensor([[4, 5]], { dtype: 'int32' }) }, p);
    const bytes = await readFile(p);
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0); // padded so the data is aligned
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    expect(header).toEqual({
      a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
      b: { dtype: 'I32', shape: [1, 2], data_offsets: [12, 20] },
    });
    expect(bytes.length).toBe(8 + n + 20);
    const data = bytes.subarray(8 + n);
    expect([data.readFloatLE(0), data.readFloatLE(4), data.readFloatLE(8), data.readInt32LE(12), data.readInt32LE(16)]).toEqual([1, 2, 3, 4, 5]);
  });

  it('an empty state dict round-trips', async () => {
    const p = join(dir, 'empty.safetensors');
    await save_file({}, p);
    expect(await load_file(p)).toEqual({});
    expect(await read_metadata(p)).toBeNull();
  });

  it.runIf(hasPython)('files written by save_file read back in Python (independent numpy reader)', async () => {
    const p = join(dir, 'for_python.safetensors');
    const w = arange(0, 12, 1, { dtype: 'float32' }).reshape(3, 4).mul(0.1);
    await save_file({ w, n: tensor(3, { dtype: 'int32' }), d: tensor([0.1], { dtype: 'float64' }) }, p, { format: 'pt' });
    const out = JSON.parse(execFileSync(PYTHON, [GEN, '--read-safetensors', p], { encoding: 'utf8' }));
    expect(out.metadata).toEqual({ format: 'pt' });
    expect(out.tensors.w).toEqual({ dtype: 'F32', shape: [3, 4], values: Array.from(w.dataSync()) });
    expect(out.tensors.n).toEqual({ dtype: 'I32', shape: [], values: [3] });
    expect(out.tensors.d).toEqual({ dtype: 'F64', shape: [1], values: [0.1] });
  });
});

describe('safetensors written by Python', () => {
  for (const f of ['tiny.safetensors', 'dtypes.safetensors']) {
    it(`${f} loads with exact values (F16/BF16 -> float32, I64/I16/I8/U8/BOOL -> int32)`, async () => {
      const sd = await load_file(join(FIX, f));
      expectMatches(sd, EXPECTED[f]);
    });
  }
  it('header inspection and safe_open read lazily', async () => {
    const p = join(FIX, 'tiny.safetensors');
    const h = await read_safetensors_header(p);
    expect(h.names).toEqual(['conv1.weight', 'conv1.bias', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var', 'bn1.num_batches_tracked', 'fc.weight', 'fc.bias']);
    expect(h.tensors['bn1.num_batches_tracked']).toEqual({ dtype: 'I64', shape: [], data_offsets: [512, 520] });
    expect(h.metadata).toEqual({ format: 'pt', source: 'gen_checkpoints.py' });
    expect(h.data_start).toBe(8 + h.header_size);
    const f = await safe_open(p);
    try {
      expect(f.keys()).toEqual(h.names);
      expect(f.metadata()).toEqual(h.metadata);
      const nbt = await f.get_tensor('bn1.num_batches_tracked');
      expect([nbt.dtype, nbt.shape, nbt.itemSync()]).toEqual(['int32', [], 7]);
      await expect(f.get_tensor('nope')).rejects.toThrow(/no tensor named 'nope'/);
    } finally {
      await f.close();
    }
  });
});

describe('safetensors validation', () => {
  const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);
  const load = (bytes: Uint8Array) => load_safetensors_bytes(bytes, {}, 'bad.safetensors');
  const cases: [string, Uint8Array, RegExp][] = [
    ['too small', new Uint8Array(5), /bad\.safetensors: file is 5 bytes, too small/],
    ['header size beyond the file', stFile({}, new Uint8Array(0), 1000n), /bad\.safetensors: header size 1000 exceeds the file/],
    ['huge header size', stFile({}, new Uint8Array(0), 0xffffffffffffffffn), /header size 18446744073709551615 exceeds the file/],
    ['not JSON', stFile('{"a": [1, 2'), /header is not valid JSON/],
    ['not starting with {', stFile('  {}'), /does not start with '\{'/],
    ['not an object entry', stFile({ a: 5 }), /tensor 'a': entry must be an object/],
    ['unknown dtype', stFile({ a: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor 'a': unknown dtype "C64"/],
    ['bad shape', stFile({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1)), /tensor 'a': shape must be an array of non-negative integers/],
    ['size mismatch', stFile({ a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, f32(1, 2, 3)), /tensor 'a': shape \[2, 2\] of F32 needs 16 bytes but data_offsets \[0, 12\] span 12/],
    ['reversed offsets', stFile({ a: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, f32(1)), /tensor 'a': data_offsets \[4, 0\] end before/],
    ['out of bounds', stFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] } }, f32(1, 2)), /tensor 'a': data_offsets \[0, 12\] run past the end of the data \(8 bytes/],
    [
      'overlap',
      stFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32(1, 2, 3)),
      /tensor 'b': data_offsets \[4, 12\] overlap those of 'a'/,
    ],
    ['gap', stFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(1, 2)), /tensor 'a': data_offsets \[4, 8\] leave a gap/],
    ['trailing bytes', stFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(1, 2)), /cover 4 bytes of data but the file has 8/],
    ['duplicate key', stFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1)), /lists the key 'a' more than once/],
    ['non-string metadata', stFile({ __metadata__: { epoch: 3 } }), /__metadata__\['epoch'\] must be a string/],
    ['int64 out of int32 range', stFile({ big: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(new BigInt64Array([1n << 40n]).buffer)), /tensor 'big': I64 value 1099511627776 .* outside the int32 range/],
    ['invalid UTF-8', stFile(Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), /not valid UTF-8/],
  ];
  for (const [name, bytes, re] of cases) {
    it(`rejects: ${name}`, async () => {
      const err = await load(bytes).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toMatch(re);
    });
  }
  it('errors from files name the path and key', async () => {
    const p = join(dir, 'bad_dtype.safetensors');
    await writeFile(p, stFile({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)));
    const err = (await load_file(p).catch((e: unknown) => e)) as CheckpointError;
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err.message).toContain(p);
    expect(err.file).toBe(p);
    expect(err.key).toBe('w');
    await expect(load_file(join(dir, 'missing.safetensors'))).rejects.toThrow(/ENOENT/);
  });
  it('accepts header padding, zero-size tensors sharing an offset, and keeps integer-like names in header order', async () => {
    const bytes = stFile('{"b":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"10":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"2":{"dtype":"F32","shape":[0,5],"data_offsets":[4,4]}}    ', new Uint8Array(new Int32Array([42]).buffer));
    const p = join(dir, 'order.safetensors');
    await writeFile(p, bytes);
    expect((await read_safetensors_header(p)).names).toEqual(['b', '10', '2']);
    const sd = await load_file(p);
    expect(sd['10']!.toArray()).toEqual([42]);
    expect(sd['2']!.shape).toEqual([0, 5]);
  });
});

describe('save_file', () => {
  it('validates its input', async () => {
    const p = join(dir, 'x.safetensors');
    await expect(save_file({ a: [1, 2] as unknown as Tensor }, p)).rejects.toThrow(/'a' is not a Tensor/);
    await expect(save_file({ __metadata__: tensor([1]) }, p)).rejects.toThrow(/'__metadata__' is reserved/);
    await expect(save_file({ a: tensor([1]) }, p, { epoch: 3 as unknown as string })).rejects.toThrow(/metadata\['epoch'\] must be a string/);
    const t = tensor([1]);
    t.dispose();
    await expect(save_file({ t }, p)).rejects.toThrow(/tensor 't' was disposed/);
    expect(existsSync(p)).toBe(false);
  });
  it('is atomic: a failure mid-write leaves the old file and no temporary file', async () => {
    const sub = await mkdtemp(join(dir, 'atomic-'));
    const p = join(sub, 'model.safetensors');
    await save_file({ a: tensor([1, 2, 3]) }, p);
    const before = await readFile(p);
    const bad = tensor([4, 5, 6]);
    bad.data = async () => {
      throw new Error('device lost while reading');
    };
    await expect(save_file({ a: tensor([9, 9, 9]), b: bad }, p)).rejects.toThrow(/device lost/);
    expect(Buffer.compare(await readFile(p), before)).toBe(0);
    expect(await readdir(sub)).toEqual(['model.safetensors']);
    // A successful overwrite replaces it and also leaves nothing behind.
    await save_file({ a: tensor([7]) }, p);
    expect((await load_file(p)).a!.toArray()).toEqual([7]);
    expect(await readdir(sub)).toEqual(['model.safetensors']);
  });
});

describe.each(DEVICES)('devices: %s', (device) => {
  it('load_file and load_pth create tensors on the device; save_file reads them back', async () => {
    const sd = await load_file(join(FIX, 'tiny.safetensors'), { device });
    expect(sd['fc.weight']!.device).toBe(device);
    const p = join(dir, `dev-${device}.safetensors`);
    await save_file(sd, p);
    const cpu = await load_file(p);
    expectMatches(cpu, EXPECTED['tiny.safetensors']);
    const ck = await load_pth(join(FIX, 'tiny_zip.pth'), { device });
    expect((ck['conv1.weight'] as Tensor).device).toBe(device);
    expect(Array.from(await (ck['conv1.weight'] as Tensor).data())).toEqual(Array.from(cpu['conv1.weight']!.dataSync()));
  });
});

describe('PyTorch checkpoints written by torch 1.13', () => {
  const files = ['tiny_zip.pth', 'tiny_deflated.pth', 'tiny_legacy.pth', 'tiny_proto4.pth', 'checkpoint_nested.pth', 'dtypes_views.pth', 'dtypes_views_legacy.pth'];
  for (const f of files) {
    it(`${f} loads with exact values and key order`, async () => {
      expectMatches(await load_pth(join(FIX, f)), EXPECTED[f]);
    });
  }
  it('state dict details: num_batches_tracked is an int32 scalar, views are rebuilt from offset and strides', async () => {
    const sd = await load_pth(join(FIX, 'tiny_zip.pth'));
    const nbt = sd['bn1.num_batches_tracked'] as Tensor;
    expect([nbt.dtype, nbt.shape, nbt.itemSync()]).toEqual(['int32', [], 7]);
    const d = await load_pth(join(FIX, 'dtypes_views.pth'));
    expect((d.base as Tensor).toArray()).toEqual([[-1, -0.5, 0, 0.5], [1, 1.5, 2, 2.5], [3, 3.5, 4, 4.5]]);
    expect((d.transposed as Tensor).toArray()).toEqual([[-1, 1, 3], [-0.5, 1.5, 3.5], [0, 2, 4], [0.5, 2.5, 4.5]]);
    expect((d.sliced as Tensor).toArray()).toEqual([[1, 2], [3, 4]]);
    expect((d.expanded as Tensor).toArray()).toEqual([[1, 2], [1, 2], [1, 2]]);
    expect((d.transposed as Tensor).is_contiguous()).toBe(true);
    expect((d.param as Tensor).requires_grad).toBe(true);
    expect((d.bf16 as Tensor).toArray()).toEqual([1, -3.5, 1.0002555517425873e30, 0.10009765625]);
    expect((d.f16 as Tensor).toArray()).toEqual([0.5, -2.25, 65504, 0.00010001659393310547]);
  });
  it('a training checkpoint keeps its plain values', async () => {
    const ck = await load_pth(join(FIX, 'checkpoint_nested.pth'));
    expect(ck.epoch).toBe(3);
    expect(ck.best_acc).toBe(0.8125);
    expect(ck.flags).toEqual([true, false, null]);
    expect(ck.huge).toBe(2n ** 70n);
    const opt = ck.optimizer_state_dict as { state: Record<string, { momentum_buffer: Tensor }>; param_groups: Record<string, unknown>[] };
    expect(Object.keys(opt.state)).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(opt.param_groups[0]).toMatchObject({ lr: 0.1, momentum: 0.9, nesterov: false, foreach: null, params: [0, 1, 2, 3, 4, 5] });
    expect(opt.state['0']!.momentum_buffer.shape).toEqual([4, 3, 3, 3]);
  });
  it('load_pth_object returns the same object', async () => {
    const obj = await load_pth_object(join(FIX, 'tiny_zip.pth'));
    expectMatches(obj, EXPECTED['tiny_zip.pth']);
  });
  it('rejects other formats with a clear message', async () => {
    await expect(load_pth(join(FIX, 'tiny.safetensors'))).rejects.toThrow(/looks like a safetensors file; use load_file/);
    const p = join(dir, 'junk.pth');
    await writeFile(p, 'hello world, not a checkpoint');
    await expect(load_pth(p)).rejects.toThrow(/not a PyTorch checkpoint/);
    const tar = new Uint8Array(1024);
    tar.set(new TextEncoder().encode('ustar'), 257);
    await writeFile(p, tar);
    await expect(load_pth(p)).rejects.toThrow(/tar-based format of PyTorch < 0\.4 is not supported/);
  });
});

describe('extract_state_dict', () => {
  it('finds the state dict at the top level or under the usual keys', async () => {
    const flat = await load_pth(join(FIX, 'tiny_zip.pth'));
    expect(extract_state_dict(flat)).toBe(flat);
    const ck = await load_pth(join(FIX, 'checkpoint_nested.pth'));
    const sd = extract_state_dict(ck);
    expect(sd).toBe(ck.model_state_dict);
    expect(Object.keys(sd)).toEqual(Object.keys(EXPECTED['tiny_zip.pth'] as object));
    expect(extract_state_dict({ state_dict: flat })).toBe(flat);
    expect(extract_state_dict({ model: flat, other: 1 })).toBe(flat);
    expect(extract_state_dict({ weights: flat }, { key: 'weights' })).toBe(flat);
  });
  it('strips a prefix such as "module."', () => {
    const a = tensor([1]);
    const b = tensor([2]);
    const sd = extract_state_dict({ 'module.fc.weight': a, 'module.fc.bias': b }, { strip_prefix: 'module.' });
    expect(Object.keys(sd)).toEqual(['fc.weight', 'fc.bias']);
    expect(sd['fc.weight']).toBe(a);
  });
  it('throws when there is none', () => {
    expect(() => extract_state_dict({ epoch: 3, optimizer: {} })).toThrow(/no state dict found.*top-level keys: epoch, optimizer/);
    expect(() => extract_state_dict({ a: {} }, { key: 'a' })).toThrow(/'a' is not a state dict/);
    expect(() => extract_state_dict({})).toThrow(CheckpointError);
  });
});

describe('pth -> safetensors converter', () => {
  it('converts the model state dict and prints a summary (CLI)', async () => {
    const out = join(dir, 'converted.safetensors');
    const lines: string[] = [];
    const code = await cliMain([join(FIX, 'checkpoint_nested.pth'), out], (s) => lines.push(s), (s) => lines.push(s));
    expect(code).toBe(0);
    const text = lines.join('\n');
    expect(text).toMatch(/bn1\.num_batches_tracked\s+int32\s+\[\]/);
    expect(text).toMatch(/conv1\.weight\s+float32\s+\[4, 3, 3, 3\]/);
    expect(text).toMatch(/9 tensors, 144 elements/);
    const sd = await load_file(out);
    expectMatches(sd, (EXPECTED['checkpoint_nested.pth'] as Record<string, unknown>).model_state_dict);
    expect((await read_metadata(out))?.format).toBe('pt');
    const h = await read_safetensors_header(out);
    expect(h.tensors['bn1.num_batches_tracked']!.dtype).toBe('I32');
  });
  it('lists a checkpoint or a safetensors file with one argument', async () => {
    const lines: string[] = [];
    expect(await cliMain([join(FIX, 'checkpoint_nested.pth')], (s) => lines.push(s))).toBe(0);
    expect(lines.join('\n')).toMatch(/other entries: optimizer_state_dict, epoch/);
    lines.length = 0;
    expect(await cliMain([join(FIX, 'dtypes.safetensors')], (s) => lines.push(s))).toBe(0);
    expect(lines.join('\n')).toMatch(/bf16\s+BF16\s+\[4\]/);
  });
  it('fails cleanly: refused pickles and bad usage write nothing', async () => {
    const out = join(dir, 'evil.safetensors');
    const errs: string[] = [];
    expect(await cliMain([join(FIX, 'evil_system.pth'), out], () => undefined, (s) => errs.push(s))).toBe(1);
    expect(errs.join('\n')).toMatch(/refusing to load global posix\.system/);
    expect(existsSync(out)).toBe(false);
    expect(await cliMain([], () => undefined, (s) => errs.push(s))).toBe(2);
    expect(await cliMain(['a', 'b', 'c'], () => undefined, () => undefined)).toBe(2);
  });
  it('pth_to_safetensors returns the converted tensors', async () => {
    const out = join(dir, 'legacy.safetensors');
    const rows = await pth_to_safetensors(join(FIX, 'tiny_legacy.pth'), out);
    expect(rows.map((r) => r.name)).toEqual(Object.keys(EXPECTED['tiny_legacy.pth'] as object));
    expectMatches(await load_file(out), EXPECTED['tiny_legacy.pth']);
  });
  it('runs as a script with npx tsx', () => {
    const out = join(dir, 'script.safetensors');
    const text = execFileSync('npx', ['tsx', 'src/nn/serialization/cli.ts', join(FIX, 'tiny_zip.pth'), out], { encoding: 'utf8', cwd: join(import.meta.dirname, '..', '..') });
    expect(text).toMatch(/wrote .*script\.safetensors/);
    expect(existsSync(out)).toBe(true);
  });
});
