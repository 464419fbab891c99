// batch_norm per-channel coefficients for bn_apply, one invocation per channel:
// MODE 0 (eval forward): coef = (running_mean, w / sqrt(running_var + eps), b, 0).
// MODE 1 (backward): sums partials (sum_gy, sum_gy_xhat) of bn_reduce over the splits, writes
//   gweight / gbias when requested, and with (mean, invstd) = (s0, s1):
//   training: coef = (mean, w*invstd, -w*invstd*sum_gy/M, -w*invstd^2*sum_gy_xhat/M)
//   eval:     coef = (mean, w*invstd, 0, 0)    (statistics are constants)
struct Params {
  C: u32, nparts: u32, flags: u32, _p: u32,
  eps: f32, count: f32, _q0: f32, _q1: f32,
}
// flags: 1 weight, 2 bias, 8 gweight, 16 gbias, 32 training

@group(0) @binding(0) var<storage, read> part: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> s0: array<f32>;
@group(0) @binding(4) var<storage, read> s1: array<f32>;
@group(0) @binding(5) var<storage, read_write> gweight: array<f32>;
@group(0) @binding(6) var<storage, read_write> gbias: array<f32>;
@group(0) @binding(7) var<storage, read_write> coef: array<vec4<f32>>;
@group(0) @binding(8) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  _ = arrayLength(&part);
  _ = arrayLength(&weight);
  _ = arrayLength(&bias);
  _ = arrayLength(&gweight);
  _ = arrayLength(&gbias);
  let c = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (c >= P.C) { return; }
  var w = 1.0;
  var b = 0.0;
  if ((P.flags & 1u) != 0u) { w = weight[c]; }
  if ((P.flags & 2u) != 0u) { b = bias[c]; }
  if ({{MODE}} == 0) {
    coef[c] = vec4<f32>(s0[c], w / sqrt(s1[c] + P.eps), b, 0.0);
    return;
  }
  var sg = 0.0;
  var sgx = 0.0;
  for (var k = 0u; k < P.nparts; k++) {
    let q = part[k * P.C + c];
    sg += q.x;
    sgx += q.y;
  }
  if ((P.flags & 8u) != 0u) { gweight[c] = sgx; }
  if ((P.flags & 16u) != 0u) { gbias[c] = sg; }
  let mean = s0[c];
  let invstd = s1[c];
  let scale = w * invstd;
  if ((P.flags & 32u) != 0u) {
    coef[c] = vec4<f32>(mean, scale, -scale * sg / P.count, -scale * invstd * sgx / P.count);
  } else {
    coef[c] = vec4<f32>(mean, scale, 0.0, 0.0);
  }
}
