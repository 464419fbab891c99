// In-place fused SGD step (PyTorch's torch.optim.SGD, as src/kernels/cpu/optim.ts), per element:
//   d = maximize ? -g : g;  d += weight_decay * param
//   if momentum != 0: buf = first step ? d : momentum * buf + (1 - dampening) * d
//                     d = nesterov ? d + momentum * buf : buf
//   param -= lr * d
// vec4 loads/stores, K consecutive vec4s per invocation. TAIL 0 covers the whole vec4s, TAIL 1
// (one invocation, its own dispatch) the partial last one when n % 4 != 0, read-modify-written
// under a mask: as constants, the masked stores leave the main kernel (on lavapipe both sides of
// a divergent branch run: the main kernel was ~4 % slower with them). Operands are bound from a
// multiple of 4 elements. The host compiles P.flags as a literal, and the weight decay as 0.0 when
// it is zero (WD; else P.weight_decay): the tests on them fold away instead of running per
// element, which on lavapipe made the step 10-14 % faster (8.4M params, dense gradient
// 32.3 -> 27.8 ms; 1 of 9 taps live 24.5 -> 22.9 ms; 2026-12-05).
#include "ew_common"

struct Params {
  n: u32,
  flags: u32,        // 1 maximize, 2 momentum (buffer bound), 4 first step, 8 nesterov
  _p0: u32, _p1: u32,
  lr: f32,
  momentum: f32,
  one_m_damp: f32,   // 1 - dampening
  weight_decay: f32,
}

@group(0) @binding(0) var<storage, read_write> param: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> buf: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> P: Params;

const K = 4u;
const TAIL = {{TAIL}}u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  if (TAIL == 1u && lid != 0u) { return; } // the partial vec4 is one invocation's
  let j0 = select(((wid.x + wid.y * nwg.x) * 64u + lid) * K, P.n / 4u, TAIL == 1u);
  let nv = select(P.n / 4u, (P.n + 3u) / 4u, TAIL == 1u);
  for (var t = 0u; t < K; t++) {
    let j = j0 + t;
    if (j >= nv) { return; }
    var d = grad[j];
    if ((P.flags & 1u) != 0u) { d = -d; }
    // An element whose d and momentum buffer are both +0 (with no weight decay) keeps its buffer
    // and parameter bit for bit (p - lr * (+0) == p, even for -0); skipping its param load and
    // both stores is exact, and pays on the weights of conv taps that never meet the input
    // (e.g. 8 of 9 taps of a 3x3 conv on a 1x1 map: their gradient is exactly zero).
    var keep = {{WD}} == 0.0 && all(bitcast<vec4<u32>>(d) == vec4<u32>(0u));
    var bo = vec4<f32>(0.0);
    if ((P.flags & 2u) != 0u) {
      if ((P.flags & 4u) == 0u) {
        bo = buf[j];
        keep = keep && all(bitcast<vec4<u32>>(bo) == vec4<u32>(0u));
      } else {
        keep = false;
      }
    }
    if (!keep) {
      let w = param[j];
      if ({{WD}} != 0.0) { d = d + {{WD}} * w; }
      if ((P.flags & 2u) != 0u) {
        var b = d;
        if ((P.flags & 4u) == 0u) { b = P.momentum * bo + P.one_m_damp * d; }
        if (TAIL == 0u) { buf[j] = b; } else { buf[j] = select(buf[j], b, slot_mask(j, 0u, P.n)); }
        if ((P.flags & 8u) != 0u) { d = d + P.momentum * b; } else { d = b; }
      }
      let nw = w - P.lr * d;
      if (TAIL == 0u) { param[j] = nw; } else { param[j] = select(w, nw, slot_mask(j, 0u, P.n)); }
    }
  }
}
