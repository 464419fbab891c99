// Second pass of a split-K conv_tiled GEMM: sums part[split][group][m][n] over the splits and
// writes the result through the op's store function.
struct Params {
  H: u32, W: u32, KH: u32, KW: u32,
  OH: u32, OW: u32, sH: u32, sW: u32,
  pH: u32, pW: u32, dH: u32, dW: u32,
  Nc: u32, cinG: u32, coutG: u32, C_in: u32,
  C_out: u32, M: u32, NC: u32, K: u32,
  kPer: u32, mTiles: u32, nTiles: u32, ng: u32,
  g0: u32, c0: u32, w_row0: u32, a_off: u32,
  b_off: u32, o_off: u32, accumulate: u32, splits: u32,
}

@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

{{FUNCS}}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  let per = P.M * P.NC;
  if (i >= per * P.ng) { return; }
  _ = arrayLength(&bias);
  var s = 0.0;
  for (var k = 0u; k < P.splits; k++) {
    s += part[k * per * P.ng + i];
  }
  let gl = i / per;
  let r = i % per;
  store_c(P.g0 + gl, r / P.NC, r % P.NC, s);
}
