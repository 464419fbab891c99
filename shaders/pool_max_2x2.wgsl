// max_pool2d forward for the exact 2x2 / stride 2 tiling (no padding or dilation, W % 4 == 0,
// H even: ResEmoteNet's stem pools), one invocation per PAIR of outputs: two vec4 loads (4
// inputs of each of the two rows) give both 2x2 windows, and the two values and two indices go
// out as vec2 stores. On a software adapter, where each load or store instruction costs a loop
// over the SIMD lanes, that is 6 memory instructions per 2 outputs instead of 12 (pool_max.wgsl).
// The same rule as pool_max.wgsl: taps in (kh, kw) order, a tap replaces the maximum when greater
// or NaN, so the first of tied maxima wins and NaN propagates; indices are ih * W + iw.
// With BN (src/kernels/webgpu/bn_pool.ts) it is training batch_norm -> max_pool2d -> relu in ONE
// pass: each input is first normalized with its channel's coefficients from bn_stats.wgsl
// (coef = (mean, w * invstd, b, 0)), the maxima then go through relu (NaN stays NaN); the
// normalized map itself is never written (the host fills the K, A, B and OUT slots; without BN
// they are the plain loads and maxima).
#include "strided"

struct Params {
  total: u32, W: u32, OH: u32, OW2: u32,   // pairs, input width, output height, output pairs per row
  x_off4: u32, o_off2: u32, i_off2: u32, H: u32,
  C: u32, _p0: u32, _p1: u32, _p2: u32,      // channels (BN)
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> idx: array<vec2<i32>>;
@group(0) @binding({{PB}}) var<uniform> P: Params;
{{BN_DECL}}

fn take(v: f32, pos: i32, m: ptr<function, f32>, best: ptr<function, i32>) {
  if (*best < 0 || v > *m || is_nan(v)) {
    *m = v;
    *best = pos;
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.total) { return; }
  let j = i % P.OW2;
  let t = i / P.OW2;
  let oh = t % P.OH;
  let plane = t / P.OH;
{{K}}
  let W4 = P.W / 4u;
  let r0 = P.x_off4 + (plane * P.H + 2u * oh) * W4 + j;
  let a = {{A}};
  let b = {{B}};
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
  out[P.o_off2 + i] = {{OUT}};
  idx[P.i_off2 + i] = vec2<i32>(i0, i1);
}
