// Weight packing for conv_sg_gemv.wgsl: w (C_out, C_in, KH, KW) -> dst[tile][a][b][ci4][lane] for
// the LIVE taps only, kh = khLo + a < khLo + khN, kw = kwLo + b (taps that never touch the input
// are left out: a 3x3 conv on a 1x1 map keeps 1/9 of its weights); vec4 over 4 input channels,
// co = tile * {{SG}} + lane, zeros past C_out and C_in. So the
// {{SG}} lanes of a subgroup, one output channel each, read {{SG}} CONSECUTIVE vec4s per load:
// two cache lines, streamed in order. Read from the original layout, the lanes' rows lie
// KH*KW*C_in floats apart (a page each on the deep layers), and the loads stall on the TLB.
struct Params {
  total: u32, C_out: u32, C_in: u32, Q: u32,
  KH: u32, KW: u32, khLo: u32, khN: u32,
  kwLo: u32, kwN: u32, i0: u32, w_rel: u32,
}
// A dispatch packs dst[i0 .. i0 + total) (whole tiles); w is bound as a window over those tiles'
// output channels, starting at output channel co0 = first tile * SG, element w_rel of the window.

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let il = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (il >= P.total) { return; }
  let i = P.i0 + il;
  let lane = i % {{SG}}u;
  let r = i / {{SG}}u;
  let q = r % P.Q;
  let r2 = r / P.Q;
  let b = r2 % P.kwN;
  let r3 = r2 / P.kwN;
  let a = r3 % P.khN;
  let tile = r3 / P.khN;
  let co = tile * {{SG}}u + lane;
  let KHKW = P.KH * P.KW;
  let co0 = (P.i0 / (P.khN * P.kwN * P.Q * {{SG}}u)) * {{SG}}u;
  var v = vec4<f32>(0.0);
  if (co < P.C_out) {
    let base = P.w_rel + ((co - co0) * P.C_in + q * 4u) * KHKW + (P.khLo + a) * P.KW + P.kwLo + b;
    if (q * 4u < P.C_in) { v.x = w[base]; }
    if (q * 4u + 1u < P.C_in) { v.y = w[base + KHKW]; }
    if (q * 4u + 2u < P.C_in) { v.z = w[base + 2u * KHKW]; }
    if (q * 4u + 3u < P.C_in) { v.w = w[base + 3u * KHKW]; }
  }
  dst[i] = v;
}
