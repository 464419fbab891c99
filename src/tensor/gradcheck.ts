/**
 * Finite-difference gradient check in float64 on the CPU reference backend, in the spirit of
 * torch.autograd.gradcheck. The output is projected to a scalar with fixed random weights, so
 * one backward checks the full vector-Jacobian product.
 */
import { no_grad } from './grad_mode.js';
import { Tensor } from './tensor.js';
import { Generator } from './random.js';
import { rand } from './ops/creation.js';
import { mul } from './ops/elementwise.js';
import { sum } from './ops/reduce.js';

export interface GradcheckOptions {
  /** Central-difference step. */
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Indices of inputs to check (default: every floating-point input). */
  wrt?: number[];
  /** Throw with details on mismatch (default true); otherwise return false. */
  raise?: boolean;
}

/**
 * Checks the analytic gradients of `fn` at `inputs` against central differences.
 * Inputs are converted to float64 cpu tensors; int32 inputs pass through unchanged.
 * @returns true when every gradient entry satisfies |analytic - numeric| <= atol + rtol * |numeric|.
 * @throws Error describing the worst mismatch, when `raise` is true.
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): boolean {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-3;
  const xs = inputs.map((t) => (t.dtype === 'int32' ? t : Tensor.fromArray(Float64Array.from(t.cpu().dataSync()), t.shape, 'float64', 'cpu')));
  const wrt = opts.wrt ?? xs.map((t, i) => (t.dtype === 'int32' ? -1 : i)).filter((i) => i >= 0);
  wrt.forEach((i) => xs[i]!.requires_grad_(true));

  const out0 = fn(...xs);
  const weights = rand(out0.shape, { dtype: 'float64', generator: new Generator(1234) });
  const project = (o: Tensor) => sum(mul(o, weights));
  project(out0).backward();
  const analytic = wrt.map((i) => (xs[i]!.grad ? xs[i]!.grad!.dataSync() : new Float64Array(xs[i]!.numel())));

  const value = () => no_grad(() => project(fn(...xs)).itemSync());
  let worst = { err: 0, input: -1, index: -1, a: 0, n: 0 };
  let ok = true;
  wrt.forEach((inp, k) => {
    const data = (xs[inp]!.storage as unknown as { data: Float64Array }).data;
    for (let j = 0; j < data.length; j++) {
      const orig = data[j]!;
      data[j] = orig + eps;
      const fp = value();
      data[j] = orig - eps;
      const fm = value();
      data[j] = orig;
      const n = (fp - fm) / (2 * eps);
      const a = analytic[k]![j]!;
      const err = Math.abs(a - n);
      const bad = !(err <= atol + rtol * Math.abs(n));
      if (bad) ok = false;
      if (bad && (worst.input < 0 || err > worst.err)) worst = { err, input: inp, index: j, a, n };
    }
  });
  if (!ok && (opts.raise ?? true)) {
    throw new Error(
      `gradcheck: gradient mismatch for input ${worst.input} element ${worst.index}: analytic ${worst.a}, numeric ${worst.n} (|diff| ${worst.err}, atol ${atol}, rtol ${rtol})`,
    );
  }
  return ok;
}
