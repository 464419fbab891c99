/** softmax and log_softmax over one dim (numerically stable: max subtracted first). */
import { record } from '../autograd.js';
import { fmtShape, normDim } from '../shape.js';
import { Tensor } from '../tensor.js';
import { denseCopy, permute, reshape } from './views.js';

function softmaxImpl(name: string, x: Tensor, dim: number, log: boolean): Tensor {
  x.assertAlive(name);
  if (x.dtype === 'int32') throw new TypeError(`${name}: expects a floating-point tensor, got int32 of shape ${fmtShape(x.shape)}`);
  const nd = Math.max(x.ndim, 1);
  const d = normDim(name, dim, x.ndim);
  const perm = [...Array(nd).keys()].filter((i) => i !== d).concat([d]);
  const inv = new Array<number>(nd);
  perm.forEach((p, i) => (inv[p] = i));
  const xs = x.ndim === 0 ? reshape(x, [1]) : x;
  const p = permute(xs, perm);
  const src = p._isDense ? p : denseCopy(p);
  const inner = xs.shape[d]!;
  const outer = x.numel() / Math.max(inner, 1);
  const y = Tensor.empty(p.shape, x.dtype, x.device);
  y.backend.softmax(src.storage, y.storage, outer, inner, log);
  if (src !== p) src.dispose();
  const yr = record(name, y, [p], (gy) => {
    const g = gy._isDense ? gy : denseCopy(gy);
    const gx = Tensor.empty(p.shape, x.dtype, x.device);
    gx.backend.softmaxBackward(g.storage, y.storage, gx.storage, outer, inner, log);
    if (g !== gy) g.dispose();
    return [gx];
  });
  const out = permute(yr, inv);
  return x.ndim === 0 ? reshape(out, []) : out;
}

/** exp(x) / sum(exp(x)) along `dim`. Shape unchanged. */
export function softmax(x: Tensor, dim: number): Tensor {
  return softmaxImpl('softmax', x, dim, false);
}

/** x - logsumexp(x) along `dim`. Shape unchanged. */
export function log_softmax(x: Tensor, dim: number): Tensor {
  return softmaxImpl('log_softmax', x, dim, true);
}
