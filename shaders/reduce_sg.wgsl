// Sum over the last axis of a contiguous (rows, inner) matrix, "sg" variant for software adapters
// (see src/kernels/webgpu/subgroups.ts): one subgroup of {{SG}} lanes per row, each lane folds a
// strided share of the row in {{T}} loads (vec4 when inner % 4 == 0: a quarter of the load
// instructions), then subgroupAdd combines the lanes. No workgroup memory, no barriers.
// {{NSG}} rows (subgroups) per workgroup. Offsets and `inner` are in units of {{T}}.
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params {
  rows: u32,   // rows in this dispatch
  inner: u32,  // row length, in {{T}}
  x_rel: u32,  // first element of row 0 in the x binding
  o_rel: u32,  // its result in the o binding
}

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read_write> o: array<{{E}}>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32) {
  // r is uniform over the subgroup (a subgroup is a contiguous block of {{SG}} invocations)
  let r = (wid.x + wid.y * nwg.x) * {{NSG}}u + lid / {{SG}}u;
  if (r >= P.rows) { return; }
  var acc = {{T}}(0);
  let base = P.x_rel + r * P.inner;
  for (var i = lane; i < P.inner; i += {{SG}}u) {
    acc += x[base + i];
  }
  let s = subgroupAdd(acc);
  if (lane == 0u) {
    o[P.o_rel + r] = {{HSUM}};
  }
}
