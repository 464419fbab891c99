// out[i] = OP(x[strided i]). Math in f32, cast to the output type.
#include "strided"

struct Params {
  n: u32, ndim: u32, off_x: u32, _p0: u32,
  shape: array<vec4<u32>, 2>,
  st_x: array<vec4<u32>, 2>,
  param: f32,
}

@group(0) @binding(0) var<storage, read> x: array<{{TX}}>;
@group(0) @binding(1) var<storage, read_write> out: array<{{TOUT}}>;
@group(0) @binding(2) var<uniform> P: Params;

fn op(v: f32, p: f32) -> f32 {
  {{OP}}
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= P.n) { return; }
  let v = f32(x[strided_offset(i, P.ndim, P.shape, P.st_x, P.off_x)]);
  out[i] = {{TOUT}}(op(v, P.param));
}
