/**
 * ResEmoteNet end to end at one geometry (a "suite": full width at 64x64, or width 1/4 at 48x48):
 * this library on WebGPU (inference at several batches in eval mode under no_grad, and a training
 * step: forward, cross-entropy, backward, SGD with momentum), and with `peers` the same network
 * with the same weights in TensorFlow.js 4.22 on the same adapter (webgpu backend), on its wasm
 * backend (SIMD), and on its cpu backend against this library's CPU reference at batch 1. Engines
 * at the same configuration run alternately (A B C A B C) after each one's cold run and the
 * warm-ups (bench/model_config.ts). PyTorch, a separate process, is bench/torch_peer.ts.
 */
import type { Tensor } from '../src/tensor/tensor.js';
import type { Module } from '../src/nn/module.js';
import { errorMessage, now, randomArray, randomInts } from './harness.js';
import { compareLogits, finiteCheck, lossCheck, nchwToNhwc } from './model_checks.js';
import { runConfig, type EngineRun } from './model_config.js';
import { paramCount, paramSpecs, type Geometry } from './shapes.js';
import { buildTfResEmoteNet, type TF, type TfResEmoteNet, type TfWeightSource } from './tfjs_model.js';
import { loadTfjs, type TfEnv } from './tfjs_env.js';
import { demoUnsplit } from './tfjs_unsplit.js';
import { loadTfjsWasm, type WasmInfo } from './tfjs_wasm.js';
import type { ModelResult, PairResult, ParamCounts, SkippedPeer, SuiteName } from './types.js';

export interface ModelBenchOptions {
  /** The suite's name, recorded with its parameter counts and used in tfjs variable names. */
  suite: SuiteName;
  geometry: Geometry;
  batches: number[];
  trainBatch: number;
  runs: number;
  warmup: number;
  /** Run the tfjs peers (and this library's CPU reference) too. */
  peers: boolean;
  /** With `peers`: run tfjs's wasm backend at `wasmBatches`. */
  wasm: boolean;
  /** Counted runs of the slow CPU pair (batch 1). */
  cpuRuns: number;
  /** Inference batches at which tfjs-webgpu runs too (a subset of `batches`). */
  peerBatches: number[];
  /** Inference batches at which tfjs-wasm runs too (a subset of `batches`). */
  wasmBatches: number[];
  /** A configuration whose slowest cold run exceeds `slowMs` gets no warm-up and `slowRuns` counted runs. */
  slowMs: number;
  slowRuns: number;
  log: (s: string) => void;
  notes: string[];
  /** Peers that could not run are added here (once per engine and reason). */
  skipped: SkippedPeer[];
}

export interface ModelBenchResult {
  model: ModelResult[];
  pairs: PairResult[];
  params: ParamCounts;
  tfjsVersion?: string;
  wasm?: WasmInfo;
}

/** The library, loaded lazily (once) so a module that fails to load only fails this section. */
let libPromise: ReturnType<typeof importLib> | null = null;
async function importLib() {
  const [core, modelMod, sgdMod, moduleMod, wgpu] = await Promise.all([
    import('../src/tensor/index.js'),
    import('../src/resemotenet/model.js'),
    import('../src/nn/optim/sgd.js'),
    import('../src/nn/module.js'),
    import('../src/kernels/webgpu/index.js'),
  ]);
  return { ...core, ResEmoteNet: modelMod.ResEmoteNet, SGD: sgdMod.SGD, num_parameters: moduleMod.num_parameters, webgpuRuntime: wgpu.webgpuRuntime };
}
type Lib = Awaited<ReturnType<typeof importLib>>;

/** One timed inference of this library's model (eval, no_grad, tidy) up to the logits' readback; keeps them as 'ours' in `outs`. */
function timedInference(L: Lib, m: Module<[Tensor], Tensor>, x: Tensor, outs: Map<string, Float32Array>): () => Promise<number> {
  return async () => {
    const t0 = now();
    const y = L.tidy(() => L.no_grad(() => m.call(x) as Tensor));
    const d = (await y.data()) as Float32Array;
    const el = now() - t0;
    y.dispose();
    outs.set('ours', d);
    return el;
  };
}

const once = (list: string[], line: string) => {
  if (!list.includes(line)) list.push(line);
};
const skip = (o: ModelBenchOptions, engine: SkippedPeer['engine'], reason: string) => {
  if (!o.skipped.some((s) => s.engine === engine && s.reason === reason)) o.skipped.push({ engine, reason });
};

/**
 * Runs one suite: this library's model (and with `peers` the tfjs peers) at the suite's geometry.
 * Failures of a peer become notes or error records; they never abort the suite.
 */
export async function runModelBench(o: ModelBenchOptions): Promise<ModelBenchResult> {
  const g = o.geometry;
  const res: ModelBenchResult = { model: [], pairs: [], params: { suite: o.suite, width: g.width, expected: paramCount(g) } };
  const S = g.size;
  const log = o.log;
  const base = { width: g.width, size: g.size };

  let lib: Lib | null = null;
  try {
    lib = await (libPromise ??= importLib());
  } catch (e) {
    once(o.notes, `this library's model could not be loaded: ${errorMessage(e)}`);
  }
  let tfe: TfEnv | null = null;
  if (o.peers) {
    try {
      tfe = await loadTfjs();
      res.tfjsVersion = tfe.version;
      if (!tfe.device) skip(o, 'tfjs-webgpu', 'the tfjs webgpu backend did not start');
    } catch (e) {
      for (const engine of ['tfjs-webgpu', 'tfjs-wasm', 'tfjs-cpu'] as const) skip(o, engine, `tfjs could not be loaded: ${errorMessage(e)}`);
    }
  }
  const tf: TF | null = tfe?.tf ?? null;
  let wasm: WasmInfo | null = null;
  if (tf && o.wasm && o.wasmBatches.length) {
    try {
      wasm = await loadTfjsWasm(tf);
      res.wasm = wasm;
      once(o.notes, wasm.note);
    } catch (e) {
      skip(o, 'tfjs-wasm', errorMessage(e));
    }
  }

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
        o.notes.push(`ResEmoteNet(width ${g.width}) built on cpu then moved (initializing on webgpu failed: ${errorMessage(e)})`);
        lib.manual_seed(0);
        model = new lib.ResEmoteNet({ width: g.width }).to('webgpu');
      }
      await be.sync();
      log(`  built ResEmoteNet(width ${g.width}) on webgpu in ${((now() - t0) / 1000).toFixed(1)} s`);
      model.eval();
      res.params.ours = lib.num_parameters(model);
    } catch (e) {
      o.notes.push(`ResEmoteNet(width ${g.width}) on webgpu failed to build: ${errorMessage(e)}`);
      model = null;
    }
  }

  // ---------------- the same network in tfjs, with the same weights ----------------
  let sources: TfWeightSource[] | null = null;
  let sharedWeights = false;
  let tfm: TfResEmoteNet | null = null;
  let tfmWasm: TfResEmoteNet | null = null;
  if (tfe && tf) {
    try {
      sources = paramSpecs(g).map((spec) => ({ spec }));
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
        if (missing) o.notes.push(`tfjs weights (width ${g.width}): ${missing} of ${sources.length} tensors not found in this library's state_dict; random values used, outputs not compared`);
      }
    } catch (e) {
      o.notes.push(`tfjs weights (width ${g.width}) could not be copied: ${errorMessage(e)}`);
      sources = null;
    }
  }
  if (tfe?.device && tf && sources) {
    try {
      await tfe.use('webgpu');
      const maxBinding = tfe.device.limits.maxStorageBufferBindingSize;
      tfm = buildTfResEmoteNet(tf, sources, { maxBindingBytes: maxBinding, namePrefix: `gpu/${o.suite}/` });
      res.params.tfjs = tfm.paramCount;
      for (const [k, n] of Object.entries(tfm.split)) {
        const bytes = paramSpecs(g).find((s) => s.name === k)!.shape.reduce((a, b) => a * b, 4);
        o.notes.push(`tfjs-webgpu (width ${g.width}): ${k} (${(bytes / 2 ** 20).toFixed(0)} MiB) is held as ${n} chunks along the output channels (same math and parameter count), because one binding may not exceed maxStorageBufferBindingSize (${maxBinding / 2 ** 20} MiB)`);
      }
      if (Object.keys(tfm.split).length) {
        // The demo's errors are expected and reported in its own note, not among the run's errors.
        const before = new Map(tfe.errors);
        await demoUnsplit(tfe, g, o.notes);
        for (const k of [...tfe.errors.keys()]) if (!before.has(k)) tfe.errors.delete(k);
        for (const [k, n] of before) tfe.errors.set(k, n);
      }
    } catch (e) {
      o.notes.push(`tfjs-webgpu model (width ${g.width}) failed to build: ${errorMessage(e)}`);
      tfm = null;
    }
  }
  if (wasm && tfe && tf && sources) {
    try {
      await tfe.use('wasm');
      tfmWasm = buildTfResEmoteNet(tf, sources, { maxBindingBytes: Infinity, namePrefix: `wasm/${o.suite}/` });
      res.params.tfjs ??= tfmWasm.paramCount;
    } catch (e) {
      o.notes.push(`tfjs-wasm model (width ${g.width}) failed to build: ${errorMessage(e)}`);
      tfmWasm = null;
    } finally {
      await tfe.use(tfe.device ? 'webgpu' : 'cpu').catch(() => undefined);
    }
  }
  const p = res.params;
  if (p.ours !== undefined && p.ours !== p.expected) o.notes.push(`parameter count (width ${g.width}): this library ${p.ours} != expected ${p.expected}`);
  if (p.tfjs !== undefined && p.tfjs !== p.expected) o.notes.push(`parameter count (width ${g.width}): tfjs ${p.tfjs} != expected ${p.expected}`);

  const rt = lib && model ? lib.webgpuRuntime() : null;
  const refOut = new Map<number, Float32Array>();

  // ---------------- inference ----------------
  for (const B of o.batches) {
    const host = randomArray(B * 3 * S * S, 100 + B);
    log(`  inference width ${g.width} ${S}x${S} batch ${B}`);
    const cleanup: (() => void)[] = [];
    const outs = new Map<string, Float32Array>();
    const ours: EngineRun = { result: { engine: 'ours-webgpu', mode: 'infer', batch: B, ...base }, fn: null, who: 'ours' };
    if (lib && model) {
      const L = lib, m = model;
      const x = L.tensor(host, { shape: [B, 3, S, S], device: 'webgpu' });
      cleanup.push(() => x.dispose());
      ours.fn = timedInference(L, m, x, outs);
      if (rt) ours.after = (r) => void (r.peakBytes = rt.peakBytes);
    }
    const tfErrs: string[] = [];
    const gpuPeer: EngineRun = { result: { engine: 'tfjs-webgpu', mode: 'infer', batch: B, ...base }, fn: null, who: 'tfjs' };
    if (tfe && tf && tfm && o.peerBatches.includes(B)) {
      const T = tf, M = tfm, E = tfe;
      await E.use('webgpu');
      const tx = T.tensor4d(nchwToNhwc(host, B, 3, S, S), [B, S, S, 3]);
      cleanup.push(() => tx.dispose());
      gpuPeer.fn = async () => {
        await E.use('webgpu');
        const { value, errors } = await E.scoped(async () => {
          const t0 = now();
          const y = T.tidy(() => M.forward(tx, false));
          const d = (await y.data()) as Float32Array;
          const el = now() - t0;
          y.dispose();
          outs.set('tfjs', d);
          return el;
        });
        tfErrs.push(...errors);
        return value;
      };
      gpuPeer.after = async (r) => {
        await E.use('webgpu');
        r.peakBytes = E.gpuBytesAllocated();
      };
    }
    const wasmPeer: EngineRun = { result: { engine: 'tfjs-wasm', mode: 'infer', batch: B, ...base, threads: wasm?.threads }, fn: null, who: 'wasm' };
    if (tfe && tf && tfmWasm && o.wasmBatches.includes(B)) {
      const T = tf, M = tfmWasm, E = tfe;
      await E.use('wasm');
      const tx = T.tensor4d(nchwToNhwc(host, B, 3, S, S), [B, S, S, 3]);
      await E.use(E.device ? 'webgpu' : 'cpu');
      cleanup.push(() => tx.dispose());
      wasmPeer.fn = async () => {
        await E.use('wasm');
        const t0 = now();
        const y = T.tidy(() => M.forward(tx, false));
        const d = (await y.data()) as Float32Array;
        const el = now() - t0;
        y.dispose();
        outs.set('wasm', d);
        return el;
      };
    }
    await runConfig(o, res, [ours, gpuPeer, wasmPeer], () => {
      const c = new Map<string, string>();
      const mine = outs.get('ours') ?? null;
      if (mine) c.set('ours', finiteCheck(mine));
      for (const who of ['tfjs', 'wasm']) {
        const theirs = outs.get(who);
        if (!theirs) continue;
        let s = finiteCheck(theirs);
        if (sharedWeights && mine) s += `; ${compareLogits('tfjs - ours', mine, theirs)}`;
        if (who === 'tfjs' && tfErrs.length) s += `; ${tfErrs.length} WebGPU errors: ${tfErrs[0]}`;
        c.set(who, s);
      }
      return c;
    }, () => {
      if (rt) rt.peakBytes = rt.liveBytes;
    });
    const mine = outs.get('ours');
    if (mine) refOut.set(B, mine);
    for (const f of cleanup) f();
    if (tfe) await tfe.use(tfe.device ? 'webgpu' : 'cpu').catch(() => undefined);
  }

  // ---------------- batch 1 on the CPUs: tfjs cpu vs this library's CPU reference ----------------
  if (o.peers && tfe && tf && sources) await cpuPair(o, res, lib, model, tfe, sources, sharedWeights, refOut.get(1) ?? null);

  // ---------------- training step ----------------
  await trainingStep(o, res, lib, model, be, tfe, tfm);

  tfm?.dispose();
  tfmWasm?.dispose();
  if (model) for (const t of [...model.parameters(), ...model.buffers()]) t.dispose();
  if (tfe && tfe.errors.size) {
    for (const [m, n] of tfe.errors) once(o.notes, `tfjs WebGPU error x${n}: ${m}`);
  }
  return res;
}

/** tfjs's cpu backend against this library's CPU reference, inference at batch 1, same weights and input. */
async function cpuPair(
  o: ModelBenchOptions,
  res: ModelBenchResult,
  lib: Lib | null,
  model: Module | null,
  tfe: TfEnv,
  sources: TfWeightSource[],
  sharedWeights: boolean,
  gpuRef: Float32Array | null,
): Promise<void> {
  const g = o.geometry;
  const S = g.size;
  const base = { width: g.width, size: g.size };
  o.log(`  inference width ${g.width} ${S}x${S} batch 1 on the CPU (tfjs cpu vs this library's CPU reference)`);
  let tfmCpu: TfResEmoteNet | null = null;
  let movedToCpu = false;
  try {
    const host = randomArray(3 * S * S, 101);
    const outs = new Map<string, Float32Array>();
    const ours: EngineRun = { result: { engine: 'ours-cpu', mode: 'infer', batch: 1, ...base }, fn: null, who: 'ours' };
    const theirs: EngineRun = { result: { engine: 'tfjs-cpu', mode: 'infer', batch: 1, ...base }, fn: null, who: 'tfjs' };
    if (lib && model) {
      const L = lib, m = model;
      await m.toAsync('cpu');
      movedToCpu = true;
      const x = L.tensor(host, { shape: [1, 3, S, S], device: 'cpu' });
      ours.fn = timedInference(L, m, x, outs);
    }
    await tfe.use('cpu');
    const { tf } = tfe;
    tfmCpu = buildTfResEmoteNet(tf, sources, { maxBindingBytes: Infinity, namePrefix: `cpu/${o.suite}/` });
    const M = tfmCpu;
    const tx = tf.tensor4d(nchwToNhwc(host, 1, 3, S, S), [1, S, S, 3]);
    theirs.fn = async () => {
      const t0 = now();
      const y = tf.tidy(() => M.forward(tx, false));
      const d = (await y.data()) as Float32Array;
      const el = now() - t0;
      y.dispose();
      outs.set('tfjs', d);
      return el;
    };
    await runConfig({ ...o, runs: o.cpuRuns, warmup: 0, slowRuns: Math.min(o.slowRuns, o.cpuRuns) }, res, [ours, theirs], () => {
      const c = new Map<string, string>();
      const mine = outs.get('ours') ?? null;
      const t = outs.get('tfjs') ?? null;
      if (mine) c.set('ours', `${finiteCheck(mine)}${gpuRef ? `; ${compareLogits('cpu - webgpu', gpuRef, mine)}` : ''}`);
      if (t) c.set('tfjs', `${finiteCheck(t)}${sharedWeights && mine ? `; ${compareLogits('tfjs - ours', mine, t)}` : ''}`);
      return c;
    });
    tx.dispose();
  } catch (e) {
    o.notes.push(`cpu pair (width ${g.width}) failed: ${errorMessage(e)}`);
  } finally {
    tfmCpu?.dispose();
    await tfe.use(tfe.device ? 'webgpu' : 'cpu').catch(() => undefined);
    if (movedToCpu && model) model.to('webgpu');
  }
}

/** A training step of this library against tfjs-webgpu (same weights, input and labels). */
async function trainingStep(
  o: ModelBenchOptions,
  res: ModelBenchResult,
  lib: Lib | null,
  model: Module | null,
  be: ReturnType<Lib['getBackend']> | null,
  tfe: TfEnv | null,
  tfm: TfResEmoteNet | null,
): Promise<void> {
  const g = o.geometry;
  const S = g.size;
  const B = o.trainBatch;
  const base = { width: g.width, size: g.size };
  o.log(`  training step width ${g.width} ${S}x${S} batch ${B}`);
  const host = randomArray(B * 3 * S * S, 200 + B);
  const labels = randomInts(B, g.classes, 201);
  let oursLoss = NaN;
  let theirLoss = NaN;
  let breakdown: (() => Promise<string>) | null = null;
  const ours: EngineRun = { result: { engine: 'ours-webgpu', mode: 'train', batch: B, ...base }, fn: null, who: 'ours' };
  const theirs: EngineRun = { result: { engine: 'tfjs-webgpu', mode: 'train', batch: B, ...base }, fn: null, who: 'tfjs' };
  const cleanup: (() => void)[] = [];
  const rt = lib && model ? lib.webgpuRuntime() : null;
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
        // The momentum buffers (as large as the model) are freed before the next suite.
        for (const st of opt.state.values()) for (const v of Object.values(st)) if (v && typeof v === 'object' && 'dispose' in v) (v as Tensor).dispose();
        opt.state.clear();
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
      ours.fn = async () => {
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
      if (rt) ours.after = (r) => void (r.peakBytes = rt.peakBytes);
    } catch (e) {
      ours.result.error = errorMessage(e);
    }
  }
  const tfErrs: string[] = [];
  if (tfe?.device && tfm) {
    const T = tfe.tf, M = tfm, E = tfe, dev = tfe.device;
    await E.use('webgpu');
    const tx = T.tensor4d(nchwToNhwc(host, B, 3, S, S), [B, S, S, 3]);
    const ty = T.tensor1d(labels, 'int32');
    cleanup.push(() => {
      tx.dispose();
      ty.dispose();
    });
    theirs.fn = async () => {
      await E.use('webgpu');
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
    theirs.after = (r) => void (r.peakBytes = E.gpuBytesAllocated());
  }
  await runConfig(o, res, [ours, theirs], () => {
    const c = new Map<string, string>();
    if (ours.fn) c.set('ours', lossCheck(oursLoss));
    if (theirs.fn) c.set('tfjs', `${lossCheck(theirLoss)}${tfErrs.length ? `; ${tfErrs.length} WebGPU errors: ${tfErrs[0]}` : ''}`);
    return c;
  }, () => {
    if (rt) rt.peakBytes = rt.liveBytes;
  });
  if (breakdown && !ours.result.error && res.model.includes(ours.result)) {
    try {
      ours.result.breakdown = await breakdown();
      o.log(`    ${ours.result.breakdown}`);
    } catch (e) {
      ours.result.breakdown = `failed: ${errorMessage(e)}`;
    }
  }
  for (const c of cleanup) c();
  model?.eval();
}
