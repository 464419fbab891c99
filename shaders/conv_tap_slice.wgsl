// One tap of a conv weight as a contiguous (C_out, C_in/groups) matrix: out[i] = w[w_off + i * T + kk]
// with T = KH * KW taps per (co, ci) row. A conv whose only live tap reads each output pixel's own
// input pixel (a 3x3 pad-1 conv on a 1x1 map) is the 1x1 conv of this slice (see src/kernels/webgpu/conv.ts).
struct Params {
  n: u32, T: u32, kk: u32, w_off: u32,
  o_off: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.n) { return; }
  out[P.o_off + i] = w[P.w_off + i * P.T + P.kk];
}
