// Shared by the vec4 contiguous elementwise kernels (ew_map.wgsl, sgd.wgsl, adam.wgsl, fill.wgsl).
// realign(v0, v1, r): the 4 elements starting r elements into v0 (v0 then v1), 0 < r < 4.
fn realign_f32(v0: vec4<f32>, v1: vec4<f32>, r: u32) -> vec4<f32> {
  switch r {
    case 1u: { return vec4<f32>(v0.yzw, v1.x); }
    case 2u: { return vec4<f32>(v0.zw, v1.xy); }
    default: { return vec4<f32>(v0.w, v1.xyz); }
  }
}
fn realign_i32(v0: vec4<i32>, v1: vec4<i32>, r: u32) -> vec4<i32> {
  switch r {
    case 1u: { return vec4<i32>(v0.yzw, v1.x); }
    case 2u: { return vec4<i32>(v0.zw, v1.xy); }
    default: { return vec4<i32>(v0.w, v1.xyz); }
  }
}
// Which of the 4 slots of vec4 number j hold elements 0 <= i < n (slot c holds i = 4j + c - q).
fn slot_mask(j: u32, q: u32, n: u32) -> vec4<bool> {
  let lo = i32(4u * j) - i32(q);
  let ii = vec4<i32>(lo, lo + 1, lo + 2, lo + 3);
  return (ii >= vec4<i32>(0)) & (ii < vec4<i32>(i32(n)));
}
