/** cat and stack: strided copies into slices of one output, with the backward narrowing gy. */
import { record } from '../autograd.js';
import { fmtShape, normDim } from '../shape.js';
import { Tensor } from '../tensor.js';
import { denseCopy, narrow, unsqueeze } from './views.js';

/** PyTorch's legacy rule: 1-d empty tensors (shape [0]) are skipped by cat whatever their dims. */
function isLegacyEmpty(t: Tensor): boolean {
  return t.ndim === 1 && t.shape[0] === 0;
}

/**
 * Concatenates tensors along `dim` (PyTorch's torch.cat): every tensor has the same number of
 * dims and the same sizes except along `dim`; output shape is theirs with dim `dim` the sum of
 * their sizes. As in PyTorch, 1-d tensors of shape [0] are skipped. Differentiable: each input's
 * gradient is its slice of the output gradient. Unlike PyTorch there is no dtype promotion.
 *
 * Source: PyTorch docs, torch.cat.
 * @throws Error for an empty list or tensors on different devices; TypeError for differing dtypes;
 * RangeError for a 0-d tensor, differing numbers of dims, sizes that differ outside `dim`, or a
 * `dim` out of range.
 */
export function cat(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error('cat: expected a non-empty list of tensors');
  tensors.forEach((t, i) => {
    t.assertAlive('cat');
    if (t.ndim === 0) throw new RangeError(`cat: zero-dimensional tensor (at position ${i}) cannot be concatenated`);
  });
  const t0 = tensors[0]!;
  tensors.forEach((t, i) => {
    if (t.dtype !== t0.dtype) throw new TypeError(`cat: expected all tensors to have dtype ${t0.dtype} (position 0), got ${t.dtype} at position ${i}`);
    if (t.device !== t0.device) throw new Error(`cat: expected all tensors on device '${t0.device}' (position 0), got '${t.device}' at position ${i}`);
  });
  const parts = tensors.map((t, i) => ({ t, i })).filter(({ t }) => !isLegacyEmpty(t));
  if (parts.length === 0) {
    // Everything is shape [0]: the result is an empty 1-d tensor.
    const out = Tensor.empty([0], t0.dtype, t0.device);
    return record('cat', out, tensors, () => tensors.map((t) => Tensor.empty(t.shape, t.dtype, t.device)));
  }
  const ref = parts[0]!;
  const d = normDim('cat', dim, ref.t.ndim);
  for (const { t, i } of parts) {
    if (t.ndim !== ref.t.ndim) {
      throw new RangeError(`cat: tensors must have same number of dimensions: got ${ref.t.ndim} (position ${ref.i}) and ${t.ndim} (position ${i})`);
    }
    for (let k = 0; k < t.ndim; k++) {
      if (k !== d && t.shape[k] !== ref.t.shape[k]) {
        throw new RangeError(
          `cat: sizes of tensors must match except in dimension ${d}: expected size ${ref.t.shape[k]} but got size ${t.shape[k]} in dimension ${k} ` +
            `for tensor at position ${i} (shapes ${fmtShape(ref.t.shape)} and ${fmtShape(t.shape)})`,
        );
      }
    }
  }
  const shape = [...ref.t.shape];
  shape[d] = parts.reduce((s, { t }) => s + t.shape[d]!, 0);
  const out = Tensor.empty(shape, t0.dtype, t0.device);
  const starts = new Map<number, number>();
  let off = 0;
  for (const { t, i } of parts) {
    starts.set(i, off);
    if (t.numel() > 0) {
      out.backend.copy(t.storage, t.layout, out.storage, { shape: t.shape, strides: out.strides, offset: off * out.strides[d]! });
    }
    off += t.shape[d]!;
  }
  return record('cat', out, tensors, (gy) =>
    tensors.map((t, i) => {
      if (!t.requires_grad) return null;
      const s = starts.get(i);
      if (s === undefined) return Tensor.empty(t.shape, t.dtype, t.device);
      // A dense copy of gy's slice: gradients handed to autograd own their storage.
      const v = narrow(gy, d, s, t.shape[d]!);
      const g = denseCopy(v);
      v.dispose();
      return g;
    }),
  );
}

/**
 * Stacks equally shaped tensors along a new dim `dim` (PyTorch's torch.stack): output shape is
 * the common shape with the count of tensors inserted at `dim`, dim in [-(ndim+1), ndim].
 * Differentiable (it is cat of unsqueezed views).
 *
 * Source: PyTorch docs, torch.stack.
 * @throws Error for an empty list or tensors on different devices; TypeError for differing dtypes;
 * RangeError for differing shapes or a `dim` out of range.
 */
export function stack(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error('stack: expected a non-empty list of tensors');
  const t0 = tensors[0]!;
  tensors.forEach((t, i) => {
    t.assertAlive('stack');
    if (t.ndim !== t0.ndim || t.shape.some((s, k) => s !== t0.shape[k])) {
      throw new RangeError(`stack: expects each tensor to be equal size, but got ${fmtShape(t0.shape)} at entry 0 and ${fmtShape(t.shape)} at entry ${i}`);
    }
    if (t.dtype !== t0.dtype) throw new TypeError(`stack: expected all tensors to have dtype ${t0.dtype} (entry 0), got ${t.dtype} at entry ${i}`);
    if (t.device !== t0.device) throw new Error(`stack: expected all tensors on device '${t0.device}' (entry 0), got '${t.device}' at entry ${i}`);
  });
  const d = normDim('stack', dim, t0.ndim + 1);
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}
