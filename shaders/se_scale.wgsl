// SE elementwise passes over (N, C, S), gate and the extra term per (n, c) plane:
// MODE 0: out = x * gate[nc]                      (forward)
// MODE 1: gx  = gy * gate[nc] + spread[nc]          (backward; spread = (dz1 W1)[n, c] / S)
// Grid (ceil(S / (64*V)), planes-chunk): one plane index per workgroup row, vec4 when S % 4 == 0.
struct Params {
  S: u32, planes: u32, p0: u32, x_off: u32,
  g_off: u32, o_off: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> spread: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  _ = arrayLength(&spread);
  let sv = wid.x * 64u + lid;
  let L = P.S / {{V}}u;
  let pl = wid.y + wid.z * nwg.y;
  if (sv >= L || pl >= P.planes) { return; }
  let nc = P.p0 + pl;
  let i = pl * L + sv;
  let gt = gate[nc];
  if ({{MODE}} == 0) {
    out[P.o_off + i] = x[P.x_off + i] * gt;
  } else {
    out[P.o_off + i] = x[P.x_off + i] * gt + spread[nc];
  }
}
