// out[i] = cond[i] != 0 ? a[i] : b[i], all strided/broadcast.
#include "strided"

struct Params {
  n: u32, ndim: u32, off_c: u32, off_a: u32,
  off_b: u32, _p0: u32, _p1: u32, _p2: u32,
  shape: array<vec4<u32>, 2>,
  st_c: array<vec4<u32>, 2>,
  st_a: array<vec4<u32>, 2>,
  st_b: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> c: array<{{TC}}>;
@group(0) @binding(1) var<storage, read> a: array<{{T}}>;
@group(0) @binding(2) var<storage, read> b: array<{{T}}>;
@group(0) @binding(3) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= P.n) { return; }
  let cv = c[strided_offset(i, P.ndim, P.shape, P.st_c, P.off_c)];
  let av = a[strided_offset(i, P.ndim, P.shape, P.st_a, P.off_a)];
  let bv = b[strided_offset(i, P.ndim, P.shape, P.st_b, P.off_b)];
  out[i] = select(bv, av, cv != {{TC}}(0));
}
