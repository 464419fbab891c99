// batch_norm training forward in ONE dispatch for small channels (N * S elements each), "sg"
// variant for software adapters (src/kernels/webgpu/subgroups.ts): one subgroup per channel
// computes the mean and M2 = sum((x - mean)^2) in one pass (Welford per lane on values shifted
// by one of the channel's own, merged with Chan's formula: no cancellation), writes
// save_mean / save_invstd and the running statistics (momentum, UNBIASED variance, NaN for one
// value: the semantics of bn_stats.wgsl), then normalizes its channel. Replaces bn_reduce +
// bn_stats + bn_apply where those three dispatches (and bn_reduce's barriers) cost more than the
// work. Offsets and S4 in units of {{T}}.
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params {
  N: u32, C: u32, S4: u32, flags: u32,
  x_off: u32, o_off: u32, _p0: u32, _p1: u32,
  eps: f32, momentum: f32, _q0: f32, _q1: f32,
}
// flags: 1 weight, 2 bias, 4 running stats

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> smean: array<f32>;
@group(0) @binding(4) var<storage, read_write> sinvstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> rmean: array<f32>;
@group(0) @binding(6) var<storage, read_write> rvar: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(8) var<uniform> P: Params;

fn hsum(v: {{T}}) -> f32 {
  return {{HSUM}};
}

#include "bn_finish"

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32) {
  _ = arrayLength(&weight);
  _ = arrayLength(&bias);
  _ = arrayLength(&rmean);
  _ = arrayLength(&rvar);
  let c = (wid.x + wid.y * nwg.x) * {{NSG}}u + lid / {{SG}}u; // uniform over the subgroup
  if (c >= P.C) { return; }
  let len = P.N * P.S4;
  // statistics in one pass: Welford per lane and component, merged with Chan's formula (as
  // bn_reduce_sg.wgsl MODE 0)
  // on values shifted by one of the channel's own (K): large means lose no precision in lm
  let k0 = hsum(select({{T}}(0.0), x[P.x_off + c * P.S4], len > 0u)) / {{V}}.0;
  let K = {{T}}(k0);
  var lm = {{T}}(0.0);
  var lq = {{T}}(0.0);
  var k = 0u;
  for (var j = lane; j < len; j += {{SG}}u) {
    let v = x[P.x_off + ((j / P.S4) * P.C + c) * P.S4 + j % P.S4] - K;
    k += 1u;
    let d = v - lm;
    lm += d / f32(k);
    lq += d * (v - lm);
  }
  let kf = f32(k);
  let cnt = f32(len * {{V}}u);
  let ms = subgroupAdd(kf * hsum(lm)) / cnt;
  let dm = lm - {{T}}(ms);
  let m2 = subgroupAdd(hsum(lq) + kf * hsum(dm * dm));
  let mean = ms + k0;
  var invstd = 1.0 / sqrt(m2 / cnt + P.eps);
  if (lane == 0u) { invstd = bn_finish_stats(c, mean, m2, cnt); }
  let wb = bn_affine(c);
  let b = wb.y;
  let scale = wb.x * invstd;
  for (var j = lane; j < len; j += {{SG}}u) {
    let e = ((j / P.S4) * P.C + c) * P.S4 + j % P.S4;
    out[P.o_off + e] = (x[P.x_off + e] - mean) * scale + b;
  }
}
