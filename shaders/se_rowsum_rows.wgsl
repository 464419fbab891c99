// se_rowsum for short rows (S < 64): one invocation per row, summing it serially.
struct Params {
  rows: u32, S: u32, a_off: u32, b_off: u32,
  o_off: u32, _p0: u32, _p1: u32, _p2: u32,
  scale: f32, _q0: f32, _q1: f32, _q2: f32,
}

@group(0) @binding(0) var<storage, read> A: array<{{T}}>;
@group(0) @binding(1) var<storage, read> B: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

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
  let r = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (r >= P.rows) { return; }
  var acc = {{T}}(0.0);
  for (var s = 0u; s < L; s++) { acc += term(r * L + s); }
  out[P.o_off + r] = hsum(acc) * P.scale;
}
