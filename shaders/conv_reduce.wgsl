// Sums split-reduction partials: out[o_off + i] (+)= sum_s part[s * size + i].
struct Params {
  size: u32, splits: u32, o_off: u32, accumulate: u32,
}

@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.size) { return; }
  var s = 0.0;
  for (var k = 0u; k < P.splits; k++) {
    s += part[k * P.size + i];
  }
  if (P.accumulate != 0u) { s += out[P.o_off + i]; }
  out[P.o_off + i] = s;
}
