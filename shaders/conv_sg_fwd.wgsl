// conv2d forward, "sg" variant: for software adapters (lavapipe/llvmpipe), where every storage
// load becomes a per-lane scalar loop and so the number of load instructions, not the number of
// multiply-adds, sets the speed. Implicit GEMM out[m, co] = bias[co] + sum_k A[m, k] * W[co, k]
// with rows m = (oh, ow, n) (batch fastest, so a tile of rows usually shares its padding taps) or,
// ROW_MAJOR on large maps, m = (n, oh, ow): a lane then holds 4 consecutive output pixels of a
// channel and writes them with one vec4 store (OTYPE vec4) instead of 4 scalar ones;
// k = (kh, kw, ci) and no materialized im2col:
// - the input arrives channels-last (conv_pack: xt[n][ih][iw][g][ci4]), so 4 channels of one
//   input pixel are one vec4 load; each lane of a subgroup loads the vec4 of ITS row and the
//   others get it by subgroupBroadcast (register shuffles), i.e. one load feeds SG rows;
// - lanes run over output channels, TN each; their weights come as vec4 over 4 input channels
//   from a packed copy (W_PACKED: wp[co][kh][kw][ci4]) or, when the weight is read too few times
//   to pay for packing (skinny GEMMs), as 4 strided scalar loads from the original layout;
// - each (a, b) vec4 pair is one dot(): 4 multiply-adds on one masked accumulator update;
// - a tap (kh, kw) that is padding for every row of the tile is skipped (subgroupAny).
// {{TM}} rows x {{TN}} columns per subgroup of {{SG}} lanes; {{NSG}} subgroups per workgroup,
// each on its own tile.
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params {
  H: u32, W: u32, KH: u32, KW: u32,
  OH: u32, OW: u32, sH: u32, sW: u32,
  pH: u32, pW: u32, dH: u32, dW: u32,
  Nc: u32, Q: u32, GQ: u32, cinG: u32,
  coutG: u32, C_out: u32, cc: u32, c0: u32,
  g0: u32, rowTiles: u32, colTiles: u32, ntiles: u32,
  w_off: u32, w_row0: u32, o_off: u32, accumulate: u32,
  w_last: u32,
}

@group(0) @binding(0) var<storage, read> xt: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<{{WTYPE}}>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<{{OTYPE}}>;
{{EPIDECL}}
@group(0) @binding({{PB}}) var<uniform> P: Params;

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
  let OHW = P.OH * P.OW;
  let KHKW = P.KH * P.KW;
  let M = P.Nc * OHW;
  let Kw = P.cinG * KHKW;
{{ROWS}}
{{COLS}}
{{ACC}}
  for (var kh = 0u; kh < P.KH; kh++) {
    for (var kw = 0u; kw < P.KW; kw++) {
{{TAP}}
      let qEnd = select(0u, P.Q, subgroupAny({{ANYOK}}));
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
