/**
 * Checkpoint fuzzer (issue 14): mutates valid `.pth` (zip and legacy) and `.safetensors` files
 * thousands of times and loads each mutant in a worker process under a heap limit, reporting
 * every crash (the worker dies: V8 fatal error, heap exhausted, native abort), hang (no answer
 * within the timeout) and non-Error throw. Clean, catchable Errors and successful loads (checked:
 * every tensor's data matches its shape) are the expected outcomes.
 *
 * Mutations: (a) structure-aware: the pickle inside a zip is mutated (bit flips, opcodes inserted
 * or overwritten, slices duplicated or deleted, int operands set to extremes, BININT operands
 * (tensor sizes, strides, offsets) changed, slices spliced from other pickles) and the archive rebuilt with correct CRCs, so the mutant reaches the unpickler;
 * storages are truncated, dropped or aliased; safetensors headers get numbers, dtypes and nesting
 * changed with a correct length prefix; (b) raw: bytes flipped, overwritten, inserted, truncated.
 * Seeded (mulberry32), so a run reproduces; mutants that crash or hang are saved to --out.
 *
 *   nice -n 19 npx tsx scripts/fuzz_checkpoints.ts [--iterations 3000] [--seed 1] [--timeout 20000] [--heap 512] [--out /tmp/fuzz-findings]
 *
 * --heap limits the worker's V8 heap only; typed arrays live outside it, so on a shared machine
 * also cap the address space (e.g. `ulimit -v 6000000` in the shell first).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(import.meta.url);
const ROOT = join(HERE, '..', '..');

// ------------------------------------------------------------------ worker side
async function worker(): Promise<void> {
  const { load_pth_object, load_file } = await import('../src/nn/serialization/index.js');
  const { Tensor } = await import('../src/index.js');
  const check = (v: unknown): number => {
    let n = 0;
    const seen = new Set<unknown>();
    const todo = [v];
    while (todo.length) {
      const x = todo.pop();
      if (typeof x !== 'object' || x === null || seen.has(x) || x instanceof Uint8Array) continue;
      seen.add(x);
      if (x instanceof Tensor) {
        const len = x.dataSync().length;
        if (len !== x.numel()) throw new Error(`INSANE: tensor of shape [${x.shape}] holds ${len} values`);
        x.dispose();
        n++;
      } else for (const y of Array.isArray(x) ? x : Object.values(x)) todo.push(y);
    }
    return n;
  };
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    const job = JSON.parse(line) as { file: string; kind: string };
    const t0 = performance.now();
    let reply: Record<string, unknown>;
    try {
      const v = job.kind === 'safetensors' ? await load_file(job.file) : await load_pth_object(job.file);
      reply = { outcome: 'ok', tensors: check(v) };
    } catch (e) {
      if (e instanceof Error && !e.message.startsWith('INSANE')) reply = { outcome: 'error', name: e.name, msg: e.message.slice(0, 300) };
      else reply = { outcome: e instanceof Error ? 'insane' : 'nonerror', msg: String(e).slice(0, 300) };
    }
    reply.ms = performance.now() - t0;
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  }
}

// ------------------------------------------------------------------ mutation
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;

// Every opcode of protocols 0-5 (pickletools), so mutants also hit the refused ones.
const OPCODES = [
  0x28, 0x2e, 0x30, 0x31, 0x32, 0x46, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x58, 0x5d, 0x61, 0x62, 0x63, 0x64, 0x65,
  0x67, 0x68, 0x69, 0x6a, 0x6c, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x7d, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d,
  0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x29,
];
const EXTREMES = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** One raw mutation of any byte string. */
function mutateBytes(r: Rand, b: Uint8Array, donors: Uint8Array[]): Uint8Array {
  if (b.length === 0) return Uint8Array.of(int(r, 256));
  const at = int(r, b.length);
  const out = b.slice();
  switch (int(r, 10)) {
    case 9: {
      // an integer operand (BININT 'J', BININT1 'K', BININT2 'M'): sizes, strides, offsets, counts
      const ops: number[] = [];
      for (let i = 0; i < b.length; i++) if (b[i] === 0x4a || b[i] === 0x4b || b[i] === 0x4d) ops.push(i);
      if (!ops.length) return out;
      const p = pick(r, ops);
      const width = b[p] === 0x4a ? 4 : b[p] === 0x4b ? 1 : 2;
      const v = r() < 0.5 ? pick(r, EXTREMES) : int(r, 1 << 20);
      for (let i = 0; i < width && p + 1 + i < out.length; i++) out[p + 1 + i] = (v >>> (8 * i)) & 0xff;
      return out;
    }
    case 0: // flip bits
      for (let i = 0, n = 1 + int(r, 8); i < n; i++) out[int(r, out.length)]! ^= 1 << int(r, 8);
      return out;
    case 1: // overwrite with random bytes
      for (let i = 0, n = 1 + int(r, 16); i < n && at + i < out.length; i++) out[at + i] = int(r, 256);
      return out;
    case 2: // an opcode
      out[at] = pick(r, OPCODES);
      return out;
    case 3: // insert an opcode with random operand bytes
      return concat([b.subarray(0, at), Uint8Array.of(pick(r, OPCODES), ...Array.from({ length: int(r, 9) }, () => int(r, 256))), b.subarray(at)]);
    case 4: {
      // duplicate a slice up to 2000 times (pickle bombs are repetitions)
      const len = 1 + int(r, Math.min(64, b.length - at));
      const times = 1 + int(r, r() < 0.2 ? 2000 : 8);
      const s = b.subarray(at, at + len);
      return concat([b.subarray(0, at + len), ...Array.from({ length: times }, () => s), b.subarray(at + len)]);
    }
    case 5: // delete a slice
      return concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(r, 32)))]);
    case 6: {
      // a 32-bit little-endian extreme
      const v = pick(r, EXTREMES);
      for (let i = 0; i < 4 && at + i < out.length; i++) out[at + i] = (v >>> (8 * i)) & 0xff;
      return out;
    }
    case 7: {
      // splice in a slice of another input
      const d = pick(r, donors);
      const s = int(r, d.length);
      return concat([b.subarray(0, at), d.subarray(s, s + 1 + int(r, 64)), b.subarray(at)]);
    }
    default: // truncate
      return b.subarray(0, at);
  }
}

// A minimal zip writer (stored or deflated entries; central records may alias another entry).
import * as zlib from 'node:zlib';
interface Entry {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  sameAs?: number;
}
function zip(entries: Entry[]): Uint8Array {
  const enc = new TextEncoder();
  const u16 = (n: number) => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff);
  const u32 = (n: number) => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  const locals: Uint8Array[] = [];
  const meta: { off: number; crc: number; comp: number; size: number; method: number }[] = [];
  let pos = 0;
  for (const e of entries) {
    const body = e.deflate ? new Uint8Array(zlib.deflateRawSync(e.data)) : e.data;
    const crc = zlib.crc32(e.data);
    const name = enc.encode(e.name);
    const method = e.deflate ? 8 : 0;
    const hdr = concat([u32(0x04034b50), u16(20), u16(0), u16(method), u16(0), u16(0), u32(crc), u32(body.length), u32(e.data.length), u16(name.length), u16(0), name]);
    meta.push({ off: pos, crc, comp: body.length, size: e.data.length, method });
    if (e.sameAs === undefined) {
      locals.push(hdr, body);
      pos += hdr.length + body.length;
    }
  }
  const central = entries.map((e, i) => {
    const m = meta[e.sameAs ?? i]!;
    const name = enc.encode(e.name);
    return concat([u32(0x02014b50), u16(20), u16(20), u16(0), u16(m.method), u16(0), u16(0), u32(m.crc), u32(m.comp), u32(m.size), u16(name.length), u16(0), u16(0), u16(0), u16(0), u32(0), u32(m.off), name]);
  });
  const cd = concat(central);
  return concat([...locals, cd, u32(0x06054b50), u16(0), u16(0), u16(entries.length), u16(entries.length), u32(cd.length), u32(pos), u16(0)]);
}

interface Seed {
  name: string;
  kind: 'pth' | 'safetensors';
  bytes: Uint8Array;
  /** zip seeds: their entries, to mutate the pickle and rebuild. */
  entries?: Entry[];
  /** safetensors seeds: header text and data. */
  header?: string;
  data?: Uint8Array;
}

async function loadSeeds(): Promise<Seed[]> {
  const { ZipReader } = await import('../src/nn/serialization/zip.js');
  const { MemorySource } = await import('../src/nn/serialization/io.js');
  const dirs = [join(ROOT, 'tests/fixtures/checkpoints'), join(ROOT, 'tests/fixtures/resemotenet')];
  const seeds: Seed[] = [];
  for (const d of dirs) {
    for (const f of readdirSync(d).sort()) {
      const bytes = new Uint8Array(readFileSync(join(d, f)));
      if (f.endsWith('.safetensors')) {
        const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
        seeds.push({ name: f, kind: 'safetensors', bytes, header: new TextDecoder().decode(bytes.subarray(8, 8 + n)), data: bytes.subarray(8 + n) });
      } else if (f.endsWith('.pth')) {
        const s: Seed = { name: f, kind: 'pth', bytes };
        if (bytes[0] === 0x50) {
          const z = await ZipReader.open(new MemorySource(bytes, f));
          s.entries = [];
          for (const e of z.entries.values()) s.entries.push({ name: e.name, data: await z.read(e), deflate: e.method === 8 });
        }
        seeds.push(s);
      }
    }
  }
  return seeds;
}

/** A mutant of `seed` (structure-aware most of the time, raw otherwise). */
function mutate(r: Rand, seed: Seed, donors: Uint8Array[]): Uint8Array {
  // mostly one or two mutations, so that many mutants still load and reach the deeper code
  const rounds = r() < 0.6 ? 1 : 2 + int(r, 3);
  if (seed.entries && r() < 0.7) {
    const entries = seed.entries.map((e) => ({ ...e }));
    const pkl = entries.find((e) => e.name.endsWith('data.pkl'))!;
    for (let i = 0; i < rounds; i++) pkl.data = mutateBytes(r, pkl.data, donors);
    if (r() < 0.2) pkl.deflate = !pkl.deflate;
    const storages = entries.filter((e) => e.name.includes('/data/'));
    if (storages.length && r() < 0.25) {
      const s = pick(r, storages);
      const what = int(r, 3);
      if (what === 0) s.data = s.data.subarray(0, int(r, s.data.length));
      else if (what === 1) entries.splice(entries.indexOf(s), 1);
      else s.sameAs = entries.indexOf(pick(r, storages)) === entries.indexOf(s) ? undefined : entries.indexOf(pick(r, storages));
    }
    // an alias must point at an earlier, real entry
    entries.forEach((e, i) => {
      if (e.sameAs !== undefined && (e.sameAs >= i || entries[e.sameAs]!.sameAs !== undefined)) e.sameAs = undefined;
    });
    return zip(entries);
  }
  if (seed.header && r() < 0.7) {
    let h = seed.header;
    for (let i = 0; i < rounds; i++) {
      const nums = [...h.matchAll(/\d+/g)];
      const k = int(r, 5);
      if (k === 0 && nums.length) {
        const m = pick(r, nums);
        h = h.slice(0, m.index) + pick(r, ['0', '-1', '1.5', '1e309', '9007199254740993', '4294967296', String(int(r, 1 << 20))]) + h.slice(m.index! + m[0].length);
      } else if (k === 1) {
        h = h.replace(/"(F32|F64|I64|F16|BF16|I32|U8|BOOL)"/, `"${pick(r, ['F32', 'F64', 'I64', 'F16', 'BF16', 'I8', 'U64', 'BOOL', 'C64', 'X'])}"`);
      } else if (k === 2) {
        const at = h.indexOf(':', int(r, h.length));
        if (at > 0) {
          const d = 1 + int(r, r() < 0.1 ? 200_000 : 50);
          h = `${h.slice(0, at + 1)}${'['.repeat(d)}1${']'.repeat(d)},"x":${h.slice(at + 1)}`;
        }
      } else if (k === 3) {
        h = h.replace('{', '{"__metadata__":{"a":' + pick(r, ['1', '[]', '{"b":"c"}', '"ok"', 'null']) + '},');
      } else {
        h = new TextDecoder().decode(mutateBytes(r, new TextEncoder().encode(h), donors));
      }
    }
    const hb = new TextEncoder().encode(h);
    const pre = new Uint8Array(8);
    new DataView(pre.buffer).setBigUint64(0, BigInt(r() < 0.05 ? hb.length + int(r, 100) - 50 : hb.length), true);
    return concat([pre, hb, r() < 0.2 ? mutateBytes(r, seed.data!, donors) : seed.data!]);
  }
  let b = seed.bytes;
  for (let i = 0; i < rounds; i++) b = mutateBytes(r, b, donors);
  return b;
}

// ------------------------------------------------------------------ parent side
interface Args {
  iterations: number;
  seed: number;
  timeout: number;
  heap: number;
  out: string;
}

function parseArgs(): Args {
  const a: Args = { iterations: 3000, seed: 1, timeout: 20_000, heap: 512, out: join(tmpdir(), 'fuzz-findings') };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!.replace(/^--/, '') as keyof Args;
    if (!(k in a)) throw new Error(`fuzz_checkpoints: unknown option ${argv[i]}`);
    (a as unknown as Record<string, unknown>)[k] = k === 'out' ? argv[i + 1] : Number(argv[i + 1]);
  }
  return a;
}

class Worker {
  private child!: ChildProcessWithoutNullStreams;
  private lines: string[] = [];
  private waiting: ((l: string | null) => void) | null = null;
  starts = 0;
  constructor(private readonly heap: number) {
    this.start();
  }
  private start(): void {
    this.starts++;
    this.child = spawn(process.execPath, [`--max-old-space-size=${this.heap}`, '--import', 'tsx', HERE, '--worker'], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
    this.lines = [];
    const rl = createInterface({ input: this.child.stdout });
    rl.on('line', (l) => {
      if (!l.startsWith('{')) return;
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(l);
      } else this.lines.push(l);
    });
    this.child.stderr.on('data', () => undefined);
    this.child.on('exit', () => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(null);
      }
    });
  }
  /** Sends a job; the reply line, null when the worker died, 'timeout' when it hung. */
  async run(job: object, timeoutMs: number): Promise<string | null | 'timeout'> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) this.start();
    this.child.stdin.write(`${JSON.stringify(job)}\n`);
    const reply = await new Promise<string | null | 'timeout'>((resolve) => {
      const l = this.lines.shift();
      if (l) return resolve(l);
      const timer = setTimeout(() => {
        this.waiting = null;
        resolve('timeout');
      }, timeoutMs);
      this.waiting = (x) => {
        clearTimeout(timer);
        resolve(x);
      };
    });
    if (reply === null || reply === 'timeout') {
      this.child.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 50));
      this.start();
    }
    return reply;
  }
  stop(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

async function main(): Promise<void> {
  const args = parseArgs();
  const seeds = await loadSeeds();
  const donors = seeds.flatMap((s) => [s.bytes, ...(s.entries?.filter((e) => e.name.endsWith('data.pkl')).map((e) => e.data) ?? [])]);
  const r = mulberry32(args.seed);
  const work = mkdtempSync(join(tmpdir(), 'fuzz-'));
  mkdirSync(args.out, { recursive: true });
  const w = new Worker(args.heap);
  const tally = { ok: 0, error: 0, crash: 0, hang: 0, nonerror: 0, insane: 0 };
  const messages = new Map<string, number>();
  let maxMs = 0;
  let slow = 0;
  const t0 = performance.now();
  // warm up (the first load imports the library)
  writeFileSync(join(work, 'warm.pth'), seeds.find((s) => s.kind === 'pth')!.bytes);
  await w.run({ file: join(work, 'warm.pth'), kind: 'pth' }, 120_000);
  for (let i = 0; i < args.iterations; i++) {
    const seed = pick(r, seeds);
    const bytes = mutate(r, seed, donors);
    const file = join(work, `case.${seed.kind}`);
    writeFileSync(file, bytes);
    const reply = await w.run({ file, kind: seed.kind }, args.timeout);
    let outcome: keyof typeof tally;
    if (reply === 'timeout') outcome = 'hang';
    else if (reply === null) outcome = 'crash';
    else {
      const j = JSON.parse(reply) as { outcome: keyof typeof tally; msg?: string; ms: number };
      outcome = j.outcome;
      maxMs = Math.max(maxMs, j.ms);
      if (j.ms > 2000) slow++;
      if (j.msg) {
        const key = j.msg.split(work).join('').replace(/\d+/g, 'N').replace(/'[^']*'/g, "'…'").slice(0, 90);
        messages.set(key, (messages.get(key) ?? 0) + 1);
      }
    }
    tally[outcome]++;
    if (outcome === 'hang' || outcome === 'crash' || outcome === 'nonerror' || outcome === 'insane') {
      const saved = join(args.out, `${outcome}-${args.seed}-${i}-${basename(seed.name)}`);
      writeFileSync(saved, bytes);
      console.log(`#${i} ${outcome} (${seed.name}) saved to ${saved}${reply && reply !== 'timeout' ? `: ${reply}` : ''}`);
    }
    if ((i + 1) % 500 === 0) console.log(`${i + 1} / ${args.iterations}: ${JSON.stringify(tally)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  w.stop();
  rmSync(work, { recursive: true, force: true });
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ iterations: args.iterations, seed: args.seed, ...tally, maxLoadMs: Math.round(maxMs), loadsOver2s: slow, workerStarts: w.starts, seconds: Math.round(seconds) }));
  console.log('most frequent errors:');
  for (const [m, n] of [...messages].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${String(n).padStart(5)}  ${m}`);
  if (tally.crash || tally.hang || tally.nonerror || tally.insane) process.exitCode = 1;
}

if (process.argv.includes('--worker')) await worker();
else await main();
