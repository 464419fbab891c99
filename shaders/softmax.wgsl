// softmax / log_softmax over the last axis of a contiguous (rows, inner), and their backward
// (BACKWARD = true): one group of T lanes per row (see softmax_rows.wgsl); for long rows a
// whole workgroup with a tree reduction. Forward subtracts the row max (a row of all -inf uses 0,
// as the cpu reference); NaN propagates.
//   forward:  y = log ? x - m - log(s) : exp(x - m) / s,  s = sum exp(x - m)
//   backward: log ? gx = gy - exp(y) * sum(gy) : gx = y * (gy - sum(gy * y))
#include "strided"
#include "softmax_rows"

struct Params {
  rows: u32,    // rows in this dispatch
  inner: u32,
  lanes: u32,
  x_off: u32,   // element offset of this dispatch's first row in the bound windows
}

const LOG = {{LOG}};
const BACKWARD = {{BACKWARD}};
const TREE = {{TREE}};

// forward: a = x, c = out (bindings 0, 1); backward: a = gy, b = y, c = gx (bindings 0, 1, 2).
@group(0) @binding(0) var<storage, read> a: array<f32>;
{{B_DECL}}
@group(0) @binding({{C_BINDING}}) var<storage, read_write> c: array<f32>;
@group(0) @binding({{P_BINDING}}) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let T = P.lanes;
  let row = (wid.x + wid.y * nwg.x) * (256u / T) + lid / T;
  let lane = lid % T;
  let valid = row < P.rows;
  var len = 0u;
  if (valid) { len = P.inner; }
  let base = P.x_off + row * P.inner;
  if (!BACKWARD) {
    var ninf = 0xff800000u;
    var m = bitcast<f32>(ninf);
    for (var i = lane; i < len; i += T) {
      let v = a[base + i];
      m = nmax(m, v);
    }
    m = group_max(lid, lane, T, m);
    if (m == bitcast<f32>(ninf)) { m = 0.0; }
    var s = 0.0;
    for (var i = lane; i < len; i += T) {
      s += exp(a[base + i] - m);
    }
    s = group_sum4(lid, lane, T, vec4<f32>(s, 0.0, 0.0, 0.0)).x;
    let ls = log(s);
    for (var i = lane; i < len; i += T) {
      let d = a[base + i] - m;
      if (LOG) { c[base + i] = d - ls; } else { c[base + i] = exp(d) / s; }
    }
  } else {
    var s = 0.0;
    for (var i = lane; i < len; i += T) {
      if (LOG) { s += a[base + i]; } else { s += a[base + i] * {{B_READ}}; }
    }
    s = group_sum4(lid, lane, T, vec4<f32>(s, 0.0, 0.0, 0.0)).x;
    for (var i = lane; i < len; i += T) {
      let y = {{B_READ}};
      if (LOG) { c[base + i] = a[base + i] - exp(y) * s; } else { c[base + i] = y * (a[base + i] - s); }
    }
  }
}
