// avg_pool2d forward (MODE 0) and adaptive_avg_pool2d forward (MODE 1): one invocation per
// output element of a chunk of planes.
// avg: window start = o*stride - pad, end = min(start + K, size + pad) (that extent is the
// count_include_pad divisor), then clipped to the input; divisor_override wins when nonzero.
// adaptive: window [floor(o*size/out), ceil((o+1)*size/out)).
struct Params {
  total: u32, H: u32, W: u32, OH: u32,
  OW: u32, KH: u32, KW: u32, sH: u32,
  sW: u32, pH: u32, pW: u32, includePad: u32,
  divisor: u32, x_off: u32, o_off: u32, _p: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

#include "pool_window"

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.total) { return; }
  let ow = i % P.OW;
  let t = i / P.OW;
  let oh = t % P.OH;
  let plane = t / P.OH;
  let wh = win(oh, P.H, P.OH, P.KH, P.sH, P.pH);
  let ww = win(ow, P.W, P.OW, P.KW, P.sW, P.pW);
  let xb = P.x_off + plane * P.H * P.W;
  var s = 0.0;
  for (var ih = wh.x; ih < wh.y; ih++) {
    for (var iw = ww.x; iw < ww.y; iw++) {
      s += x[xb + ih * P.W + iw];
    }
  }
  out[P.o_off + i] = s / divisor(wh, ww);
}
