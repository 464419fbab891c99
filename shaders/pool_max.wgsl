// max_pool2d forward: one invocation per output element of a chunk of (n, c) planes.
// Taps in the padding are skipped (-inf padding); a tap replaces the running maximum when it is
// greater or NaN (PyTorch's `val > max || isnan(val)`), so the FIRST of tied maxima wins, NaN
// propagates, and with several NaNs the last one gives the index. NaN is tested on the bits.
// indices = ih * W + iw inside the input plane (int32); -1 only for a window entirely in the
// padding (the front end rules that out).
#include "strided"

struct Params {
  total: u32, H: u32, W: u32, OH: u32,
  OW: u32, KH: u32, KW: u32, sH: u32,
  sW: u32, pH: u32, pW: u32, dH: u32,
  dW: u32, x_off: u32, o_off: u32, i_off: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> idx: array<i32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.total) { return; }
  let ow = i % P.OW;
  let t = i / P.OW;
  let oh = t % P.OH;
  let plane = t / P.OH;
  let xb = P.x_off + plane * P.H * P.W;
  let ih0 = i32(oh * P.sH) - i32(P.pH);
  let iw0 = i32(ow * P.sW) - i32(P.pW);
  var m = 0.0;
  var best = -1;
  for (var kh = 0u; kh < P.KH; kh++) {
    let ih = ih0 + i32(kh * P.dH);
    if (ih < 0 || ih >= i32(P.H)) { continue; }
    for (var kw = 0u; kw < P.KW; kw++) {
      let iw = iw0 + i32(kw * P.dW);
      if (iw < 0 || iw >= i32(P.W)) { continue; }
      let pos = ih * i32(P.W) + iw;
      let v = x[xb + u32(pos)];
      if (best < 0 || v > m || is_nan(v)) {
        m = v;
        best = pos;
      }
    }
  }
  if (best < 0) {
    var ninf = 0xff800000u; // -inf built at run time (a constant inf is rejected by WGSL)
    m = bitcast<f32>(ninf);
  }
  out[P.o_off + i] = m;
  idx[P.i_off + i] = best;
}
