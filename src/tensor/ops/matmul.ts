/** Matrix products: `matmul` (torch.matmul's broadcasting rules) and `linear`. */
import type { Layout } from '../../kernels/backend.js';
import { record } from '../autograd.js';
import { broadcastShapes, fmtShape, numel } from '../shape.js';
import { Tensor } from '../tensor.js';
import { binaryRaw } from './elementwise.js';
import { reduceRaw } from './reduce.js';
import { expand, reshape, squeeze, unsqueeze, transpose } from './views.js';

function lay3(t: Tensor): Layout {
  return { shape: t.shape, strides: t.strides, offset: t.offset };
}

/** (B, M, K) @ (B, K, N) -> (B, M, N) on 3-d views (any strides); differentiable. */
function bmm3(a: Tensor, b: Tensor): Tensor {
  const [B, M, K] = a.shape as [number, number, number];
  const N = b.shape[2]!;
  const out = Tensor.empty([B, M, N], a.dtype, a.device);
  out.backend.matmul(a.storage, lay3(a), b.storage, lay3(b), out.storage, B, M, N, K);
  return record('matmul', out, [a, b], (gy) => [
    a.requires_grad ? bmm3(gy, transpose(b, 1, 2)) : null,
    b.requires_grad ? bmm3(transpose(a, 1, 2), gy) : null,
  ]);
}

/**
 * Matrix product with torch.matmul's rules: 1-d x 1-d is a dot product (0-d result), a 1-d
 * operand gets a dim prepended (left) or appended (right) and removed again, and leading batch
 * dims broadcast. Shapes (..., M, K) @ (..., K, N) -> (..., M, N).
 * @throws RangeError when the inner sizes differ or batch dims do not broadcast; TypeError for int32.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  a.assertAlive('matmul');
  b.assertAlive('matmul');
  const both = `${fmtShape(a.shape)} and ${fmtShape(b.shape)}`;
  if (a.ndim === 0 || b.ndim === 0) throw new RangeError(`matmul: both arguments need at least 1 dim, got ${both}`);
  if (a.dtype === 'int32' || b.dtype === 'int32') throw new TypeError(`matmul: expects floating-point tensors, got ${a.dtype} ${fmtShape(a.shape)} and ${b.dtype} ${fmtShape(b.shape)}`);
  if (a.dtype !== b.dtype) throw new TypeError(`matmul: dtypes differ: ${a.dtype} ${fmtShape(a.shape)} and ${b.dtype} ${fmtShape(b.shape)}`);
  if (a.device !== b.device) throw new Error(`matmul: tensors on different devices: '${a.device}' ${fmtShape(a.shape)} and '${b.device}' ${fmtShape(b.shape)}`);
  const a2 = a.ndim === 1 ? unsqueeze(a, 0) : a;
  const b2 = b.ndim === 1 ? unsqueeze(b, 1) : b;
  const M = a2.shape[a2.ndim - 2]!;
  const K = a2.shape[a2.ndim - 1]!;
  const K2 = b2.shape[b2.ndim - 2]!;
  const N = b2.shape[b2.ndim - 1]!;
  if (K !== K2) throw new RangeError(`matmul: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} cannot be multiplied (${K} vs ${K2})`);
  let batch: number[];
  try {
    batch = broadcastShapes('matmul', a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  } catch {
    throw new RangeError(`matmul: the batch dims of ${both} cannot be broadcast together`);
  }
  const B = numel(batch);
  const a3 = reshape(expand(a2, [...batch, M, K]), [B, M, K]);
  const b3 = reshape(expand(b2, [...batch, K, N]), [B, K, N]);
  let out = reshape(bmm3(a3, b3), [...batch, M, N]);
  if (a.ndim === 1) out = squeeze(out, -2);
  if (b.ndim === 1) out = squeeze(out, -1);
  return out;
}

/**
 * y = x W^T + b (PyTorch's F.linear). x (..., in_features), weight (out_features, in_features),
 * bias (out_features) or null -> (..., out_features).
 * @throws RangeError when in_features disagree.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  if (x.ndim === 0) throw new RangeError(`linear: input must have at least 1 dim, got shape []`);
  if (weight.ndim !== 2) throw new RangeError(`linear: weight must be 2-d (out_features, in_features), got ${fmtShape(weight.shape)}`);
  if (x.shape[x.ndim - 1] !== weight.shape[1]) {
    throw new RangeError(`linear: input ${fmtShape(x.shape)} has ${x.shape[x.ndim - 1]} features but weight ${fmtShape(weight.shape)} expects ${weight.shape[1]}`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== weight.shape[0])) {
    throw new RangeError(`linear: bias ${fmtShape(bias.shape)} must be (${weight.shape[0]})`);
  }
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && t.device !== x.device) throw new Error(`linear: input is on '${x.device}' but ${name} ${fmtShape(t.shape)} is on '${t.device}'`);
    if (t && t.dtype !== x.dtype) throw new TypeError(`linear: input is ${x.dtype} but ${name} ${fmtShape(t.shape)} is ${t.dtype}`);
  }
  if (x.dtype === 'int32') throw new TypeError(`linear: expects a floating-point input, got int32 ${fmtShape(x.shape)}`);
  const inF = weight.shape[1]!;
  const outF = weight.shape[0]!;
  const lead = x.shape.slice(0, -1);
  const M = numel(lead);
  // One node with its own backward, so the weight gradient comes out dense as gy^T @ x (no
  // transposed copy of a (out, in) gradient) and the bias add is a row-broadcast kernel.
  const x2 = reshape(x.detach(), [M, inF]);
  const wT = transpose(weight.detach(), 0, 1);
  let y = mm2(x2, wT);
  if (bias) {
    const yb = binaryRaw('add', y, bias);
    y.dispose();
    y = yb;
  }
  const out = record('linear', y, [x, weight, bias], (gy) => {
    const g2 = reshape(gy, [M, outF]);
    const gx = x.requires_grad ? reshape(mm2(g2, weight), [...x.shape]) : null;
    const gw = weight.requires_grad ? mm2(transpose(g2, 0, 1), x2) : null;
    const gb = bias && bias.requires_grad ? reshape(reduceRaw('sum', g2, [0]), [outF]) : null;
    return [gx, gw, gb];
  });
  return reshape(out, [...lead, outF]);
}

/** Raw (M, K) @ (K, N) on 2-d views of any strides; no grad recorded. */
function mm2(a: Tensor, b: Tensor): Tensor {
  const [M, K] = a.shape as [number, number];
  const N = b.shape[1]!;
  const out = Tensor.empty([M, N], a.dtype, a.device);
  const l = (t: Tensor): Layout => ({ shape: [1, t.shape[0]!, t.shape[1]!], strides: [0, t.strides[0]!, t.strides[1]!], offset: t.offset });
  out.backend.matmul(a.storage, l(a), b.storage, l(b), out.storage, 1, M, N, K);
  return out;
}
