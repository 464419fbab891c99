// Batched matmul, family (b): shared-memory tiled (what discrete GPUs prefer). A workgroup of
// 16 x 16 invocations computes a 64 x 64 output tile of one batch item, each invocation a 4 x 4
// block (rows ty*4.., columns tx*4..), stepping through K in slices of 16 staged in workgroup
// memory. Tile loads are ordered so that consecutive invocations read consecutive addresses for
// the operand's layout (P.a_kfast / P.b_nfast: 1 when the operand is contiguous along k / n;
// uniforms rather than specializations, so one pipeline serves every layout).
// Out-of-range elements load as 0. Strides and offsets as in matmul_rb.wgsl.

struct Params {
  M: u32, N: u32, K: u32, K4: u32,
  ntn: u32, ntm: u32, total: u32, _p0: u32,
  off_a: u32, sab: u32, sam: u32, sak: u32,
  off_b: u32, sbb: u32, sbk: u32, sbn: u32,
  off_o: u32, sob: u32, som: u32, _p1: u32,
  a_kfast: u32, b_nfast: u32, _p2: u32, _p3: u32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> Bm: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

const BK = 16u;
// As[kk][mm / 4] and Bs[kk][nn / 4]: 16 rows of 16 vec4.
var<workgroup> As: array<vec4<f32>, 256>;
var<workgroup> Bs: array<vec4<f32>, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lin = wid.x + wid.y * nwg.x;
  // Uniform per workgroup, so the barriers below stay in uniform control flow.
  if (lin >= P.total) { return; }
  let tn = lin % P.ntn;
  let t = lin / P.ntn;
  let m0 = (t % P.ntm) * 64u;
  let n0 = tn * 64u;
  let b = t / P.ntm;
  let a_b = P.off_a + b * P.sab;
  let b_b = P.off_b + b * P.sbb;
  let tx = lid % 16u;
  let ty = lid / 16u;
  var acc: array<vec4<f32>, 4>;
  let nk = (P.K + BK - 1u) / BK;
  for (var kt = 0u; kt < nk; kt++) {
    let k0 = kt * BK;
    for (var q = 0u; q < 4u; q++) {
      let e = lid + q * 256u;
      var mm: u32; var kk: u32;
      if (P.a_kfast == 1u) { kk = e % BK; mm = e / BK; } else { mm = e % 64u; kk = e / 64u; }
      let gm = m0 + mm;
      let gk = k0 + kk;
      var v = 0.0;
      if (gm < P.M && gk < P.K) { v = A[a_b + gm * P.sam + gk * P.sak]; }
      As[kk * 16u + mm / 4u][mm % 4u] = v;
    }
    for (var q = 0u; q < 4u; q++) {
      let e = lid + q * 256u;
      var nn: u32; var kk: u32;
      if (P.b_nfast == 1u) { nn = e % 64u; kk = e / 64u; } else { kk = e % BK; nn = e / BK; }
      let gn = n0 + nn;
      let gk = k0 + kk;
      var v = 0.0;
      if (gn < P.N && gk < P.K) { v = Bm[b_b + gk * P.sbk + gn * P.sbn]; }
      Bs[kk * 16u + nn / 4u][nn % 4u] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let a = As[kk * 16u + ty];
      let bv = Bs[kk * 16u + tx];
      acc[0] = fma(vec4<f32>(a.x), bv, acc[0]);
      acc[1] = fma(vec4<f32>(a.y), bv, acc[1]);
      acc[2] = fma(vec4<f32>(a.z), bv, acc[2]);
      acc[3] = fma(vec4<f32>(a.w), bv, acc[3]);
    }
    workgroupBarrier();
  }
  let o_b = P.off_o + b * P.sob;
  let n = n0 + tx * 4u;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + ty * 4u + i;
    if (m < P.M) {
      let o = o_b + m * P.som + n;
      let v = acc[i];
      if (n < P.N) { O[o] = v.x; }
      if (n + 1u < P.N) { O[o + 1u] = v.y; }
      if (n + 2u < P.N) { O[o + 2u] = v.z; }
      if (n + 3u < P.N) { O[o + 3u] = v.w; }
    }
  }
}
