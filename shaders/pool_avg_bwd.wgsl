// avg_pool2d backward (MODE 0) and adaptive_avg_pool2d backward (MODE 1) without atomics: one
// invocation per INPUT element; it sums gy / divisor over the output windows that contain it
// (a rectangle of output positions, computed in closed form). gx is overwritten.
struct Params {
  total: u32, H: u32, W: u32, OH: u32,
  OW: u32, KH: u32, KW: u32, sH: u32,
  sW: u32, pH: u32, pW: u32, includePad: u32,
  divisor: u32, g_off: u32, x_off: u32, _p: u32,
}

@group(0) @binding(0) var<storage, read> gy: array<f32>;
@group(0) @binding(1) var<storage, read_write> gx: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

#include "pool_window"

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.total) { return; }
  let iw = i % P.W;
  let t = i / P.W;
  let ih = t % P.H;
  let plane = t / P.H;
  let rh = covering(ih, P.H, P.OH, P.KH, P.sH, P.pH);
  let rw = covering(iw, P.W, P.OW, P.KW, P.sW, P.pW);
  let gb = P.g_off + plane * P.OH * P.OW;
  var s = 0.0;
  for (var oh = rh.x; oh < rh.y; oh++) {
    let wh = win(oh, P.H, P.OH, P.KH, P.sH, P.pH);
    for (var ow = rw.x; ow < rw.y; ow++) {
      let ww = win(ow, P.W, P.OW, P.KW, P.sW, P.pW);
      s += gy[gb + oh * P.OW + ow] / divisor(wh, ww);
    }
  }
  gx[P.x_off + i] = s;
}
