/**
 * Runs a loader on a hostile input in a child Node process under a heap limit and a timeout, so
 * that a loader which would exhaust memory, overflow V8's limits or hang fails the test instead
 * of killing the test worker. The child runs tests/helpers/load_probe.ts (TypeScript via tsx) and
 * prints one JSON line: the error it caught, or a summary of what loaded.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const PROBE = join(import.meta.dirname, 'load_probe.ts');

/** What the probe printed, plus how the child ended. */
export interface ProbeResult {
  /** 'error' (a clean, catchable error), 'ok' (loaded), or 'died' (crash, timeout, no output). */
  outcome: 'error' | 'ok' | 'died';
  /** Error class name (outcome 'error'). */
  name?: string;
  message?: string;
  /** What loaded (outcome 'ok'): e.g. tensor count and elements. */
  summary?: unknown;
  /** Milliseconds the load took inside the child. */
  ms?: number;
  /** Exit status, signal and the tail of stderr (outcome 'died'). */
  status?: number | null;
  signal?: string | null;
  stderr?: string;
}

/**
 * Loads `file` with loader `kind` in a child with `--max-old-space-size=heapMb`.
 * @param kind 'pth' | 'safetensors' | 'csv' | 'image' | 'folder' (see load_probe.ts).
 */
export function probeLoad(kind: string, file: string, opts: { heapMb?: number; timeoutMs?: number; args?: unknown } = {}): ProbeResult {
  const r = spawnSync(process.execPath, [`--max-old-space-size=${opts.heapMb ?? 256}`, '--import', 'tsx', PROBE, kind, file, JSON.stringify(opts.args ?? {})], {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    killSignal: 'SIGKILL',
    env: { ...process.env, NODE_OPTIONS: '' },
    maxBuffer: 16 << 20,
  });
  const line = r.stdout
    ?.trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{"outcome"'));
  if (r.status === 0 && line) return JSON.parse(line) as ProbeResult;
  return { outcome: 'died', status: r.status, signal: r.signal, stderr: `${r.error?.message ?? ''}${(r.stderr ?? '').slice(-2000)}` };
}
