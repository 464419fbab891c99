/**
 * Runs the cases of tests/fixtures/core.json (see gen_core.py): each op below mirrors the
 * Python OPS table of the same name. Every case is checked in float64 (tight tolerance) and
 * float32 (float32 rounding tolerance), values and gradients.
 */
import { expect, it } from 'vitest';
import * as T from '../../src/index.js';
import type { DType, Tensor } from '../../src/index.js';
import { closeTo } from './close.js';
import { fromFixture, loadFixture, type FixtureTensor } from './fixtures.js';

export interface CoreCase {
  name: string;
  op: string;
  inputs: Record<string, FixtureTensor>;
  params: Record<string, unknown>;
  out: FixtureTensor;
  grad_out?: FixtureTensor;
  grads?: Record<string, FixtureTensor>;
}
export interface CoreFixture {
  torch: string;
  cases: CoreCase[];
  creation_float32: Record<string, number[]>;
}

type P = Record<string, unknown>;
const dimArg = (p: P) => p.dim as number | number[] | undefined;
const OPS: Record<string, (xs: Tensor[], p: P) => Tensor> = {
  add: ([a, b], p) => a!.add(b!, p.alpha as number | undefined),
  sub: ([a, b], p) => a!.sub(b!, p.alpha as number | undefined),
  mul: ([a, b]) => a!.mul(b!),
  div: ([a, b]) => a!.div(b!),
  pow: ([a, b]) => a!.pow(b!),
  pow_scalar: ([a], p) => a!.pow(p.p as number),
  add_scalar: ([a], p) => a!.add(p.s as number),
  mul_scalar: ([a], p) => a!.mul(p.s as number),
  neg: ([a]) => a!.neg(),
  exp: ([a]) => a!.exp(),
  log: ([a]) => a!.log(),
  sqrt: ([a]) => a!.sqrt(),
  rsqrt: ([a]) => a!.rsqrt(),
  abs: ([a]) => a!.abs(),
  relu: ([a]) => a!.relu(),
  sigmoid: ([a]) => a!.sigmoid(),
  tanh: ([a]) => a!.tanh(),
  maximum: ([a, b]) => T.maximum(a!, b!),
  minimum: ([a, b]) => T.minimum(a!, b!),
  where: ([c, a, b]) => T.where(c!, a!, b!),
  clamp: ([x], p) => x!.clamp(p.min as number | undefined, p.max as number | undefined),
  sum: ([x], p) => x!.sum(dimArg(p), (p.keepdim as boolean) ?? false),
  mean: ([x], p) => x!.mean(dimArg(p), (p.keepdim as boolean) ?? false),
  max: ([x], p) => x!.max(dimArg(p), (p.keepdim as boolean) ?? false),
  min: ([x], p) => x!.min(dimArg(p), (p.keepdim as boolean) ?? false),
  argmax: ([x], p) => x!.argmax(p.dim as number | undefined, (p.keepdim as boolean) ?? false),
  argmin: ([x], p) => x!.argmin(p.dim as number | undefined, (p.keepdim as boolean) ?? false),
  softmax: ([x], p) => x!.softmax(p.dim as number),
  log_softmax: ([x], p) => x!.log_softmax(p.dim as number),
  matmul: ([a, b]) => a!.matmul(b!),
  linear: ([x, w, b]) => T.linear(x!, w!, b ?? null),
  views1: ([x]) => x!.permute(2, 0, 1).reshape(4, 6).slice(1, 1, undefined, 2).mul(T.arange(3, undefined, 1, { dtype: x!.dtype })),
  views2: ([x]) =>
    x!
      .transpose(0, 1)
      .unsqueeze(1)
      .expand(3, 2, 2, 4)
      .sum(2)
      .mul(x!.narrow(0, 1, 1).squeeze(0).select(-1, 2).unsqueeze(-1).unsqueeze(-1)),
  views3: ([x]) => x!.slice(0, 1).slice(1, undefined, undefined, 2).t().flatten().exp().add(x!.contiguous().view(-1).slice(0, undefined, undefined, 3).sum()),
  composite: ([a, b]) => T.tanh(a!.matmul(b!)).sigmoid().log_softmax(-1).mul(T.maximum(a!.sum(-1, true), b!.mean())),
};

/** Tolerances per dtype: float64 only sees the 12-digit rounding of the fixture. */
export const FIXTURE_TOL: Record<'float64' | 'float32', { rtol: number; atol: number }> = {
  float64: { rtol: 1e-9, atol: 1e-10 },
  float32: { rtol: 2e-5, atol: 2e-5 },
};

export function coreFixture(): CoreFixture {
  return loadFixture<CoreFixture>('core.json');
}

/** Checks one case in one dtype: output values/shape and every listed input gradient. */
export function checkCoreCase(c: CoreCase, dtype: 'float64' | 'float32'): void {
  const fn = OPS[c.op];
  if (!fn) throw new Error(`no op '${c.op}' for fixture case '${c.name}'`);
  const tol = FIXTURE_TOL[dtype];
  const names = Object.keys(c.inputs);
  const xs = names.map((k) => fromFixture(c.inputs[k]!, dtype, { requires_grad: !!c.grads && k in c.grads }));
  const y = fn(xs, c.params);
  expect(y.shape).toEqual(c.out.shape);
  expect(y.dtype).toBe(c.out.dtype === 'int32' ? 'int32' : (dtype as DType));
  if (c.out.dtype === 'int32') expect(Array.from(y.dataSync())).toEqual(c.out.data);
  else closeTo(y.dataSync(), c.out.data, tol);
  if (!c.grads || !c.grad_out) return;
  y.backward(fromFixture(c.grad_out, dtype));
  names.forEach((k, i) => {
    const want = c.grads![k];
    if (!want) return;
    const g = xs[i]!.grad;
    expect(g, `grad of ${k}`).not.toBeNull();
    expect(g!.shape).toEqual(want.shape);
    expect(g!.dtype).toBe(dtype);
    try {
      closeTo(g!.dataSync(), want.data, tol);
    } catch (e) {
      throw new Error(`${c.name} (${dtype}) grad of ${k}: ${(e as Error).message}`);
    }
  });
}

/** Registers one vitest `it` per matching case and dtype. */
export function itMatchesTorch(filter: (c: CoreCase) => boolean): void {
  const cases = coreFixture().cases.filter(filter);
  if (cases.length === 0) throw new Error('itMatchesTorch: the filter matched no fixture case');
  for (const c of cases) {
    for (const dt of ['float64', 'float32'] as const) {
      it(`${c.name} matches PyTorch (${dt})`, () => checkCoreCase(c, dt));
    }
  }
}
