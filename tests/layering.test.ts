/**
 * The layers import downwards only: src/core (element types, Philox) <- src/kernels (backends,
 * WGSL) <- src/tensor <- src/nn <- src/resemotenet, src/facedetect, src/browser. A kernel that
 * imported the tensor layer would tie the backends to autograd and make import cycles.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const LEVEL: Record<string, number> = { core: 0, kernels: 1, tensor: 2, nn: 3, resemotenet: 4, facedetect: 4, browser: 5 };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('source layering', () => {
  it('no module imports from a higher layer', () => {
    const bad: string[] = [];
    for (const f of files(SRC)) {
      const from = relative(SRC, f).split('/')[0]!;
      if (!(from in LEVEL)) continue;
      for (const m of readFileSync(f, 'utf8').matchAll(/^(?:import|export)[^'"]*from '(\.[^']+)'/gm)) {
        const to = relative(SRC, resolve(dirname(f), m[1]!)).split('/')[0]!;
        if (to in LEVEL && LEVEL[to]! > LEVEL[from]!) bad.push(`${relative(SRC, f)} imports ${m[1]}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
