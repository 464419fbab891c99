// im2col for the weight gradient of convolutions with at most 4 input channels (the RGB stem):
// cols[n][p][j] with p = oh * OW + ow and j = tap * Cin + ci (tap = kh * KW + kw), {{R4}} vec4s
// per pixel (zeros past {{KC}} = KH * KW * Cin), from xt, x packed channels-last
// ([n][ih][iw] one vec4 of channels). One invocation per output pixel: a vec4 load per tap,
// {{R4}} vec4 stores. See src/kernels/webgpu/conv_im2col.ts.
struct Params {
  H: u32, W: u32, OH: u32, OW: u32,
  sH: u32, sW: u32, pH: u32, pW: u32,
  dH: u32, dW: u32, total: u32, _p: u32,
}

@group(0) @binding(0) var<storage, read> xt: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> cols: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.total) { return; }
  let OHW = P.OH * P.OW;
  let n = i / OHW;
  let p = i % OHW;
  let ihb = i32((p / P.OW) * P.sH) - i32(P.pH);
  let iwb = i32((p % P.OW) * P.sW) - i32(P.pW);
{{TAPS}}
{{STORES}}
}
