// In-place fused Adam / AdamW step (PyTorch's torch.optim.Adam / AdamW, as
// src/kernels/cpu/optim.ts), per element, with bias corrections computed on the host:
//   g = maximize ? -grad : grad
//   Adam: g += weight_decay * param        AdamW: param *= 1 - lr * weight_decay
//   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
//   vmax = max(vmax, v) (amsgrad);  denom = sqrt(amsgrad ? vmax : v) / sqrt(1 - beta2^t) + eps
//   param -= lr / (1 - beta1^t) * m / denom
// vec4 loads/stores, K consecutive vec4s per invocation; the last vec4 (n % 4 != 0) is
// read-modify-written under a mask. Operands are bound from a multiple of 4 elements. As in
// sgd.wgsl the host compiles P.flags as a literal and the weight decay as 0.0 when it is zero
// (WD), so those tests fold away.
#include "ew_common"

struct Params {
  n: u32,
  flags: u32,        // 1 maximize, 2 decoupled (AdamW), 4 amsgrad (vmax bound)
  _p0: u32, _p1: u32,
  beta1: f32,
  one_m_beta1: f32,
  beta2: f32,
  one_m_beta2: f32,
  weight_decay: f32,
  decay_factor: f32, // 1 - lr * weight_decay (AdamW)
  step_size: f32,    // lr / (1 - beta1^t)
  bc2_sqrt: f32,     // sqrt(1 - beta2^t)
  eps: f32,
}

@group(0) @binding(0) var<storage, read_write> param: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> vmax: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> P: Params;

const K = 4u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j0 = ((wid.x + wid.y * nwg.x) * 64u + lid) * K;
  let nv = (P.n + 3u) / 4u;
  for (var t = 0u; t < K; t++) {
    let j = j0 + t;
    if (j >= nv) { return; }
    let mask = slot_mask(j, 0u, P.n);
    let w0 = param[j];
    var w = w0;
    var g = grad[j];
    if ((P.flags & 1u) != 0u) { g = -g; }
    if ((P.flags & 2u) != 0u) {
      w = w * P.decay_factor;
    } else if ({{WD}} != 0.0) {
      g = g + {{WD}} * w;
    }
    let m0 = m[j];
    let v0 = v[j];
    let mi = P.beta1 * m0 + P.one_m_beta1 * g;
    let vi = P.beta2 * v0 + P.one_m_beta2 * g * g;
    m[j] = select(m0, mi, mask);
    v[j] = select(v0, vi, mask);
    var second = vi;
    if ((P.flags & 4u) != 0u) {
      let x0 = vmax[j];
      second = max(x0, vi);
      vmax[j] = select(x0, second, mask);
    }
    let denom = sqrt(second) / P.bc2_sqrt + P.eps;
    param[j] = select(w0, w - P.step_size * mi / denom, mask);
  }
}
