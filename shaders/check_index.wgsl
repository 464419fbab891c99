// Device-side range check of int32 indices (class targets): raises the runtime's device-side
// check (atomicMax of check_id into status[0]) when some idx[i] is outside [0, hi) and is not
// `ignore`. Nothing else is written; the host throws the registered message at the next readback.
struct Params {
  n: u32,
  hi: i32,
  ignore: i32,
  check_id: u32,
}

@group(0) @binding(0) var<storage, read> idx: array<i32>;
@group(0) @binding(1) var<storage, read_write> status: array<atomic<u32>>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= P.n) { return; }
  let t = idx[i];
  if (t != P.ignore && (t < 0i || t >= P.hi)) { atomicMax(&status[0], P.check_id); }
}
