// dst[strided i] = TDST(src[strided i]): strided copy with dtype conversion (f32 -> i32 truncates toward zero).
#include "strided"

struct Params {
  n: u32, ndim: u32, off_s: u32, off_d: u32,
  shape: array<vec4<u32>, 2>,
  st_s: array<vec4<u32>, 2>,
  st_d: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> src: array<{{TS}}>;
@group(0) @binding(1) var<storage, read_write> dst: array<{{TD}}>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= P.n) { return; }
  let v = src[strided_offset(i, P.ndim, P.shape, P.st_s, P.off_s)];
  dst[strided_offset(i, P.ndim, P.shape, P.st_d, P.off_d)] = {{TD}}(v);
}
