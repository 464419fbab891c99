/**
 * The checks the browser page runs: each op on 'webgpu' against the same op on the 'cpu'
 * reference, reported one by one (a failing or throwing check does not stop the others).
 * Pure library code: no DOM, no Node APIs, so it runs in a browser bundle and under Node alike.
 */
import {
  Tensor,
  avg_pool2d,
  batch_norm,
  conv2d,
  manual_seed,
  max_pool2d,
  nn,
  rand,
  randn,
  type Device,
} from '../../src/index.js';

/**
 * pass: ran on both devices and agreed within tolerance; fail: ran but disagreed (or shapes
 * differ); error: threw; unimplemented: the webgpu kernel throws "not implemented on webgpu yet"
 * (kernels still being written), which the test reports but does not count as a failure.
 */
export type CheckStatus = 'pass' | 'fail' | 'error' | 'unimplemented';

export interface CheckResult {
  /** Short stable key (tests/browser.test.ts refers to checks by it). */
  id: string;
  name: string;
  status: CheckStatus;
  ok: boolean;
  /** Max |webgpu - cpu| over all outputs of the check (NaN when it threw). */
  maxAbsDiff: number;
  /** The tolerance the check was held to: |gpu - cpu| <= atol + rtol * |cpu| elementwise. */
  atol: number;
  rtol: number;
  ms: number;
  error?: string;
}

interface Check {
  id: string;
  name: string;
  atol: number;
  rtol: number;
  /** Builds the outputs on `device` from inputs created on the cpu with a fixed seed. */
  run: (device: Device) => Tensor[] | Promise<Tensor[]>;
}

/** Inputs are always drawn on the cpu (seeded) and moved, so both devices see the same numbers. */
function inputs(seed: number, ...shapes: number[][]): Tensor[] {
  manual_seed(seed);
  return shapes.map((s) => randn(s));
}

export const CHECKS: Check[] = [
  {
    id: 'elementwise',
    name: 'elementwise broadcast (add/mul/sub/div, exp, sigmoid, tanh, relu)',
    atol: 1e-5,
    rtol: 1e-5,
    run: (d) => {
      const [a, b, c] = inputs(1, [4, 1, 6], [5, 1], [6]).map((t) => t.to(d));
      const y = a!.add(b!).mul(c!).sub(a!.mul(0.5));
      return [y, y.exp().div(y.exp().add(1)), y.sigmoid(), y.tanh(), a!.relu().add(c!)];
    },
  },
  {
    id: 'matmul',
    name: 'matmul (2-d 33x47 @ 47x29, batched 3x16x24 @ 24x8, transposed view)',
    atol: 1e-4,
    rtol: 1e-4,
    run: (d) => {
      const [a, b, x, w] = inputs(2, [33, 47], [47, 29], [3, 16, 24], [8, 24]).map((t) => t.to(d));
      return [a!.matmul(b!), x!.matmul(w!.t())];
    },
  },
  {
    id: 'softmax',
    name: 'softmax / log_softmax (7x13, dim -1 and dim 0)',
    atol: 1e-5,
    rtol: 1e-4,
    run: (d) => {
      const [x] = inputs(3, [7, 13]).map((t) => t.mul(4).to(d));
      return [x!.softmax(-1), x!.softmax(0), x!.log_softmax(-1)];
    },
  },
  {
    id: 'reduce',
    name: 'reductions (sum all, sum/mean/max over dims, argmax)',
    atol: 1e-4,
    rtol: 1e-5,
    run: (d) => {
      const [x] = inputs(4, [6, 37, 11]).map((t) => t.to(d));
      return [x!.sum(), x!.sum(1), x!.mean([0, 2]), x!.max(2), x!.min(0, true), x!.argmax(1).float()];
    },
  },
  {
    id: 'conv2d',
    name: 'conv2d (2x3x9x9, 4x3x3x3, bias, padding 1; stride 2)',
    atol: 1e-4,
    rtol: 1e-4,
    run: (d) => {
      const [x, w, bias] = inputs(5, [2, 3, 9, 9], [4, 3, 3, 3], [4]).map((t) => t.to(d));
      return [conv2d(x!, w!, bias!, { padding: 1 }), conv2d(x!, w!, null, { stride: 2 })];
    },
  },
  {
    id: 'pool',
    name: 'pooling (max_pool2d 2x2, avg_pool2d 3x3 stride 2 padding 1)',
    atol: 1e-5,
    rtol: 1e-5,
    run: (d) => {
      const [x] = inputs(6, [2, 4, 8, 8]).map((t) => t.to(d));
      return [max_pool2d(x!, 2), avg_pool2d(x!, 3, { stride: 2, padding: 1 })];
    },
  },
  {
    id: 'batch_norm',
    name: 'batch_norm (training statistics, affine)',
    atol: 1e-4,
    rtol: 1e-4,
    run: (d) => {
      const [x, w, b] = inputs(8, [4, 3, 5, 5], [3], [3]).map((t) => t.to(d));
      return [batch_norm(x!, null, null, w!, b!, true)];
    },
  },
  {
    id: 'autograd',
    name: 'autograd (backward of relu(x @ w) * y with a given output gradient; grads of x and w)',
    atol: 1e-4,
    rtol: 1e-4,
    run: (d) => {
      const [x0, w0, y0, g0] = inputs(7, [5, 12], [12, 7], [5, 7], [5, 7]);
      const x = x0!.to(d).requires_grad_();
      const w = w0!.to(d).requires_grad_();
      x.matmul(w).relu().mul(y0!.to(d)).backward(g0!.to(d));
      return [x.grad!, w.grad!];
    },
  },
  {
    id: 'random',
    name: 'random (seeded rand/randn created on the device)',
    atol: 1e-6,
    rtol: 1e-5,
    run: (d) => {
      manual_seed(1234);
      return [rand([1000], { device: d }), randn([1001], { device: d })];
    },
  },
  {
    id: 'nn',
    name: 'nn module forward + safetensors round trip in memory (Conv2d, ReLU, Flatten, Linear)',
    atol: 1e-4,
    rtol: 1e-4,
    run: async (d) => {
      const make = () => {
        manual_seed(9);
        return new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.Flatten(), new nn.Linear(4 * 6 * 6, 5));
      };
      const [x0] = inputs(10, [2, 3, 6, 6]);
      const model = make().to(d);
      const x = x0!.to(d);
      const y = model.forward(x);
      const bytes = await nn.save_safetensors_bytes(model.state_dict());
      const copy = make().to(d);
      for (const p of copy.parameters()) p.requires_grad_(false);
      copy.load_state_dict(await nn.load_safetensors_bytes(bytes, { device: d }));
      return [y, copy.forward(x)];
    },
  },
];

async function readAll(ts: Tensor[]): Promise<Float64Array[]> {
  const out: Float64Array[] = [];
  for (const t of ts) out.push(Float64Array.from(await t.data()));
  return out;
}

/** Runs every check on 'webgpu' (initWebGPU must have been awaited) and on 'cpu'. */
export async function runChecks(): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const c of CHECKS) {
    const t0 = performance.now();
    const r: CheckResult = { id: c.id, name: c.name, status: 'error', ok: false, maxAbsDiff: Number.NaN, atol: c.atol, rtol: c.rtol, ms: 0 };
    try {
      const cpu = await readAll(await c.run('cpu'));
      const gpuTensors = await c.run('webgpu');
      const gpu = await readAll(gpuTensors);
      for (const t of gpuTensors) t.dispose();
      let max = 0;
      let ok = cpu.length === gpu.length;
      for (let k = 0; k < cpu.length && ok; k++) {
        const a = cpu[k]!;
        const b = gpu[k]!;
        if (a.length !== b.length) {
          ok = false;
          r.error = `output ${k}: ${b.length} values on webgpu, ${a.length} on cpu`;
          break;
        }
        for (let i = 0; i < a.length; i++) {
          const diff = Math.abs(a[i]! - b[i]!);
          if (!(diff <= c.atol + c.rtol * Math.abs(a[i]!))) ok = false; // NaN fails too
          if (!(diff <= max)) max = diff; // keeps NaN
        }
      }
      r.ok = ok;
      r.status = ok ? 'pass' : 'fail';
      r.maxAbsDiff = max;
    } catch (e) {
      r.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      r.status = /not implemented on webgpu/.test(r.error) ? 'unimplemented' : 'error';
    }
    r.ms = Math.round(performance.now() - t0);
    results.push(r);
  }
  return results;
}
