// Philox4x32-10 (Salmon et al., SC 2011) random fill, bit-identical to src/core/philox.ts.
// Invocation i computes block (offset + first_block + i) -- a 64-bit counter (c0, c1, 0, 0) --
// under key (seed_lo, seed_hi) and writes its four outputs (elements 4i .. 4i+3 of this window):
// uniform [0, 1) floats with 24 random bits (MODE 0), standard normals by Box-Muller (MODE 1),
// or dropout's scaled keep-mask: scale where the uniform >= p, else 0 (MODE 2).
// WGSL has no 64-bit multiply: the high word of the 32x32 product is built from 16-bit halves.

struct Params {
  n: u32,          // elements in this window
  blk_lo: u32,     // 64-bit index of the window's first block (offset + first element / 4)
  blk_hi: u32,
  seed_lo: u32,
  seed_hi: u32,
  p: f32,          // MODE 2: drop probability
  scale: f32,      // MODE 2: value of kept elements
}

const MODE = {{MODE}}u;

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> P: Params;

// High 32 bits of a * b.
fn mulhi(a: u32, b: u32) -> u32 {
  let a_lo = a & 0xffffu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xffffu;
  let b_hi = b >> 16u;
  let ll = a_lo * b_lo;
  let lh = a_lo * b_hi;
  let hl = a_hi * b_lo;
  let hh = a_hi * b_hi;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  return hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}

fn philox(c0: u32, c1: u32, k0: u32, k1: u32) -> vec4<u32> {
  var x = vec4<u32>(c0, c1, 0u, 0u);
  var a = k0;
  var b = k1;
  for (var r = 0u; r < 10u; r++) {
    let h0 = mulhi(0xd2511f53u, x.x);
    let l0 = 0xd2511f53u * x.x;
    let h1 = mulhi(0xcd9e8d57u, x.z);
    let l1 = 0xcd9e8d57u * x.z;
    x = vec4<u32>(h1 ^ x.y ^ a, l1, h0 ^ x.w ^ b, l0);
    a = a + 0x9e3779b9u;
    b = b + 0xbb67ae85u;
  }
  return x;
}

// 24 random bits -> [0, 1), exact in f32.
fn uniform_of(u: u32) -> f32 {
  return f32(u >> 8u) * (1.0 / 16777216.0);
}

// -2 ln(u1) for u1 = (m + 1) / 2^24 in (0, 1]. The builtin log is only required to be within
// 2^-21 absolute near 1, far too coarse for r = sqrt(-2 ln u1) when u1 is close to 1, so for
// u1 >= 1/2 it is computed as 4 atanh(s), s = d / (2 - d) <= 1/3 with d = 1 - u1 exact, by its
// series (9 terms, relative error < 1e-9).
fn neg2log_u1(m: u32) -> f32 {
  let u1 = f32(m + 1u) * (1.0 / 16777216.0);
  if (u1 < 0.5) { return -2.0 * log(u1); }
  let d = f32(16777216u - (m + 1u)) * (1.0 / 16777216.0);
  let s = d / (2.0 - d);
  let s2 = s * s;
  var p = 1.0 / 17.0;
  p = 1.0 / 15.0 + s2 * p;
  p = 1.0 / 13.0 + s2 * p;
  p = 1.0 / 11.0 + s2 * p;
  p = 1.0 / 9.0 + s2 * p;
  p = 1.0 / 7.0 + s2 * p;
  p = 1.0 / 5.0 + s2 * p;
  p = 1.0 / 3.0 + s2 * p;
  return 4.0 * (s + s * s2 * p);
}

// cos and sin of 2 pi q for q in [0, 1), to ~1e-7: WGSL only bounds the builtins' absolute error
// by 2^-11 (SwiftShader measured 5.6e-4 off), so reduce to an octant and use Taylor series.
fn sincos_turn(q: f32) -> vec2<f32> {
  let t = q * 4.0;
  let k = floor(t + 0.5);
  let x = (t - k) * 1.5707963267948966; // in [-pi/4, pi/4]
  let x2 = x * x;
  let s = x * (1.0 - x2 / 6.0 * (1.0 - x2 / 20.0 * (1.0 - x2 / 42.0 * (1.0 - x2 / 72.0))));
  let c = 1.0 - x2 / 2.0 * (1.0 - x2 / 12.0 * (1.0 - x2 / 30.0 * (1.0 - x2 / 56.0)));
  // rotate by k quarter turns
  switch (u32(k) % 4u) {
    case 0u: { return vec2<f32>(c, s); }
    case 1u: { return vec2<f32>(-s, c); }
    case 2u: { return vec2<f32>(-c, -s); }
    default: { return vec2<f32>(s, -c); }
  }
}

// Box-Muller on words (u, v), as normalPair in philox.ts: r = sqrt(-2 ln u1), angle 2 pi u2.
fn normal_pair(u: u32, v: u32) -> vec2<f32> {
  let r = sqrt(neg2log_u1(u >> 8u));
  let cs = sincos_turn(f32(v >> 8u) * (1.0 / 16777216.0));
  return vec2<f32>(r * cs.x, r * cs.y);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  let e = i * 4u;
  if (e >= P.n) { return; }
  let c0 = P.blk_lo + i;
  let c1 = P.blk_hi + select(0u, 1u, c0 < i);
  let w = philox(c0, c1, P.seed_lo, P.seed_hi);
  var v: vec4<f32>;
  if (MODE == 1u) {
    v = vec4<f32>(normal_pair(w.x, w.y), normal_pair(w.z, w.w));
  } else {
    v = vec4<f32>(uniform_of(w.x), uniform_of(w.y), uniform_of(w.z), uniform_of(w.w));
    if (MODE == 2u) { v = select(vec4<f32>(0.0), vec4<f32>(P.scale), v >= vec4<f32>(P.p)); }
  }
  for (var j = 0u; j < 4u; j++) {
    if (e + j < P.n) { out[e + j] = v[j]; }
  }
}
