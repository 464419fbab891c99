// Input gradient of pool_max_2x2.wgsl with BN (batch_norm -> max_pool2d(2, 2) -> relu, training), with
// bn_coef.wgsl's MODE 1 coefficients (mean, w*invstd, -w*invstd*sum_gy/M, -w*invstd^2*sum_gy_xhat/M):
//   gx = coef.y * g_full + coef.z + coef.w * (x - coef.x)
// where g_full is gy * (out > 0 or NaN) at its window's maximum (indices) and 0 elsewhere: pool's
// and relu's backward folded into batch_norm's elementwise pass (no full-resolution gradient is
// written or read). One invocation per PAIR of horizontally adjacent pooled outputs (a 2x4 block
// of x: two vec4 loads, two vec4 stores), as pool_max_bwd_2x2.wgsl.
struct Params {
  total: u32, W: u32, OH: u32, OW2: u32,
  x_off4: u32, g_off2: u32, i_off2: u32, H: u32,
  C: u32, o_off4: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> gy: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> out: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> idx: array<vec2<i32>>;
@group(0) @binding(4) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> gx: array<vec4<f32>>;
@group(0) @binding(6) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid; // pair index: pooled outputs 2i, 2i + 1
  if (i >= P.total) { return; }
  let j = i % P.OW2;
  let t = i / P.OW2;
  let oh = t % P.OH;
  let plane = t / P.OH;
  let k = coef[plane % P.C];
  let bi = idx[P.i_off2 + i];
  let o = out[P.g_off2 + i];
  let g = select(gy[P.g_off2 + i], vec2<f32>(0.0), o <= vec2<f32>(0.0));
  let W4 = P.W / 4u;
  let r0 = (plane * P.H + 2u * oh) * W4 + j;
  let p0 = i32(2u * oh * P.W + 4u * j);
  let p1 = p0 + i32(P.W);
  let c = vec4<i32>(0, 1, 2, 3);
  let bb = vec4<i32>(bi.x, bi.x, bi.y, bi.y);
  let gg = vec4<f32>(g.x, g.x, g.y, g.y);
  let z = vec4<f32>(0.0);
  let g0 = select(z, gg, vec4<i32>(p0) + c == bb);
  let g1 = select(z, gg, vec4<i32>(p1) + c == bb);
  gx[P.o_off4 + r0] = k.y * g0 + k.z + k.w * (x[P.x_off4 + r0] - k.x);
  gx[P.o_off4 + r0 + W4] = k.y * g1 + k.z + k.w * (x[P.x_off4 + r0 + W4] - k.x);
}
