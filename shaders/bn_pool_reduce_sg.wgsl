// Backward sums of pool_max_2x2.wgsl with BN (batch_norm -> max_pool2d(2, 2) -> relu), "sg" variant for
// software adapters (see bn_reduce_sg.wgsl, whose MODE 1 partials it writes): the gradient that
// reaches the batch_norm output is g = gy * (out > 0 or NaN) (relu's backward) at the window's
// maximum (pool's backward) and 0 elsewhere, so its sums over the channel
//   sum_gy = sum g,  sum_gy_xhat = sum g * (x[argmax] - mean) * invstd
// run over the POOLED elements only: 1/4 of the loads of the full-resolution reduction, and the
// full-resolution gradient is never written. One subgroup per (channel, split of the batch);
// lanes stride over the split's pooled elements in vec4s (OHW % 4 == 0); x is gathered at the
// argmax (indices ih * W + iw within the plane). part = (sum_gy, sum_gy_xhat, 0, 0).
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params {
  C: u32, OHW4: u32, nPer: u32, Nc: u32,
  HW: u32, slot0: u32, splits: u32, _p0: u32,
}

@group(0) @binding(0) var<storage, read> gy: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> out: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> idx: array<vec4<i32>>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> smean: array<f32>;
@group(0) @binding(5) var<storage, read> sinvstd: array<f32>;
@group(0) @binding(6) var<storage, read_write> part: array<vec4<f32>>;
@group(0) @binding(7) var<uniform> P: Params;

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32) {
  // uniform over the subgroup: a subgroup is a contiguous block of {{SG}} invocations
  let w = (wid.x + wid.y * nwg.x) * {{NSG}}u + lid / {{SG}}u;
  let c = w % P.C;
  let split = w / P.C;
  if (split >= P.splits) { return; }
  let n0 = split * P.nPer;
  let n1 = min(P.Nc, n0 + P.nPer);
  let len = select(0u, (n1 - n0) * P.OHW4, n1 > n0);
  let mean = smean[c];
  var a = vec4<f32>(0.0);
  var b = vec4<f32>(0.0);
  for (var j = lane; j < len; j += {{SG}}u) {
    let plane = (n0 + j / P.OHW4) * P.C + c;
    let e = plane * P.OHW4 + j % P.OHW4;
    let o = out[e];
    // relu's backward as the reference's: the gradient passes unless the output is <= 0
    let g = select(gy[e], vec4<f32>(0.0), o <= vec4<f32>(0.0));
    let q = vec4<u32>(idx[e]) + vec4<u32>(plane * P.HW);
    let xv = vec4<f32>(x[q.x], x[q.y], x[q.z], x[q.w]);
    a += g;
    b += g * (xv - mean);
  }
  let sa = dot(subgroupAdd(a), vec4<f32>(1.0));
  let sb = dot(subgroupAdd(b), vec4<f32>(1.0)) * sinvstd[c];
  if (lane == 0u) { part[P.slot0 + split * P.C + c] = vec4<f32>(sa, sb, 0.0, 0.0); }
}
