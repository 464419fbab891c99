// In-place fused SGD step (PyTorch's torch.optim.SGD, as src/kernels/cpu/optim.ts), per element:
//   d = maximize ? -g : g;  d += weight_decay * param
//   if momentum != 0: buf = first step ? d : momentum * buf + (1 - dampening) * d
//                     d = nesterov ? d + momentum * buf : buf
//   param -= lr * d
struct Params {
  n: u32,
  flags: u32,        // 1 maximize, 2 momentum (buffer bound), 4 first step, 8 nesterov
  _p0: u32, _p1: u32,
  lr: f32,
  momentum: f32,
  one_m_damp: f32,   // 1 - dampening
  weight_decay: f32,
}

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> buf: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= P.n) { return; }
  let w = param[i];
  var d = grad[i];
  if ((P.flags & 1u) != 0u) { d = -d; }
  if (P.weight_decay != 0.0) { d = d + P.weight_decay * w; }
  if ((P.flags & 2u) != 0u) {
    var b = d;
    if ((P.flags & 4u) == 0u) { b = P.momentum * buf[i] + P.one_m_damp * d; }
    buf[i] = b;
    if ((P.flags & 8u) != 0u) { d = d + P.momentum * b; } else { d = b; }
  }
  param[i] = w - P.lr * d;
}
