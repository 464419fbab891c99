/**
 * ResEmoteNet checkpoints in this library's format, and import of official PyTorch checkpoints.
 *
 * A checkpoint named P is up to three files:
 *  - `P.safetensors`: the model's state_dict (PyTorch's key names, float32, num_batches_tracked int32);
 *  - `P.json`: the sidecar: model config (arch, width, num_classes, class_names in logit order,
 *    image_size, normalisation), and for training checkpoints the epoch, metrics, training
 *    config, optimizer hyperparameters and scalar state, scheduler state, RNG state, data-loader
 *    position, early-stopping counters and the per-epoch history;
 *  - `P.optim.safetensors` (resumable checkpoints only): the optimizer's state tensors, named
 *    `state.<param index>.<name>` (e.g. `state.0.momentum_buffer`).
 * A save is atomic as a set (a kill -9 at any instant leaves the previous or the new checkpoint
 * loadable and resumable): the tensors go to generation files named by the save's random
 * `checkpoint_id`, `P.<id>.safetensors` and `P.<id>.optim.safetensors`, each written atomically
 * (temporary file, fsync, rename); then the sidecar `P.json`, which names them, replaces the
 * previous one with a single rename: that rename is the switch. Only then are `P.safetensors` /
 * `P.optim.safetensors` re-pointed at the new generation (hard links, for tools that read the
 * model file directly) and the previous generation's files removed. The tensor files also carry
 * the `checkpoint_id` in their safetensors `__metadata__`, checked against the sidecar on load.
 * Sidecars written before generation files (model_file `P.safetensors`) load as before.
 *
 * A checkpoint is named on the command line by its sidecar (`P.json`), its model file
 * (`P.safetensors`), or a run directory (its `best.json`, else `last.json`).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { link, mkdir, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Tensor } from '../tensor/tensor.js';
import type { Device } from '../tensor/device.js';
import { save_file, load_file, read_metadata, load_pth, extract_state_dict, writeFileAtomic } from '../nn/serialization/index.js';
import type { Optimizer, OptimizerStateDict, OptimState, ParamGroup } from '../nn/optim/optimizer.js';
import { initWebGPU } from '../kernels/webgpu/index.js';
import { ResEmoteNet, type ResEmoteNetChannels, type WidthRule } from './model.js';
import { inferChannels } from './arch.js';
import { parseCheckpointJson, parseSidecar } from './sidecar.js';
import { EMOTIONS } from './data/labels.js';
import { IMAGENET_MEAN, IMAGENET_STD } from './data/transforms.js';
import { PRETRAINED, pretrainedSidecarPath } from './weights.js';

/** The model's description, stored in every sidecar. */
export interface ModelConfig {
  arch: 'ResEmoteNet';
  width: number;
  num_classes: number;
  /** Class names in logit order. */
  class_names: string[];
  /** Input side in pixels (the transform resizes to image_size x image_size); 64 for the paper. */
  image_size: number;
  channels: 3;
  mean: number[];
  std: number[];
  /**
   * Every layer's channel count, recorded only for a checkpoint whose layers follow no width rule
   * of this library's (read from its shapes by inferChannels, src/resemotenet/arch.ts).
   */
  layer_channels?: ResEmoteNetChannels;
  /** How `width` gives the channel counts when not 'max16' (e.g. 'floor', PyTorch's `c // k`). */
  width_rule?: WidthRule;
}

/** Class-name presets usable wherever class names are asked for. */
export const CLASS_NAME_PRESETS: Readonly<Record<string, readonly string[]>> = {
  /** FER2013's label order (ids 0..6); what `train` produces. */
  fer2013: EMOTIONS,
  /** The order listed by the official repository's evaluation scripts (eval_image.py, eval_livecam.py). */
  official: ['happy', 'surprise', 'sad', 'anger', 'disgust', 'fear', 'neutral'],
};

/**
 * Class names from a preset name (`fer2013`, `official`) or a comma-separated list.
 * @throws RangeError for an empty or duplicated name.
 */
export function parseClassNames(spec: string): string[] {
  const preset = CLASS_NAME_PRESETS[spec.trim().toLowerCase()];
  if (preset) return [...preset];
  const names = spec.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw new RangeError(`class names: empty name in '${spec}' (give a comma-separated list, or a preset: ${Object.keys(CLASS_NAME_PRESETS).join(', ')})`);
  if (new Set(names).size !== names.length) throw new RangeError(`class names: duplicated name in '${spec}'`);
  return names;
}

/** A ModelConfig with defaults (width 1, FER2013 classes, 64x64, ImageNet normalisation). */
export function modelConfig(c: Partial<Omit<ModelConfig, 'arch' | 'channels'>> = {}): ModelConfig {
  const num_classes = c.num_classes ?? c.class_names?.length ?? 7;
  const class_names = c.class_names ? [...c.class_names] : num_classes === 7 ? [...EMOTIONS] : Array.from({ length: num_classes }, (_, i) => `class_${i}`);
  if (class_names.length !== num_classes) throw new RangeError(`model config: ${class_names.length} class names for ${num_classes} classes`);
  return {
    arch: 'ResEmoteNet',
    width: c.width ?? 1,
    num_classes,
    class_names,
    image_size: c.image_size ?? 64,
    channels: 3,
    mean: [...(c.mean ?? IMAGENET_MEAN)],
    std: [...(c.std ?? IMAGENET_STD)],
    ...(c.layer_channels ? { layer_channels: { ...c.layer_channels } } : {}),
    ...(c.width_rule && c.width_rule !== 'max16' ? { width_rule: c.width_rule } : {}),
  };
}

/** The config fields that describe a state dict's architecture, from its shapes (see arch.ts). */
function archConfig(sd: Record<string, Tensor>, widthOverride?: number): Pick<ModelConfig, 'width' | 'num_classes'> & Partial<Pick<ModelConfig, 'layer_channels' | 'width_rule'>> {
  inferArchitecture(sd); // its clear "not a ResEmoteNet state dict" error comes first
  const a = inferChannels(sd);
  if (widthOverride !== undefined) return { width: widthOverride, num_classes: a.num_classes };
  if (a.width_rule === 'max16') return { width: a.width, num_classes: a.num_classes };
  if (a.width_rule) return { width: a.width, num_classes: a.num_classes, width_rule: a.width_rule };
  return { width: a.width, num_classes: a.num_classes, layer_channels: a.channels };
}

/** A new ResEmoteNet (on the cpu) for a config; `dropout` settings only matter for training. */
export function buildModel(cfg: ModelConfig, dropout: { dropout?: number; fc_dropout?: number } = {}): ResEmoteNet {
  return new ResEmoteNet({ width: cfg.width, width_rule: cfg.width_rule, channels: cfg.layer_channels, num_classes: cfg.num_classes, class_names: cfg.class_names, ...dropout });
}

// ------------------------------------------------------------------------------------------ JSON

/** JSON.stringify that keeps non-finite numbers as {"__float__": "inf" | "-inf" | "nan"} (scheduler state has them). */
export function toJson(v: unknown, indent = 2): string {
  return JSON.stringify(
    v,
    (_k, x) => {
      if (typeof x === 'number' && !Number.isFinite(x)) return { __float__: Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf' };
      return x;
    },
    indent,
  );
}

/** The inverse of {@link toJson} (the browser-safe parser of ./sidecar.ts). */
export const fromJson = parseCheckpointJson;

/** Writes text to `file` atomically. */
export async function writeTextAtomic(file: string, text: string): Promise<void> {
  await writeFileAtomic(file, async (fh) => {
    await fh.writeFile(text, 'utf8');
  });
}

// ------------------------------------------------------------------------------------------ files

/** The sidecar of a checkpoint. Fields after `config` are present in training checkpoints. */
export interface Sidecar {
  format: 'resemotenet-checkpoint';
  version: 1;
  /** 'best', 'last', 'imported', or another name. */
  kind: string;
  checkpoint_id: string;
  /** Model file name, relative to the sidecar's folder. */
  model_file: string;
  /** Optimizer-state file name (relative), or null. */
  optimizer_file: string | null;
  created: string;
  config: ModelConfig;
  /** Where an imported checkpoint came from. */
  source?: string;
  [key: string]: unknown;
}

/** The three paths of checkpoint prefix P. */
export function checkpointFiles(prefix: string): { json: string; model: string; optim: string } {
  return { json: `${prefix}.json`, model: `${prefix}.safetensors`, optim: `${prefix}.optim.safetensors` };
}

/**
 * The sidecar path for a user-given checkpoint path: a `.json` as is; `X.safetensors` -> `X.json`;
 * a directory -> its best.json, else last.json (else imported.json / model.json).
 * @throws Error naming the path when nothing usable is there.
 */
export function resolveCheckpointPath(p: string): string {
  if (p === PRETRAINED) {
    const f = pretrainedSidecarPath();
    if (!existsSync(f)) throw new Error(`the shipped weights are missing (${f}); this copy of the package has none: use a checkpoint of your own instead (predict / eval: -c <run folder>, train: --init <run folder>, a program: loadCheckpoint(path))`);
    return f;
  }
  const abs = path.resolve(p);
  if (existsSync(abs) && statSync(abs).isDirectory()) {
    for (const n of ['best.json', 'last.json', 'imported.json', 'model.json']) {
      const f = path.join(abs, n);
      if (existsSync(f)) return f;
    }
    throw new Error(`${abs}: no checkpoint in this folder (expected best.json or last.json, written by \`resemotenet train\`)`);
  }
  if (abs.endsWith('.json')) {
    if (!existsSync(abs)) throw new Error(`${abs}: no such checkpoint sidecar`);
    return abs;
  }
  if (abs.endsWith('.safetensors')) {
    const j = abs.slice(0, -'.safetensors'.length) + '.json';
    if (existsSync(j)) return j;
    if (!existsSync(abs)) throw new Error(`${abs}: no such file`);
    return abs; // a bare safetensors file: config inferred from shapes
  }
  if (existsSync(`${abs}.json`)) return `${abs}.json`;
  throw new Error(`${abs}: not a checkpoint (give a .json sidecar, a .safetensors model or a run folder)`);
}

/** Reads and validates a sidecar (the rules of ./sidecar.ts's parseSidecar). @throws Error naming the file for a missing or malformed one. */
export async function readSidecar(file: string): Promise<Sidecar> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read checkpoint sidecar: ${(e as Error).message}`);
  }
  return parseSidecar(text, file);
}

/**
 * Checks that `tensorFile` was written by the same save as `sidecarFile` (same checkpoint_id).
 * @throws Error explaining the interrupted save otherwise.
 */
export async function checkPair(sidecarFile: string, tensorFile: string, id: string): Promise<void> {
  const meta = await read_metadata(tensorFile);
  const got = meta?.checkpoint_id;
  if (got !== id) {
    throw new Error(
      `${tensorFile} does not belong to ${sidecarFile} (checkpoint_id ${got ?? 'missing'} vs ${id}); the save was interrupted between files: use the other checkpoint (best/last) of the run`,
    );
  }
}

/** What {@link saveCheckpoint} writes. */
export interface SaveCheckpointArgs {
  /** Path prefix P: writes P.safetensors, P.json (and P.optim.safetensors). */
  prefix: string;
  model: ResEmoteNet;
  config: ModelConfig;
  kind: string;
  /** Extra sidecar fields (training state). */
  extra?: Record<string, unknown>;
  /** Saves the optimizer's tensors to P.optim.safetensors and its groups/scalars in the sidecar. */
  optimizer?: Optimizer<ParamGroup> | null;
}

/** The generation files of checkpoint prefix P for save id `id` (see the module comment). */
export function generationFiles(prefix: string, id: string): { model: string; optim: string } {
  return { model: `${prefix}.${id}.safetensors`, optim: `${prefix}.${id}.optim.safetensors` };
}

/**
 * Fault injection for the durability test (tests/resemotenet/durability.test.ts): with
 * RESEMOTENET_CRASH_AT=<kind>:<stage>:<n>, the n-th checkpoint save of kind <kind> ('*': any kind)
 * in this process kills the process (SIGKILL, as a power cut) right after <stage>: model, optim,
 * sidecar, alias or cleanup. Unset (always, outside that test), it does nothing.
 */
let savesSeen = 0;
function crashPoint(kind: string, stage: string, save: number): void {
  const spec = process.env.RESEMOTENET_CRASH_AT;
  if (!spec) return;
  const [k, st, n] = spec.split(':');
  if ((k === '*' || k === kind) && st === stage && save === Number(n)) process.kill(process.pid, 'SIGKILL');
}
function countSave(kind: string): number {
  const k = process.env.RESEMOTENET_CRASH_AT?.split(':')[0];
  if (k === '*' || k === kind) savesSeen++;
  return savesSeen;
}

/** Points `alias` at `target` (a hard link renamed over it); false where links are not possible. */
async function relink(target: string, alias: string): Promise<boolean> {
  const tmp = path.join(path.dirname(alias), `.${path.basename(alias)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await link(target, tmp);
    await rename(tmp, alias);
    return true;
  } catch {
    await unlink(tmp).catch(() => undefined);
    return false;
  }
}

/** The sidecar at `file` if it can be read, else null (no throw: used to find the previous generation). */
async function previousSidecar(file: string): Promise<Sidecar | null> {
  if (!existsSync(file)) return null;
  try {
    return await readSidecar(file);
  } catch {
    return null;
  }
}

/** Saves a checkpoint atomically as a set (see the module comment); returns the sidecar. */
export async function saveCheckpoint(a: SaveCheckpointArgs): Promise<Sidecar> {
  const files = checkpointFiles(a.prefix);
  await mkdir(path.dirname(files.json), { recursive: true });
  const id = randomBytes(8).toString('hex');
  const gen = generationFiles(a.prefix, id);
  const saveNo = countSave(a.kind);
  const prev = await previousSidecar(files.json);
  const meta = { format: 'pt', checkpoint_id: id, arch: 'ResEmoteNet' };
  const sd = a.model.state_dict();
  try {
    await save_file(sd, gen.model, meta);
  } finally {
    for (const t of Object.values(sd)) t.dispose();
  }
  crashPoint(a.kind, 'model', saveNo);
  let optimizerJson: unknown = undefined;
  if (a.optimizer) {
    const { tensors, json } = packOptimizer(a.optimizer);
    await save_file(tensors, gen.optim, meta);
    optimizerJson = json;
    crashPoint(a.kind, 'optim', saveNo);
  }
  const sidecar: Sidecar = {
    format: 'resemotenet-checkpoint',
    version: 1,
    kind: a.kind,
    checkpoint_id: id,
    model_file: path.basename(gen.model),
    optimizer_file: a.optimizer ? path.basename(gen.optim) : null,
    created: new Date().toISOString(),
    config: a.config,
    ...(a.extra ?? {}),
    ...(optimizerJson ? { optimizer_state: optimizerJson } : {}),
  };
  await writeTextAtomic(files.json, toJson(sidecar) + '\n'); // the switch
  crashPoint(a.kind, 'sidecar', saveNo);
  await relink(gen.model, files.model);
  if (a.optimizer) await relink(gen.optim, files.optim);
  else await unlink(files.optim).catch(() => undefined);
  crashPoint(a.kind, 'alias', saveNo);
  if (prev) {
    const dir = path.dirname(files.json);
    const keep = new Set([path.basename(gen.model), path.basename(gen.optim), path.basename(files.model), path.basename(files.optim)]);
    for (const f of [prev.model_file, prev.optimizer_file]) {
      if (f && !keep.has(f) && path.basename(f) === f) await unlink(path.join(dir, f)).catch(() => undefined);
    }
  }
  crashPoint(a.kind, 'cleanup', saveNo);
  return sidecar;
}

/** An optimizer's state_dict split into tensors (for safetensors) and JSON (groups, scalars). */
export function packOptimizer(opt: Optimizer<ParamGroup>): { tensors: Record<string, Tensor>; json: { param_groups: unknown[]; scalars: Record<string, Record<string, number | null>> } } {
  const sd = opt.state_dict();
  const tensors: Record<string, Tensor> = {};
  const scalars: Record<string, Record<string, number | null>> = {};
  for (const [id, st] of Object.entries(sd.state)) {
    for (const [k, v] of Object.entries(st)) {
      if (v !== null && typeof v === 'object') tensors[`state.${id}.${k}`] = v;
      else (scalars[id] ??= {})[k] = v;
    }
  }
  return { tensors, json: { param_groups: sd.param_groups, scalars } };
}

/** Rebuilds the OptimizerStateDict from {@link packOptimizer}'s parts and loads it. */
export function unpackOptimizer(opt: Optimizer<ParamGroup>, json: { param_groups: unknown[]; scalars: Record<string, Record<string, number | null>> }, tensors: Record<string, Tensor>): void {
  const state: Record<number, OptimState> = {};
  for (const [id, sc] of Object.entries(json.scalars ?? {})) state[Number(id)] = { ...(state[Number(id)] ?? {}), ...sc };
  for (const [key, t] of Object.entries(tensors)) {
    const m = /^state\.(\d+)\.(.+)$/.exec(key);
    if (!m) throw new Error(`optimizer state file: unexpected tensor name '${key}'`);
    (state[Number(m[1])] ??= {})[m[2]!] = t;
  }
  opt.load_state_dict({ state, param_groups: json.param_groups } as OptimizerStateDict);
}

/** A loaded checkpoint. */
export interface LoadedCheckpoint {
  /** The sidecar path (or the bare .safetensors path). */
  file: string;
  sidecar: Sidecar;
  model: ResEmoteNet;
  /** The package's shipped weights (`pretrained`). */
  pretrained: boolean;
}

/**
 * Loads a checkpoint's model (strict keys) on `device`. `classNames` names the outputs of a bare
 * `.safetensors` (no sidecar; its config comes from the tensor shapes); a sidecar's own class
 * names win over it (with a warning through `warn`) unless `overrideClassNames` is set, which
 * replaces them (also with a warning): relabelling a trained model's outputs is rarely right.
 * @throws Error for a missing file, a sidecar / tensor-file mismatch, a class-name count that
 * does not match, or a state dict that does not fit.
 */
export async function loadCheckpoint(p: string, opts: { device?: Device; classNames?: string[]; overrideClassNames?: boolean; warn?: (s: string) => void } = {}): Promise<LoadedCheckpoint> {
  const file = resolveCheckpointPath(p);
  let sidecar: Sidecar;
  let modelFile: string;
  if (file.endsWith('.json')) {
    sidecar = await readSidecar(file);
    modelFile = path.join(path.dirname(file), sidecar.model_file);
    if (!existsSync(modelFile)) throw new Error(`${file}: its model file ${modelFile} is missing`);
    await checkPair(file, modelFile, sidecar.checkpoint_id);
  } else {
    modelFile = file;
    sidecar = { format: 'resemotenet-checkpoint', version: 1, kind: 'bare', checkpoint_id: '', model_file: path.basename(file), optimizer_file: null, created: '', config: modelConfig() };
  }
  const sd = await load_file(modelFile);
  try {
    if (file.endsWith('.safetensors')) sidecar.config = modelConfig({ ...archConfig(sd), class_names: opts.classNames });
    const cfg = { ...sidecar.config };
    if (opts.classNames) {
      if (opts.classNames.length !== cfg.num_classes) throw new Error(`${file}: ${opts.classNames.length} class names given for a ${cfg.num_classes}-class model`);
      const differ = JSON.stringify(opts.classNames) !== JSON.stringify(cfg.class_names);
      if (!file.endsWith('.json') || opts.overrideClassNames) {
        if (differ && file.endsWith('.json')) opts.warn?.(`warning: relabelling the outputs of ${file}: its class names ${cfg.class_names.join(',')} are replaced by ${opts.classNames.join(',')} (--override-class-names)`);
        cfg.class_names = [...opts.classNames];
        sidecar.config = cfg;
      } else if (differ) {
        opts.warn?.(`warning: ${file} names its outputs ${cfg.class_names.join(',')}; keeping them and ignoring the given ${opts.classNames.join(',')} (add --override-class-names to relabel)`);
      }
    }
    const model = buildModel(cfg);
    try {
      model.load_state_dict(sd);
    } catch (e) {
      throw new Error(`${modelFile}: ${(e as Error).message}`);
    }
    if (opts.device === 'webgpu') await initWebGPU();
    if (opts.device && opts.device !== 'cpu') model.to(opts.device);
    return { file, sidecar, model, pretrained: p === PRETRAINED || file === pretrainedSidecarPath() };
  } finally {
    for (const t of Object.values(sd)) t.dispose();
  }
}

/**
 * The trained ResEmoteNet that ships with the package (weights/resemotenet: trained by this
 * library on FER2013, see weights/resemotenet/README.md for the recipe and accuracy), in eval
 * mode on `device` (default cpu; call `await initWebGPU()` first for webgpu). Half-precision
 * storage is widened to float32 on load.
 * @throws Error when this copy of the package has no shipped weights.
 */
export async function loadPretrained(opts: { device?: Device } = {}): Promise<LoadedCheckpoint> {
  const ck = await loadCheckpoint(PRETRAINED, opts);
  ck.model.eval();
  return ck;
}

/**
 * Width and class count of a ResEmoteNet state dict, from its shapes: num_classes = rows of
 * fc4.weight; width = out channels of res_block3.conv1 / 2048 (exact for the widths this
 * library builds; verified by the strict load that follows).
 * @throws Error when the keys are not ResEmoteNet's.
 */
export function inferArchitecture(sd: Record<string, Tensor>): { width: number; num_classes: number } {
  const fc4 = sd['fc4.weight'];
  const rb3 = sd['res_block3.conv1.weight'];
  if (!fc4 || !rb3 || fc4.ndim !== 2 || rb3.ndim !== 4) {
    const some = Object.keys(sd).slice(0, 6).join(', ');
    throw new Error(`not a ResEmoteNet state dict: no fc4.weight / res_block3.conv1.weight (keys: ${some}${Object.keys(sd).length > 6 ? ', ...' : ''})`);
  }
  return { num_classes: fc4.shape[0]!, width: rb3.shape[0]! / 2048 };
}

/** Options of {@link importCheckpoint}. */
export interface ImportOptions {
  /** Output prefix P (P.safetensors + P.json), or a directory (-> <dir>/imported). */
  out: string;
  /** Class names in logit order (default FER2013's for 7 classes). */
  classNames?: string[];
  /** Override the inferred width. */
  width?: number;
  /** Input size recorded in the config (default 64). */
  imageSize?: number;
  /** Key of the state dict inside a training checkpoint (default: model_state_dict, state_dict, model). */
  key?: string;
  /** Prefix to strip from every key (e.g. 'module.' from nn.DataParallel). */
  stripPrefix?: string;
}

/**
 * Imports an official-format PyTorch checkpoint (a `.pth` state dict, `{'model_state_dict': ...}`,
 * or a `.safetensors` file) into ResEmoteNet with strict key checking, and saves it in this
 * library's format. Returns the loaded model and the written sidecar.
 * @throws Error listing missing / unexpected / mis-shaped keys (PyTorch's wording).
 */
export async function importCheckpoint(input: string, o: ImportOptions): Promise<{ model: ResEmoteNet; sidecar: Sidecar; prefix: string }> {
  let sd: Record<string, Tensor>;
  const head = Buffer.alloc(8);
  {
    const fh = await (await import('node:fs/promises')).open(input, 'r');
    try {
      await fh.read(head, 0, 8, 0);
    } finally {
      await fh.close();
    }
  }
  const isZipOrPickle = head[0] === 0x50 && head[1] === 0x4b; // zip (torch.save since 1.6)
  const isLegacyPickle = head[0] === 0x80;
  if (input.endsWith('.safetensors') && !isZipOrPickle && !isLegacyPickle) {
    sd = await load_file(input);
  } else {
    const obj = await load_pth(input);
    sd = extract_state_dict(obj, { key: o.key, strip_prefix: o.stripPrefix });
    // Free tensors of the checkpoint that are not the model's (optimizer state, ...).
    const keepSet = new Set(Object.values(sd));
    const visit = (v: unknown, depth: number) => {
      if (depth > 4 || v === null || typeof v !== 'object') return;
      if ('dispose' in v && 'isDisposed' in v) {
        if (!keepSet.has(v as Tensor)) (v as Tensor).dispose();
        return;
      }
      for (const x of Object.values(v)) visit(x, depth + 1);
    };
    visit(obj, 0);
  }
  try {
    const cfg = modelConfig({ ...archConfig(sd, o.width), class_names: o.classNames, image_size: o.imageSize });
    const model = buildModel(cfg);
    try {
      model.load_state_dict(sd, { strict: true });
    } catch (e) {
      throw new Error(`${input}: ${(e as Error).message}`);
    }
    const outAbs = path.resolve(o.out);
    // An existing folder, or a path written with a trailing slash, is a folder (created as needed).
    const asDir = (existsSync(outAbs) && statSync(outAbs).isDirectory()) || /[\\/]$/.test(o.out);
    const prefix = asDir ? path.join(outAbs, 'imported') : outAbs.replace(/\.(json|safetensors)$/, '');
    const sidecar = await saveCheckpoint({ prefix, model, config: cfg, kind: 'imported', extra: { source: path.resolve(input) } });
    return { model, sidecar, prefix };
  } finally {
    for (const t of Object.values(sd)) t.dispose();
  }
}
