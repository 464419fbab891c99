// conv2d weight gradient, "sg" variant (see conv_sg_fwd.wgsl for the load-count reasoning).
// gw[co, ci, kh, kw] = sum_{n, oh, ow} gy[n, co, oh, ow] * x[n, ci, oh*sH - pH + kh*dH, ow*sW - pW + kw*dW].
// One tile = {{TM}} "shared" channels x {{SG}}*4 "lane" channels, all taps (kh, kw) one after the
// other (so the per-tile setup is paid once, and the stores of one (co, ci), whose taps are
// contiguous in gw, stay in cache); for a fixed tap the reduction runs over exactly the output
// positions whose input pixel is inside the image (a rectangle computed per tap), so there are
// no padding tests in the loop, and taps that never touch the image write zeros. Only taps in
// [khLo, khHi) x [kwLo, kwHi) are visited: when the host narrows that range (taps outside it
// never touch the input, e.g. 8 of 9 taps of a 3x3 p1 conv on a 1x1 map) it zeroes the
// output first (a buffer clear). Both operands arrive channels-last (conv_pack), so
// per reduction step a lane loads ONE vec4 of its 4 lane channels, and TM/4 lanes load one vec4
// of shared channels each, handed to all lanes by subgroupBroadcast. LANE_IS_CI selects
// whether the lanes run over input channels (shared = output channels) or the reverse.
// The reduction over (n, oh, ow) can be split across tiles (split s covers a range of
// (n, oh) rows); split partials go to part[s][...] in gw's layout and conv_reduce sums them.
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params {
  H: u32, W: u32, KH: u32, KW: u32,
  OH: u32, OW: u32, sH: u32, sW: u32,
  pH: u32, pW: u32, dH: u32, dW: u32,
  Nc: u32, cinG: u32, coutG: u32, GQx: u32,
  GQy: u32, Qx: u32, Qy: u32, cc: u32,
  c0: u32, g0: u32, ng: u32, lTiles: u32,
  sTiles: u32, ntiles: u32, splits: u32, rowsPer: u32,
  o_off: u32, w_row0: u32, size: u32, accumulate: u32,
  khLo: u32, khHi: u32, kwLo: u32, kwHi: u32,
}

@group(0) @binding(0) var<storage, read> xt: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> gyt: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

fn ceil_div_i(a: i32, b: i32) -> i32 {
  // ceil(a / b) for b > 0 and any sign of a
  if (a >= 0) { return (a + b - 1) / b; }
  return -((-a) / b);
}

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let tile = (wid.x + wid.y * nwg.x) * {{NSG}}u + lid / {{SG}}u;
  if (tile >= P.ntiles) { return; }
  // tile -> (lane tile, shared tile, group, split), lane tile fastest
  let lTile = tile % P.lTiles;
  var t = tile / P.lTiles;
  let sTile = t % P.sTiles;
  t = t / P.sTiles;
  let gl = t % P.ng;
  let split = t / P.ng;
  let g = P.g0 + gl;
  let KHKW = P.KH * P.KW;
  let obase = P.o_off + split * P.size;
{{SETUP}}
  for (var kh = P.khLo; kh < P.khHi; kh++) {
    // output rows whose input row lies inside the image for this kh
    let offh = i32(kh * P.dH) - i32(P.pH);
    let ohLo = u32(max(0, ceil_div_i(-offh, i32(P.sH))));
    let ohHi = u32(clamp(ceil_div_i(i32(P.H) - offh, i32(P.sH)), 0, i32(P.OH)));
    let nOh = select(0u, ohHi - ohLo, ohHi > ohLo);
    // this split's (n, oh) rows
    let rows = P.Nc * nOh;
    let rBeg = min(split * P.rowsPer, rows);
    let rEnd = min(rBeg + P.rowsPer, rows);
    let n0 = rBeg / max(nOh, 1u);
    let oh0 = ohLo + rBeg % max(nOh, 1u);
    for (var kw = P.kwLo; kw < P.kwHi; kw++) {
      let kk = kh * P.KW + kw;
      let offw = i32(kw * P.dW) - i32(P.pW);
      let owLo = u32(max(0, ceil_div_i(-offw, i32(P.sW))));
      let owHi = u32(clamp(ceil_div_i(i32(P.W) - offw, i32(P.sW)), 0, i32(P.OW)));
{{ACC}}
      // one flat loop over this split's (n, oh, ow) positions: on lavapipe every loop-carried
      // value is blended with the lane mask at each loop boundary, so nested short loops cost
      // far more than the multiply-adds
      let nOw = select(0u, owHi - owLo, owHi > owLo);
      let steps = (rEnd - rBeg) * nOw;
      var n = n0;
      var oh = oh0;
      var ow = owLo;
      for (var st = 0u; st < steps; st++) {
        let ih = u32(i32(oh * P.sH) + offh);
        let iw = u32(i32(ow * P.sW) + offw);
        let xpix = (n * P.H + ih) * P.W + iw;
        let ypix = (n * P.OH + oh) * P.OW + ow;
{{LOADS}}
{{FMAS}}
        ow += 1u;
        let wrap = ow >= owHi;
        ow = select(ow, owLo, wrap);
        oh = select(oh, oh + 1u, wrap);
        let wrap2 = oh >= ohHi;
        oh = select(oh, ohLo, wrap2);
        n = select(n, n + 1u, wrap2);
      }
{{STORE}}
    }
  }
}
