// conv2d forward for a handful of output pixels (N * OH * OW <= {{MR}} <= 4: batch-1 inference on
// the 1x1 and 2x2 maps of a deep network), "sg" variant for software adapters (see
// src/kernels/webgpu/conv_gemv.ts). The GEMM kernel (conv_sg_fwd.wgsl) works on 16-row tiles and
// would spend 15/16 of its broadcasts and multiply-adds on missing rows; here every subgroup
// takes ALL rows and {{SG}} output channels (one per lane) and walks (tap, input-channel quad):
// - weights come from a cached copy packed for this kernel, wp[co / SG][kh][kw][ci4][co % SG]: one
//   vec4 load per lane per quad, the subgroup's loads consecutive (conv_pack_gemv.wgsl);
// - the rows' input vec4s are loaded cooperatively, lane l loading quad q0 + l, and handed to
//   all lanes by subgroupBroadcast: 1/{{SG}} of a load per row and quad;
// - only the live taps [khLo, khLo + khN) x [kwLo, kwLo + kwN) are packed and walked; of those,
//   taps that are padding for every row are skipped (a uniform test).
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params {
  H: u32, W: u32, KH: u32, KW: u32,
  OH: u32, OW: u32, sH: u32, sW: u32,
  pH: u32, pW: u32, dH: u32, dW: u32,
  M: u32, Q: u32, C_out: u32, has_bias: u32,
  khLo: u32, khN: u32, kwLo: u32, kwN: u32,
}

@group(0) @binding(0) var<storage, read> xt: array<vec4<f32>>;  // [n][ih][iw][ci4]
@group(0) @binding(1) var<storage, read> wp: array<vec4<f32>>;  // [co / SG][live kh][live kw][ci4][co % SG]
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
{{EPIDECL}}
@group(0) @binding({{PB}}) var<uniform> P: Params;

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32) {
  _ = arrayLength(&bias);
  let tile = (wid.x + wid.y * nwg.x) * {{NSG}}u + lid / {{SG}}u; // uniform over the subgroup
  if (tile * {{SG}}u >= P.C_out) { return; }
  let co = tile * {{SG}}u + lane;
  let okc = co < P.C_out;
  let OHW = P.OH * P.OW;
{{ROWS}}
{{ACC}}
  for (var a = 0u; a < P.khN; a++) {
    let kh = P.khLo + a;
    for (var b = 0u; b < P.kwN; b++) {
      let kw = P.kwLo + b;
{{TAP}}
      if (!({{ANYOK}})) { continue; }
      let wbase = ((tile * P.khN + a) * P.kwN + b) * P.Q * {{SG}}u + lane;
      for (var q0 = 0u; q0 < P.Q; q0 += {{SG}}u) {
        let ql = min(q0 + lane, P.Q - 1u);
{{XLOADS}}
{{STEPS}}
      }
    }
  }
{{STORE}}
}
