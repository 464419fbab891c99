// The im2col weight gradient's last step: gw[co][ci][tap] = sum over the batch of
// part[n][co][tap * Cin + ci] (part rows of R columns, the matmul's output). One invocation per
// weight.
struct Params {
  C_out: u32, Cin: u32, KHKW: u32, R: u32,
  N: u32, o_off: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> gw: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  let size = P.C_out * P.Cin * P.KHKW;
  if (i >= size) { return; }
  let tap = i % P.KHKW;
  let ci = (i / P.KHKW) % P.Cin;
  let co = i / (P.KHKW * P.Cin);
  let col = co * P.R + tap * P.Cin + ci;
  let stride = P.C_out * P.R;
  var s = 0.0;
  for (var n = 0u; n < P.N; n++) {
    s += part[n * stride + col];
  }
  gw[P.o_off + i] = s;
}
