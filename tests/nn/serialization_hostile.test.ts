/**
 * Hostile checkpoints (issue 14): small crafted files that used to abort the process, exhaust the
 * heap, run for minutes or allocate gigabytes. Each must end in a clean, catchable error naming
 * the file, in bounded time and memory. Files are generated here; the loads that could kill the
 * process run in a child under a 256 MB heap limit and a timeout (tests/helpers/child.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Tensor, tensor } from '../../src/index.js';
import { CheckpointError, load_pth_bytes, load_pth_object_bytes, load_safetensors_bytes, PickleError, save_safetensors_bytes } from '../../src/nn/serialization/index.js';
import { assemble, bytes, f32, OP, stateDictPickle, torchZip } from '../helpers/checkpoint_builders.js';
import { probeLoad } from '../helpers/child.js';
import { gpuAvailable } from '../helpers/webgpu.js';

const tmp = mkdtempSync(join(tmpdir(), 'hostile-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, data: Uint8Array): string => {
  const p = join(tmp, name);
  writeFileSync(p, data);
  return p;
};
const repeat = (byte: number, n: number) => new Uint8Array(n).fill(byte);

/** Loads `file` in a child; expects a clean error matching `re`, naming the file, within `maxMs`. */
function expectCleanError(file: string, re: RegExp, maxMs = 20_000): void {
  const r = probeLoad('pth', file, { heapMb: 256, timeoutMs: 90_000 });
  expect(r, JSON.stringify(r).slice(0, 600)).toMatchObject({ outcome: 'error' });
  expect(r.message).toMatch(re);
  expect(r.message).toContain(file);
  expect(r.ms).toBeLessThan(maxMs);
}

describe('the builders make real checkpoints', () => {
  it('a hand-built torch.save state dict loads with its values, strides honoured', async () => {
    const pkl = stateDictPickle([
      { name: 'w', key: '0', numel: 6, size: [2, 3], stride: [3, 1] },
      { name: 'wt', key: '0', numel: 6, size: [3, 2], stride: [1, 3] },
      { name: 'b', key: '1', numel: 1, size: [4], stride: [0] },
    ]);
    const sd = await load_pth_bytes(torchZip(pkl, { '0': f32([1, 2, 3, 4, 5, 6]), '1': f32([7]) }));
    expect(Array.from((sd['w'] as Tensor).dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from((sd['wt'] as Tensor).dataSync())).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Array.from((sd['b'] as Tensor).dataSync())).toEqual([7, 7, 7, 7]); // a small broadcast view is fine
  });
});

describe('bounded unpickler (children with a 256 MB heap)', () => {
  it('a deflated pickle pushing 20M Nones stops at the work limit', () => {
    const pkl = bytes(OP.PROTO2, OP.MARK, repeat(OP.NONE, 20_000_000), OP.LIST, OP.STOP);
    const f = write('nones.pth', torchZip(pkl, {}, { deflatePickle: true }));
    expect(f.length).toBeGreaterThan(0);
    expectCleanError(f, /more work than its size can justify/);
  });

  it('a deflated pickle that inflates past the size limit is refused before inflating', () => {
    const pkl = bytes(OP.PROTO2, repeat(OP.NONE, 40_000_000), OP.STOP);
    const f = write('bomb.pth', torchZip(pkl, {}, { deflatePickle: true }));
    expectCleanError(f, /data\.pkl inflates to 40000003 bytes, more than the 33554432/);
  });

  it('a memo of millions of entries stops at the memo limit', () => {
    const pkl = bytes(OP.PROTO2, OP.NONE, repeat(OP.MEMOIZE, 6_000_000), OP.STOP);
    expectCleanError(write('memo.pth', torchZip(pkl, {}, { deflatePickle: true })), /memo grows past 4000000 entries/);
  });

  it('a tuple dict key that doubles with every level (a few hundred bytes) is refused quickly', () => {
    const parts: (number | readonly number[])[] = [OP.PROTO2, OP.NONE, OP.TUPLE1, OP.BINPUT, 0];
    for (let i = 1; i <= 60; i++) parts.push(OP.BINGET, i - 1, OP.DUP, OP.TUPLE2, OP.BINPUT, i);
    parts.push(OP.EMPTY_DICT, OP.BINGET, 60, OP.NONE, OP.SETITEM, OP.STOP);
    const pkl = assemble(parts);
    expect(pkl.length).toBeLessThan(500);
    expectCleanError(write('tuplekey.pth', torchZip(pkl, {})), /dict key longer than 65536 characters/, 5000);
  });

  it('the same big tuple handed to a call over and over is charged at every call', () => {
    // t = tuple(range(200000)); [torch.Size(t) for _ in range(3000)]: 600M items copied before
    const parts: (number | readonly number[])[] = [OP.PROTO2, OP.MARK];
    for (let i = 0; i < 200_000; i++) parts.push(OP.int(i));
    parts.push(OP.TUPLE, OP.BINPUT, 0, OP.POP, OP.global('torch', 'Size'), OP.BINPUT, 1, OP.POP, OP.EMPTY_LIST);
    for (let i = 0; i < 3000; i++) parts.push(OP.BINGET, 1, OP.BINGET, 0, OP.TUPLE1, OP.REDUCE, OP.APPEND);
    parts.push(OP.STOP);
    const pkl = assemble(parts);
    expectCleanError(write('calls.pth', torchZip(pkl, {})), /more work than its size can justify/);
  });

  it('MARKs nested a million deep stop at the nesting limit', () => {
    const pkl = bytes(OP.PROTO2, repeat(OP.MARK, 1_000_000), OP.NONE, OP.STOP);
    expectCleanError(write('marks.pth', torchZip(pkl, {}, { deflatePickle: true })), /MARKs nested deeper than 1000 levels/);
  });

  it('a tuple nested a million deep as a dict key is refused without a stack overflow', () => {
    const pkl = bytes(OP.PROTO2, OP.EMPTY_DICT, OP.NONE, repeat(OP.TUPLE1, 1_000_000), OP.NONE, OP.SETITEM, OP.STOP);
    expectCleanError(write('deepkey.pth', torchZip(pkl, {}, { deflatePickle: true })), /dict key nested deeper than 100 tuples/);
  });
});

describe('storages never materialize more than the file holds', () => {
  it('zip entries whose records point at the same bytes are refused', async () => {
    const pkl = stateDictPickle([
      { name: 'a', key: '0', numel: 4, size: [4], stride: [1] },
      { name: 'b', key: '1', numel: 4, size: [4], stride: [1] },
    ]);
    // central record of data/1 points at the local header of data/0 (index 1 in the entry list)
    const { makeZip } = await import('../helpers/checkpoint_builders.js');
    const zip = makeZip([
      { name: 'archive/data.pkl', data: pkl },
      { name: 'archive/data/0', data: f32([1, 2, 3, 4]) },
      { name: 'archive/data/1', data: f32([1, 2, 3, 4]), sameAs: 1 },
      { name: 'archive/version', data: bytes('3\n') },
    ]);
    const err = await load_pth_bytes(zip, {}, 'overlap.pth').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(/^zip: overlap\.pth: entries 'archive\/data\/0' \(46 bytes at \d+\) and 'archive\/data\/1' \(at \d+\) overlap$/);
  });

  it('a stride-0 view of one float claiming 2^27 elements is refused, not materialized (512 MiB)', () => {
    const pkl = stateDictPickle([{ name: 'x', key: '0', numel: 1, size: [1 << 27], stride: [0] }]);
    expectCleanError(write('stride0.pth', torchZip(pkl, { '0': f32([3]) })), /'x': tensor of shape \[134217728\] \(stride \[0\]\) would take 536870912 bytes.*refusing to materialize it/, 5000);
  });

  it('the allowance is 4x the storage bytes plus 64 MiB: 16M + 5 elements over 4 bytes are refused, 1M accepted', async () => {
    const mk = (n: number) => torchZip(stateDictPickle([{ name: 'x', key: '0', numel: 1, size: [n], stride: [0] }]), { '0': f32([3]) });
    const big = await load_pth_bytes(mk((16 << 20) + 5), {}, 'big.pth').catch((e: unknown) => e);
    expect((big as Error).message).toBe(
      "big.pth: 'x': tensor of shape [16777221] (stride [0]) would take 67108884 bytes, and the tensors of this file 67108884 bytes in all: more than 4 x the 4 bytes of storage the file holds, plus 67108864 (a broadcast or self-overlapping view, e.g. stride 0, of a small storage); refusing to materialize it",
    );
    const ok = await load_pth_bytes(mk(1 << 20), {}, 'ok.pth');
    const d = (ok['x'] as Tensor).dataSync();
    expect(d.length).toBe(1 << 20);
    expect(d[12345]).toBe(3);
    (ok['x'] as Tensor).dispose();
  });

  it('values of a well-formed pickle are unchanged by the limits (list, tuple keys, shared tuple)', async () => {
    const parts: (number | readonly number[])[] = [OP.PROTO2, OP.EMPTY_DICT, OP.MARK];
    parts.push(OP.str('t'), OP.MARK, OP.int(1), OP.int(2), OP.TUPLE, OP.BINPUT, 0);
    parts.push(OP.BINGET, 0, OP.str('v'), OP.TUPLE2, OP.EMPTY_LIST, OP.MARK, OP.int(5), OP.NONE, OP.LIST, OP.APPEND, OP.SETITEMS, OP.STOP);
    const v = (await load_pth_object_bytes(torchZip(assemble(parts), {}))) as Record<string, unknown>;
    expect(v).toEqual({ t: [1, 2], '((1, 2), v)': [[5, null]] });
  });
});

describe('safetensors error paths', () => {
  it('a __metadata__ value nested 100k deep is reported with the file and key, no stack overflow', async () => {
    const d = 100_000;
    const json = `{"__metadata__":{"deep":${'['.repeat(d)}${']'.repeat(d)}}}`;
    const hb = new TextEncoder().encode(json);
    const buf = new Uint8Array(8 + hb.length);
    new DataView(buf.buffer).setBigUint64(0, BigInt(hb.length), true);
    buf.set(hb, 8);
    const err = await load_safetensors_bytes(buf, {}, 'deep.safetensors').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toBe("safetensors: deep.safetensors: __metadata__['deep'] must be a string, got an array of 1 items");
  });

  it('a huge shape array is summarized in the message', async () => {
    const json = `{"x":{"dtype":"F32","shape":[${Array(100).fill(1).join(',')}],"data_offsets":[0,4]}}`;
    const hb = new TextEncoder().encode(json);
    const buf = new Uint8Array(8 + hb.length + 4);
    new DataView(buf.buffer).setBigUint64(0, BigInt(hb.length), true);
    buf.set(hb, 8);
    await expect(load_safetensors_bytes(buf, {}, 's.safetensors')).rejects.toThrow("safetensors: s.safetensors: tensor 'x': shape must be an array of non-negative integers (at most 64), got an array of 100 items");
  });
});

const GPU = await gpuAvailable();
describe.runIf(GPU)('float64 tensors and the webgpu device', () => {
  it('an F64 safetensors tensor loaded onto webgpu names the file and the tensor', async () => {
    const buf = await save_safetensors_bytes({ 'layer.w': tensor([1, 2], { dtype: 'float64' }) });
    const err = await load_safetensors_bytes(buf, { device: 'webgpu' }, 'f64.safetensors').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toBe(
      "safetensors: f64.safetensors: tensor 'layer.w': F64 loads as float64, which the 'webgpu' device does not support (it holds float32 and int32); load the file on 'cpu' and convert with t.to('float32') before moving tensors to the GPU",
    );
    const ok = await load_safetensors_bytes(buf, { device: 'cpu' }, 'f64.safetensors');
    expect(Array.from(ok['layer.w']!.dataSync())).toEqual([1, 2]);
  });

  it('a DoubleStorage in a .pth loaded onto webgpu names the file and the key; nothing leaks', async () => {
    const pkl = stateDictPickle([
      { name: 'a', key: '0', numel: 1, size: [1], stride: [1] },
      { name: 'd', key: '1', numel: 1, size: [1], stride: [1], storage: 'DoubleStorage' },
    ]);
    const zip = torchZip(pkl, { '0': f32([1]), '1': new Uint8Array(Float64Array.from([2]).buffer) });
    const err = await load_pth_bytes(zip, { device: 'webgpu' }, 'f64.pth').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(/^f64\.pth: 'd': float64 loads as float64, which the 'webgpu' device does not support/);
  });
});

it('PickleError is what the unpickler limits throw (catchable, with the file name)', async () => {
  const pkl = bytes(OP.PROTO2, repeat(OP.MARK, 2000), OP.NONE, OP.STOP);
  const err = await load_pth_object_bytes(torchZip(pkl, {}), {}, 'm.pth').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PickleError);
  expect((err as Error).message).toMatch(/^pickle: m\.pth:archive\/data\.pkl: MARKs nested deeper than 1000 levels \(opcode at byte 1002\)$/);
});
