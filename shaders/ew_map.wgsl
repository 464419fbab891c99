// Contiguous elementwise kernel over vec4s (see runContiguous in src/kernels/webgpu/elementwise.ts):
// out[i] = EXPR(in_0[i], in_1[i], ...) for 0 <= i < n, the output a contiguous run starting at
// element 4 * ob + q. Each invocation handles K consecutive output vec4s (no div/mod per element);
// the vec4s at the two ends are read-modify-written under a mask. Each input is one of
//   contiguous run at any element offset (one vec4 load, or two realigned when unaligned),
//   a single element (stride 0 everywhere), per-channel ((i / L) % M) * s + off, or a repeating
//   contiguous row (off + i % M); its 4 words w_k describe it (see elementwise.ts).
#include "strided"
#include "ew_common"

struct Params {
  n: u32, q: u32, ob: u32, nv: u32,
{{PARAMS}}
}

{{BINDINGS}}

{{FUNCS}}

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j0 = ((wid.x + wid.y * nwg.x) * {{WG}}u + lid) * {{K}}u;
  if (j0 >= P.nv) { return; }
{{SETUP}}
  for (var t = 0u; t < {{K}}u; t++) {
    let j = j0 + t;
    if (j >= P.nv) { break; }
{{LOADS}}
    let r = {{EXPR}};
    let o = P.ob + j;
    let lo = i32(4u * j) - i32(P.q);
    if (lo >= 0 && lo + 4 <= i32(P.n)) {
      out[o] = r;
    } else {
      out[o] = select(out[o], r, slot_mask(j, P.q, P.n));
    }
{{ADVANCE}}
  }
}
