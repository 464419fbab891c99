// conv2d input gradient, "sg" variant (see conv_sg_fwd.wgsl for the load-count reasoning).
// gx[n, ci, ih, iw] = sum_{co, kh, kw} gy[n, co, oh, ow] * w[co, ci, kh, kw] over the taps with
// ih + padH - kh*dilH = oh*strideH (0 <= oh < OH), likewise for w: a transposed convolution
// written as a gather, so no atomics. Rows m = (ih, iw, n), batch fastest: for batch >= TM a
// tile shares one (ih, iw) and therefore exactly the same valid taps, and a tap that is invalid
// for every row of the tile (the stride phases, the padding) is skipped (subgroupAny).
// The gradient arrives channels-last (gyt[n][oh][ow][g][co4]); lanes run over input channels.
// Weights: packed wq[g][ci][kh][kw][co4] (W_PACKED) or 4 strided scalar loads of w. The output
// channels can be split into chunks (binding limit): chunk k > 0 accumulates into gx.
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params {
  H: u32, W: u32, KH: u32, KW: u32,
  OH: u32, OW: u32, sH: u32, sW: u32,
  pH: u32, pW: u32, dH: u32, dW: u32,
  Nc: u32, Qc: u32, GQ: u32, q0: u32,
  cinG: u32, coutG: u32, C_in: u32, coc: u32,
  g0: u32, rowTiles: u32, colTiles: u32, ntiles: u32,
  w_off: u32, w_row0: u32, o_off: u32, accumulate: u32,
  Qo: u32, w_last: u32,
}

@group(0) @binding(0) var<storage, read> gyt: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<{{WTYPE}}>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let tile = (wid.x + wid.y * nwg.x) * {{NSG}}u + lid / {{SG}}u;
  if (tile >= P.ntiles) { return; }
  // row tiles fastest: consecutive tiles (the subgroups of a workgroup, then neighbouring
  // workgroups on the same core) reuse the same weights from cache
  let rowTile = tile % P.rowTiles;
  let t2 = tile / P.rowTiles;
  let colTile = t2 % P.colTiles;
  let g = P.g0 + t2 / P.colTiles;
  let HW = P.H * P.W;
  let KHKW = P.KH * P.KW;
  let M = P.Nc * HW;
  let Kw = P.cinG * KHKW;
{{ROWS}}
{{COLS}}
{{ACC}}
  for (var kh = 0u; kh < P.KH; kh++) {
    for (var kw = 0u; kw < P.KW; kw++) {
{{TAP}}
      let qEnd = select(0u, P.Qc, subgroupAny({{ANYOK}}));
      let kk = kh * P.KW + kw;
{{WTAP}}
      for (var q = 0u; q < qEnd; q++) {
{{LOADS}}
{{FMAS}}
      }
    }
  }
{{STORE}}
}
