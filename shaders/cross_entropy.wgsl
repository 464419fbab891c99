// Per-sample cross entropy over logits (N, C) and int32 targets (N), with class weights w
// (HAS_W; all ones otherwise), label smoothing eps and ignore_index, as the cpu reference
// (src/kernels/cpu/cross_entropy.ts). One group of T lanes per sample (softmax_rows.wgsl).
// With m the row max, s = sum exp(x - m), ls = log(s) (so lse = m + ls), t the target:
//   loss = (1 - eps) * w[t] * ((m - x[t]) + ls) + (eps / C) * (W * ls - sum_c w[c] * (x[c] - m)),
//   W = sum_c w[c], which is sum_c w[c] * (lse - x[c]) without the cancellation of large logits.
//   wsum = w[t]; both 0 for ignore_index; loss NaN (and wsum 0) for a target out of [0, C).
// BACKWARD: glogits[c] = gloss * (p[c] * ((1 - eps) * w[t] + (eps / C) * W) - (eps / C) * w[c]
//                                  - [c == t] * (1 - eps) * w[t]),  p = exp(x - m - ls); 0 rows for ignored.
#include "strided"
#include "softmax_rows"

struct Params {
  rows: u32,     // samples in this dispatch
  C: u32,
  lanes: u32,
  x_off: u32,    // element offset of this dispatch's first row in the logits (glogits) windows
  r_off: u32,    // element offset of its first sample in the per-sample windows
  ignore: i32,
  _p0: u32, _p1: u32,
  eps: f32,
  one_m_eps: f32,
  eps_c: f32,    // eps / C
  _f0: f32,
}

const HAS_W = {{HAS_W}};
const BACKWARD = {{BACKWARD}};
const TREE = {{TREE}};

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
// forward: loss (3), wsum (4); backward: gloss (3), glogits (4).
{{OUT_DECL}}
@group(0) @binding(5) var<uniform> P: Params;

fn w_of(c: u32) -> f32 {
  if (HAS_W) { return weight[c]; }
  return 1.0;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let T = P.lanes;
  let row = (wid.x + wid.y * nwg.x) * (256u / T) + lid / T;
  let lane = lid % T;
  let valid = row < P.rows;
  var t = 0i;
  var ignored = true;
  var ok = false;
  if (valid) {
    t = targets[P.r_off + row];
    ignored = t == P.ignore;
    ok = !ignored && t >= 0i && u32(t) < P.C;
  }
  var len = 0u;
  if (ok) { len = P.C; }
  let base = P.x_off + row * P.C;
  var ninf = 0xff800000u;
  var m = bitcast<f32>(ninf);
  for (var i = lane; i < len; i += T) {
    m = nmax(m, logits[base + i]);
  }
  m = group_max(lid, lane, T, m);
  if (m == bitcast<f32>(ninf)) { m = 0.0; }
  var acc = vec4<f32>(0.0);
  for (var i = lane; i < len; i += T) {
    let d = logits[base + i] - m;
    let w = w_of(i);
    acc += vec4<f32>(exp(d), w * d, w, 0.0);
  }
  acc = group_sum4(lid, lane, T, acc);
  let ls = log(acc.x);
  let W = acc.z;
  if (!BACKWARD) {
    if (valid && lane == 0u) {
      var loss = 0.0;
      var ws = 0.0;
      if (ok) {
        let wt = w_of(u32(t));
        loss = P.one_m_eps * wt * ((m - logits[base + u32(t)]) + ls);
        if (P.eps != 0.0) { loss += P.eps_c * (W * ls - acc.y); }
        ws = wt;
      } else if (!ignored) {
        var nanb = 0x7fc00000u;
        loss = bitcast<f32>(nanb);
      }
      {{WRITE_FWD}}
    }
  } else if (valid) {
    let g = {{GLOSS}};
    if (ok) {
      let wt = w_of(u32(t));
      let coef = P.one_m_eps * wt + P.eps_c * W;
      for (var i = lane; i < P.C; i += T) {
        var d = exp(logits[base + i] - m - ls) * coef - P.eps_c * w_of(i);
        if (i == u32(t)) { d -= P.one_m_eps * wt; }
        {{WRITE_BWD}} = g * d;
      }
    } else {
      var z = 0.0;
      if (!ignored) { var nanb = 0x7fc00000u; z = bitcast<f32>(nanb); }
      for (var i = lane; i < P.C; i += T) {
        {{WRITE_BWD}} = z;
      }
    }
  }
}
