// Small dense products of the SE block, one invocation per output element (N*R, N*C, R*C or
// C*R of them), each a strided dot product:
//   out[i, j] = ACT(sum_k A[i*sAi + k*sAk] * B[j*sBj + k*sBk])      (then MASK / scale)
// ACT: 0 none, 1 relu, 2 sigmoid. MASK 1: multiply by (mask[i, j] > 0) (ReLU backward, NaN -> 0).
// DZ 1: A is d gate and the effective A value is dgate * gate * (1 - gate) (sigmoid backward).
struct Params {
  I: u32, J: u32, K: u32, sAi: u32,
  sAk: u32, sBj: u32, sBk: u32, _p: u32,
  scale: f32, _q0: f32, _q1: f32, _q2: f32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read> aux: array<f32>;   // DZ: gate (same layout as A)
@group(0) @binding(3) var<storage, read> mask: array<f32>;  // MASK: (I, J), e.g. the post-ReLU hidden
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> P: Params;

fn a_at(idx: u32) -> f32 {
  if ({{DZ}} == 1) {
    let gt = aux[idx];
    return A[idx] * gt * (1.0 - gt);
  }
  return A[idx];
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  _ = arrayLength(&aux);
  _ = arrayLength(&mask);
  let t = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (t >= P.I * P.J) { return; }
  let i = t / P.J;
  let j = t % P.J;
  var acc = 0.0;
  for (var k = 0u; k < P.K; k++) {
    acc += a_at(i * P.sAi + k * P.sAk) * B[j * P.sBj + k * P.sBk];
  }
  acc *= P.scale;
  if ({{ACT}} == 1) { acc = select(0.0, acc, acc > 0.0); }
  if ({{ACT}} == 2) { acc = 1.0 / (1.0 + exp(-acc)); }
  if ({{MASK}} == 1) { acc = select(0.0, acc, mask[t] > 0.0); }
  out[t] = acc;
}
