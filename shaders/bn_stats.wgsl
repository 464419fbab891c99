// batch_norm training forward, per channel (one invocation each): merges the (count, mean, M2)
// partials of bn_reduce with Chan's formula, normalizes with the biased variance, writes
// save_mean / save_invstd, updates the running statistics in place (when HAS_RUNNING) with
// momentum and the UNBIASED variance M2 / (count - 1) (NaN for a single value, like the
// reference), and writes bn_apply's coefficients coef = (mean, invstd * w, b, 0).
struct Params {
  C: u32, nparts: u32, flags: u32, _p: u32,
  eps: f32, momentum: f32, _q0: f32, _q1: f32,
}
// flags: 1 weight, 2 bias, 4 running stats

@group(0) @binding(0) var<storage, read> part: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> smean: array<f32>;
@group(0) @binding(4) var<storage, read_write> sinvstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> rmean: array<f32>;
@group(0) @binding(6) var<storage, read_write> rvar: array<f32>;
@group(0) @binding(7) var<storage, read_write> coef: array<vec4<f32>>;
@group(0) @binding(8) var<uniform> P: Params;

#include "bn_finish"

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  _ = arrayLength(&weight);
  _ = arrayLength(&bias);
  _ = arrayLength(&rmean);
  _ = arrayLength(&rvar);
  let c = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (c >= P.C) { return; }
  var n = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  for (var k = 0u; k < P.nparts; k++) {
    let q = part[k * P.C + c];
    if (q.x > 0.0) {
      let tot = n + q.x;
      let d = q.y - mean;
      mean += d * (q.x / tot);
      m2 += q.z + d * d * (n * q.x / tot);
      n = tot;
    }
  }
  let invstd = bn_finish_stats(c, mean, m2, n);
  let wb = bn_affine(c);
  coef[c] = vec4<f32>(mean, invstd * wb.x, wb.y, 0.0);
}
