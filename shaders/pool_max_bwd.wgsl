// max_pool2d backward without atomics: one invocation per INPUT element; it visits the output
// windows that contain it (for each tap, the output position whose tap lands here, if any) and
// adds gy of those whose stored index is this element. gx is overwritten.
struct Params {
  total: u32, H: u32, W: u32, OH: u32,
  OW: u32, KH: u32, KW: u32, sH: u32,
  sW: u32, pH: u32, pW: u32, dH: u32,
  dW: u32, g_off: u32, x_off: u32, i_off: u32,
}

@group(0) @binding(0) var<storage, read> gy: array<f32>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> gx: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.total) { return; }
  let iw = i % P.W;
  let t = i / P.W;
  let ih = t % P.H;
  let plane = t / P.H;
  let me = i32(ih * P.W + iw);
  let ob = plane * P.OH * P.OW;
  var s = 0.0;
  for (var kh = 0u; kh < P.KH; kh++) {
    let th = i32(ih + P.pH) - i32(kh * P.dH);
    if (th < 0 || u32(th) % P.sH != 0u) { continue; }
    let oh = u32(th) / P.sH;
    if (oh >= P.OH) { continue; }
    for (var kw = 0u; kw < P.KW; kw++) {
      let tw = i32(iw + P.pW) - i32(kw * P.dW);
      if (tw < 0 || u32(tw) % P.sW != 0u) { continue; }
      let ow = u32(tw) / P.sW;
      if (ow >= P.OW) { continue; }
      let o = ob + oh * P.OW + ow;
      if (idx[P.i_off + o] == me) { s += gy[P.g_off + o]; }
    }
  }
  gx[P.x_off + i] = s;
}
