// batch_norm per-channel reductions over x viewed as (N, C, S), one workgroup per (channel,
// split); a split covers the samples [n0, n1) of the bound batch chunk.
// MODE 0 (statistics): each invocation runs Welford's update over its elements, then the
//   workgroup merges (count, mean, M2) pairwise in a tree with Chan's formula: no E[x^2]-E[x]^2
//   cancellation in float32. Writes part[slot] = (count, mean, M2).
// MODE 1 (backward sums): sum(gy) and sum(gy * (x - mean) * invstd), tree-summed.
//   Writes part[slot] = (sum_gy, sum_gy_xhat, 0).
// ROWS 1: invocation t walks samples n0 + t, n0 + t + 64, ... (all s of each): for small S.
// ROWS 0: invocation t walks s = t, t + 64, ... of every sample: for S >= 64.
struct Params {
  C: u32, S: u32, nPer: u32, Nc: u32,
  x_off: u32, g_off: u32, slot0: u32, splits: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gy: array<f32>;       // MODE 1 only
@group(0) @binding(2) var<storage, read> smean: array<f32>;    // MODE 1 only: save_mean
@group(0) @binding(3) var<storage, read> sinvstd: array<f32>;  // MODE 1 only: save_invstd
@group(0) @binding(4) var<storage, read_write> part: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> P: Params;

var<workgroup> sa: array<f32, 64>;
var<workgroup> sb: array<f32, 64>;
var<workgroup> sc: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * nwg.x;
  let c = w % P.C;
  let split = w / P.C;
  if (split >= P.splits) { return; }
  let n0 = split * P.nPer;
  let n1 = min(P.Nc, n0 + P.nPer);
  var a = 0.0; // MODE 0: count   MODE 1: sum gy
  var b = 0.0; // MODE 0: mean    MODE 1: sum gy * xhat
  var m2 = 0.0; // MODE 0: M2
  _ = arrayLength(&gy);
  _ = arrayLength(&smean);
  _ = arrayLength(&sinvstd);
  var mean = 0.0;
  var invstd = 0.0;
  if ({{MODE}} == 1) {
    mean = smean[c];
    invstd = sinvstd[c];
  }
  if ({{ROWS}} == 1) {
    for (var n = n0 + lid; n < n1; n += 64u) {
      let base = (n * P.C + c) * P.S;
      for (var s = 0u; s < P.S; s++) {
{{ELEM}}
      }
    }
  } else {
    for (var n = n0; n < n1; n++) {
      let base = (n * P.C + c) * P.S;
      for (var s = lid; s < P.S; s += 64u) {
{{ELEM}}
      }
    }
  }
  sa[lid] = a;
  sb[lid] = b;
  sc[lid] = m2;
  workgroupBarrier();
  for (var h = 32u; h > 0u; h = h >> 1u) {
    if (lid < h) {
{{MERGE}}
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    part[P.slot0 + split * P.C + c] = vec4<f32>(sa[0], sb[0], sc[0], 0.0);
  }
}
