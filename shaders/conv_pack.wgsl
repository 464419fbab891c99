// Channels-last repack with per-group channel padding, used by the conv2d kernels:
//   src viewed as (N, G*Cg, S) contiguous  ->  dst[n][s][g][Cg4] (Cg4 = Cg rounded up to 4, zeros after Cg)
// so that 4 consecutive channels of one pixel are one vec4. One invocation writes one vec4.
// The same kernel packs activations (S = H*W), weights for the forward (N = C_out, Cg = C_in/groups,
// S = KH*KW) and weights for the input gradient (N = groups, Cg = C_out/groups, S = C_in/groups*KH*KW).
struct Params {
  total: u32, S: u32, G: u32, Cg: u32,
  Q: u32, src_off: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.total) { return; }
  let q = i % P.Q;
  let t = i / P.Q;
  let g = t % P.G;
  let t2 = t / P.G;
  let s = t2 % P.S;
  let n = t2 / P.S;
  let c = q * 4u;
  let base = P.src_off + ((n * P.G + g) * P.Cg + c) * P.S + s;
  var v = vec4<f32>(0.0);
  if (c < P.Cg) { v.x = src[base]; }
  if (c + 1u < P.Cg) { v.y = src[base + P.S]; }
  if (c + 2u < P.Cg) { v.z = src[base + 2u * P.S]; }
  if (c + 3u < P.Cg) { v.w = src[base + 3u * P.S]; }
  dst[i] = v;
}
