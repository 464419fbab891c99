// batch_norm per-channel reductions, "sg" variant for software adapters (see
// src/kernels/webgpu/subgroups.ts; the workgroup-memory version is bn_reduce.wgsl, whose part
// layout this one writes): one SUBGROUP per (channel, split of the batch chunk), lanes striding
// over the split's elements in {{T}} loads, subgroupAdd to combine, no barriers.
// MODE 0 (statistics), one pass over the split: Welford per lane and component, merged with
//   Chan's formula, so M2 has no E[x^2] - E[x]^2 cancellation (an earlier version read x twice:
//   mean, then sum((x - mean)^2)). Writes part = (count, mean, M2, 0).
// MODE 1 (backward sums): part = (sum gy, sum gy * (x - mean) * invstd, 0, 0).
// Offsets and S4 are in units of {{T}} (S4 = S / 4 for vec4 loads).
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params {
  C: u32, S4: u32, nPer: u32, Nc: u32,
  x_off: u32, g_off: u32, slot0: u32, splits: u32,
}

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read> gy: array<{{T}}>;     // MODE 1 only
@group(0) @binding(2) var<storage, read> smean: array<f32>;    // MODE 1 only: save_mean
@group(0) @binding(3) var<storage, read> sinvstd: array<f32>;  // MODE 1 only: save_invstd
@group(0) @binding(4) var<storage, read_write> part: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> P: Params;

fn hsum(v: {{T}}) -> f32 {
  return {{HSUM}};
}

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32) {
  // uniform over the subgroup: a subgroup is a contiguous block of {{SG}} invocations
  let w = (wid.x + wid.y * nwg.x) * {{NSG}}u + lid / {{SG}}u;
  let c = w % P.C;
  let split = w / P.C;
  if (split >= P.splits) { return; }
  _ = arrayLength(&gy);
  _ = arrayLength(&smean);
  _ = arrayLength(&sinvstd);
  let n0 = split * P.nPer;
  let n1 = min(P.Nc, n0 + P.nPer);
  let len = select(0u, (n1 - n0) * P.S4, n1 > n0);
  if ({{MODE}} == 0) {
    // one pass: per lane and component a running mean and M2 (Welford), merged over the
    // components and lanes with Chan's formula (each component of a lane saw k values)
    // on values shifted by one of the split's own (K): large means lose no precision in lm
    let k0 = hsum(select({{T}}(0.0), x[P.x_off + (n0 * P.C + c) * P.S4], len > 0u)) / {{V}}.0;
    let K = {{T}}(k0);
    var lm = {{T}}(0.0);
    var lq = {{T}}(0.0);
    var k = 0u;
    for (var j = lane; j < len; j += {{SG}}u) {
      let n = n0 + j / P.S4;
      let v = x[P.x_off + (n * P.C + c) * P.S4 + j % P.S4] - K;
      k += 1u;
      let d = v - lm;
      lm += d / f32(k);
      lq += d * (v - lm);
    }
    let kf = f32(k);
    let cnt = f32(len * {{V}}u);
    let ms = subgroupAdd(kf * hsum(lm)) / max(cnt, 1.0);
    let dm = lm - {{T}}(ms);
    let m2 = subgroupAdd(hsum(lq) + kf * hsum(dm * dm));
    let mean = ms + k0;
    if (lane == 0u) { part[P.slot0 + split * P.C + c] = vec4<f32>(cnt, mean, m2, 0.0); }
  } else {
    let mean = smean[c];
    let invstd = sinvstd[c];
    var a = {{T}}(0.0);
    var b = {{T}}(0.0);
    for (var j = lane; j < len; j += {{SG}}u) {
      let n = n0 + j / P.S4;
      let e = (n * P.C + c) * P.S4 + j % P.S4;
      let g = gy[P.g_off + e];
      a += g;
      b += g * (x[P.x_off + e] - mean);
    }
    let sa = hsum(subgroupAdd(a));
    let sb = hsum(subgroupAdd(b)) * invstd;
    if (lane == 0u) { part[P.slot0 + split * P.C + c] = vec4<f32>(sa, sb, 0.0, 0.0); }
  }
}
