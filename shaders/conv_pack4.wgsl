// conv_pack.wgsl's repack, 4 pixels per invocation, for S % 4 == 0 and a source offset that is a
// multiple of 4: src viewed as (N, G*Cg, S) -> dst[n][s][g][Cg4]. An invocation reads the vec4s
// of 4 consecutive pixels in each of its 4 channels (neighbouring invocations read neighbouring
// vec4s of a plane) and writes the 4 pixels' channel vec4s: 8 memory instructions per 16 values,
// where conv_pack.wgsl spends 5 per 4, its lanes reading 4 channel planes each (on lavapipe a
// load instruction is a loop over the lanes).
struct Params {
  total: u32, S4: u32, G: u32, Cg: u32,
  Q: u32, src_off4: u32,
}

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.total) { return; }
  // i = ((n * G + g) * Q + q) * S4 + s4: pixel quads fastest
  let s4 = i % P.S4;
  let t = i / P.S4;
  let q = t % P.Q;
  let t2 = t / P.Q;
  let g = t2 % P.G;
  let n = t2 / P.G;
  let c = q * 4u;
  let base = P.src_off4 + ((n * P.G + g) * P.Cg + c) * P.S4 + s4;
  var a = vec4<f32>(0.0);
  var b = vec4<f32>(0.0);
  var d = vec4<f32>(0.0);
  var e = vec4<f32>(0.0);
  if (c < P.Cg) { a = src[base]; }
  if (c + 1u < P.Cg) { b = src[base + P.S4]; }
  if (c + 2u < P.Cg) { d = src[base + 2u * P.S4]; }
  if (c + 3u < P.Cg) { e = src[base + 3u * P.S4]; }
  let GQ = P.G * P.Q;
  let o = ((n * P.S4 + s4) * 4u * P.G + g) * P.Q + q;
  dst[o] = vec4<f32>(a.x, b.x, d.x, e.x);
  dst[o + GQ] = vec4<f32>(a.y, b.y, d.y, e.y);
  dst[o + 2u * GQ] = vec4<f32>(a.z, b.z, d.z, e.z);
  dst[o + 3u * GQ] = vec4<f32>(a.w, b.w, d.w, e.w);
}
