/**
 * Constant padding (PyTorch's F.pad with mode='constant'), built from the backend's `fill` and
 * strided `copy` primitives: the output is filled with `value`, then the surviving part of the
 * input is copied into its interior window. No kernel of its own is needed (both primitives exist
 * on every backend, WGSL included), and a strided or offset input costs no extra copy.
 * Negative amounts crop, as in PyTorch.
 */
import type { Layout } from '../../kernels/backend.js';
import { record } from '../autograd.js';
import { fmtShape } from '../shape.js';
import { Tensor } from '../tensor.js';

/** The part of one dim that survives padding by (lo, hi): where it starts in the input and output, and its length. */
interface DimWindow {
  srcStart: number;
  dstStart: number;
  len: number;
}

/** A window of a tensor's layout: `start` elements in along each dim, `shape` long. */
function windowLayout(l: Layout, start: readonly number[], shape: readonly number[]): Layout {
  let offset = l.offset;
  for (let d = 0; d < start.length; d++) offset += start[d]! * l.strides[d]!;
  return { shape, strides: l.strides, offset };
}

/**
 * Pads `x` with `value` (PyTorch's `torch.nn.functional.pad(input, pad, mode='constant', value)`,
 * https://pytorch.org/docs/stable/generated/torch.nn.functional.pad.html).
 *
 * `pad` lists (before, after) amounts for the last dims, last dim first:
 * `[left, right]` pads dim -1, `[left, right, top, bottom]` dims -1 and -2, and so on up to all
 * dims. Output size of a padded dim = size + before + after. A negative amount removes that many
 * elements from that side (as PyTorch). Differentiable in x: the gradient is the output gradient's
 * window over the input's surviving elements (zero for cropped ones).
 *
 * Shapes: x (any ndim >= 1) -> same ndim. Any dtype; an int32 tensor needs an integer `value`.
 * Source: PyTorch docs (constant mode).
 * @throws TypeError for a mode other than 'constant', or a non-integer value for int32.
 * @throws RangeError when `pad` has an odd length, more than 2 * x.ndim entries or a non-integer
 * entry, or when a dim would get a negative size.
 */
export function pad(x: Tensor, padding: readonly number[], mode: 'constant' = 'constant', value = 0): Tensor {
  const op = 'pad';
  x.assertAlive(op);
  if (mode !== 'constant') throw new TypeError(`${op}: only mode 'constant' is supported, got '${String(mode)}'`);
  if (!Array.isArray(padding) || padding.length % 2 !== 0 || padding.length === 0) {
    throw new RangeError(`${op}: padding must be a non-empty list of (before, after) pairs, got ${JSON.stringify(padding)}`);
  }
  if (padding.length / 2 > x.ndim) {
    throw new RangeError(`${op}: padding ${JSON.stringify(padding)} has ${padding.length / 2} pairs but the input ${fmtShape(x.shape)} has only ${x.ndim} dims`);
  }
  if (!padding.every((p) => Number.isInteger(p))) throw new RangeError(`${op}: padding entries must be integers, got ${JSON.stringify(padding)}`);
  if (x.dtype === 'int32' && !Number.isInteger(value)) throw new TypeError(`${op}: value ${value} is not an integer but the input is int32`);

  const shape = [...x.shape];
  const win: DimWindow[] = x.shape.map((s) => ({ srcStart: 0, dstStart: 0, len: s }));
  for (let k = 0; k < padding.length / 2; k++) {
    const d = x.ndim - 1 - k;
    const lo = padding[2 * k]!;
    const hi = padding[2 * k + 1]!;
    const size = x.shape[d]!;
    const out = size + lo + hi;
    if (out < 0) {
      throw new RangeError(`${op}: dim ${d} of size ${size} padded by (${lo}, ${hi}) would have size ${out} (input ${fmtShape(x.shape)}, padding ${JSON.stringify(padding)})`);
    }
    shape[d] = out;
    // The input elements that survive: [max(0, -lo), size - max(0, -hi)), landing at max(0, lo).
    const srcStart = Math.max(0, -lo);
    win[d] = { srcStart, dstStart: Math.max(0, lo), len: Math.max(0, size - srcStart - Math.max(0, -hi)) };
  }

  const y = Tensor.empty(shape, x.dtype, x.device);
  y.backend.fill(y.storage, value);
  const inner = win.map((w) => w.len);
  const live = inner.every((n) => n > 0);
  if (live) {
    y.backend.copy(
      x.storage,
      windowLayout(x.layout, win.map((w) => w.srcStart), inner),
      y.storage,
      windowLayout(y.layout, win.map((w) => w.dstStart), inner),
    );
  }
  return record(op, y, [x], (gy) => {
    const gx = Tensor.empty(x.shape, x.dtype, x.device);
    gx.backend.fill(gx.storage, 0);
    if (live) {
      gx.backend.copy(
        gy.storage,
        windowLayout(gy.layout, win.map((w) => w.dstStart), inner),
        gx.storage,
        windowLayout(gx.layout, win.map((w) => w.srcStart), inner),
      );
    }
    return [gx];
  });
}
