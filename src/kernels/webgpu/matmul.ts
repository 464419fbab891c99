/**
 * Batched matmul out (B, M, N) = a (B, M, K) @ b (B, K, N) on strided 3-d views, in two kernel
 * families chosen per adapter:
 *
 * (a) `rb` (shaders/matmul_rb.wgsl): register-blocked, no workgroup memory. A workgroup is one
 *     subgroup of 8 lanes computing an R x 32 output block (R = 8 for M <= 8, else 16); each
 *     lane owns 4 columns and R vec4 accumulators. When the adapter's subgroups have exactly 8
 *     lanes (`rb-sg`), each lane loads only R/8 rows of A and the lanes share them with
 *     subgroupBroadcast; otherwise (`rb`) every lane loads all 8 rows itself. Loads are vec4 when
 *     the layout allows (A contiguous along k; B contiguous along n, or along k for a transposed
 *     view such as W^T in x @ W^T), scalar otherwise; pipelines are specialized on that.
 * (b) `tiled` (shaders/matmul_tiled.wgsl): 64 x 64 output tiles staged through workgroup memory
 *     in K slices of 16, 256 invocations of 4 x 4 each: what discrete GPUs prefer.
 *
 * Why (a) on a CPU adapter: lavapipe runs 8 invocations as one 8-wide SIMD vector and, in Mesa
 * 25.0, scalarizes every storage-buffer load lane by lane (about 7 instructions per element per
 * lane, with bounds checks and branches; no shortcut for uniform addresses, measured: a load
 * whose address is the same in all lanes costs as much as a gather), while an FMA is one
 * instruction and subgroupBroadcast with a constant lane a register shuffle. So the cost is
 * loaded elements per lane per FMA, and workgroup barriers (coroutine switches) are expensive.
 * Larger blocks (R = 24) run ~10% faster but take 2-3x longer to compile (6 s vs 2.8 s).
 *
 * Measured with `npx tsx bench/matmul.ts` on lavapipe (Mesa 25.0.7, LLVM 15, 256-bit, 2 vCPUs
 * shared with other jobs: load average 8-10 during the runs). "cpu" = FLOPs per CPU-second of
 * lavapipe's worker threads x 2 cores, i.e. the rate on 2 idle cores; "wall" = best wall time
 * around dispatch + readback, which the contention cut by 3-6x:
 *                           rb-sg (cpu / wall)   rb (cpu / wall)   tiled (cpu / wall)  GFLOP/s
 *   1024^3                     30.0 / 10.3          10.7 / 3.7          3.5 / 0.6
 *   1024^3, B transposed       28-33 / 7.0          10.2 / 2.5          3.6 / 0.6
 *   16x2048 @ 2048x1024 (W^T)  30.8 / 14.9          10.4 / 2.1          1.0 / 0.2
 *   16x1024 @ 1024x512 (W^T)   30.5 / 13.1          10.5 / 9.1          0.9 / 0.2
 *   16x4096 @ 4096x4096        15.3 / 4.2            6.3 / 1.6          0.9 / 0.2
 *   16x8192 @ 8192x2048 (W^T)  31.6 / 5.0           11.1 / 2.0          1.0 / 0.2
 *   64 x (64x64 @ 64x64)       20.1 / 10.1           8.8 / 4.4          3.4 / 0.6
 *   512^3                      31.1 / 7.1           10.7 / 1.9          3.8 / 0.6
 * (16x4096 @ 4096x4096 with a row-major B streams B down 16 KB strides; the transposed layout
 * of a Linear weight reads it contiguously.)
 *
 * RULE (validated by those numbers: rb-sg is 3x rb and 9-30x tiled on lavapipe for every shape
 * tried, small and skinny included): software adapter (report.isSoftware) -> rb-sg when the
 * adapter reports subgroupMinSize = subgroupMaxSize = 8, else rb; any other adapter -> tiled.
 * Within rb, R = 8 for M <= 8, else 16; problems of at most 2^20 multiply-adds all use the
 * 8-row scalar-load pipeline (each specialization costs seconds of compilation on lavapipe, and
 * these run in well under a millisecond anyway). `setMatmulVariant` overrides the rule.
 *
 * Edge cases: K = 0 writes zeros; M, N, K need not be multiples of anything (rows and columns
 * past the edge are clamped for loading and never stored; k past K is masked to 0); the grid is
 * linear over (batch, row tiles, column tiles) and spread over x and y by the runtime, so B can
 * be in the thousands and the grid beyond 65,535 workgroups; operands larger than the
 * storage-binding limit are split along batch, rows and columns into problems whose bindings fit.
 */
import type { Layout, Storage } from '../backend.js';
import { fill } from './elementwise.js';
import type { Binding, GpuRuntime, GpuStorage } from './runtime.js';
import { shader } from './shaders.js';
import type { Conv2dParams } from '../backend.js';
import { convTuning } from './conv_tuning.js';
import { gemvFits, gemvForward, GEMV_MAX_ROWS, packGemvWeights } from './conv_gemv.js';
import { pack } from './conv_pack.js';
import { sgSize } from './subgroups.js';

export type MatmulVariant = 'auto' | 'rb' | 'rb-sg' | 'tiled';

let forced: MatmulVariant = 'auto';

/** Forces a kernel family (benchmarks and tests); 'auto' restores the per-adapter rule. */
export function setMatmulVariant(v: MatmulVariant): void {
  forced = v;
}

/** The family `auto` picks on this runtime. */
export function autoMatmulVariant(rt: GpuRuntime): Exclude<MatmulVariant, 'auto'> {
  if (!rt.report.isSoftware) return 'tiled';
  return subgroupSize8(rt) ? 'rb-sg' : 'rb';
}

function subgroupSize8(rt: GpuRuntime): boolean {
  if (!rt.report.features.includes('subgroups')) return false;
  const info = (rt.device as unknown as { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
  return info?.subgroupMinSize === 8 && info?.subgroupMaxSize === 8;
}

type ALoad = 'v4k' | 'gen';
type BLoad = 'v4n' | 'v4k' | 'gen';

const C = 'xyzw';

interface Problem {
  B: number;
  M: number;
  N: number;
  K: number;
  offA: number;
  sa: [number, number, number];
  offB: number;
  sb: [number, number, number];
}

/** WGSL for the rb family, specialized on sharing, rows per workgroup and operand layouts. */
function rbSource(sg: boolean, R: number, al: ALoad, bl: BLoad): string {
  const RA = sg ? R / 8 : R;
  const lines = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join('\n');
  // Row r of the rows this lane loads: with sharing, rows m0 + lane + 8r; without, m0 + r.
  const rowExpr = (r: number) => (sg ? `m0 + lane + ${8 * r}u` : `m0 + ${r}u`);
  let setup = lines(RA, (r) => `  let ar${r} = a_b + min(${rowExpr(r)}, mlast) * P.sam;`);
  if (al === 'v4k') setup += '\n' + lines(RA, (r) => `  let av${r} = ar${r} / 4u;`);
  if (bl === 'v4n') setup += `\n  let bv = (b_b + min(n, nlast)) / 4u;\n  let sbk4 = P.sbk / 4u;`;
  else if (bl === 'v4k') setup += '\n' + lines(4, (j) => `  let bc${j} = (b_b + min(n + ${j}u, nlast) * P.sbn) / 4u;`);
  else setup += '\n' + lines(4, (j) => `  let bc${j} = b_b + min(n + ${j}u, nlast) * P.sbn;`);

  const aOf = (i: number, q: number) => (sg ? `subgroupBroadcast(la${i >> 3}.${C[q]}, ${i & 7}u)` : `la${i}.${C[q]}`);
  const zero4 = 'vec4<f32>(0.0)';
  // This lane's A values for the slice (k past K clamped for the address, masked to 0).
  let body =
    al === 'v4k'
      ? lines(RA, (r) => `    let la${r} = select(${zero4}, A[av${r} + k4], kmask);`)
      : lines(RA, (r) => `    let la${r} = select(${zero4}, vec4<f32>(${[0, 1, 2, 3].map((q) => `A[ar${r} + min(kb + ${q}u, klast) * P.sak]`).join(', ')}), kmask);`);
  body += '\n';
  // The slice of B as 4 rows of this lane's 4 columns.
  if (bl === 'v4n') body += lines(4, (q) => `    let bk${q} = select(${zero4}, Bm[bv + min(kb + ${q}u, klast) * sbk4], kmask.${C[q]});`);
  else if (bl === 'v4k') {
    body += lines(4, (j) => `    let bc${j}v = select(${zero4}, Bm[bc${j} + k4], kmask);`) + '\n';
    body += lines(4, (q) => `    let bk${q} = vec4<f32>(bc0v.${C[q]}, bc1v.${C[q]}, bc2v.${C[q]}, bc3v.${C[q]});`);
  } else {
    body += lines(4, (q) => `    let bk${q} = select(${zero4}, vec4<f32>(${[0, 1, 2, 3].map((j) => `Bm[bc${j} + min(kb + ${q}u, klast) * P.sbk]`).join(', ')}), kmask.${C[q]});`);
  }
  body += '\n';
  for (let q = 0; q < 4; q++) body += lines(R, (i) => `    acc[${i}] = fma(vec4<f32>(${aOf(i, q)}), bk${q}, acc[${i}]);`) + '\n';

  return shader('matmul_rb', {
    ENABLE: sg ? 'enable subgroups;' : '',
    TA: al === 'v4k' ? 'vec4<f32>' : 'f32',
    TB: bl === 'gen' ? 'f32' : 'vec4<f32>',
    R,
    SETUP: setup,
    BODY4: body,
  });
}

const aligned4 = (...v: number[]) => v.every((x) => x % 4 === 0);

function classifyA(p: Problem): ALoad {
  const [sab, sam, sak] = p.sa;
  return p.K >= 4 && sak === 1 && aligned4(sam, sab, p.offA) ? 'v4k' : 'gen';
}

function classifyB(p: Problem): BLoad {
  const [sbb, sbk, sbn] = p.sb;
  if (sbn === 1 && aligned4(sbk, sbb, p.offB)) return 'v4n';
  if (p.K >= 4 && sbk === 1 && aligned4(sbn, sbb, p.offB)) return 'v4k';
  return 'gen';
}

/** Problems up to this many multiply-adds use one generic rb pipeline (see run()). */
export const SMALL = 1 << 20;

/** The rows per workgroup for the rb family, by M. */
function rbRows(sg: boolean, M: number): number {
  if (!sg) return 8;
  return M <= 8 ? 8 : 16;
}

export function matmul(rt: GpuRuntime, a: Storage, al: Layout, b: Storage, bl: Layout, out: Storage, B: number, M: number, N: number, K: number): void {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || out.dtype !== 'float32') {
    throw new TypeError(`matmul: webgpu supports float32 only, got ${a.dtype} @ ${b.dtype} -> ${out.dtype}`);
  }
  if (B === 0 || M === 0 || N === 0) return;
  if (K === 0) {
    fill(rt, out, 0);
    return;
  }
  // Strides of size-1 dims are irrelevant: zero them so that they do not block vec4 loads.
  const sa: [number, number, number] = [B === 1 ? 0 : al.strides[0]!, M === 1 ? 0 : al.strides[1]!, K === 1 ? 0 : al.strides[2]!];
  const sb: [number, number, number] = [B === 1 ? 0 : bl.strides[0]!, K === 1 ? 0 : bl.strides[1]!, N === 1 ? 0 : bl.strides[2]!];
  if ([...sa, ...sb].some((s) => s < 0)) throw new RangeError('matmul: negative strides are not supported on webgpu');
  const variant = forced === 'auto' ? autoMatmulVariant(rt) : forced;
  if (variant === 'rb-sg' && gemvMatmul(rt, a, al.offset, sa, b, bl.offset, sb, out, B, M, N, K)) return;
  split(rt, variant, a as GpuStorage, b as GpuStorage, out as GpuStorage, { B, M, N, K, offA: al.offset, sa, offB: bl.offset, sb }, 0, B, 0, M, 0, N);
}

/**
 * x @ W^T with at most 4 rows of x and an unchanged Linear weight W (N, K) (b = W's transposed
 * view: strides k 1, n K) through the conv GEMV kernel (./conv_gemv.ts: a 1x1 convolution of M
 * pixels) on its cached lane-interleaved copy of W, from the weight's 2nd use at the same version:
 * batch-1 inference's fully connected head. Measured on lavapipe, ResEmoteNet's full-width head
 * at batch 1 (2048 -> 1024 -> 512 -> 256 -> 7), the 4 matmuls' replayed sum (bench/profile_step.ts
 * --batch 1 --infer): 3.9 -> 2.3 ms (2026-12-05). Returns false (nothing done) when it does not
 * apply or W is not cached yet (the first call, and training, where W changes every step).
 */
function gemvMatmul(rt: GpuRuntime, a: Storage, offA: number, sa: number[], b: Storage, offB: number, sb: number[], out: Storage, B: number, M: number, N: number, K: number): boolean {
  if (!convTuning.gemv || !convTuning.cacheWeights || B !== 1 || M > GEMV_MAX_ROWS || K < 4 || offA !== 0 || offB !== 0) return false;
  if (!(sa[2] === 1 && (M === 1 || sa[1] === K) && sb[1] === 1 && (N === 1 || sb[2] === K))) return false;
  if (a.size < M * K || b.size !== N * K) return false;
  const SG = sgSize(rt);
  if (!SG) return false;
  const p: Conv2dParams = { N: M, C_in: K, H: 1, W: 1, C_out: N, KH: 1, KW: 1, OH: 1, OW: 1, strideH: 1, strideW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1, groups: 1 };
  const taps = { khLo: 0, khN: 1, kwLo: 0, kwN: 1 };
  if (!gemvFits(rt, SG, p, taps)) return false;
  const wg = rt.cachedDerived(b as GpuStorage, `conv_sg_gemv ${SG} ${K} 1x1 0+1 0+1`, 2, () => packGemvWeights(rt, SG, b, p, taps));
  if (!wg) return false;
  const xt = pack(rt, a, 0, M, 1, K, 1, 'matmul');
  gemvForward(rt, SG, xt, wg, null, out, p, taps);
  rt.free(xt);
  return true;
}

/** Element range [lo, hi) of a strided operand over index boxes (strides are non-negative). */
function extent(off: number, s: readonly number[], lo: readonly number[], hi: readonly number[]): [number, number] {
  let a = off, z = off;
  for (let d = 0; d < s.length; d++) {
    a += s[d]! * lo[d]!;
    z += s[d]! * (hi[d]! - 1);
  }
  return [a, z + 1];
}

/** Dispatches the sub-problem batches [b0,b1) x rows [m0,m1) x cols [n0,n1), splitting it until every binding fits. */
function split(rt: GpuRuntime, variant: Exclude<MatmulVariant, 'auto'>, a: GpuStorage, b: GpuStorage, out: GpuStorage, p: Problem, b0: number, b1: number, m0: number, m1: number, n0: number, n1: number): void {
  const limit = Math.floor(rt.limits.maxStorageBufferBindingSize / 4);
  const align = Math.max(4, rt.limits.minStorageBufferOffsetAlignment / 4);
  const ea = extent(p.offA, p.sa, [b0, m0, 0], [b1, m1, p.K]);
  const eb = extent(p.offB, p.sb, [b0, 0, n0], [b1, p.K, n1]);
  const eo = extent(0, [p.M * p.N, p.N, 1], [b0, m0, n0], [b1, m1, n1]);
  const win = (e: [number, number]) => {
    // Sizes rounded up to whole vec4s (buffers are allocated in multiples of 16 bytes), so that
    // a vec4 binding's arrayLength covers the last partial vec4.
    const base = Math.floor(e[0] / align) * align;
    return { base, size: Math.ceil((e[1] - base) / 4) * 4 };
  };
  const wa = win(ea), wb = win(eb), wo = win(eo);
  if (wa.size > limit || wb.size > limit || wo.size > limit) {
    if (b1 - b0 > 1) {
      const h = b0 + Math.ceil((b1 - b0) / 2);
      split(rt, variant, a, b, out, p, b0, h, m0, m1, n0, n1);
      split(rt, variant, a, b, out, p, h, b1, m0, m1, n0, n1);
    } else if ((wa.size > limit || wo.size > limit) && m1 - m0 > 1) {
      const h = m0 + Math.ceil((m1 - m0) / 2);
      split(rt, variant, a, b, out, p, b0, b1, m0, h, n0, n1);
      split(rt, variant, a, b, out, p, b0, b1, h, m1, n0, n1);
    } else if (n1 - n0 > 1) {
      const h = n0 + Math.ceil((n1 - n0) / 2);
      split(rt, variant, a, b, out, p, b0, b1, m0, m1, n0, h);
      split(rt, variant, a, b, out, p, b0, b1, m0, m1, h, n1);
    } else {
      throw new RangeError(`matmul: one row of A or column of B (K = ${p.K}) exceeds the storage binding limit`);
    }
    return;
  }
  const sub: Problem = {
    B: b1 - b0,
    M: m1 - m0,
    N: n1 - n0,
    K: p.K,
    offA: ea[0] - wa.base,
    sa: p.sa,
    offB: eb[0] - wb.base,
    sb: p.sb,
  };
  const bindings: Binding[] = [
    { storage: a, offset: wa.base, size: wa.size },
    { storage: b, offset: wb.base, size: wb.size },
    { storage: out, offset: wo.base, size: wo.size },
  ];
  run(rt, variant, sub, bindings, eo[0] - wo.base, p.M * p.N, p.N);
}

function run(rt: GpuRuntime, variant: Exclude<MatmulVariant, 'auto'>, p: Problem, bindings: Binding[], offO: number, sob: number, som: number): void {
  const { B, M, N, K } = p;
  let pipeline: GPUComputePipeline;
  let tileM: number, tileN: number;
  const extra: number[] = [];
  if (variant === 'tiled') {
    pipeline = rt.pipeline('matmul_tiled', () => shader('matmul_tiled'));
    extra.push(p.sa[2] === 1 ? 1 : 0, p.sb[2] === 1 || p.sb[1] !== 1 ? 1 : 0, 0, 0);
    tileM = 64;
    tileN = 64;
  } else {
    const sg = variant === 'rb-sg';
    // Small problems (<= 2^20 multiply-adds, well under a millisecond) all share the 8-row
    // scalar-load pipeline: every specialization costs seconds of compilation on lavapipe.
    const small = B * M * N * K <= SMALL;
    const R = small ? 8 : rbRows(sg, M);
    const la = small ? 'gen' : classifyA(p), lb = small ? 'gen' : classifyB(p);
    pipeline = rt.pipeline(`matmul_rb:${sg ? 'sg' : 'plain'}:${R}:${la}:${lb}`, () => rbSource(sg, R, la, lb));
    tileM = R;
    tileN = 32;
  }
  const ntn = Math.ceil(N / tileN), ntm = Math.ceil(M / tileM);
  const total = ntn * ntm * B;
  if (total > 2 ** 32 - 1) throw new RangeError(`matmul: ${total} workgroups exceed the u32 grid index`);
  const u = [M, N, K, Math.ceil(K / 4), ntn, ntm, total, 0, p.offA, p.sa[0], p.sa[1], p.sa[2], p.offB, p.sb[0], p.sb[1], p.sb[2], offO, sob, som, 0, ...extra];
  rt.dispatch('matmul', pipeline, bindings, { u }, total);
}
