// max_pool2d backward, kernel 2x2 stride 2, no padding, no dilation, W % 4 == 0, H even (the
// windows tile the input exactly): one invocation per PAIR of horizontally adjacent outputs,
// i.e. a 2x4 block of the input: one vec2 load of the indices, one vec2 load of gy, two vec4
// stores (on lavapipe each load/store instruction costs a per-lane loop, so this does 4 memory
// instructions per 8 input elements where the gather kernel does ~3 per element).
// Offsets: x_off % 4 == 0, g_off and i_off even (the host checks).
struct Params {
  total: u32, H: u32, W: u32, OH: u32,
  OW: u32, KH: u32, KW: u32, sH: u32,
  sW: u32, pH: u32, pW: u32, dH: u32,
  dW: u32, g_off: u32, x_off: u32, i_off: u32,
}

@group(0) @binding(0) var<storage, read> gy: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read> idx: array<vec2<i32>>;
@group(0) @binding(2) var<storage, read_write> gx: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid; // pair index: outputs 2i, 2i + 1
  if (i >= P.total) { return; }
  let OW2 = P.OW / 2u;
  let j = i % OW2;
  let t = i / OW2;
  let oh = t % P.OH;
  let plane = t / P.OH;
  let b = idx[P.i_off / 2u + i];
  let g = gy[P.g_off / 2u + i];
  // input row r = 2*oh + dr, columns 4j..4j+3; a position inside the plane is ih * W + iw
  let r0 = i32(2u * oh * P.W + 4u * j);
  let r1 = r0 + i32(P.W);
  let c = vec4<i32>(0, 1, 2, 3);
  let bb = vec4<i32>(b.x, b.x, b.y, b.y);
  let gg = vec4<f32>(g.x, g.x, g.y, g.y);
  let z = vec4<f32>(0.0);
  let v0 = select(z, gg, vec4<i32>(r0) + c == bb);
  let v1 = select(z, gg, vec4<i32>(r1) + c == bb);
  let xb = (P.x_off + plane * P.H * P.W) / 4u;
  gx[xb + u32(r0) / 4u] = v0;
  gx[xb + u32(r1) / 4u] = v1;
}
