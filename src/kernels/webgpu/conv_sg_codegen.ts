/**
 * WGSL code generation of the "sg" conv2d kernels (see ./conv.ts for the design): the row/column
 * setup, loads, multiply-adds and stores of the forward and input-gradient GEMMs
 * (shaders/conv_sg_fwd.wgsl, conv_sg_bwdin.wgsl) and of the weight gradient (conv_sg_bwdw.wgsl),
 * unrolled over the register tile, and their pipelines (built only on a cache miss).
 */
import type { GpuRuntime } from './runtime.js';
import { shader, shaderKey } from './shaders.js';
import { epilogueDecl, epilogueExpr, epilogueLoad } from './conv_epilogue.js';
import { NSG, rep } from './conv_geo.js';

/** Row setup, loads and multiply-adds shared by the sg forward and input-gradient kernels. */
/**
 * The order of the GEMM rows of the sg forward: 'batch' (oh, ow, n), batch fastest; 'row' (n, oh,
 * ow) with vec4 stores of 4 consecutive pixels; 'pool' (n, oh/2, ow/2, oh%2, ow%2): each 4 rows are
 * a 2x2 window, and the store writes their max (max_pool2d(2) fused after the epilogue).
 */
export type RowOrder = 'batch' | 'row' | 'pool';

/**
 * `stride` (input gradient): the strides as WGSL literals in its per-tap phase tests (t % s == 0,
 * t / s): a division by a uniform is a scalar loop over the lanes on lavapipe, by a literal 1 it
 * folds away. Measured (input gradient, ms): 16x64x32x32->128 55.5 -> 49.5, 16x128x16x16->256
 * 50 -> 45, 64x16x24x24->32 16.3 -> 13.7 (2026-12-05, alternating processes).
 */
export function sgRowColDefs(kind: 'fwd' | 'bwdin', TM: number, TN: number, SG: number, packed: boolean, hasBias: boolean, accumulate: boolean, epi = 0, order: RowOrder = 'batch', stride: [number, number] = [0, 0], nsg = NSG): Record<string, string | number> {
  const sH = stride[0] ? `${stride[0]}u` : 'P.sH';
  const sW = stride[1] ? `${stride[1]}u` : 'P.sW';
  const rowMajor = order === 'row';
  // accumulation is specialized: a read of out[] under a runtime flag still costs a per-lane loop on lavapipe
  const ACC = accumulate ? ' v += out[o];' : '';
  const R = TM / SG;
  const fwd = kind === 'fwd';
  const I = (f: (i: number) => string, sep = '\n') => rep(TM, f, sep);
  const Rr = (f: (r: number) => string, sep = '\n') => rep(R, f, sep);
  const J = (f: (j: number) => string, sep = '\n') => rep(TN, f, sep);
  const d: Record<string, string | number> = { WG: SG * nsg, NSG: nsg, SG, TM, TN, WTYPE: packed ? 'vec4<f32>' : 'f32', OTYPE: rowMajor ? 'vec4<f32>' : 'f32', ...epilogueDecl(epi, 4, rowMajor ? 'vec4<f32>' : 'f32') };
  d.ROWS = Rr(
    (r) => `  let row${r} = rowTile * ${TM}u + ${r * SG}u + lane;
  let okm${r} = row${r} < M;` +
      (order === 'pool'
        ? `
  let n${r} = row${r} / OHW;
  let wi${r} = (row${r} % OHW) / 4u;
  let sub${r} = row${r} % 4u;
  let p${r} = (2u * (wi${r} / (P.OW / 2u)) + sub${r} / 2u) * P.OW + 2u * (wi${r} % (P.OW / 2u)) + sub${r} % 2u;`
        : rowMajor
        ? `
  let n${r} = row${r} / OHW;
  let p${r} = row${r} % OHW;`
        : `
  let n${r} = row${r} % P.Nc;
  let p${r} = row${r} / P.Nc;`) +
      (fwd
        ? `
  let ih0_${r} = i32((p${r} / P.OW) * P.sH) - i32(P.pH);
  let iw0_${r} = i32((p${r} % P.OW) * P.sW) - i32(P.pW);
  let ob${r} = ${order === 'pool' ? `n${r} * P.C_out * (OHW / 4u) + wi${r}` : `n${r} * P.C_out * OHW + p${r}`};`
        : `
  let ihs${r} = i32(p${r} / P.W) + i32(P.pH);
  let iws${r} = i32(p${r} % P.W) + i32(P.pW);
  let ob${r} = n${r} * P.C_in * HW + p${r};`),
  );
  d.COLS = J((j) =>
    fwd
      ? `  let col${j} = colTile * ${SG * TN}u + ${j * SG}u + lane;
  let okc${j} = col${j} < P.cc;
  let wr${j} = g * P.coutG + P.c0 + min(col${j}, P.cc - 1u) - P.w_row0;`
      : `  let col${j} = colTile * ${SG * TN}u + ${j * SG}u + lane;
  let okc${j} = col${j} < P.cinG;
  let cic${j} = min(col${j}, P.cinG - 1u);`,
  );
  d.ACC = rep(TM * TN, (k) => `  var acc${k} = 0.0;`);
  d.TAP = Rr((r) =>
    fwd
      ? `      let ih${r} = ih0_${r} + i32(kh * P.dH);
      let iw${r} = iw0_${r} + i32(kw * P.dW);
      let ok${r} = okm${r} && ih${r} >= 0 && ih${r} < i32(P.H) && iw${r} >= 0 && iw${r} < i32(P.W);
      let xa${r} = select(0u, ((n${r} * P.H + u32(ih${r})) * P.W + u32(iw${r})) * P.GQ + g * P.Q, ok${r});`
      : `      let th${r} = ihs${r} - i32(kh * P.dH);
      let tw${r} = iws${r} - i32(kw * P.dW);
      let oh${r} = u32(max(th${r}, 0)) / ${sH};
      let ow${r} = u32(max(tw${r}, 0)) / ${sW};
      let ok${r} = okm${r} && th${r} >= 0 && tw${r} >= 0 && u32(th${r}) % ${sH} == 0u && u32(tw${r}) % ${sW} == 0u && oh${r} < P.OH && ow${r} < P.OW;
      let xa${r} = select(0u, ((n${r} * P.OH + oh${r}) * P.OW + ow${r}) * P.GQ + g * P.Qo + P.q0, ok${r});`,
  );
  d.ANYOK = Rr((r) => `ok${r}`, ' || ');
  if (fwd) {
    d.WTAP = J((j) => (packed ? `      let wa${j} = (wr${j} * KHKW + kk) * P.Q;` : `      let wa${j} = P.w_off + wr${j} * Kw + kk;`));
  } else {
    d.WTAP = J((j) =>
      packed
        ? `      let wa${j} = (((g - P.g0) * P.cinG + cic${j}) * KHKW + kk) * P.Qc;`
        : `      let wa${j} = P.w_off + (g * P.coutG + 4u * P.q0 - P.w_row0) * Kw + cic${j} * KHKW + kk;`,
    );
  }
  const opnd = fwd ? 'xt' : 'gyt';
  let wl: (j: number) => string;
  if (packed) wl = (j) => `        let bv${j} = w[wa${j} + q];`;
  else if (fwd) {
    // 4 input channels 4q..4q+3 of output channel wr: stride KHKW in w's (C_out, C_in/g, KH, KW) layout
    wl = (j) => `        let bv${j} = vec4<f32>(${rep(4, (t) => `select(0.0, w[min(wa${j} + (q * 4u + ${t}u) * KHKW, P.w_last)], q * 4u + ${t}u < P.cinG)`, ', ')});`;
  } else {
    // 4 output channels 4q..4q+3 (of this chunk) for input channel ci: stride Kw
    wl = (j) => `        let bv${j} = vec4<f32>(${rep(4, (t) => `select(0.0, w[min(wa${j} + (q * 4u + ${t}u) * Kw, P.w_last)], q * 4u + ${t}u < P.coc)`, ', ')});`;
  }
  d.LOADS = Rr((r) => `        let xv${r} = select(vec4<f32>(0.0), ${opnd}[xa${r} + q], ok${r});`) + '\n' + J(wl);
  d.FMAS = I((i) => `        {\n          let a = subgroupBroadcast(xv${Math.floor(i / SG)}, ${i % SG}u);\n` + J((j) => `          acc${i * TN + j} += dot(a, bv${j});`) + '\n        }');
  const biasExpr = (co: string) => (hasBias ? `bias[${co}]` : '0.0');
  const head = (fwd && !hasBias ? '  _ = arrayLength(&bias);\n' : '') + (fwd ? J((j) => epilogueLoad(epi, `k${j}`, `g * P.coutG + P.c0 + min(col${j}, P.cc - 1u)`, '  '), '') : '');
  // the forward's stores over groups of 4 rows (i..i+3), for the row-major and pool orders: the
  // group's first row's output base, then per column `body` with `co` defined
  const quads = (body: (i: number, j: number) => string): string =>
    head +
    rep(TM / 4, (i4) => {
      const i = 4 * i4;
      return `  {
    let ob = subgroupBroadcast(ob${Math.floor(i / SG)}, ${i % SG}u);
    let okr = subgroupBroadcast(select(0u, 1u, okm${Math.floor(i / SG)}), ${i % SG}u) != 0u;
${J(
  (j) => `    if (okr && okc${j}) {
      let co = g * P.coutG + P.c0 + col${j};
${body(i, j)}
    }`,
)}
  }`;
    });
  if (rowMajor) {
    // rows i..i+3 are 4 consecutive pixels of one image (OHW % 4 == 0, tiles start at multiples of 4)
    d.STORE = quads(
      (i, j) => `      let o = (P.o_off + ob + co * OHW) / 4u;
      var v = vec4<f32>(${rep(4, (t) => `acc${(i + t) * TN + j}`, ', ')}) + ${biasExpr('co')};${epilogueExpr(epi, `k${j}`, '      ', 'vec4<f32>', 'o')}
      out[o] = v;`,
    );
    return d;
  }
  if (order === 'pool') {
    // rows i..i+3 are one 2x2 window: the max of the 4 normalized values (NaN propagates, as max_pool2d)
    d.STORE = quads(
      (i, j) => `      var m = 0.0;
${rep(
  4,
  (t) => `      {
        var v = acc${(i + t) * TN + j} + ${biasExpr('co')};${epilogueExpr(epi, `k${j}`, '        ')}
        ${t === 0 ? 'm = v;' : 'm = select(m, v, v > m || (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u);'}
      }`,
)}
      out[P.o_off + ob + co * (OHW / 4u)] = m;`,
    );
    return d;
  }
  d.STORE =
    head +
    I(
      (i) => `  {
    let ob = subgroupBroadcast(ob${Math.floor(i / SG)}, ${i % SG}u);
    let okr = subgroupBroadcast(select(0u, 1u, okm${Math.floor(i / SG)}), ${i % SG}u) != 0u;
${J((j) =>
  fwd
    ? `    if (okr && okc${j}) {
      let co = g * P.coutG + P.c0 + col${j};
      let o = P.o_off + ob + co * OHW;
      var v = acc${i * TN + j} + ${biasExpr('co')};${ACC}${epilogueExpr(epi, `k${j}`, '      ', 'f32', 'o')}
      out[o] = v;
    }`
    : `    if (okr && okc${j}) {
      let o = P.o_off + ob + (g * P.cinG + col${j}) * HW;
      var v = acc${i * TN + j};${ACC}
      out[o] = v;
    }`,
)}
  }`,
    );
  return d;
}

export function sgBwdwDefs(TM: number, SG: number, laneIsCi: boolean, accumulate: boolean, nsg = NSG): Record<string, string | number> {
  const ACC = accumulate ? ' v += out[o];' : '';
  const SQ = TM / 4;
  // shared vec4s per step: SQ of them, loaded cooperatively, SG per load instruction
  const SL = Math.ceil(SQ / SG);
  const d: Record<string, string | number> = { WG: SG * nsg, NSG: nsg, SG, TM };
  const L = (f: (l: number) => string, sep = '\n') => rep(SL, f, sep);
  const lane = laneIsCi
    ? `  let lok = lq < P.Qx;
  let lbase = g * P.Qx + min(lq, P.Qx - 1u);
${L((l) => `  let sok${l} = ${l * SG}u + lane < ${SQ}u && sq${l} * 4u < P.cc;
  let sbase${l} = g * P.Qy + P.c0 / 4u + min(sq${l}, (P.cc - 1u) / 4u);`)}`
    : `  let lok = lq * 4u < P.cc;
  let lbase = g * P.Qy + P.c0 / 4u + min(lq, (P.cc - 1u) / 4u);
${L((l) => `  let sok${l} = ${l * SG}u + lane < ${SQ}u && sq${l} < P.Qx;
  let sbase${l} = g * P.Qx + min(sq${l}, P.Qx - 1u);`)}`;
  d.SETUP = `  let lq = lTile * ${SG}u + lane;\n` + L((l) => `  let sq${l} = sTile * ${SQ}u + ${l * SG}u + lane;`) + '\n' + lane;
  d.ACC = rep(TM, (i) => `  var acc${i} = vec4<f32>(0.0);`);
  const [Lb, lpix, lgq, S, spix, sgq] = laneIsCi ? ['xt', 'xpix', 'GQx', 'gyt', 'ypix', 'GQy'] : ['gyt', 'ypix', 'GQy', 'xt', 'xpix', 'GQx'];
  d.LOADS =
    `      let lv = ${Lb}[${lpix} * P.${lgq} + lbase];
` +
    L((l) => `      var sv${l} = vec4<f32>(0.0);
      if (sok${l}) { sv${l} = ${S}[${spix} * P.${sgq} + sbase${l}]; }`);
  d.FMAS = rep(
    SQ,
    (q) => `      {
        let s = subgroupBroadcast(sv${Math.floor(q / SG)}, ${q % SG}u);
        acc${4 * q} += s.x * lv;
        acc${4 * q + 1} += s.y * lv;
        acc${4 * q + 2} += s.z * lv;
        acc${4 * q + 3} += s.w * lv;
      }`,
  );
  const comp = ['x', 'y', 'z', 'w'];
  d.STORE = rep(
      TM,
      (i) =>
        (laneIsCi
          ? `  {\n    let co = sTile * ${TM}u + ${i}u;\n    let okr = co < P.cc;\n`
          : `  {\n    let ci0 = sTile * ${TM}u + ${i}u;\n    let okr = ci0 < P.cinG;\n`) +
        rep(4, (c) =>
          laneIsCi
            ? `    if (okr && lok && lq * 4u + ${c}u < P.cinG) { let o = obase + ((g * P.coutG + P.c0 + co - P.w_row0) * P.cinG + lq * 4u + ${c}u) * KHKW + kk; var v = acc${i}.${comp[c]};${ACC} out[o] = v; }`
            : `    if (okr && lq * 4u + ${c}u < P.cc) { let o = obase + ((g * P.coutG + P.c0 + lq * 4u + ${c}u - P.w_row0) * P.cinG + ci0) * KHKW + kk; var v = acc${i}.${comp[c]};${ACC} out[o] = v; }`,
        ) +
        '\n  }',
    );
  return d;
}

/** The pipeline of sg kernel `name` specialized by `keyDefs`; `defs` (the generated code pieces) is only built on a cache miss. */
export function sgPipeline(rt: GpuRuntime, name: string, defs: () => Record<string, string | number>, keyDefs: Record<string, string | number | boolean>): GPUComputePipeline {
  return rt.pipeline(shaderKey(name, keyDefs as Record<string, string | number>), () => shader(name, defs()));
}
