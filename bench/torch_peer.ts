/**
 * PyTorch as a peer of `npm run bench`: finds a Python with torch, runs bench/torch_model.py as a
 * child process at the configurations this library was measured at, and turns its JSON into
 * {@link ModelResult} records (engine `torch-cpu` or `torch-cuda`). Without such a Python the
 * peer is skipped with the reason; nothing here is needed by the tests.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { errorMessage, round, type Stats } from './harness.js';
import { paramCount, widthLabel } from './shapes.js';
import type { Engine, ModelResult, SkippedPeer } from './types.js';

const SCRIPT = fileURLToPath(new URL('./torch_model.py', import.meta.url));

/** A configuration for the PyTorch script (MODE:WIDTH:SIZE:BATCH). */
export interface TorchConfig {
  mode: 'infer' | 'train';
  width: number;
  size: number;
  batch: number;
}

export interface TorchPeerOptions {
  /** The Python to use; default: RESEMOTENET_PYTHON, then /usr/bin/python3, then python3. */
  python?: string;
  /** torch devices, each run as one child process: 'cpu', 'cuda', 'cuda:1'. */
  devices: string[];
  /** CPU threads: a number or 'auto' (the script tries 1, 2, 4, ... and keeps the fastest per configuration). */
  threads: string;
  runs: number;
  warmup: number;
  configs: TorchConfig[];
  /** Seconds one child may run before it is stopped. */
  timeoutS: number;
  log: (s: string) => void;
}

export interface TorchPeerResult {
  model: ModelResult[];
  skipped: SkippedPeer[];
  notes: string[];
  /** 'torch' and 'python' versions, when it ran. */
  versions: Record<string, string>;
  /** Trainable parameters of PyTorch's model per width. */
  params: Map<number, number>;
}

/** A result record as bench/torch_model.py prints it. */
interface ScriptRecord extends TorchConfig {
  params?: number;
  threads?: number;
  threadProbeMs?: Record<string, number>;
  coldMs?: number;
  time?: Stats;
  imagesPerSec?: number;
  check?: string;
  error?: string;
}

interface ScriptOutput {
  error?: string;
  torch?: string;
  python?: string;
  device?: string;
  deviceName?: string;
  results?: ScriptRecord[];
}

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  spawnError?: string;
}

/** Runs a command, collecting its output; stderr lines also go to `onLine`. Stops it after `timeoutS`. */
function runChild(cmd: string, args: string[], timeoutS: number, onLine?: (s: string) => void): Promise<ChildResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let pending = '';
    let timedOut = false;
    let child;
    try {
      child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    } catch (e) {
      resolve({ code: null, stdout, stderr, timedOut, spawnError: errorMessage(e) });
      return;
    }
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }, timeoutS * 1000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      const s = d.toString();
      stderr += s;
      if (!onLine) return;
      pending += s;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) if (l.trim()) onLine(l);
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr, timedOut, spawnError: e.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (onLine && pending.trim()) onLine(pending);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/**
 * Finds a Python that imports torch and numpy (what bench/torch_model.py needs).
 * An explicit choice (`python`, or the environment variable RESEMOTENET_PYTHON) is the only one
 * tried; otherwise /usr/bin/python3, then python3 on the PATH.
 * @returns the interpreter and torch's version, or the reason none fits.
 */
export async function findTorchPython(python?: string): Promise<{ python: string; torch: string } | { reason: string }> {
  const chosen = python ?? process.env.RESEMOTENET_PYTHON;
  const candidates = chosen ? [chosen] : ['/usr/bin/python3', 'python3'];
  const why: string[] = [];
  for (const c of candidates) {
    const r = await runChild(c, ['-c', 'import numpy, torch; print(torch.__version__)'], 120);
    const version = r.stdout.trim().split('\n').pop() ?? '';
    if (r.code === 0 && version) return { python: c, torch: version };
    const detail = r.spawnError ?? (r.timedOut ? 'timed out' : (r.stderr.trim().split('\n').pop() ?? `exit status ${r.code}`));
    why.push(`${c}: ${detail}`);
  }
  const source = python ? 'the given Python' : chosen ? 'RESEMOTENET_PYTHON' : 'no Python with torch found';
  return { reason: `${source} (${why.join('; ')}); install PyTorch (and numpy) or set RESEMOTENET_PYTHON` };
}

/**
 * Runs bench/torch_model.py once per device and returns its records, or the reasons it was skipped.
 * Never throws: every failure becomes a skipped entry or an error record.
 */
export async function runTorchPeer(o: TorchPeerOptions): Promise<TorchPeerResult> {
  const out: TorchPeerResult = { model: [], skipped: [], notes: [], versions: {}, params: new Map() };
  if (!o.configs.length) return out;
  const found = await findTorchPython(o.python);
  if ('reason' in found) {
    out.skipped.push({ engine: 'torch', reason: found.reason });
    o.log(`  PyTorch peer skipped: ${found.reason}`);
    return out;
  }
  out.versions.torch = found.torch;
  const spec = o.configs.map((c) => `${c.mode}:${c.width}:${c.size}:${c.batch}`).join(',');
  for (const device of o.devices) {
    const engine: Engine = device.startsWith('cuda') ? 'torch-cuda' : 'torch-cpu';
    o.log(`  PyTorch ${found.torch} (${found.python}) on ${device}: ${o.configs.length} configurations`);
    const args = [SCRIPT, '--configs', spec, '--device', device, '--threads', o.threads, '--runs', String(o.runs), '--warmup', String(o.warmup)];
    const r = await runChild(found.python, args, o.timeoutS, (l) => o.log(`    torch: ${l}`));
    let parsed: ScriptOutput | null = null;
    try {
      const last = r.stdout.trim().split('\n').pop();
      parsed = last ? (JSON.parse(last) as ScriptOutput) : null;
    } catch {
      parsed = null;
    }
    if (!parsed || parsed.error || !parsed.results) {
      const why = parsed?.error ?? r.spawnError ?? (r.timedOut ? `stopped after ${o.timeoutS} s` : `exit status ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      out.skipped.push({ engine, reason: `bench/torch_model.py --device ${device} failed: ${why}`.slice(0, 600) });
      o.log(`  PyTorch on ${device} failed: ${why}`);
      continue;
    }
    if (parsed.python) out.versions.python = parsed.python;
    if (parsed.deviceName) out.notes.push(`PyTorch ${parsed.torch} on ${parsed.device}: ${parsed.deviceName}${engine === 'torch-cpu' ? `, threads ${o.threads === 'auto' ? 'auto (fastest of the counts tried, per configuration)' : o.threads}` : ''}`);
    for (const s of parsed.results) {
      const rec: ModelResult = { engine, mode: s.mode, batch: s.batch, width: s.width, size: s.size };
      if (engine === 'torch-cpu' && s.threads !== undefined) rec.threads = s.threads;
      if (s.error) rec.error = s.error;
      if (s.coldMs !== undefined) rec.coldMs = round(s.coldMs, 4);
      if (s.time) rec.time = { ...s.time, median: round(s.time.median, 6), min: round(s.time.min, 6), max: round(s.time.max, 6), mean: round(s.time.mean, 6) };
      if (s.imagesPerSec !== undefined) rec.imagesPerSec = round(s.imagesPerSec, 4);
      if (s.check) rec.check = s.check;
      if (s.threadProbeMs && engine === 'torch-cpu') {
        rec.note = `threads tried (one warm run each): ${Object.entries(s.threadProbeMs).map(([k, v]) => `${k}: ${v >= 100 ? v.toFixed(0) : v.toPrecision(2)} ms`).join(', ')}; used ${s.threads}`;
      }
      if (s.params !== undefined) {
        out.params.set(s.width, s.params);
        const expected = paramCount({ width: s.width, size: s.size, classes: 7 });
        if (s.params !== expected) out.notes.push(`parameter count (width ${widthLabel(s.width)}): PyTorch ${s.params} != expected ${expected}`);
      }
      out.model.push(rec);
    }
  }
  return out;
}
