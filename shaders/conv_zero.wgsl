// out[off + i] = 0 for i < n, with {{T}} = vec4<f32> (the bulk: one store instruction per 4
// floats, which is what costs on lavapipe) or f32 (unaligned head and tail). Used by conv2d's
// weight gradient for kernel taps that never touch the input, and by max_pool2d's backward.
struct Params {
  n: u32, off: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(1) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  // {{PER}} stores per invocation, consecutive lanes on consecutive elements
  let base = (wid.x + wid.y * nwg.x) * 256u * {{PER}}u + lid;
  for (var k = 0u; k < {{PER}}u; k++) {
    let i = base + k * 256u;
    if (i < P.n) { out[P.off + i] = {{T}}(); }
  }
}
