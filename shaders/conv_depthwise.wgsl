// conv2d forward for depthwise convolutions (groups == C_in; output channel co reads input channel
// co / M, M = C_out / C_in). The GEMM kernels see each group as a product with K = KH*KW (9):
// far too short to fill their tiles. Here one invocation computes {{OWS}} consecutive outputs of
// one output row: each tap's weight is loaded once and used {{OWS}} times (on lavapipe load
// instructions, not multiply-adds, set the speed). Padding taps are skipped. Bias: {{HAS_BIAS}}.
struct Params {
  H: u32, W: u32, KH: u32, KW: u32,
  OH: u32, OW: u32, sH: u32, sW: u32,
  pH: u32, pW: u32, dH: u32, dW: u32,
  C_in: u32, C_out: u32, M: u32, strips: u32,
  total: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (t >= P.total) { return; }
  // t = ((n * C_out + co) * OH + oh) * strips + strip
  let strip = t % P.strips;
  var r = t / P.strips;
  let oh = r % P.OH;
  r = r / P.OH;
  let co = r % P.C_out;
  let n = r / P.C_out;
  let ow0 = strip * {{OWS}}u;
  let xBase = (n * P.C_in + co / P.M) * P.H * P.W;
  let wBase = co * P.KH * P.KW;
  var acc: array<f32, {{OWS}}>;
  for (var kh = 0u; kh < P.KH; kh++) {
    let ih = i32(oh * P.sH + kh * P.dH) - i32(P.pH);
    if (ih < 0 || ih >= i32(P.H)) { continue; }
    let row = xBase + u32(ih) * P.W;
    for (var kw = 0u; kw < P.KW; kw++) {
      let wv = w[wBase + kh * P.KW + kw];
      for (var j = 0u; j < {{OWS}}u; j++) {
        let iw = i32((ow0 + j) * P.sW + kw * P.dW) - i32(P.pW);
        if (iw >= 0 && iw < i32(P.W)) { acc[j] += wv * x[row + u32(iw)]; }
      }
    }
  }
  var bv = 0.0;
  if ({{HAS_BIAS}}) { bv = b[co]; }
  let o = ((n * P.C_out + co) * P.OH + oh) * P.OW + ow0;
  for (var j = 0u; j < {{OWS}}u; j++) {
    if (ow0 + j < P.OW) { out[o + j] = acc[j] + bv; }
  }
}
