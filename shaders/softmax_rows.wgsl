// Shared by the softmax and cross-entropy kernels: rows of a contiguous (rows, inner) matrix are
// handled by groups of T lanes (a power of two <= 256, P.lanes); a workgroup of 256 holds 256 / T
// rows. Each lane folds a strided share of its row, then the group combines its lanes as a tree
// in workgroup memory. The helpers must be called by the whole workgroup (uniform control flow).
// Kernels define `const TREE: bool` (false when T = 1: one lane per row, no barriers at all).
var<workgroup> red4: array<vec4<f32>, 256>;

// max that propagates NaN (WGSL's max may drop it).
fn nmax(a: f32, b: f32) -> f32 {
  if (is_nan(a) || is_nan(b)) { return a + b; }
  return max(a, b);
}

fn group_max(lid: u32, lane: u32, T: u32, v: f32) -> f32 {
  if (!TREE) { return v; }
  workgroupBarrier();
  red4[lid].x = v;
  workgroupBarrier();
  for (var h = T / 2u; h > 0u; h = h / 2u) {
    if (lane < h) { red4[lid].x = nmax(red4[lid].x, red4[lid + h].x); }
    workgroupBarrier();
  }
  return red4[lid - lane].x;
}

fn group_sum4(lid: u32, lane: u32, T: u32, v: vec4<f32>) -> vec4<f32> {
  if (!TREE) { return v; }
  workgroupBarrier();
  red4[lid] = v;
  workgroupBarrier();
  for (var h = T / 2u; h > 0u; h = h / 2u) {
    if (lane < h) { red4[lid] = red4[lid] + red4[lid + h]; }
    workgroupBarrier();
  }
  return red4[lid - lane];
}
