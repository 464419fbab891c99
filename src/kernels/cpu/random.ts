/** Reference Philox random fill (the WebGPU kernel must match it). */
import type { RandomParams, Storage } from '../backend.js';
import { normalPair, philox4x32, uniformFromBits } from '../../core/philox.js';
import { arr } from './storage.js';

export function random(out: Storage, p: RandomParams): void {
  const o = arr(out);
  const w = new Uint32Array(4);
  const blocks = Math.ceil(o.length / 4);
  // dropout_mask compares in the output dtype, as ge(rand(), p) does
  const thr = out.dtype === 'float32' ? Math.fround(p.p ?? 0) : (p.p ?? 0);
  const scale = p.scale ?? 1;
  for (let blk = 0; blk < blocks; blk++) {
    const c = p.offset + blk;
    philox4x32(c % 4294967296, Math.floor(c / 4294967296), p.seed[0], p.seed[1], w);
    const m = Math.min(4, o.length - blk * 4);
    if (p.kind === 'uniform') {
      for (let j = 0; j < m; j++) o[blk * 4 + j] = uniformFromBits(w[j]!);
    } else if (p.kind === 'dropout_mask') {
      for (let j = 0; j < m; j++) o[blk * 4 + j] = uniformFromBits(w[j]!) >= thr ? scale : 0;
    } else {
      const [z0, z1] = normalPair(w[0]!, w[1]!);
      const [z2, z3] = normalPair(w[2]!, w[3]!);
      const z = [z0, z1, z2, z3];
      for (let j = 0; j < m; j++) o[blk * 4 + j] = z[j]!;
    }
  }
}
