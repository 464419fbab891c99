// batch_norm backward in ONE dispatch for small channels, "sg" variant for software adapters
// (see bn_train_sg.wgsl): one subgroup per channel sums gy and gy * xhat (subgroupAdd), writes
// gweight / gbias when asked, and the input gradient with bn_coef.wgsl's coefficients:
//   training: gx = w*invstd * (gy - sum_gy / M - xhat * sum_gy_xhat / M)
//   eval:     gx = w*invstd * gy                (statistics are constants)
// Offsets and S4 in units of {{T}}.
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params {
  N: u32, C: u32, S4: u32, flags: u32,
  x_off: u32, g_off: u32, o_off: u32, _p0: u32,
}
// flags: 1 weight, 8 gweight, 16 gbias, 32 training

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read> gy: array<{{T}}>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> smean: array<f32>;
@group(0) @binding(4) var<storage, read> sinvstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> gweight: array<f32>;
@group(0) @binding(6) var<storage, read_write> gbias: array<f32>;
@group(0) @binding(7) var<storage, read_write> gx: array<{{T}}>;
@group(0) @binding(8) var<uniform> P: Params;

fn hsum(v: {{T}}) -> f32 {
  return {{HSUM}};
}

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32) {
  _ = arrayLength(&weight);
  _ = arrayLength(&gweight);
  _ = arrayLength(&gbias);
  let c = (wid.x + wid.y * nwg.x) * {{NSG}}u + lid / {{SG}}u; // uniform over the subgroup
  if (c >= P.C) { return; }
  let len = P.N * P.S4;
  let mean = smean[c];
  let invstd = sinvstd[c];
  var a = {{T}}(0.0);
  var b = {{T}}(0.0);
  for (var j = lane; j < len; j += {{SG}}u) {
    let e = ((j / P.S4) * P.C + c) * P.S4 + j % P.S4;
    let g = gy[P.g_off + e];
    a += g;
    b += g * (x[P.x_off + e] - mean);
  }
  let sg = hsum(subgroupAdd(a));
  let sgx = hsum(subgroupAdd(b)) * invstd;
  if (lane == 0u) {
    if ((P.flags & 8u) != 0u) { gweight[c] = sgx; }
    if ((P.flags & 16u) != 0u) { gbias[c] = sg; }
  }
  var w = 1.0;
  if ((P.flags & 1u) != 0u) { w = weight[c]; }
  let scale = w * invstd;
  let cnt = f32(len * {{V}}u);
  var k2 = 0.0;
  var k3 = 0.0;
  if ((P.flags & 32u) != 0u) {
    k2 = -scale * sg / cnt;
    k3 = -scale * invstd * sgx / cnt;
  }
  for (var j = lane; j < len; j += {{SG}}u) {
    let e = ((j / P.S4) * P.C + c) * P.S4 + j % P.S4;
    gx[P.o_off + e] = scale * gy[P.g_off + e] + k2 + k3 * (x[P.x_off + e] - mean);
  }
}
