// Per-row sums for the SE block: out[o_off + r] = scale * sum_s A[r, s] (* B[r, s] when PRODUCT),
// rows of length S contiguous. Used for the squeeze (mean over S) and for
// d gate = sum_s gy * x. One workgroup of 64 per row (strided partial sums, vec4 loads when
// S % 4 == 0, then a tree in workgroup memory); se_rowsum_rows.wgsl is the S < 64 version.
struct Params {
  rows: u32, S: u32, a_off: u32, b_off: u32,
  o_off: u32, _p0: u32, _p1: u32, _p2: u32,
  scale: f32, _q0: f32, _q1: f32, _q2: f32,
}

@group(0) @binding(0) var<storage, read> A: array<{{T}}>;
@group(0) @binding(1) var<storage, read> B: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

var<workgroup> sh: array<f32, 64>;

fn hsum(v: {{T}}) -> f32 {
  return {{HSUM}};
}

fn term(i: u32) -> {{T}} {
  return A[P.a_off + i]{{MUL}};
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  _ = arrayLength(&B);
  let L = P.S / {{V}}u;
  let r = wid.x + wid.y * nwg.x;
  if (r >= P.rows) { return; }
  var acc = {{T}}(0.0);
  for (var s = lid; s < L; s += 64u) { acc += term(r * L + s); }
  sh[lid] = hsum(acc);
  workgroupBarrier();
  for (var h = 32u; h > 0u; h = h >> 1u) {
    if (lid < h) { sh[lid] = sh[lid] + sh[lid + h]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[P.o_off + r] = sh[0] * P.scale; }
}
