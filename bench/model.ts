/**
 * ResEmoteNet end to end: this library on WebGPU (inference at several batches in eval mode under
 * no_grad, and a training step: forward, cross-entropy, backward, SGD with momentum), and with
 * `peers` TensorFlow.js 4.22 on the same adapter running the same network (same weights), the
 * tfjs `cpu` backend and this library's CPU reference at batch 1. Two engines at the same
 * configuration run alternately (A B A B) after one cold run and the warm-ups.
 */
import type { Tensor } from '../src/tensor/tensor.js';
import type { Module } from '../src/nn/module.js';
import { alternate, errorMessage, now, randomArray, randomInts, repeat, round, type Alternated, type Stats } from './harness.js';
import { paramCount, paramSpecs, type Geometry } from './shapes.js';
import { buildTfResEmoteNet, type TF, type TfResEmoteNet, type TfWeightSource } from './tfjs_model.js';
import { loadTfjs, type TfEnv } from './tfjs_env.js';
import type { Engine, ModelResult, PairResult } from './types.js';

export interface ModelBenchOptions {
  geometry: Geometry;
  batches: number[];
  trainBatch: number;
  runs: number;
  warmup: number;
  /** Run the tfjs peers (and this library's CPU reference) too. */
  peers: boolean;
  /** Counted runs of the slow CPU pair (batch 1). */
  cpuRuns: number;
  /** Inference batches at which tfjs-webgpu runs too (a subset of `batches`). */
  peerBatches: number[];
  /** A configuration whose slowest cold run exceeds `slowMs` gets no warm-up and `slowRuns` counted runs. */
  slowMs: number;
  slowRuns: number;
  log: (s: string) => void;
  notes: string[];
}

export interface ModelBenchResult {
  model: ModelResult[];
  pairs: PairResult[];
  params: { ours?: number; tfjs?: number; expected: number };
  tfjsVersion?: string;
}

/** The library, loaded lazily so a module that fails to load only fails this section. */
async function loadLib() {
  const [core, modelMod, sgdMod, moduleMod, wgpu] = await Promise.all([
    import('../src/tensor/index.js'),
    import('../src/resemotenet/model.js'),
    import('../src/nn/optim/sgd.js'),
    import('../src/nn/module.js'),
    import('../src/kernels/webgpu/index.js'),
  ]);
  return { ...core, ResEmoteNet: modelMod.ResEmoteNet, SGD: sgdMod.SGD, num_parameters: moduleMod.num_parameters, webgpuRuntime: wgpu.webgpuRuntime };
}
type Lib = Awaited<ReturnType<typeof loadLib>>;

function nchwToNhwc(a: Float32Array, N: number, C: number, H: number, W: number): Float32Array {
  const o = new Float32Array(a.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) o[((n * H + h) * W + w) * C + c] = a[((n * C + c) * H + h) * W + w]!;
  return o;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return a.length === b.length ? m : NaN;
}
const maxAbs = (a: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
};
const allFinite = (a: ArrayLike<number>) => {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
};

/** Compares logits of two engines: relative to the largest logit. */
function compare(name: string, a: ArrayLike<number> | null, b: ArrayLike<number> | null): string {
  if (!a || !b) return '';
  const d = maxAbsDiff(a, b);
  const rel = d / Math.max(1e-6, maxAbs(a));
  return `max |${name}| ${d.toExponential(2)} (rel ${rel.toExponential(1)})${rel > 1e-2 ? ' MISMATCH' : ''}`;
}

export async function runModelBench(o: ModelBenchOptions): Promise<ModelBenchResult> {
  const res: ModelBenchResult = { model: [], pairs: [], params: { expected: paramCount(o.geometry) } };
  const g = o.geometry;
  const S = g.size;
  const log = o.log;

  let lib: Lib | null = null;
  try {
    lib = await loadLib();
  } catch (e) {
    o.notes.push(`this library's model could not be loaded: ${errorMessage(e)}`);
  }
  let tfe: TfEnv | null = null;
  if (o.peers) {
    try {
      tfe = await loadTfjs();
      res.tfjsVersion = tfe.version;
      if (!tfe.device) o.notes.push('tfjs: the webgpu backend did not start; only the cpu peer ran');
    } catch (e) {
      o.notes.push(`tfjs could not be loaded: ${errorMessage(e)}`);
    }
  }
  const tf: TF | null = tfe?.tf ?? null;

  // ---------------- this library's model on WebGPU ----------------
  let model: Module | null = null;
  let be: ReturnType<Lib['getBackend']> | null = null;
  if (lib) {
    try {
      be = lib.getBackend('webgpu');
      lib.manual_seed(0);
      const t0 = now();
      try {
        model = new lib.ResEmoteNet({ width: g.width, device: 'webgpu' });
      } catch (e) {
        o.notes.push(`ResEmoteNet built on cpu then moved (initializing on webgpu failed: ${errorMessage(e)})`);
        lib.manual_seed(0);
        model = new lib.ResEmoteNet({ width: g.width }).to('webgpu');
      }
      await be.sync();
      log(`  built ResEmoteNet(width ${g.width}) on webgpu in ${((now() - t0) / 1000).toFixed(1)} s`);
      model.eval();
      res.params.ours = lib.num_parameters(model);
    } catch (e) {
      o.notes.push(`ResEmoteNet on webgpu failed to build: ${errorMessage(e)}`);
      model = null;
    }
  }

  // ---------------- the same network in tfjs, with the same weights ----------------
  let sources: TfWeightSource[] | null = null;
  let sharedWeights = false;
  let tfm: TfResEmoteNet | null = null;
  if (tfe?.device && tf) {
    try {
      const specs = paramSpecs(g);
      sources = specs.map((spec) => ({ spec }));
      if (model) {
        const sd = model.state_dict();
        let missing = 0;
        for (const s of sources) {
          const t = sd[s.spec.name];
          if (t && t.shape.join() === s.spec.shape.join()) s.data = (await t.data()) as Float32Array;
          else missing++;
        }
        for (const t of Object.values(sd)) t.dispose();
        sharedWeights = missing === 0;
        if (missing) o.notes.push(`tfjs weights: ${missing} of ${sources.length} tensors not found in this library's state_dict; random values used, outputs not compared`);
      }
      await tfe.use('webgpu');
      const maxBinding = tfe.device.limits.maxStorageBufferBindingSize;
      tfm = buildTfResEmoteNet(tf, sources, { maxBindingBytes: maxBinding, namePrefix: 'gpu/' });
      res.params.tfjs = tfm.paramCount;
      for (const [k, n] of Object.entries(tfm.split)) {
        o.notes.push(`tfjs-webgpu: ${k} (${(paramSpecs(g).find((s) => s.name === k)!.shape.reduce((a, b) => a * b, 4) / 2 ** 20).toFixed(0)} MiB) is held as ${n} chunks along the output channels (same math and parameter count), because one binding may not exceed maxStorageBufferBindingSize (${maxBinding / 2 ** 20} MiB)`);
      }
      if (Object.keys(tfm.split).length) {
        // The demo's errors are expected and reported in its own note, not among the run's errors.
        const before = new Map(tfe.errors);
        await demoUnsplit(tfe, g, o.notes);
        for (const k of [...tfe.errors.keys()]) if (!before.has(k)) tfe.errors.delete(k);
        for (const [k, n] of before) tfe.errors.set(k, n);
      }
    } catch (e) {
      o.notes.push(`tfjs-webgpu model failed to build: ${errorMessage(e)}`);
      tfm = null;
    }
  }
  if (res.params.ours !== undefined && res.params.ours !== res.params.expected) o.notes.push(`parameter count: this library ${res.params.ours} != expected ${res.params.expected}`);
  if (res.params.tfjs !== undefined && res.params.tfjs !== res.params.expected) o.notes.push(`parameter count: tfjs ${res.params.tfjs} != expected ${res.params.expected}`);

  const rt = lib && model ? lib.webgpuRuntime() : null;
  const refOut = new Map<number, Float32Array>();

  // ---------------- inference ----------------
  for (const B of o.batches) {
    const host = randomArray(B * 3 * S * S, 100 + B);
    log(`  inference batch ${B}`);
    let ours: (() => Promise<number>) | null = null;
    let oursOut: Float32Array | null = null;
    let x: Tensor | null = null;
    const ro: ModelResult = { engine: 'ours-webgpu', mode: 'infer', batch: B };
    if (lib && model) {
      const L = lib, m = model;
      x = L.tensor(host, { shape: [B, 3, S, S], device: 'webgpu' });
      const xx = x;
      ours = async () => {
        const t0 = now();
        const y = L.tidy(() => L.no_grad(() => m.call(xx) as Tensor));
        const d = (await y.data()) as Float32Array;
        const el = now() - t0;
        y.dispose();
        oursOut = d;
        return el;
      };
    }
    let theirs: (() => Promise<number>) | null = null;
    let theirOut: Float32Array | null = null;
    let tx: ReturnType<TF['tensor4d']> | null = null;
    const rtf: ModelResult = { engine: 'tfjs-webgpu', mode: 'infer', batch: B };
    const tfErrs: string[] = [];
    if (tfe && tf && tfm && o.peerBatches.includes(B)) {
      const T = tf, M = tfm, E = tfe;
      tx = T.tensor4d(nchwToNhwc(host, B, 3, S, S), [B, S, S, 3]);
      const xx = tx;
      theirs = async () => {
        const { value, errors } = await E.scoped(async () => {
          const t0 = now();
          const y = T.tidy(() => M.forward(xx, false));
          const d = (await y.data()) as Float32Array;
          const el = now() - t0;
          y.dispose();
          theirOut = d;
          return el;
        });
        tfErrs.push(...errors);
        return value;
      };
    }
    await runConfig(o, res, ro, rtf, ours, theirs, rt, tfe, () => {
      const checks: [string, string][] = [];
      if (oursOut) checks.push(['ours', allFinite(oursOut) ? 'finite' : 'NON-FINITE output']);
      if (theirOut) {
        let c = allFinite(theirOut) ? 'finite' : 'NON-FINITE output';
        if (sharedWeights && oursOut) c += `; ${compare('tfjs - ours', oursOut, theirOut)}`;
        if (tfErrs.length) c += `; ${tfErrs.length} WebGPU errors: ${tfErrs[0]}`;
        checks.push(['tfjs', c]);
      }
      return checks;
    });
    if (oursOut) refOut.set(B, oursOut);
    x?.dispose();
    tx?.dispose();
  }

  // ---------------- batch 1 on the CPUs: tfjs cpu vs this library's CPU reference ----------------
  if (o.peers && tfe && tf && sources) {
    log('  inference batch 1 on the CPU (tfjs cpu vs this library\'s CPU reference)');
    let tfmCpu: TfResEmoteNet | null = null;
    let movedToCpu = false;
    try {
      const host = randomArray(3 * S * S, 101);
      let ours: (() => Promise<number>) | null = null;
      let oursOut: Float32Array | null = null;
      const ro: ModelResult = { engine: 'ours-cpu', mode: 'infer', batch: 1 };
      const rtf: ModelResult = { engine: 'tfjs-cpu', mode: 'infer', batch: 1 };
      if (lib && model) {
        const L = lib, m = model;
        await m.toAsync('cpu');
        movedToCpu = true;
        const x = L.tensor(host, { shape: [1, 3, S, S], device: 'cpu' });
        ours = async () => {
          const t0 = now();
          const y = L.tidy(() => L.no_grad(() => m.call(x) as Tensor));
          const d = (await y.data()) as Float32Array;
          const el = now() - t0;
          y.dispose();
          oursOut = d;
          return el;
        };
      }
      await tfe.use('cpu');
      tfmCpu = buildTfResEmoteNet(tf, sources, { maxBindingBytes: Infinity, namePrefix: 'cpu/' });
      const T = tf, M = tfmCpu;
      const tx = T.tensor4d(nchwToNhwc(host, 1, 3, S, S), [1, S, S, 3]);
      let theirOut: Float32Array | null = null;
      const theirs = async () => {
        const t0 = now();
        const y = T.tidy(() => M.forward(tx, false));
        const d = (await y.data()) as Float32Array;
        const el = now() - t0;
        y.dispose();
        theirOut = d;
        return el;
      };
      await runConfig({ ...o, runs: o.cpuRuns, warmup: 0, slowRuns: Math.min(o.slowRuns, o.cpuRuns) }, res, ro, rtf, ours, theirs, null, null, () => {
        const checks: [string, string][] = [];
        const gpu = refOut.get(1) ?? null;
        if (oursOut) checks.push(['ours', `${allFinite(oursOut) ? 'finite' : 'NON-FINITE output'}${gpu ? `; ${compare('cpu - webgpu', gpu, oursOut)}` : ''}`]);
        if (theirOut) checks.push(['tfjs', `${allFinite(theirOut) ? 'finite' : 'NON-FINITE output'}${sharedWeights && oursOut ? `; ${compare('tfjs - ours', oursOut, theirOut)}` : ''}`]);
        return checks;
      });
      tx.dispose();
    } catch (e) {
      o.notes.push(`cpu pair failed: ${errorMessage(e)}`);
    } finally {
      tfmCpu?.dispose();
      if (tfe.device) await tfe.use('webgpu').catch(() => undefined);
      if (movedToCpu && model) model.to('webgpu');
    }
  }

  // ---------------- training step ----------------
  {
    const B = o.trainBatch;
    log(`  training step batch ${B}`);
    const host = randomArray(B * 3 * S * S, 200 + B);
    const labels = randomInts(B, g.classes, 201);
    let ours: (() => Promise<number>) | null = null;
    let oursLoss = NaN;
    let breakdown: (() => Promise<string>) | null = null;
    const ro: ModelResult = { engine: 'ours-webgpu', mode: 'train', batch: B };
    const rtf: ModelResult = { engine: 'tfjs-webgpu', mode: 'train', batch: B };
    const cleanup: (() => void)[] = [];
    if (lib && model && be) {
      try {
        const L = lib, m = model, bk = be;
        m.train();
        const opt = new L.SGD(m.parameters(), { lr: 0.01, momentum: 0.9 });
        const x = L.tensor(host, { shape: [B, 3, S, S], device: 'webgpu' });
        const t = L.tensor(labels, { shape: [B], dtype: 'int32', device: 'webgpu' });
        cleanup.push(() => {
          x.dispose();
          t.dispose();
          opt.zero_grad();
        });
        // One extra, uncounted step with a wait after each phase: where the time goes.
        breakdown = async () => {
          opt.zero_grad();
          await bk.sync();
          let t0 = now();
          const out = m.call(x) as Tensor;
          const l = L.cross_entropy(out, t);
          await bk.sync();
          const tfw = now() - t0;
          t0 = now();
          l.backward();
          await bk.sync();
          const tb = now() - t0;
          t0 = now();
          opt.step();
          await bk.sync();
          const ts = now() - t0;
          l.dispose();
          out.dispose();
          return `one extra step with a wait after each phase: forward + loss ${tfw.toFixed(0)} ms, backward ${tb.toFixed(0)} ms, SGD step ${ts.toFixed(0)} ms`;
        };
        ours = async () => {
          const t0 = now();
          const loss = L.tidy(() => {
            opt.zero_grad();
            const l = L.cross_entropy(m.call(x) as Tensor, t);
            l.backward();
            opt.step();
            return l;
          });
          const v = await loss.item();
          await bk.sync();
          const el = now() - t0;
          loss.dispose();
          oursLoss = v;
          return el;
        };
      } catch (e) {
        ro.error = errorMessage(e);
      }
    }
    let theirs: (() => Promise<number>) | null = null;
    let theirLoss = NaN;
    const tfErrs: string[] = [];
    if (tfe?.device && tf && tfm) {
      const T = tf, M = tfm, E = tfe, dev = tfe.device;
      const tx = T.tensor4d(nchwToNhwc(host, B, 3, S, S), [B, S, S, 3]);
      const ty = T.tensor1d(labels, 'int32');
      cleanup.push(() => {
        tx.dispose();
        ty.dispose();
      });
      theirs = async () => {
        const { value, errors } = await E.scoped(async () => {
          const t0 = now();
          const loss = M.trainStep(tx, ty);
          const v = (await loss.data())[0]!;
          await dev.queue.onSubmittedWorkDone();
          const el = now() - t0;
          loss.dispose();
          theirLoss = v;
          return el;
        });
        tfErrs.push(...errors);
        return value;
      };
    }
    await runConfig(o, res, ro, rtf, ours, theirs, rt, tfe, () => {
      const checks: [string, string][] = [];
      if (ours) checks.push(['ours', Number.isFinite(oursLoss) ? `loss ${oursLoss.toFixed(3)} (finite)` : `NON-FINITE loss ${oursLoss}`]);
      if (theirs) checks.push(['tfjs', `${Number.isFinite(theirLoss) ? `loss ${theirLoss.toFixed(3)} (finite)` : `NON-FINITE loss ${theirLoss}`}${tfErrs.length ? `; ${tfErrs.length} WebGPU errors: ${tfErrs[0]}` : ''}`]);
      return checks;
    });
    if (breakdown && !ro.error && res.model.includes(ro)) {
      try {
        ro.breakdown = await breakdown();
        o.log(`    ${ro.breakdown}`);
      } catch (e) {
        ro.breakdown = `failed: ${errorMessage(e)}`;
      }
    }
    for (const c of cleanup) c();
    model?.eval();
  }
  tfm?.dispose();
  if (tfe && tfe.errors.size) {
    for (const [m, n] of tfe.errors) o.notes.push(`tfjs WebGPU error x${n}: ${m}`);
  }
  return res;
}

/**
 * One configuration: the cold run of each engine, then warm-ups and counted runs (alternated when
 * both engines run), recording results and the pair.
 */
async function runConfig(
  o: ModelBenchOptions,
  res: ModelBenchResult,
  ra: ModelResult,
  rb: ModelResult,
  a: (() => Promise<number>) | null,
  b: (() => Promise<number>) | null,
  rt: { liveBytes: number; peakBytes: number } | null,
  tfe: TfEnv | null,
  checks: () => [string, string][],
): Promise<void> {
  const B = ra.batch;
  if (rt && ra.engine === 'ours-webgpu') rt.peakBytes = rt.liveBytes;
  // Cold runs first (time to first result, pipeline compilation included).
  const cold = async (r: ModelResult, f: (() => Promise<number>) | null) => {
    if (!f || r.error) return null;
    try {
      r.coldMs = round(await f(), 4);
      return f;
    } catch (e) {
      r.error = errorMessage(e);
      return null;
    }
  };
  const fa = await cold(ra, a);
  const fb = await cold(rb, b);
  // Slow configurations (minutes per run for tfjs on a software adapter) get fewer runs.
  const slowest = Math.max(fa ? ra.coldMs ?? 0 : 0, fb ? rb.coldMs ?? 0 : 0);
  const slow = slowest > o.slowMs && o.slowRuns < o.runs;
  const runs = slow ? o.slowRuns : o.runs;
  const warmup = slow ? 0 : o.warmup;
  if (slow) {
    for (const r of [ra, rb]) r.note = `slow configuration (cold run ${(slowest / 1000).toFixed(0)} s > ${(o.slowMs / 1000).toFixed(0)} s): no warm-up, ${runs} counted runs`;
  }
  let st: { a?: Stats; b?: Stats; alt?: Alternated } = {};
  try {
    if (fa && fb) {
      const alt = await alternate(fa, fb, warmup, runs);
      st = { a: alt.a, b: alt.b, alt };
    } else if (fa) st = { a: await repeat(fa, warmup, runs) };
    else if (fb) st = { b: await repeat(fb, warmup, runs) };
  } catch (e) {
    const msg = errorMessage(e);
    if (fa) ra.error = msg;
    if (fb) rb.error = msg;
  }
  const c = new Map(checks());
  const finish = (r: ModelResult, s: Stats | undefined, f: unknown, who: string) => {
    if (!f && !r.error) return;
    if (s) {
      r.time = s;
      r.imagesPerSec = round((B * 1000) / s.median, 4);
    }
    const chk = c.get(who);
    if (chk) r.check = chk;
    res.model.push(r);
    o.log(`    ${r.engine.padEnd(12)} ${r.error ? `ERROR ${r.error.split('\n')[0]}` : `cold ${r.coldMs?.toFixed(0)} ms, median ${s?.median.toFixed(1)} ms, ${r.imagesPerSec?.toFixed(2)} img/s${chk ? `, ${chk}` : ''}`}`);
  };
  if (rt && ra.engine === 'ours-webgpu' && fa) ra.peakBytes = rt.peakBytes;
  if (tfe && rb.engine === 'tfjs-webgpu' && fb) rb.peakBytes = tfe.gpuBytesAllocated();
  finish(ra, st.a, fa ?? a, 'ours');
  finish(rb, st.b, fb ?? b, 'tfjs');
  if (st.alt && st.a && st.b) {
    res.pairs.push({
      a: ra.engine as Engine,
      b: rb.engine as Engine,
      mode: ra.mode,
      batch: B,
      medianA: round(st.a.median, 4),
      medianB: round(st.b.median, 4),
      ratio: round(st.b.median / st.a.median, 3),
      pairedRatio: round(st.alt.pairedRatio, 3),
    });
  }
}

/**
 * Shows what an unsplit weight over maxStorageBufferBindingSize does in tfjs-webgpu: res_block3's
 * conv2 at its real input (1x1, batch 1), whole weight vs split weight.
 */
async function demoUnsplit(tfe: TfEnv, g: Geometry, notes: string[]): Promise<void> {
  const { tf } = tfe;
  const spec = paramSpecs(g).find((s) => s.name === 'res_block3.conv2.weight');
  if (!spec || !tfe.device) return;
  const [O, I] = spec.shape as [number, number];
  // Both halves are built on the host: slicing a 151 MB tensor in tfjs would itself hit the limit.
  const half = O / 2;
  const a = randomArray(9 * I * half, 4, 0.01);
  const b = randomArray(9 * I * half, 5, 0.01);
  const whole = new Float32Array(9 * I * O);
  for (let r = 0; r < 9 * I; r++) {
    whole.set(a.subarray(r * half, (r + 1) * half), r * O);
    whole.set(b.subarray(r * half, (r + 1) * half), r * O + half);
  }
  const x = tf.tensor4d(randomArray(I, 3), [1, 1, 1, I]);
  const w = tf.tensor4d(whole, [3, 3, I, O]);
  const parts = [tf.tensor4d(a, [3, 3, I, half]), tf.tensor4d(b, [3, 3, I, half])];
  try {
    const unsplit = await tfe.scoped(async () => {
      const y = tf.conv2d(x, w, 1, 1);
      const d = await y.data();
      y.dispose();
      return d;
    });
    const split = await tfe.scoped(async () => {
      const y = tf.concat(parts.map((p) => tf.conv2d(x, p, 1, 1)), 3);
      const d = await y.data();
      y.dispose();
      return d;
    });
    const zeros = unsplit.value.every((v) => v === 0);
    const diff = maxAbsDiff(unsplit.value, split.value);
    notes.push(
      `tfjs-webgpu check of res_block3.conv2 with its ${((9 * I * O * 4) / 2 ** 20).toFixed(0)} MiB weight unsplit: ${unsplit.errors.length} WebGPU validation error(s)${unsplit.errors[0] ? ` ("${unsplit.errors[0]}")` : ''}; output ${zeros ? 'all zeros' : 'non-zero'}, max |unsplit - split| = ${diff.toExponential(2)}; split: ${split.errors.length} errors`,
    );
  } finally {
    x.dispose();
    w.dispose();
    parts.forEach((p) => p.dispose());
  }
}
