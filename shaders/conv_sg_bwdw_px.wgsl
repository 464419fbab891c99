// conv2d weight gradient for layers with at most 4 input channels per group and groups == 1 (the
// RGB stem conv), "sg" variant for software adapters (see src/kernels/webgpu/conv_px.ts).
// The general kernel (conv_sg_bwdw.wgsl) spreads channels over lanes; with 3 input channels it
// keeps half its lanes idle and loads two vec4s for 12 multiply-adds. Here each LANE takes its
// own output pixels: per pixel it loads the {{COB}} output-channel gradients (channels-last,
// {{QB}} vec4s) and the input vec4 (4 channels) at each of the {{KHKW}} taps, and updates
// {{COB}} x {{KHKW}} vec4 accumulators (one per (co, tap), over the 4 input channels): ~40
// multiply-adds per load. Accumulators that do not fit in registers spill to the stack, which on
// a CPU is cheap next to a storage load. At the end subgroupAdd folds the lanes and lane 0 writes
// the subgroup's partial gradient part[sub][co][ci][kh][kw]; conv_reduce sums the subgroups.
// Subgroup `sub` covers pixels [sub * rowsPer, ...) of output-channel block `blk`.
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params {
  H: u32, W: u32, KH: u32, KW: u32,
  OH: u32, OW: u32, sH: u32, sW: u32,
  pH: u32, pW: u32, dH: u32, dW: u32,
  M: u32, cinG: u32, C_out: u32, Qy: u32,
  rowsPer: u32, nsplit: u32, nblk: u32, size: u32,
}

@group(0) @binding(0) var<storage, read> xt: array<vec4<f32>>;   // [n][ih][iw][ci4]
@group(0) @binding(1) var<storage, read> gyt: array<vec4<f32>>;  // [n][oh][ow][co4]
@group(0) @binding(2) var<storage, read_write> part: array<f32>; // [split][co][ci][kh][kw]
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let t = (wid.x + wid.y * nwg.x) * {{NSG}}u + lid / {{SG}}u; // uniform over the subgroup
  if (t >= P.nsplit * P.nblk) { return; }
  let blk = t % P.nblk;
  let split = t / P.nblk;
  let OHW = P.OH * P.OW;
  let m0 = split * P.rowsPer;
  let m1 = min(P.M, m0 + P.rowsPer);
{{ACC}}
  for (var m = m0 + lane; m < m1; m += {{SG}}u) {
    let n = m / OHW;
    let pix = m % OHW;
    let ih0 = i32((pix / P.OW) * P.sH) - i32(P.pH);
    let iw0 = i32((pix % P.OW) * P.sW) - i32(P.pW);
{{GY}}
{{TAPS}}
  }
{{STORE}}
}
