/**
 * Reference optimizer updates, in place, one element at a time, following PyTorch 1.13's
 * single-tensor implementations (torch/optim/sgd.py `_single_tensor_sgd`, adam.py
 * `_single_tensor_adam`, adamw.py `_single_tensor_adamw`). Each element's update is computed in
 * float64 and stored back into the storages' dtype.
 */
import type { AdamParams, SGDParams, Storage } from '../backend.js';
import { arr } from './storage.js';

/**
 * torch.optim.SGD, per element:
 *   d = maximize ? -g : g;  d += weight_decay * param
 *   if momentum != 0: buf = first step ? d : momentum * buf + (1 - dampening) * d
 *                     d = nesterov ? d + momentum * buf : buf
 *   param -= lr * d
 */
export function sgdUpdate(param: Storage, grad: Storage, momentumBuf: Storage | null, p: SGDParams): void {
  const w = arr(param), g = arr(grad);
  const buf = momentumBuf ? arr(momentumBuf) : null;
  for (let i = 0; i < p.size; i++) {
    let d = p.maximize ? -g[i]! : g[i]!;
    if (p.weightDecay !== 0) d += p.weightDecay * w[i]!;
    if (p.momentum !== 0 && buf) {
      const b = p.firstStep ? d : p.momentum * buf[i]! + (1 - p.dampening) * d;
      buf[i] = b;
      // Read back so the step uses the buffer as stored (as PyTorch, whose buffer has param's dtype).
      const bs = buf[i]!;
      d = p.nesterov ? d + p.momentum * bs : bs;
    }
    w[i] = w[i]! - p.lr * d;
  }
}

/**
 * torch.optim.Adam / AdamW, per element, with step t (1-based):
 *   g = maximize ? -grad : grad
 *   Adam:  g += weight_decay * param          AdamW: param *= 1 - lr * weight_decay
 *   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
 *   vmax = max(vmax, v) (amsgrad);  denom = sqrt(amsgrad ? vmax : v) / sqrt(1 - beta2^t) + eps
 *   param -= lr / (1 - beta1^t) * m / denom
 */
export function adamUpdate(param: Storage, grad: Storage, expAvg: Storage, expAvgSq: Storage, maxExpAvgSq: Storage | null, p: AdamParams): void {
  const w = arr(param), g = arr(grad), m = arr(expAvg), v = arr(expAvgSq);
  const vmax = maxExpAvgSq ? arr(maxExpAvgSq) : null;
  const bc1 = 1 - Math.pow(p.beta1, p.step);
  const bc2Sqrt = Math.sqrt(1 - Math.pow(p.beta2, p.step));
  const stepSize = p.lr / bc1;
  for (let i = 0; i < p.size; i++) {
    let gi = p.maximize ? -g[i]! : g[i]!;
    if (p.decoupled) w[i] = w[i]! * (1 - p.lr * p.weightDecay);
    else if (p.weightDecay !== 0) gi += p.weightDecay * w[i]!;
    m[i] = p.beta1 * m[i]! + (1 - p.beta1) * gi;
    v[i] = p.beta2 * v[i]! + (1 - p.beta2) * gi * gi;
    let second = v[i]!;
    if (p.amsgrad && vmax) {
      vmax[i] = Math.max(vmax[i]!, v[i]!);
      second = vmax[i]!;
    }
    const denom = Math.sqrt(second) / bc2Sqrt + p.eps;
    w[i] = w[i]! - (stepSize * m[i]!) / denom;
  }
}
