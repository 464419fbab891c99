// batch_norm elementwise pass over (N, C, S) with per-channel coef[c] from bn_finalize:
// MODE 0 (forward):  out = (x - coef.x) * coef.y + coef.z
// MODE 1 (backward): gx  = coef.y * gy + coef.z + coef.w * (x - coef.x)
// PLANE 1: grid (ceil(S / (64*V)), C, N) — no integer division per element; V = 4 processes a
//   vec4 (S % 4 == 0). PLANE 0: flat index with division (small S).
struct Params {
  C: u32, S: u32, total: u32, x_off: u32,
  g_off: u32, o_off: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read> gy: array<{{T}}>;
@group(0) @binding(2) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  var i: u32;
  var c: u32;
  if ({{PLANE}} == 1) {
    let sv = wid.x * 64u + lid;
    if (sv * {{V}}u >= P.S) { return; }
    c = wid.y;
    i = (wid.z * P.C + c) * (P.S / {{V}}u) + sv;
  } else {
    i = (wid.x + wid.y * nwg.x) * 64u + lid;
    if (i >= P.total) { return; }
    c = (i / P.S) % P.C;
  }
  _ = arrayLength(&gy);
  let k = coef[c];
  let xv = x[P.x_off + i];
{{BODY}}
}
