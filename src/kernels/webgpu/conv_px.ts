/**
 * conv2d weight gradient, "sg" variant, for layers with at most 4 input channels (groups == 1):
 * the RGB stem conv of ResEmoteNet and most CNNs. See shaders/conv_sg_bwdw_px.wgsl for the
 * design: lanes over output pixels, all (output channel, tap) accumulators of a block of
 * `pxTuning.cob` output channels per lane, subgroupAdd at the end, partials per subgroup summed
 * by conv_reduce. The general sg kernel (./conv.ts) keeps half of its lanes idle on 3 channels
 * and spends two vec4 loads per 12 multiply-adds.
 * Measured on lavapipe (2 cores, idle), the width-1/4 stem at batch 64, 64x3x48x48 -> 16 3x3 p1,
 * median of 5 with both operands' channels-last packing included: general kernel 30.8-33.6 ms,
 * this one 24.8 ms. Less than the load count promised: the accumulators live on the stack.
 * Since 2026-12-05 ./conv_im2col.ts (im2col + the matmul) takes these layers (9.4 ms there); this
 * kernel remains for inputs whose im2col columns would exceed one binding.
 */
import type { Conv2dParams, Storage } from '../backend.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { shader, shaderKey } from './shaders.js';
import { pack } from './conv_pack.js';
import { window } from './window.js';
import { SG_PER_WG } from './subgroups.js';
import { rep } from './conv_geo.js';

/**
 * Output channels per block (a multiple of 4): 8 x 9 taps = 72 vec4 accumulators per lane. On the
 * stem below, 16 per block took 36.4 ms (the accumulators spill heavily), 8 took 24.8, 4 24.7
 * (but 3.4 s to compile).
 */
export const pxTuning = { cob: 8 };
/** Largest KH * KW unrolled into the kernel (LLVM's compile time grows fast with the unrolled body). */
const TAPS_MAX = 9;

/** Whether the pixel-lane weight gradient applies: groups 1, at most 4 input channels, small kernels. */
export function pxApplies(p: Conv2dParams): boolean {
  return p.groups === 1 && p.C_in <= 4 && p.KH * p.KW <= TAPS_MAX && p.C_out > 0;
}

function defs(SG: number, COB: number, KH: number, KW: number): Record<string, string | number> {
  const QB = Math.ceil(COB / 4);
  const KHKW = KH * KW;
  const comp = ['x', 'y', 'z', 'w'];
  const d: Record<string, string | number> = { SG, NSG: SG_PER_WG, WG: SG * SG_PER_WG, COB, QB, KHKW };
  d.ACC = rep(COB * KHKW, (i) => `  var a${i} = vec4<f32>(0.0);`);
  // the block's gradients: vec4 quads blk*QB .. blk*QB+QB-1 of the pixel (zero past C_out)
  d.GY = rep(QB, (q) => `    let q${q} = blk * ${QB}u + ${q}u;\n    let g${q} = select(vec4<f32>(0.0), gyt[m * P.Qy + min(q${q}, P.Qy - 1u)], q${q} < P.Qy);`);
  d.TAPS = rep(KHKW, (k) => {
    const kh = Math.floor(k / KW), kw = k % KW;
    return `    {
      let ih = ih0 + i32(${kh}u * P.dH);
      let iw = iw0 + i32(${kw}u * P.dW);
      let ok = ih >= 0 && ih < i32(P.H) && iw >= 0 && iw < i32(P.W);
      let xv = select(vec4<f32>(0.0), xt[select(0u, (n * P.H + u32(ih)) * P.W + u32(iw), ok)], ok);
${rep(COB, (c) => `      a${c * KHKW + k} += g${Math.floor(c / 4)}.${comp[c % 4]} * xv;`)}
    }`;
  });
  d.STORE = rep(COB, (c) =>
    rep(KHKW, (k) => {
      const i = c * KHKW + k;
      return `  {
    let s = subgroupAdd(a${i});
    let co = blk * ${COB}u + ${c}u;
    if (lane == 0u && co < P.C_out) {
      let o = (split * P.C_out + co) * P.cinG * ${KHKW}u + ${k}u;
${rep(4, (ci) => `      if (${ci}u < P.cinG) { part[o + ${ci * KHKW}u] = s.${comp[ci]}; }`)}
    }
  }`;
    }),
  );
  return d;
}

/**
 * gw (C_out, C_in, KH, KW) = sum over (n, oh, ow) of gy (x) taps of x, for `pxApplies` layers;
 * returns false (doing nothing) when an operand exceeds one binding (the caller's general path).
 */
export function pxBackwardWeight(rt: GpuRuntime, SG: number, gy: Storage, x: Storage, gw: Storage, p: Conv2dParams): boolean {
  if (!pxApplies(p)) return false;
  const lim = Math.floor(rt.limits.maxStorageBufferBindingSize / 4) - 64;
  const HW = p.H * p.W, OHW = p.OH * p.OW;
  const Qy = Math.ceil(p.C_out / 4);
  if (p.N * HW * 4 > lim || p.N * OHW * Qy * 4 > lim || p.N * Math.max(p.C_in * HW, p.C_out * OHW) > lim) return false;
  const KHKW = p.KH * p.KW;
  const COB = Math.min(pxTuning.cob, Math.ceil(p.C_out / 4) * 4);
  const nblk = Math.ceil(p.C_out / COB);
  const M = p.N * OHW;
  const size = p.C_out * p.C_in * KHKW;
  // splits: enough subgroups to fill the cores several times over, >= 256 pixels each
  const nsplit = Math.max(1, Math.min(Math.ceil(128 / nblk), Math.floor(M / 256), Math.floor(lim / size)));
  const rowsPer = Math.ceil(M / nsplit);
  const xt = pack(rt, x, 0, p.N, 1, p.C_in, HW, 'conv2dBackwardWeight');
  const gyt = pack(rt, gy, 0, p.N, 1, p.C_out, OHW, 'conv2dBackwardWeight');
  const part = rt.alloc('float32', nsplit * size);
  const d = defs(SG, COB, p.KH, p.KW);
  const pipe = rt.pipeline(shaderKey('conv_sg_bwdw_px', { SG, COB, KH: p.KH, KW: p.KW }), () => shader('conv_sg_bwdw_px', d));
  const u = [p.H, p.W, p.KH, p.KW, p.OH, p.OW, p.strideH, p.strideW, p.padH, p.padW, p.dilationH, p.dilationW, M, p.C_in, p.C_out, Qy, rowsPer, nsplit, nblk, size];
  rt.dispatch('conv2dBackwardWeight', pipe, [xt, gyt, part], { u }, Math.ceil((nsplit * nblk) / SG_PER_WG));
  const ow = window(rt, gw, 0, size);
  const red = rt.pipeline('conv_reduce', () => shader('conv_reduce'));
  rt.dispatch('conv2dBackwardWeight', red, [part, ow.b], { u: [size, nsplit, ow.rel, 0] }, Math.ceil(size / 64));
  rt.free(part);
  rt.free(xt as GpuStorage);
  rt.free(gyt as GpuStorage);
  return true;
}
