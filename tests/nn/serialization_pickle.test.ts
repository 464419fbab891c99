/**
 * The restricted unpickler and the zip reader: hostile pickles are refused before anything is
 * built, every supported opcode gives the values Python pickled (fixtures from
 * tests/fixtures/gen_checkpoints.py), malformed streams and archives fail with clear errors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/index.js';
import { CheckpointError, load_pth, load_pth_bytes, load_pth_object_bytes, PickleError } from '../../src/nn/serialization/index.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'checkpoints');
const EXPECTED = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as Record<string, Record<string, unknown>>;

// ---------------------------------------------------------------- builders

const enc = new TextEncoder();
function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}
function u16(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff];
}
function u64(n: number): number[] {
  return [...u32(n % 2 ** 32), ...u32(Math.floor(n / 2 ** 32))];
}

/** A zip archive (stored or deflated entries, optionally with zip64 records) per APPNOTE.TXT. */
function makeZip(entries: [string, Uint8Array][], opts: { deflate?: boolean; zip64?: boolean; method?: number; flags?: number } = {}): Uint8Array {
  const parts: number[] = [];
  const central: number[] = [];
  for (const [name, data] of entries) {
    const nameBytes = [...enc.encode(name)];
    const body = opts.deflate ? new Uint8Array(zlib.deflateRawSync(data)) : data;
    const method = opts.method ?? (opts.deflate ? 8 : 0);
    const crc = zlib.crc32(data);
    const offset = parts.length;
    parts.push(...u32(0x04034b50), ...u16(20), ...u16(opts.flags ?? 0), ...u16(method), 0, 0, 0, 0, ...u32(crc), ...u32(body.length), ...u32(data.length), ...u16(nameBytes.length), ...u16(0), ...nameBytes, ...body);
    const z = !!opts.zip64;
    const extra = z ? [...u16(1), ...u16(24), ...u64(data.length), ...u64(body.length), ...u64(offset)] : [];
    central.push(
      ...u32(0x02014b50), ...u16(45), ...u16(45), ...u16(opts.flags ?? 0), ...u16(method), 0, 0, 0, 0, ...u32(crc),
      ...u32(z ? 0xffffffff : body.length), ...u32(z ? 0xffffffff : data.length), ...u16(nameBytes.length), ...u16(extra.length), ...u16(0),
      ...u16(0), ...u16(0), ...u32(0), ...u32(z ? 0xffffffff : offset), ...nameBytes, ...extra,
    );
  }
  const cdOffset = parts.length;
  parts.push(...central);
  if (opts.zip64) {
    const z64 = parts.length;
    parts.push(...u32(0x06064b50), ...u64(44), ...u16(45), ...u16(45), ...u32(0), ...u32(0), ...u64(entries.length), ...u64(entries.length), ...u64(central.length), ...u64(cdOffset));
    parts.push(...u32(0x07064b50), ...u32(0), ...u64(z64), ...u32(1));
    parts.push(...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(0xffff), ...u16(0xffff), ...u32(0xffffffff), ...u32(0xffffffff), ...u16(0));
  } else {
    parts.push(...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(entries.length), ...u16(entries.length), ...u32(central.length), ...u32(cdOffset), ...u16(0));
  }
  return Uint8Array.from(parts);
}

/** A tiny pickle assembler: numbers are raw bytes, strings are latin-1 bytes. */
function pk(...parts: (number | string | number[] | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}
const P = {
  proto: (v = 2) => [0x80, v],
  str: (s: string) => {
    const b = [...enc.encode(s)];
    return [0x58, ...u32(b.length), ...b];
  },
  int1: (n: number) => [0x4b, n],
  int: (n: number) => [0x4a, ...u32(n >>> 0)],
  global: (m: string, n: string) => [0x63, ...enc.encode(`${m}\n${n}\n`)],
};
const MARK = 0x28, TUPLE = 0x74, STOP = 0x2e, REDUCE = 0x52, EMPTY_DICT = 0x7d, EMPTY_LIST = 0x5d, EMPTY_TUPLE = 0x29;
const SETITEM = 0x73, SETITEMS = 0x75, APPEND = 0x61, BINPERSID = 0x51, NEWFALSE = 0x89, BINPUT = 0x71, BINGET = 0x68;

interface TensorSpec {
  key: string;
  storage: string;
  type?: string;
  numel: number;
  offset?: number;
  size: number[];
  stride: number[];
}
/** A pickled state dict {key: tensor} in the shape torch.save writes it. */
function statePickle(tensors: TensorSpec[]): Uint8Array {
  const parts: (number | number[])[] = [P.proto(), EMPTY_DICT, MARK];
  for (const t of tensors) {
    parts.push(P.str(t.key), P.global('torch._utils', '_rebuild_tensor_v2'), MARK);
    parts.push(MARK, P.str('storage'), P.global('torch', t.type ?? 'FloatStorage'), P.str(t.storage), P.str('cpu'), P.int(t.numel), TUPLE, BINPERSID);
    parts.push(P.int(t.offset ?? 0), MARK, ...t.size.map(P.int), TUPLE, MARK, ...t.stride.map(P.int), TUPLE, NEWFALSE, P.global('collections', 'OrderedDict'), EMPTY_TUPLE, REDUCE, TUPLE, REDUCE);
  }
  parts.push(SETITEMS, STOP);
  return pk(...parts);
}
/** A torch.save zip archive with this pickle and storages. */
function pthZip(pkl: Uint8Array, storages: Record<string, Uint8Array> = {}, opts: { deflate?: boolean; zip64?: boolean } = {}): Uint8Array {
  return makeZip([['archive/data.pkl', pkl], ...Object.entries(storages).map(([k, v]): [string, Uint8Array] => [`archive/data/${k}`, v]), ['archive/version', enc.encode('3\n')]], opts);
}
const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);
const loadObj = (pkl: Uint8Array, storages?: Record<string, Uint8Array>) => load_pth_object_bytes(pthZip(pkl, storages), {}, 'test.pth');
async function rejection(p: Promise<unknown>): Promise<Error> {
  const r = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(r).toBeInstanceOf(Error);
  return r as Error;
}

// ---------------------------------------------------------------- tests

describe('hostile pickles are refused', () => {
  it('os.system via GLOBAL + REDUCE (fixture pickled by Python)', async () => {
    const e = await rejection(load_pth(join(FIX, 'evil_system.pth')));
    expect(e).toBeInstanceOf(PickleError);
    expect(e.message).toMatch(/refusing to load global posix\.system/);
    expect(existsSync('/tmp/pwned_by_pickle')).toBe(false);
  });
  it('builtins.eval via STACK_GLOBAL (protocol 4 fixture)', async () => {
    expect((await rejection(load_pth(join(FIX, 'evil_eval.pth')))).message).toMatch(/refusing to load global builtins\.eval/);
  });
  it('a hand-written GLOBAL os system, before REDUCE runs', async () => {
    const pkl = pk(P.proto(), P.global('os', 'system'), P.str('touch /tmp/pwned_by_pickle'), 0x85, REDUCE, STOP);
    expect((await rejection(loadObj(pkl))).message).toMatch(/test\.pth.*refusing to load global os\.system/);
    expect(existsSync('/tmp/pwned_by_pickle')).toBe(false);
  });
  it('an evil global after valid tensors: nothing is returned', async () => {
    const good = statePickle([{ key: 'w', storage: '0', numel: 2, size: [2], stride: [1] }]);
    const pkl = pk(good.subarray(0, good.length - 2), P.str('x'), P.global('subprocess', 'Popen'), P.str('id'), 0x85, REDUCE, SETITEM, STOP);
    expect((await rejection(loadObj(pkl, { '0': f32(1, 2) }))).message).toMatch(/refusing to load global subprocess\.Popen/);
  });
  it('a whole pickled nn.Module, TorchScript classes and quantized tensors get specific hints', async () => {
    const mod = pk(P.proto(), P.global('torch.nn.modules.conv', 'Conv2d'), EMPTY_TUPLE, REDUCE, STOP);
    expect((await rejection(loadObj(mod))).message).toMatch(/refusing to load global torch\.nn\.modules\.conv\.Conv2d: .*torch\.save\(model\.state_dict\(\), path\)/);
    const ts = pk(P.proto(), P.global('__torch__.MyNet', 'MyNet'), STOP);
    expect((await rejection(loadObj(ts))).message).toMatch(/TorchScript/);
    const q = pk(P.proto(), P.global('torch._utils', '_rebuild_qtensor'), STOP);
    expect((await rejection(loadObj(q))).message).toMatch(/quantized/);
    const cs = pk(P.proto(), P.global('torch', 'ComplexFloatStorage'), STOP);
    expect((await rejection(loadObj(cs))).message).toMatch(/storage type torch\.ComplexFloatStorage is not supported/);
    const pmod = pk(P.proto(), MARK, P.str('module'), 0x4e, TUPLE, BINPERSID, STOP);
    expect((await rejection(loadObj(pmod))).message).toMatch(/whole nn\.Module/);
  });
  it('allowed globals are only callable the safe way', async () => {
    const badEncode = pk(P.proto(), P.global('_codecs', 'encode'), P.str('x'), P.str('rot13'), 0x86, REDUCE, STOP);
    expect((await rejection(loadObj(badEncode))).message).toMatch(/_codecs\.encode is only accepted as encode\(text, 'latin1'\)/);
    const storageCall = pk(P.proto(), P.global('torch', 'FloatStorage'), EMPTY_TUPLE, REDUCE, STOP);
    expect((await rejection(loadObj(storageCall))).message).toMatch(/cannot call StorageType/);
  });
  it('a TorchScript archive is recognized', async () => {
    const z = makeZip([['net/constants.pkl', pk(P.proto(), EMPTY_TUPLE, STOP)], ['net/code/__torch__.py', enc.encode('')], ['net/version', enc.encode('3\n')]]);
    expect((await rejection(load_pth_bytes(z))).message).toMatch(/TorchScript archive/);
  });
});

describe('plain Python values pickled by Python', () => {
  for (const proto of [2, 3, 4]) {
    it(`protocol ${proto}`, async () => {
      const f = `plain_p${proto}.pth`;
      const o = (await load_pth(join(FIX, f))) as Record<string, unknown>;
      const exp = EXPECTED[f]!;
      expect(Object.keys(o)).toEqual(Object.keys(exp));
      const ints = (exp.ints as unknown[]).map((v) => (typeof v === 'object' ? BigInt((v as { __int__: string }).__int__) : v));
      expect(o.ints).toEqual(ints);
      expect(o.floats).toEqual(exp.floats);
      expect(Object.is((o.floats as number[])[1], -0)).toBe(true);
      expect(o.strs).toEqual(exp.strs);
      expect(Array.from(o.bytes as Uint8Array)).toEqual((exp.bytes as { __bytes__: number[] }).__bytes__);
      expect(o.empty_bytes).toEqual(new Uint8Array(0));
      expect(o.tuples).toEqual(exp.tuples);
      expect(o.nested).toEqual(exp.nested);
      expect(o.keys).toEqual({ '1': 'one', '(2, 3)': 'tuple', None: 'none', '2.5': 'float', False: 'false' });
      expect(o.shared_a).toBe(o.shared_b); // the memo keeps sharing
      expect(o.long_list).toEqual(exp.long_list);
      expect(o.big_dict).toEqual(exp.big_dict);
      expect(o.bools).toEqual([true, false]);
    });
  }
  it('opcodes Python rarely emits: LONG4, BINUNICODE8, SHORT_BINBYTES, LONG_BINPUT/GET, MEMOIZE, DICT, LIST, DUP, POP', async () => {
    const pkl = pk(
      P.proto(4), MARK,
      0x8b, u32(9), [0, 0, 0, 0, 0, 0, 0, 0, 0x80], // LONG4: -2**71
      0x8d, u64(3), 'abc', // BINUNICODE8
      0x43, 2, [1, 2], // SHORT_BINBYTES
      0x8a, 0, // LONG1 of length 0: 0
      0x8a, 1, 0xff, // LONG1: -1
      0x47, [0x3f, 0xf8, 0, 0, 0, 0, 0, 0], // BINFLOAT 1.5 (big-endian)
      0x4d, u16(65535), // BININT2
      P.int(-7), 0x88, 0x4e, // BININT -7, NEWTRUE, NONE
      0x6c, // LIST
      0x72, u32(70000), 0x94, // LONG_BINPUT 70000, MEMOIZE (index 1)
      0x32, 0x30, // DUP, POP
      MARK, P.str('a'), 0x6a, u32(70000), P.str('b'), BINGET, 1, 0x64, // DICT {a: list, b: list}
      STOP,
    );
    const o = (await loadObj(pkl)) as Record<string, unknown[]>;
    expect(o.a).toBe(o.b);
    expect(o.a).toEqual([-(2n ** 71n), 'abc', new Uint8Array([1, 2]), 0, -1, 1.5, 65535, -7, true, null]);
  });
  it('keys named __proto__ stay ordinary properties', async () => {
    const pkl = pk(P.proto(), EMPTY_DICT, P.str('__proto__'), EMPTY_DICT, P.str('polluted'), 0x88, SETITEM, SETITEM, STOP);
    const o = (await loadObj(pkl)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(Object.keys(o)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('malformed pickles fail with clear errors', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated', pk(P.proto(), EMPTY_DICT, P.str('abc').slice(0, 3)), /unexpected end of data/],
    ['no STOP', pk(P.proto(), EMPTY_DICT), /unexpected end of data/],
    ['invalid opcode', pk(P.proto(), 0xff, STOP), /invalid pickle opcode 0xff/],
    ['text protocol opcode', pk('I42\n.'), /unsupported pickle opcode INT/],
    ['sets', pk(P.proto(4), 0x8f, STOP), /unsupported pickle opcode EMPTY_SET/],
    ['protocol 5 buffers', pk(P.proto(5), 0x97, STOP), /unsupported pickle opcode NEXT_BUFFER/],
    ['stack underflow', pk(P.proto(), 0x85, STOP), /stack underflow/],
    ['missing mark', pk(P.proto(), TUPLE, STOP), /MARK expected but missing/],
    ['undefined memo', pk(P.proto(), BINGET, 9, STOP), /memo key 9 is not defined/],
    ['SETITEM on a list', pk(P.proto(), EMPTY_LIST, P.int1(1), P.int1(2), SETITEM, STOP), /SETITEM on a non-dict \(list\)/],
    ['APPEND on a tuple', pk(P.proto(), EMPTY_TUPLE, P.int1(1), APPEND, STOP), /APPEND on a non-list \(tuple\)/],
    ['unhashable key', pk(P.proto(), EMPTY_DICT, EMPTY_LIST, P.int1(1), SETITEM, STOP), /unhashable dict key of type list/],
    ['recursive list', pk(P.proto(), EMPTY_LIST, BINPUT, 0, BINGET, 0, APPEND, STOP), /recursive structure/],
    ['too deep', pk(P.proto(), ...new Array(1500).fill(EMPTY_LIST), ...new Array(1499).fill(APPEND), STOP), /nesting deeper than 1000/],
    ['huge LONG4', pk(P.proto(), 0x8b, u32(1 << 20), STOP), /integer of 1048576 bytes is too large/],
    ['bad UTF-8', pk(P.proto(), 0x58, u32(1), 0xff, STOP), /invalid UTF-8/],
    ['unknown protocol', pk(0x80, 9, STOP), /unsupported pickle protocol 9/],
  ];
  for (const [name, pkl, re] of cases) {
    it(name, async () => {
      const e = await rejection(loadObj(pkl));
      expect(e).toBeInstanceOf(CheckpointError);
      expect(e.message).toMatch(re);
      expect(e.message).toContain('test.pth');
    });
  }
});

describe('tensors from hand-made archives', () => {
  it('rebuilds views with offsets and strides; shared storages are read once', async () => {
    const pkl = statePickle([
      { key: 'full', storage: '0', numel: 6, size: [2, 3], stride: [3, 1] },
      { key: 't', storage: '0', numel: 6, size: [3, 2], stride: [1, 3] },
      { key: 'tail', storage: '0', numel: 6, offset: 4, size: [2], stride: [1] },
      { key: 'bcast', storage: '0', numel: 6, offset: 1, size: [2, 2], stride: [0, 2] },
      { key: 'empty', storage: '1', numel: 0, size: [0, 4], stride: [4, 1] },
    ]);
    const sd = (await load_pth_bytes(pthZip(pkl, { '0': f32(0, 1, 2, 3, 4, 5), '1': new Uint8Array(0) }))) as Record<string, Tensor>;
    expect(sd.full!.toArray()).toEqual([[0, 1, 2], [3, 4, 5]]);
    expect(sd.t!.toArray()).toEqual([[0, 3], [1, 4], [2, 5]]);
    expect(sd.tail!.toArray()).toEqual([4, 5]);
    expect(sd.bcast!.toArray()).toEqual([[1, 3], [1, 3]]);
    expect(sd.empty!.shape).toEqual([0, 4]);
  });
  it('zip64 records and deflated entries read the same', async () => {
    const pkl = statePickle([{ key: 'w', storage: '0', numel: 3, size: [3], stride: [1] }]);
    for (const opts of [{ zip64: true }, { deflate: true }, { zip64: true, deflate: true }]) {
      const sd = (await load_pth_bytes(pthZip(pkl, { '0': f32(1.5, -2, 3) }, opts))) as Record<string, Tensor>;
      expect(sd.w!.toArray()).toEqual([1.5, -2, 3]);
    }
  });
  it('int64 values are range-checked into int32, naming the key', async () => {
    const ok = new Uint8Array(new BigInt64Array([-5n, 2147483647n]).buffer);
    const sd = (await load_pth_bytes(pthZip(statePickle([{ key: 'n', storage: '0', type: 'LongStorage', numel: 2, size: [2], stride: [1] }]), { '0': ok }))) as Record<string, Tensor>;
    expect([sd.n!.dtype, sd.n!.toArray()]).toEqual(['int32', [-5, 2147483647]]);
    const big = new Uint8Array(new BigInt64Array([1n, 2n ** 40n]).buffer);
    const pkl = statePickle([
      { key: 'a', storage: '1', numel: 1, size: [1], stride: [1] },
      { key: 'bn.num_batches_tracked', storage: '0', type: 'LongStorage', numel: 2, size: [2], stride: [1] },
    ]);
    const e = await rejection(load_pth_bytes(pthZip(pkl, { '0': big, '1': f32(1) }), {}, 'ckpt.pth'));
    expect(e.message).toMatch(/ckpt\.pth: 'bn\.num_batches_tracked': int64 value 1099511627776 at flat index 1 is outside the int32 range/);
    expect((e as CheckpointError).key).toBe('bn.num_batches_tracked');
  });
  it('rejects views outside the storage, short or missing storage data, and CRC mismatches', async () => {
    const outside = statePickle([{ key: 'w', storage: '0', numel: 4, offset: 2, size: [3], stride: [1] }]);
    expect((await rejection(load_pth_bytes(pthZip(outside, { '0': f32(1, 2, 3, 4) })))).message).toMatch(/reaches element 4 of a storage of 4/);
    const short = statePickle([{ key: 'w', storage: '0', numel: 4, size: [4], stride: [1] }]);
    expect((await rejection(load_pth_bytes(pthZip(short, { '0': f32(1, 2) })))).message).toMatch(/storage '0' has 8 bytes, expected 16/);
    expect((await rejection(load_pth_bytes(pthZip(short, {})))).message).toMatch(/storage '0' is missing \(no entry archive\/data\/0\)/);
    const z = pthZip(short, { '0': f32(1, 2, 3, 4) });
    const pos = Buffer.from(z).indexOf(Buffer.from(f32(1, 2, 3, 4)));
    expect(pos).toBeGreaterThan(0);
    z[pos + 1] = z[pos + 1]! ^ 0x40;
    expect((await rejection(load_pth_bytes(z)))).toBeInstanceOf(CheckpointError);
    expect((await rejection(load_pth_bytes(z))).message).toMatch(/entry 'archive\/data\/0': CRC-32 mismatch/);
    const sd = (await load_pth_bytes(z, { verify_crc: false })) as Record<string, Tensor>;
    expect(sd.w!.numel()).toBe(4);
  });
  it('a non-dict top level: load_pth refuses, load_pth_object returns it', async () => {
    const pkl = pk(P.proto(), EMPTY_LIST, P.int1(1), APPEND, STOP);
    expect((await rejection(load_pth_bytes(pthZip(pkl)))).message).toMatch(/holds a list, not a dict; use load_pth_object/);
    expect(await load_pth_object_bytes(pthZip(pkl))).toEqual([1]);
  });
  it('unsupported zip features are refused', async () => {
    const enc2 = makeZip([['a/data.pkl', pk(P.proto(), EMPTY_DICT, STOP)]], { flags: 1 });
    expect((await rejection(load_pth_bytes(enc2))).message).toMatch(/is encrypted/);
    const bz = makeZip([['a/data.pkl', pk(P.proto(), EMPTY_DICT, STOP)]], { method: 12 });
    expect((await rejection(load_pth_bytes(bz))).message).toMatch(/compression method 12/);
    const none = makeZip([['a/other.txt', enc.encode('hi')]]);
    expect((await rejection(load_pth_bytes(none))).message).toMatch(/no <archive>\/data\.pkl entry/);
  });
});

describe('the legacy format', () => {
  it('loads with the storages read from their offsets; truncation is detected', async () => {
    const bytes = readFileSync(join(FIX, 'tiny_legacy.pth'));
    const sd = (await load_pth_bytes(new Uint8Array(bytes))) as Record<string, Tensor>;
    expect((sd['bn1.num_batches_tracked'] as Tensor).itemSync()).toBe(7);
    const cut = new Uint8Array(bytes.subarray(0, bytes.length - 10));
    expect((await rejection(load_pth_bytes(cut))).message).toMatch(/runs past the end of the file \(truncated\?\)/);
    const magic = new Uint8Array(bytes);
    magic[5] = magic[5]! ^ 1; // inside the magic number
    expect((await rejection(load_pth_bytes(magic))).message).toMatch(/wrong magic number/);
  });
  it('a legacy file with a hostile object pickle is refused', async () => {
    const bytes = new Uint8Array(readFileSync(join(FIX, 'tiny_legacy.pth')));
    // Header pickles (magic, protocol, sys info) are kept; the object pickle is replaced.
    const sysEnd = Buffer.from(bytes).indexOf(Buffer.from([0x75, 0x75, 0x2e])) + 3;
    const evil = pk(P.proto(), P.global('os', 'system'), P.str('id'), 0x85, REDUCE, STOP);
    const keys = pk(P.proto(), EMPTY_LIST, STOP);
    const file = pk(bytes.subarray(0, sysEnd), evil, keys);
    expect((await rejection(load_pth_bytes(file))).message).toMatch(/refusing to load global os\.system/);
  });
});
