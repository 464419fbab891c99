/**
 * Reverse-mode autograd on a dynamic tape, as PyTorch's: each differentiable op records a
 * {@link Node} holding its inputs and a backward closure written beside its forward (see ./ops).
 * `backward()` walks the graph in reverse topological order, so a value used twice receives the
 * sum of both contributions, and accumulates into the `.grad` of leaves that require grad.
 */
import { is_grad_enabled, no_grad } from './grad_mode.js';
import { keep } from './memory.js';
import { fmtShape, shapesEqual } from './shape.js';
import type { Tensor } from './tensor.js';

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
  if (!needsGrad(...inputs)) return out;
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
    seed = no_grad(() => root.detach().mul(0).add(1));
  } else {
    if (!shapesEqual(gradient.shape, root.shape)) {
      throw new Error(`backward: gradient shape ${fmtShape(gradient.shape)} does not match output shape ${fmtShape(root.shape)}`);
    }
    if (gradient.device !== root.device) {
      throw new Error(`backward: gradient is on '${gradient.device}' but the output is on '${root.device}'`);
    }
    seed = no_grad(() => gradient.detach().clone());
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
      const raw = node.apply(g);
      // Backward rules may hand back gy itself or one tensor twice: give each its own handle.
      const owned = new Set<Tensor>([g]);
      const gs = raw.map((gi) => {
        if (!gi) return null;
        const h = owned.has(gi) ? gi.detach() : gi;
        owned.add(h);
        return h;
      });
      g.dispose();
      node.inputs.forEach((inp, i) => {
        const gi = gs[i];
        if (!gi) return;
        if (!inp || !inp.requires_grad) {
          gi.dispose();
          return;
        }
        if (!shapesEqual(gi.shape, inp.shape)) {
          throw new Error(`backward of '${node.name}': gradient for input ${i} has shape ${fmtShape(gi.shape)}, expected ${fmtShape(inp.shape)}`);
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

/** Adds g into t.grad, taking ownership of g. */
function accumulate(t: Tensor, g: Tensor): void {
  const old = t.grad;
  const next = old ? old.add(g) : g._isDense ? g : g.contiguous();
  if (next !== g) g.dispose();
  if (old) old.dispose();
  t.grad = keep(next);
}
