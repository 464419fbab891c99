// conv2d as an implicit GEMM C[m, n] = sum_k A(m, k) * B(k, n) with workgroup-memory tiles:
// the "tiled" variant, for hardware GPUs (shared-memory tiles are what they are built for).
// 64x64 tile per workgroup of 256 invocations, 4x4 outputs each, K in steps of 16. A, B and the
// store are op-specific functions (FUNCS: forward, input gradient or weight gradient) that
// compute the convolution's index arithmetic on the fly (no materialized im2col). The K range
// can be split over workgroups (split > 1): partials go to part[split][group][m][n] and
// conv_tiled_reduce sums them through the same store function.
// {{NE}} / {{BK}}: the tile-load and K-step loop bounds: constants (4u, 16u) for hardware GPUs;
// on software adapters the uniforms P.ne / P.bk (same values), which keeps LLVM from unrolling
// them (3x shorter pipeline compiles on lavapipe, where this variant only runs in tests).
struct Params {
  H: u32, W: u32, KH: u32, KW: u32,
  OH: u32, OW: u32, sH: u32, sW: u32,
  pH: u32, pW: u32, dH: u32, dW: u32,
  Nc: u32, cinG: u32, coutG: u32, C_in: u32,
  C_out: u32, M: u32, NC: u32, K: u32,
  kPer: u32, mTiles: u32, nTiles: u32, ng: u32,
  g0: u32, c0: u32, w_row0: u32, a_off: u32,
  b_off: u32, o_off: u32, accumulate: u32, splits: u32,
  ne: u32, bk: u32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

{{FUNCS}}

var<workgroup> As: array<array<f32, 64>, 16>;
var<workgroup> Bs: array<array<f32, 64>, 16>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x + wid.y * nwg.x;
  let nT = t % P.nTiles;
  let t2 = t / P.nTiles;
  let mT = t2 % P.mTiles;
  let t3 = t2 / P.mTiles;
  let gl = t3 % P.ng;
  let split = t3 / P.ng;
  if (split >= P.splits) { return; }
  _ = arrayLength(&bias);
  let g = P.g0 + gl;
  let tx = lid % 16u;
  let ty = lid / 16u;
  let m0 = mT * 64u;
  let n0 = nT * 64u;
  let kBeg = split * P.kPer;
  let kEnd = min(P.K, kBeg + P.kPer);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = kBeg; k0 < kEnd; k0 += 16u) {
    for (var e = 0u; e < {{NE}}; e++) {
      let idx = lid + e * 256u;
      let kk = idx / 64u;
      let mm = idx % 64u;
      let k = k0 + kk;
      var av = 0.0;
      if (k < kEnd && m0 + mm < P.M) { av = load_a(g, m0 + mm, k); }
      As[kk][mm] = av;
      var bv = 0.0;
      if (k < kEnd && n0 + mm < P.NC) { bv = load_b(g, k, n0 + mm); }
      Bs[kk][mm] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < {{BK}}; kk++) {
      let a = vec4<f32>(As[kk][ty * 4u], As[kk][ty * 4u + 1u], As[kk][ty * 4u + 2u], As[kk][ty * 4u + 3u]);
      let b = vec4<f32>(Bs[kk][tx * 4u], Bs[kk][tx * 4u + 1u], Bs[kk][tx * 4u + 2u], Bs[kk][tx * 4u + 3u]);
      acc0 = fma(vec4<f32>(a.x), b, acc0);
      acc1 = fma(vec4<f32>(a.y), b, acc1);
      acc2 = fma(vec4<f32>(a.z), b, acc2);
      acc3 = fma(vec4<f32>(a.w), b, acc3);
    }
    workgroupBarrier();
  }
  let acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + ty * 4u + i;
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + tx * 4u + j;
      if (m < P.M && n < P.NC) {
        if (P.splits > 1u) {
          out[((split * P.ng + gl) * P.M + m) * P.NC + n] = acc[i][j];
        } else {
          store_c(g, m, n, acc[i][j]);
        }
      }
    }
  }
}
