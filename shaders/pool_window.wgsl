// Window arithmetic shared by pool_avg and pool_avg_bwd ({{MODE}} 0: avg_pool2d, 1: adaptive).
// win() returns (start, end, padded extent) of output position o along one axis, clipped to
// the input; covering() returns the range [lo, hi) of output positions whose window contains
// input position i.
fn win(o: u32, size: u32, osize: u32, k: u32, s: u32, p: u32) -> vec3<u32> {
  if ({{MODE}} == 1) {
    let a = (o * size) / osize;
    let b = ((o + 1u) * size + osize - 1u) / osize;
    return vec3<u32>(a, b, b - a);
  }
  let start = i32(o * s) - i32(p);
  let end = min(start + i32(k), i32(size + p));
  let ext = u32(end - start);
  return vec3<u32>(u32(max(start, 0)), u32(min(end, i32(size))), ext);
}

fn covering(i: u32, size: u32, osize: u32, k: u32, s: u32, p: u32) -> vec2<u32> {
  if ({{MODE}} == 1) {
    // start(o) <= i  <=>  o <= ceil((i+1)*osize/size) - 1;  end(o) > i  <=>  o >= floor(i*osize/size)
    return vec2<u32>((i * osize) / size, min(osize, ((i + 1u) * osize + size - 1u) / size));
  }
  // o*s - p <= i < o*s - p + k
  let t = i32(i + p) - i32(k) + 1;
  var lo = 0u;
  if (t > 0) { lo = (u32(t) + s - 1u) / s; }
  let hi = min(osize, (i + p) / s + 1u);
  return vec2<u32>(lo, max(lo, hi));
}

fn divisor(wh: vec3<u32>, ww: vec3<u32>) -> f32 {
  if ({{MODE}} == 1) { return f32(wh.z * ww.z); }
  if (P.divisor != 0u) { return f32(P.divisor); }
  if (P.includePad != 0u) { return f32(wh.z * ww.z); }
  return f32((wh.y - wh.x) * (ww.y - ww.x));
}
