/** Gradient helper: sums a broadcast gradient back down to the shape of the input it came from. */
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { sum } from './reduce.js';
import { reshape } from './views.js';

/** Sums `g` over the dims that broadcasting added or expanded so that it has `shape`. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.ndim === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.ndim - shape.length;
  if (lead < 0) throw new Error(`sumTo: cannot reduce ${fmtShape(g.shape)} to ${fmtShape(shape)}`);
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  const s = dims.length ? sum(g, dims, true) : g;
  const out = reshape(s, shape);
  if (s !== g && s !== out) s.dispose();
  return out;
}
