/**
 * Fuzzing the checkpoint readers: truncated files, flipped bytes (headers, pickles, zip
 * directories, data) and random garbage. Every load must either succeed with sane output
 * (tensors whose data matches their shape) or reject with an Error: no crash, no hang, no
 * non-Error throw. Seeded, a few hundred mutations per run, a few seconds in total.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/index.js';
import { load_file, load_pth, load_pth_object_bytes, load_safetensors_bytes } from '../../src/nn/serialization/index.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'checkpoints');
const read = (f: string) => new Uint8Array(readFileSync(join(FIX, f)));

/** mulberry32: a small seeded PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Walks a loaded value and checks every tensor is consistent; disposes the tensors. */
function checkSane(v: unknown, seen = new Set<unknown>()): number {
  if (typeof v !== 'object' || v === null || seen.has(v)) return 0;
  seen.add(v);
  if (v instanceof Tensor) {
    const n = v.shape.reduce((a, b) => a * b, 1);
    expect(v.shape.every((s) => Number.isInteger(s) && s >= 0)).toBe(true);
    expect(v.dataSync().length).toBe(n);
    expect(['float32', 'int32', 'float64']).toContain(v.dtype);
    v.dispose();
    return 1;
  }
  if (v instanceof Uint8Array) return 0;
  let n = 0;
  for (const x of Array.isArray(v) ? v : Object.values(v)) n += checkSane(x, seen);
  return n;
}

interface Tally {
  ok: number;
  errors: number;
  messages: Set<string>;
}

/** Runs one load; asserts it resolves sanely or rejects with an Error. */
async function probe(load: () => Promise<unknown>, tally: Tally, what: string): Promise<void> {
  let result: unknown;
  try {
    result = await load();
  } catch (e) {
    if (!(e instanceof Error)) throw new Error(`${what}: threw a non-Error: ${String(e)}`);
    expect(e.message.length, what).toBeGreaterThan(0);
    tally.errors++;
    tally.messages.add(e.message.replace(/\d+/g, 'N').slice(0, 60));
    return;
  }
  expect(typeof result, what).toBe('object');
  checkSane(result);
  tally.ok++;
}

/** Truncations at evenly spread points plus every byte of the first 16. */
function truncations(len: number, count: number): number[] {
  const cuts = new Set<number>();
  for (let i = 0; i < 16 && i < len; i++) cuts.add(i);
  for (let i = 1; i <= count; i++) cuts.add(Math.floor((len * i) / (count + 1)));
  cuts.add(len - 1);
  return [...cuts];
}

/** `n` copies of `bytes`, each with 1-4 bytes changed, positions drawn from [lo, hi). */
function flips(bytes: Uint8Array, n: number, r: () => number, lo = 0, hi = bytes.length): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const m = bytes.slice();
    const k = 1 + Math.floor(r() * 4);
    for (let j = 0; j < k; j++) {
      const pos = lo + Math.floor(r() * (hi - lo));
      const mode = r();
      m[pos] = mode < 0.3 ? m[pos]! ^ (1 << Math.floor(r() * 8)) : mode < 0.6 ? Math.floor(r() * 256) : mode < 0.8 ? 0xff : 0;
    }
    out.push(m);
  }
  return out;
}

/** A stored zip archive (local headers, central directory, end record), for re-packing mutated pickles. */
function storedZip(entries: [string, Uint8Array][]): Uint8Array {
  const u16 = (n: number) => [n & 0xff, (n >>> 8) & 0xff];
  const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
  const out: number[] = [];
  const cd: number[] = [];
  for (const [name, data] of entries) {
    const nb = [...new TextEncoder().encode(name)];
    const crc = zlib.crc32(data);
    const off = out.length;
    out.push(...u32(0x04034b50), ...u16(20), 0, 0, 0, 0, 0, 0, 0, 0, ...u32(crc), ...u32(data.length), ...u32(data.length), ...u16(nb.length), 0, 0, ...nb, ...data);
    cd.push(...u32(0x02014b50), ...u16(20), ...u16(20), 0, 0, 0, 0, 0, 0, 0, 0, ...u32(crc), ...u32(data.length), ...u32(data.length), ...u16(nb.length), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...u32(off), ...nb);
  }
  const cdOff = out.length;
  out.push(...cd, ...u32(0x06054b50), 0, 0, 0, 0, ...u16(entries.length), ...u16(entries.length), ...u32(cd.length), ...u32(cdOff), 0, 0);
  return Uint8Array.from(out);
}

/** The entries of a torch zip fixture (read with Node's inflate-free path: all fixtures from torch are stored). */
function unzipStored(z: Uint8Array): [string, Uint8Array][] {
  const dv = new DataView(z.buffer, z.byteOffset, z.byteLength);
  let eocd = z.length - 22;
  while (dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
  const count = dv.getUint16(eocd + 10, true);
  let p = dv.getUint32(eocd + 16, true);
  const out: [string, Uint8Array][] = [];
  for (let i = 0; i < count; i++) {
    const size = dv.getUint32(p + 20, true);
    const nl = dv.getUint16(p + 28, true);
    const el = dv.getUint16(p + 30, true);
    const cl = dv.getUint16(p + 32, true);
    const lho = dv.getUint32(p + 42, true);
    const name = new TextDecoder().decode(z.subarray(p + 46, p + 46 + nl));
    const start = lho + 30 + dv.getUint16(lho + 26, true) + dv.getUint16(lho + 28, true);
    out.push([name, z.slice(start, start + size)]);
    p += 46 + nl + el + cl;
  }
  return out;
}

const PTH = ['tiny_zip.pth', 'tiny_deflated.pth', 'tiny_legacy.pth', 'tiny_proto4.pth', 'checkpoint_nested.pth', 'dtypes_views_legacy.pth'];
const ST = ['tiny.safetensors', 'dtypes.safetensors'];

describe('fuzzing the readers', () => {
  it('truncated files', async () => {
    const tally: Tally = { ok: 0, errors: 0, messages: new Set() };
    for (const f of [...PTH, ...ST]) {
      const bytes = read(f);
      const loader = f.endsWith('.pth') ? (b: Uint8Array) => load_pth_object_bytes(b, {}, f) : (b: Uint8Array) => load_safetensors_bytes(b, {}, f);
      for (const cut of truncations(bytes.length, 20)) await probe(() => loader(bytes.slice(0, cut)), tally, `${f} cut at ${cut}`);
    }
    // Truncation always breaks these formats (the zip directory or the data is at the end).
    expect(tally.ok).toBe(0);
    expect(tally.errors).toBeGreaterThan(250);
  });

  it('flipped bytes anywhere, and in the headers and directories', async () => {
    const r = rng(1234);
    const tally: Tally = { ok: 0, errors: 0, messages: new Set() };
    for (const f of [...PTH, ...ST]) {
      const bytes = read(f);
      // CRCs off, so flipped data bytes reach the decoders instead of failing the checksum.
      const loader = f.endsWith('.pth') ? (b: Uint8Array) => load_pth_object_bytes(b, { verify_crc: false }, f) : (b: Uint8Array) => load_safetensors_bytes(b, {}, f);
      const targeted = f.endsWith('.safetensors')
        ? flips(bytes, 25, r, 0, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) // the JSON header
        : f.includes('legacy')
          ? flips(bytes, 25, r, 0, 400) // the leading pickles
          : flips(bytes, 25, r, Math.max(0, bytes.length - 1200)); // the central directory
      for (const [i, m] of [...flips(bytes, 20, r), ...targeted].entries()) await probe(() => loader(m), tally, `${f} mutation ${i}`);
    }
    expect(tally.ok + tally.errors).toBe(8 * 45);
    expect(tally.errors).toBeGreaterThan(50);
  });

  it('mutated pickles inside well-formed archives reach the unpickler', async () => {
    const r = rng(99);
    const tally: Tally = { ok: 0, errors: 0, messages: new Set() };
    for (const f of ['tiny_zip.pth', 'checkpoint_nested.pth', 'tiny_proto4.pth']) {
      const entries = unzipStored(read(f));
      const idx = entries.findIndex(([n]) => n.endsWith('/data.pkl'));
      const pkl = entries[idx]![1];
      const variants = [...flips(pkl, 50, r), ...truncations(pkl.length, 15).map((c) => pkl.slice(0, c))];
      for (const [i, v] of variants.entries()) {
        const z = storedZip(entries.map(([n, d], j): [string, Uint8Array] => [n, j === idx ? v : d]));
        await probe(() => load_pth_object_bytes(z, {}, f), tally, `${f} pickle variant ${i}`);
      }
    }
    expect(tally.errors).toBeGreaterThan(100);
    // The pickle checks themselves fire, not just the zip layer.
    expect([...tally.messages].some((m) => /pickle/.test(m))).toBe(true);
  });

  it('random garbage, bare and behind plausible magic bytes', async () => {
    const r = rng(7);
    const tally: Tally = { ok: 0, errors: 0, messages: new Set() };
    const prefixes = [[], [0x50, 0x4b, 0x03, 0x04], [0x80, 0x02, 0x8a, 0x0a], [16, 0, 0, 0, 0, 0, 0, 0, 0x7b]];
    for (let i = 0; i < 40; i++) {
      const len = Math.floor(r() * 600);
      const g = Uint8Array.from({ length: len }, () => Math.floor(r() * 256));
      const m = Uint8Array.from([...prefixes[i % prefixes.length]!, ...g]);
      await probe(() => load_pth_object_bytes(m, {}, 'garbage'), tally, `garbage ${i} (pth)`);
      await probe(() => load_safetensors_bytes(m, {}, 'garbage'), tally, `garbage ${i} (safetensors)`);
    }
    expect(tally.errors).toBe(80);
  });

  it('damaged files on disk go through the file-handle path the same way', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fuzz-'));
    try {
      const r = rng(5);
      const tally: Tally = { ok: 0, errors: 0, messages: new Set() };
      for (const f of ['tiny_zip.pth', 'tiny_legacy.pth', 'tiny.safetensors']) {
        const bytes = read(f);
        const variants = [...flips(bytes, 8, r), ...truncations(bytes.length, 4).slice(-5).map((c) => bytes.slice(0, c))];
        for (const [i, v] of variants.entries()) {
          const p = join(dir, `${i}-${f}`);
          await writeFile(p, v);
          await probe(() => (f.endsWith('.pth') ? load_pth(p) : load_file(p)), tally, `${p}`);
        }
      }
      expect(tally.ok + tally.errors).toBe(39);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
