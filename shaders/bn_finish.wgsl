// Shared by bn_stats.wgsl and bn_train_sg.wgsl (included; both declare smean, sinvstd, rmean,
// rvar, weight, bias and P.{flags, eps, momentum} under these names). Flags: 1 weight, 2 bias,
// 4 running stats.

fn nan_f32() -> f32 {
  var bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}

// Channel c's statistics from its mean and M2 over n values: writes save_mean / save_invstd and
// (flag 4) the running statistics with momentum and the UNBIASED variance M2 / (n - 1) (NaN for
// one value, like the reference); returns invstd (biased variance, as batch_norm normalizes).
fn bn_finish_stats(c: u32, mean: f32, m2: f32, n: f32) -> f32 {
  let invstd = 1.0 / sqrt(m2 / n + P.eps);
  smean[c] = mean;
  sinvstd[c] = invstd;
  if ((P.flags & 4u) != 0u) {
    var unb = nan_f32();
    if (n > 1.0) { unb = m2 / (n - 1.0); }
    rmean[c] = (1.0 - P.momentum) * rmean[c] + P.momentum * mean;
    rvar[c] = (1.0 - P.momentum) * rvar[c] + P.momentum * unb;
  }
  return invstd;
}

// Channel c's affine parameters (w, b), (1, 0) where absent.
fn bn_affine(c: u32) -> vec2<f32> {
  var w = 1.0;
  var b = 0.0;
  if ((P.flags & 1u) != 0u) { w = weight[c]; }
  if ((P.flags & 2u) != 0u) { b = bias[c]; }
  return vec2<f32>(w, b);
}
