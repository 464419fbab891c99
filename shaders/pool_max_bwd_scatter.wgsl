// max_pool2d backward for NON-OVERLAPPING windows ((KH-1)*dH < sH and (KW-1)*dW < sW): every
// input element lies in at most one window, so one invocation per OUTPUT element writes its
// whole window (gy at the stored argmax, 0 elsewhere): each covered input element is written
// exactly once, no atomics, no gather. Elements outside every window (odd sizes, stride gaps,
// padding) are zero-filled beforehand by the host. Semantics = the gather kernel's (the stored
// index decides: ties, NaN, -inf).
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
  let ow = i % P.OW;
  let t = i / P.OW;
  let oh = t % P.OH;
  let plane = t / P.OH;
  let xb = P.x_off + plane * P.H * P.W;
  let best = idx[P.i_off + i];
  let g = gy[P.g_off + i];
  let ih0 = i32(oh * P.sH) - i32(P.pH);
  let iw0 = i32(ow * P.sW) - i32(P.pW);
  for (var kh = 0u; kh < P.KH; kh++) {
    let ih = ih0 + i32(kh * P.dH);
    if (ih < 0 || ih >= i32(P.H)) { continue; }
    for (var kw = 0u; kw < P.KW; kw++) {
      let iw = iw0 + i32(kw * P.dW);
      if (iw < 0 || iw >= i32(P.W)) { continue; }
      let pos = ih * i32(P.W) + iw;
      gx[xb + u32(pos)] = select(0.0, g, pos == best);
    }
  }
}
