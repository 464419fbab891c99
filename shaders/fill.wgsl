// out[i] = value, for i < n. The value arrives as raw bits so that int32 fills are exact.
// vec4 stores, K consecutive vec4s per invocation; the last vec4 (n % 4 != 0) is
// read-modify-written under a mask. The window is bound from a multiple of 4 elements.
#include "ew_common"

struct Params {
  n: u32, bits: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<vec4<u32>>;
@group(0) @binding(1) var<uniform> P: Params;

const K = 4u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j0 = ((wid.x + wid.y * nwg.x) * 64u + lid) * K;
  let nv = (P.n + 3u) / 4u;
  let v = vec4<u32>(P.bits);
  for (var t = 0u; t < K; t++) {
    let j = j0 + t;
    if (j >= nv) { return; }
    if (4u * j + 4u <= P.n) { out[j] = v; } else { out[j] = select(out[j], v, slot_mask(j, 0u, P.n)); }
  }
}
