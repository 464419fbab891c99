// out[i] = OP(a[strided i], b[strided i]) with broadcast strides (0 on broadcast dims).
#include "strided"

struct Params {
  n: u32, ndim: u32, off_a: u32, off_b: u32,
  shape: array<vec4<u32>, 2>,
  st_a: array<vec4<u32>, 2>,
  st_b: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> a: array<{{T}}>;
@group(0) @binding(1) var<storage, read> b: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(3) var<uniform> P: Params;

fn op(x: {{T}}, y: {{T}}) -> {{T}} {
  {{OP}}
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= P.n) { return; }
  let x = a[strided_offset(i, P.ndim, P.shape, P.st_a, P.off_a)];
  let y = b[strided_offset(i, P.ndim, P.shape, P.st_b, P.off_b)];
  out[i] = op(x, y);
}
