// The max-pool rule of pool_max.wgsl for the unrolled 2x2 kernels (pool_max_2x2.wgsl,
// bn_pool_apply.wgsl): a tap replaces the running maximum when it is the first, greater, or NaN,
// so the first of tied maxima wins and NaN propagates (the last NaN). Needs "strided" (is_nan).
fn take(v: f32, pos: i32, m: ptr<function, f32>, best: ptr<function, i32>) {
  if (*best < 0 || v > *m || is_nan(v)) {
    *m = v;
    *best = pos;
  }
}
