/**
 * The output folder of a training run: whether it already holds a run (so `train` can refuse to
 * overwrite it), and the clean-up of what killed processes leave behind: temporary files of
 * interrupted atomic writes (`.<name>.<pid>.<random>.tmp`, up to a model's size each) and tensor
 * generation files that no sidecar names (a kill between writing them and switching the sidecar;
 * see checkpoint.ts). Only this folder's own files, by those exact patterns, are touched; temp
 * files of a process that is still alive are left alone.
 */
import { existsSync } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { readSidecar } from './checkpoint.js';

/** Files whose presence means "this folder holds a training run". */
export const RUN_MARKERS = ['last.json', 'best.json', 'log.jsonl'] as const;

/** The run files present in `dir` (empty when it holds no run or does not exist). */
export function existingRunFiles(dir: string): string[] {
  return RUN_MARKERS.filter((f) => existsSync(path.join(dir, f)));
}

/** Thrown when `train` would start over in a folder that holds a run, without --overwrite. */
export class RunExistsError extends Error {
  override readonly name = 'RunExistsError';
  constructor(readonly dir: string, readonly files: string[]) {
    super(
      `${dir} already holds a training run (${files.join(', ')}): continue it with \`resemotenet train --resume ${dir}\`, ` +
        'choose another --out, or pass --overwrite to start over (its checkpoints and logs will be replaced)',
    );
  }
}

const TEMP = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;
const GENERATION = /^(best|last)\.([0-9a-f]{16})(\.optim)?\.safetensors$/;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes stale temporary files and unreferenced generation files from a run folder; returns the
 * removed names. A sidecar that cannot be read keeps every generation file of its kind.
 */
export async function cleanRunFolder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const names = await readdir(dir);
  const referenced = new Map<string, Set<string> | null>();
  for (const kind of ['best', 'last']) {
    const f = path.join(dir, `${kind}.json`);
    if (!existsSync(f)) {
      referenced.set(kind, new Set());
      continue;
    }
    try {
      const sc = await readSidecar(f);
      referenced.set(kind, new Set([sc.model_file, sc.optimizer_file ?? ''].filter(Boolean)));
    } catch {
      referenced.set(kind, null);
    }
  }
  const removed: string[] = [];
  for (const n of names) {
    const t = TEMP.exec(n);
    const g = GENERATION.exec(n);
    let stale = false;
    if (t) stale = !alive(Number(t[1]));
    else if (g) {
      const refs = referenced.get(g[1]!);
      stale = refs !== null && refs !== undefined && !refs.has(n);
    }
    if (stale) {
      await unlink(path.join(dir, n)).catch(() => undefined);
      removed.push(n);
    }
  }
  return removed;
}
