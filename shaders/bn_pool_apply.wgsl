// Training-mode batch_norm -> max_pool2d(2, 2) -> relu in ONE pass over x (N, C, H, W), H even,
// W % 4 == 0, with the per-channel coefficients of bn_stats.wgsl (coef = (mean, w * invstd, b, 0)).
// One invocation per PAIR of horizontally adjacent outputs (a 2x4 block of x: two vec4 loads),
// like pool_max_2x2.wgsl, whose rule it keeps on the normalized values: taps in (kh, kw) order, a
// tap replaces the maximum when greater or NaN (the first of tied maxima wins, NaN propagates);
// indices are ih * W + iw. Then relu (NaN stays NaN). The normalized map itself is never written:
// the separate passes wrote it (N*C*H*W floats) and read it back for the pool.
#include "strided"

struct Params {
  total: u32, W: u32, OH: u32, OW2: u32,   // pairs, input width, output height, output pairs per row
  x_off4: u32, o_off2: u32, i_off2: u32, H: u32,
  C: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> idx: array<vec2<i32>>;
@group(0) @binding(4) var<uniform> P: Params;

#include "pool_take"

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.total) { return; }
  let j = i % P.OW2;
  let t = i / P.OW2;
  let oh = t % P.OH;
  let plane = t / P.OH;
  let k = coef[plane % P.C];
  let W4 = P.W / 4u;
  let r0 = P.x_off4 + (plane * P.H + 2u * oh) * W4 + j;
  let a = (x[r0] - k.x) * k.y + k.z;
  let b = (x[r0 + W4] - k.x) * k.y + k.z;
  let p0 = i32(2u * oh * P.W + 4u * j);
  let w = i32(P.W);
  var m0 = 0.0;
  var i0 = -1;
  take(a.x, p0, &m0, &i0);
  take(a.y, p0 + 1, &m0, &i0);
  take(b.x, p0 + w, &m0, &i0);
  take(b.y, p0 + w + 1, &m0, &i0);
  var m1 = 0.0;
  var i1 = -1;
  take(a.z, p0 + 2, &m1, &i1);
  take(a.w, p0 + 3, &m1, &i1);
  take(b.z, p0 + w + 2, &m1, &i1);
  take(b.w, p0 + w + 3, &m1, &i1);
  let m = vec2<f32>(m0, m1);
  out[P.o_off2 + i] = select(m, vec2<f32>(0.0), m < vec2<f32>(0.0));
  idx[P.i_off2 + i] = vec2<i32>(i0, i1);
}
