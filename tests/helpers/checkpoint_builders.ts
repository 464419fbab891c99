/**
 * Builders for hand-made checkpoints: a tiny pickle assembler, zip archives per PKWARE's
 * APPNOTE.TXT (stored or deflated entries, central records that may point anywhere), and
 * `torch.save`-shaped state dicts. Used by the hostile-file tests and scripts/fuzz_checkpoints.ts.
 */
import * as zlib from 'node:zlib';

const enc = new TextEncoder();
export const u16 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff];
export const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

/** {@link bytes} of a list of parts (no limit on how many). */
export function assemble(parts: readonly (number | string | readonly number[] | Uint8Array)[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += typeof p === 'number' ? 1 : p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    if (typeof p === 'number') out[o++] = p;
    else if (typeof p === 'string') for (let i = 0; i < p.length; i++) out[o++] = p.charCodeAt(i);
    else {
      out.set(p, o);
      o += p.length;
    }
  }
  return out;
}

/** Concatenates raw bytes, byte arrays and latin-1 strings. */
export function bytes(...parts: (number | string | readonly number[] | Uint8Array)[]): Uint8Array {
  return assemble(parts);
}

/** Pickle opcodes (CPython Lib/pickletools.py). */
export const OP = {
  PROTO2: [0x80, 2],
  MARK: 0x28,
  STOP: 0x2e,
  NONE: 0x4e,
  EMPTY_DICT: 0x7d,
  EMPTY_LIST: 0x5d,
  EMPTY_TUPLE: 0x29,
  TUPLE: 0x74,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  LIST: 0x6c,
  APPEND: 0x61,
  SETITEM: 0x73,
  SETITEMS: 0x75,
  REDUCE: 0x52,
  BINPERSID: 0x51,
  BINPUT: 0x71,
  BINGET: 0x68,
  LONG_BINGET: 0x6a,
  MEMOIZE: 0x94,
  DUP: 0x32,
  POP: 0x30,
  NEWFALSE: 0x89,
  int: (n: number) => [0x4a, ...u32(n >>> 0)],
  str: (s: string) => {
    const b = enc.encode(s);
    return [0x58, ...u32(b.length), ...b];
  },
  global: (m: string, n: string) => [0x63, ...enc.encode(`${m}\n${n}\n`)],
} as const;

/** One zip entry: `at` forces the central record's local header offset (to make entries overlap). */
export interface ZipSpec {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  /** Point the central record at the local header of the entry with this index instead of its own. */
  sameAs?: number;
}

/** A zip archive; each entry's central record normally points at its own local header. */
export function makeZip(specs: ZipSpec[]): Uint8Array {
  const locals: Uint8Array[] = [];
  const offsets: number[] = [];
  const central: Uint8Array[] = [];
  let pos = 0;
  const meta: { crc: number; comp: number; size: number; method: number }[] = [];
  for (const s of specs) {
    const body = s.deflate ? new Uint8Array(zlib.deflateRawSync(s.data, { level: 9 })) : s.data;
    const method = s.deflate ? 8 : 0;
    const crc = zlib.crc32(s.data);
    const name = enc.encode(s.name);
    const hdr = bytes(u32(0x04034b50), u16(20), u16(0), u16(method), u16(0), u16(0), u32(crc), u32(body.length), u32(s.data.length), u16(name.length), u16(0), name);
    offsets.push(pos);
    meta.push({ crc, comp: body.length, size: s.data.length, method });
    if (s.sameAs === undefined) {
      locals.push(hdr, body);
      pos += hdr.length + body.length;
    }
  }
  specs.forEach((s, i) => {
    const m = meta[s.sameAs ?? i]!;
    const off = offsets[s.sameAs ?? i]!;
    const name = enc.encode(s.name);
    central.push(
      bytes(u32(0x02014b50), u16(20), u16(20), u16(0), u16(m.method), u16(0), u16(0), u32(m.crc), u32(m.comp), u32(m.size), u16(name.length), u16(0), u16(0), u16(0), u16(0), u32(0), u32(off), name),
    );
  });
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  const eocd = bytes(u32(0x06054b50), u16(0), u16(0), u16(specs.length), u16(specs.length), u32(cdSize), u32(pos), u16(0));
  return bytes(...locals, ...central, eocd);
}

/** A torch.save zip archive `archive/data.pkl` + `archive/data/<key>` + `archive/version`. */
export function torchZip(pkl: Uint8Array, storages: Record<string, Uint8Array>, opts: { deflatePickle?: boolean } = {}): Uint8Array {
  return makeZip([
    { name: 'archive/data.pkl', data: pkl, deflate: opts.deflatePickle },
    ...Object.entries(storages).map(([k, d]) => ({ name: `archive/data/${k}`, data: d })),
    { name: 'archive/version', data: bytes('3\n') },
  ]);
}

/**
 * The pickle of `{name: tensor}` for float32 tensors, each on its own storage key, as torch.save
 * writes it (protocol 2): `_rebuild_tensor_v2(persistent_load(('storage', FloatStorage, key,
 * 'cpu', numel)), offset, size, stride, False, OrderedDict())`.
 */
export function stateDictPickle(tensors: { name: string; key: string; numel: number; offset?: number; size: number[]; stride: number[]; storage?: string }[]): Uint8Array {
  const tup = (xs: number[]) => (xs.length === 0 ? [OP.EMPTY_TUPLE] : [OP.MARK, ...xs.flatMap((x) => OP.int(x)), OP.TUPLE]);
  const parts: (number | readonly number[])[] = [OP.PROTO2, OP.EMPTY_DICT, OP.MARK];
  for (const t of tensors) {
    parts.push(OP.str(t.name), OP.global('torch._utils', '_rebuild_tensor_v2'), OP.MARK);
    parts.push(OP.MARK, OP.str('storage'), OP.global('torch', t.storage ?? 'FloatStorage'), OP.str(t.key), OP.str('cpu'), OP.int(t.numel), OP.TUPLE, OP.BINPERSID);
    parts.push(OP.int(t.offset ?? 0), tup(t.size), tup(t.stride), OP.NEWFALSE, OP.global('collections', 'OrderedDict'), OP.EMPTY_TUPLE, OP.REDUCE, OP.TUPLE, OP.REDUCE);
  }
  parts.push(OP.SETITEMS, OP.STOP);
  return assemble(parts);
}

/** float32 little-endian bytes of `values`. */
export function f32(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
