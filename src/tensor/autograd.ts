/**
 * Reverse-mode autograd on a dynamic tape, as PyTorch's: each differentiable op records a
 * {@link Node} holding its inputs and a backward closure written beside its forward (see ./ops).
 * `backward()` walks the graph in reverse topological order, so a value used twice receives the
 * sum of both contributions, and accumulates into the `.grad` of leaves that require grad.
 */
import { is_grad_enabled, no_grad } from './grad_mode.js';
import { keep, tidy } from './memory.js';
import { fmtShape, shapesEqual } from './shape.js';
import { Tensor } from './tensor.js';
import { toDType } from './ops/copy.js';
import { denseCopy } from './ops/views.js';

/** Backward rule: gradient of the output -> gradients of the inputs (null where not needed). */
export type BackwardFn = (gy: Tensor) => (Tensor | null)[];

/** One recorded op (PyTorch's `grad_fn`). */
export class Node {
  private fn: BackwardFn | null;
  constructor(
    /** The op's name, for error messages (e.g. 'conv2d'). */
    readonly name: string,
    /** The op's tensor inputs, in the order the backward returns their gradients. */
    readonly inputs: readonly (Tensor | null)[],
    fn: BackwardFn,
  ) {
    this.fn = fn;
  }
  /** @internal */
  apply(gy: Tensor): (Tensor | null)[] {
    if (!this.fn) {
      throw new Error(
        `backward: the graph through '${this.name}' was already freed by a previous backward(); pass { retain_graph: true } to the first call`,
      );
    }
    return this.fn(gy);
  }
  /** @internal Drops the closure (and the tensors it saved). */
  release(): void {
    this.fn = null;
  }
}

/** True when an op on these inputs must be recorded. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  if (!is_grad_enabled()) return false;
  for (const t of inputs) if (t && t.requires_grad) return true;
  return false;
}

/**
 * Records `out` as produced by op `name` from `inputs` with backward rule `fn`, when gradient
 * mode is on and an input requires grad. Returns `out`.
 */
export function record(name: string, out: Tensor, inputs: readonly (Tensor | null)[], fn: BackwardFn): Tensor {
  // Integer outputs are never differentiable (as PyTorch).
  if (out.dtype === 'int32' || !needsGrad(...inputs)) return out;
  out.requires_grad = true;
  out.grad_fn = new Node(name, inputs, fn);
  return out;
}

/** Reverse topological order of the tensors reachable from `root` through grad_fn (iterative DFS). */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.grad_fn?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const c = inputs[i];
      if (c && c.requires_grad && !seen.has(c)) {
        seen.add(c);
        stack.push([c, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order.reverse();
}

/**
 * Backpropagates from `root`. See {@link Tensor.backward}.
 * @throws Error when root does not require grad, when it is not a one-element tensor and no
 * gradient is given, or when the gradient's shape differs from root's.
 */
export function backward(root: Tensor, gradient: Tensor | undefined, retainGraph: boolean): void {
  if (!root.requires_grad) {
    throw new Error(`backward: tensor of shape ${fmtShape(root.shape)} does not require grad and has no grad_fn`);
  }
  let seed: Tensor;
  if (gradient === undefined) {
    if (root.numel() !== 1) {
      throw new Error(`backward: grad can be implicitly created only for one-element outputs; got shape ${fmtShape(root.shape)} (pass a gradient of the same shape)`);
    }
    // ones_like(root), written directly: root * 0 + 1 would be NaN where root is inf or NaN.
    seed = Tensor.empty(root.shape, root.dtype, root.device);
    seed.backend.fill(seed.storage, 1);
  } else {
    if (!shapesEqual(gradient.shape, root.shape)) {
      throw new Error(`backward: gradient shape ${fmtShape(gradient.shape)} does not match output shape ${fmtShape(root.shape)}`);
    }
    if (gradient.device !== root.device) {
      throw new Error(`backward: gradient is on '${gradient.device}' but the output is on '${root.device}'`);
    }
    gradient.assertAlive('backward');
    seed = no_grad(() => {
      const d = gradient.detach();
      const c = toDType(d, root.dtype);
      if (c !== d) {
        d.dispose();
        return c;
      }
      const out = denseCopy(d);
      d.dispose();
      return out;
    });
  }

  const order = topoOrder(root);
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  no_grad(() => {
    for (const t of order) {
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      const node = t.grad_fn;
      if (!node) {
        accumulate(t, g);
        continue;
      }
      if (t._retainGrad) accumulate(t, g.clone());
      // Each returned gradient gets its own handle (a rule may return gy itself, a saved tensor,
      // or one tensor twice); intermediates the rule created are freed by the tidy.
      const gs = tidy(() => node.apply(g).map((gi) => (gi ? gi.detach() : null)));
      g.dispose();
      node.inputs.forEach((inp, i) => {
        let gi = gs[i];
        if (!gi) return;
        if (!inp || !inp.requires_grad) {
          gi.dispose();
          return;
        }
        if (!shapesEqual(gi.shape, inp.shape)) {
          throw new Error(`backward of '${node.name}': gradient for input ${i} has shape ${fmtShape(gi.shape)}, expected ${fmtShape(inp.shape)}`);
        }
        // Type promotion in the forward (float32 op float64) gives the gradient the wider dtype:
        // hand each input a gradient of its own dtype, as PyTorch does.
        if (gi.dtype !== inp.dtype) {
          const c = toDType(gi, inp.dtype);
          gi.dispose();
          gi = c;
        }
        const prev = grads.get(inp);
        if (prev) {
          grads.set(inp, prev.add(gi));
          prev.dispose();
          gi.dispose();
        } else {
          grads.set(inp, gi);
        }
      });
      if (!retainGraph) node.release();
    }
  });
}

/**
 * Adds g into t.grad, taking ownership of g. An existing `.grad` is updated in place (as
 * PyTorch's AccumulateGrad), so references to it see the sum; a new `.grad` owns its storage.
 */
function accumulate(t: Tensor, g: Tensor): void {
  if (g.dtype !== t.dtype) {
    const c = toDType(g, t.dtype);
    g.dispose();
    g = c;
  }
  const old = t.grad;
  if (old && !old.isDisposed) {
    if (!shapesEqual(old.shape, t.shape)) {
      throw new Error(`backward: the existing .grad of shape ${fmtShape(old.shape)} does not match the tensor's shape ${fmtShape(t.shape)}`);
    }
    const s = old.add(g);
    old.backend.copy(s.storage, s.layout, old.storage, old.layout);
    old._version++;
    s.dispose();
    g.dispose();
    return;
  }
  // Take g only when nothing else reads its storage (it may be a view of another gradient).
  const next = g._isDense && g._ref.refs === 1 ? g : denseCopy(g);
  if (next !== g) g.dispose();
  t.grad = keep(next);
}
