// Shared by the elementwise kernels: N-d strided indexing (up to 8 dims).
// shape/strides are packed as array<vec4<u32>, 2>; element d is v[d / 4][d % 4].
fn dim_of(v: array<vec4<u32>, 2>, d: u32) -> u32 {
  return v[d / 4u][d % 4u];
}

// Storage offset of the i-th element (row-major over `shape`) for a layout with `strides`.
fn strided_offset(i: u32, ndim: u32, shape: array<vec4<u32>, 2>, strides: array<vec4<u32>, 2>, base: u32) -> u32 {
  var rem = i;
  var off = base;
  for (var k = 0u; k < ndim; k++) {
    let d = ndim - 1u - k;
    let s = dim_of(shape, d);
    off += (rem % s) * dim_of(strides, d);
    rem = rem / s;
  }
  return off;
}

// NaN test that survives fast-math assumptions: look at the bits.
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// A quiet NaN built at run time (a constant NaN is rejected by WGSL's constant evaluation).
fn nan_f32() -> f32 {
  var bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}
