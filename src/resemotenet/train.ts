/**
 * Training ResEmoteNet with the official recipe (github.com/ArnabKumarRoy02/ResEmoteNet,
 * train_files/ResEmoteNet_train.py): cross-entropy, SGD lr 0.001, momentum 0.9, weight decay
 * 1e-4, batch 16, up to 80 epochs, Resize 64 + Grayscale(3) + RandomHorizontalFlip + ImageNet
 * Normalize, the best model kept by validation accuracy and early stopping after `patience` (15)
 * epochs without a better one. FER2013's PublicTest is the validation split and PrivateTest the
 * test split, evaluated once with the best checkpoint at the end.
 *
 * Differences from the official script, all deliberate:
 *  - early stopping: stops once `patience` consecutive epochs have not beaten the best
 *    validation accuracy (the script's `patience_counter > patience` runs one epoch more);
 *  - the test split is scored once at the end with the best weights, not every epoch;
 *  - losses are per-sample means (the script averages batch means, which weighs a short last
 *    batch more);
 *  - a training set whose size leaves a last batch of 1 drops it (PyTorch's BatchNorm would
 *    raise "Expected more than 1 value per channel").
 *
 * Everything random is seeded: weights and dropout from the default generator (manual_seed(seed)),
 * the shuffle order and flips from the DataLoader's own Philox stream. Resuming restores the
 * model, optimizer (momentum buffers), scheduler, generator state, loader position (epoch,
 * batch), the running sums of a half-done epoch and the early-stopping counters, so an
 * interrupted run continues with the same numbers as an uninterrupted one.
 */
import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Device } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { default_generator, manual_seed } from '../tensor/random.js';
import { load_file } from '../nn/serialization/index.js';
import { initWebGPU } from '../kernels/webgpu/index.js';
import { CrossEntropyLoss } from '../nn/layers/loss.js';
import type { Optimizer, ParamGroup } from '../nn/optim/optimizer.js';
import { SGD } from '../nn/optim/sgd.js';
import { Adam, AdamW } from '../nn/optim/adam.js';
import { StepLR, CosineAnnealingLR, OneCycleLR, ReduceLROnPlateau, type LRScheduler } from '../nn/optim/lr_scheduler.js';
import type { Module } from '../nn/module.js';
import { ResEmoteNet } from './model.js';
import { DataLoader, type LoaderState } from './data/loader.js';
import { resEmoteNetTransform } from './data/transforms.js';
import { EMOTIONS } from './data/labels.js';
import { argmaxRow } from './metrics.js';
import { buildModel, checkPair, checkpointFiles, modelConfig, readSidecar, resolveCheckpointPath, saveCheckpoint, toJson, unpackOptimizer, writeTextAtomic, type ModelConfig, type Sidecar } from './checkpoint.js';
import { describeSource, hasSplit, loadSplit, resolveDataSource, splitClassNames, type SplitData } from './datasets.js';
import { EvalAborted, evalTransform, evaluateModel, writeEvalOutputs, type EvalResult } from './evaluate.js';
import { trainingCurvesSvg } from './plot.js';
import { cleanRunFolder, existingRunFiles, RunExistsError } from './run_folder.js';
import { applyFreeze, freezeModes, FREEZE_MODES, loadInitWeights, readInitCheckpoint, type FreezeMode, type InitCheckpoint } from './finetune.js';

export type OptimizerName = 'sgd' | 'adam' | 'adamw';
export type SchedulerName = 'none' | 'step' | 'cosine' | 'plateau' | 'onecycle';
/** Named presets of the training settings (see {@link RECIPES}). */
export type RecipeName = 'official' | 'shipped' | 'shipped-2';

/** Every training setting. Defaults: {@link DEFAULT_TRAIN_CONFIG} (the official recipe). */
export interface TrainConfig {
  /** The preset the other settings started from (explicit settings override it). */
  recipe: RecipeName;
  /** FER2013 CSV (.csv / .csv.gz, or a folder holding one) or an ImageFolder root; null: RESEMOTENET_DATA. */
  data: string | null;
  /** Output folder: checkpoints, logs, pictures. */
  out: string;
  /**
   * Fine-tuning: start from this checkpoint (a sidecar, a run folder, or 'pretrained' for the
   * shipped weights); its width, input size and normalisation are used. null: from scratch.
   */
  init: string | null;
  /**
   * Classes of the model: null for FER2013's seven (or, with `init`, the checkpoint's); a list,
   * or 'auto' (the training split's folder names, sorted), for other classes: the data must be an
   * ImageFolder whose folders are these names, and a checkpoint with other classes gets a new head.
   */
  classes: string[] | 'auto' | null;
  /** Which weights stay fixed: 'none', 'features' (train fc1..fc4), 'all-but-head' (train fc4). */
  freeze: FreezeMode;
  epochs: number;
  batchSize: number;
  /** Batch size for validation and test (eval mode; does not change the results). */
  evalBatchSize: number;
  lr: number;
  momentum: number;
  /** SGD: Nesterov momentum. */
  nesterov: boolean;
  weightDecay: number;
  optimizer: OptimizerName;
  /** CrossEntropyLoss label_smoothing in [0, 1). */
  labelSmoothing: number;
  /** Adam/AdamW betas. */
  betas: [number, number];
  scheduler: SchedulerName;
  /** StepLR: epochs per decay. */
  stepSize: number;
  /** StepLR decay factor. */
  gamma: number;
  /** CosineAnnealingLR period (default: epochs). */
  tMax: number | null;
  /** ReduceLROnPlateau (mode max on validation accuracy): patience and factor. */
  plateauPatience: number;
  plateauFactor: number;
  /** OneCycleLR (stepped every batch, `lr` is its max_lr): fraction of the steps spent warming up. */
  pctStart: number;
  /** OneCycleLR: the lr starts at lr / divFactor ... */
  divFactor: number;
  /** ... and ends at lr / divFactor / finalDivFactor. */
  finalDivFactor: number;
  /** Early stopping: epochs without a better validation accuracy (0 disables). */
  patience: number;
  /** Channel-width multiplier (1 = the paper's 80M-parameter model). */
  width: number;
  seed: number;
  /** Input side in pixels (64 as the paper; smaller is faster for tests). */
  imageSize: number;
  /** Horizontal-flip probability of the training transform (0.5). */
  flipProb: number;
  /** Random rotation range in degrees (0: none). */
  rotation: number;
  /** Random zoom range: a factor in [1 - augScale, 1 + augScale] (0: none). */
  augScale: number;
  /** Random shift range, a fraction of the image side (0: none). */
  translate: number;
  /** Dropout after the first two conv stages (the paper: 0.2). */
  dropout: number;
  /** Dropout after fc1..fc3 (the paper: 0.5). */
  fcDropout: number;
  device: Device;
  /** Stop after this many optimizer steps in all (counting resumed ones), or null. */
  maxSteps: number | null;
  /** Stop after this many minutes of this invocation, or null. */
  timeBudgetMin: number | null;
  limitTrain: number | null;
  limitVal: number | null;
  limitTest: number | null;
  trainSplit: string;
  valSplit: string;
  /** Split scored with the best checkpoint at the end (null: none). */
  testSplit: string | null;
  /** Batches prepared ahead on the CPU. */
  prefetch: number;
  /** Skip (and count) malformed CSV rows and unreadable images instead of stopping. */
  skipBadData: boolean;
}

/** The official recipe (see the module comment); data and device must still be chosen. */
export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  recipe: 'official',
  data: null,
  out: 'runs/resemotenet',
  init: null,
  classes: null,
  freeze: 'none',
  epochs: 80,
  batchSize: 16,
  evalBatchSize: 64,
  lr: 0.001,
  momentum: 0.9,
  nesterov: false,
  weightDecay: 1e-4,
  optimizer: 'sgd',
  labelSmoothing: 0,
  betas: [0.9, 0.999],
  scheduler: 'none',
  stepSize: 20,
  gamma: 0.1,
  tMax: null,
  plateauPatience: 5,
  plateauFactor: 0.1,
  pctStart: 0.3,
  divFactor: 25,
  finalDivFactor: 1e4,
  patience: 15,
  width: 1,
  seed: 0,
  imageSize: 64,
  flipProb: 0.5,
  rotation: 0,
  augScale: 0,
  translate: 0,
  dropout: 0.2,
  fcDropout: 0.5,
  device: 'cpu',
  maxSteps: null,
  timeBudgetMin: null,
  limitTrain: null,
  limitVal: null,
  limitTest: null,
  trainSplit: 'Training',
  valSplit: 'PublicTest',
  testSplit: 'PrivateTest',
  prefetch: 1,
  skipBadData: false,
};

/**
 * Training presets. `official`: the official script's recipe (the defaults above). `shipped`: the
 * recipe of the weights in `weights/`: width 1/4 at FER2013's native 48x48, batch 64, SGD with
 * Nesterov momentum under a one-cycle schedule peaking at lr 0.05 (momentum cycled 0.95-0.85),
 * weight decay 5e-4, label smoothing 0.1, random rotation (+-15 degrees), zoom (+-15 %), shift
 * (+-10 %) and flips, lighter dropout (0.1 / 0.25) for the narrower model, 30 epochs without early
 * stopping (the schedule decides the end; the best validation epoch is kept). `shipped-2`: the
 * second stage of the shipped weights, run with `--init` on the best checkpoint of a `shipped`
 * run (and `--seed 1`): one more one-cycle of 30 epochs peaking at lr 0.02 after 20 % of the
 * steps, with lighter augmentation (rotation +-10 degrees, zoom +-10 %, shift +-8 %), since the
 * first stage still underfit (training accuracy below validation).
 */
const SHIPPED: Partial<TrainConfig> = {
  width: 0.25,
  imageSize: 48,
  batchSize: 64,
  evalBatchSize: 256,
  epochs: 30,
  optimizer: 'sgd',
  lr: 0.05,
  momentum: 0.9,
  nesterov: true,
  weightDecay: 5e-4,
  scheduler: 'onecycle',
  labelSmoothing: 0.1,
  rotation: 15,
  augScale: 0.15,
  translate: 0.1,
  flipProb: 0.5,
  dropout: 0.1,
  fcDropout: 0.25,
  patience: 0,
};

export const RECIPES: Readonly<Record<RecipeName, Partial<TrainConfig>>> = {
  official: {},
  shipped: SHIPPED,
  'shipped-2': { ...SHIPPED, lr: 0.02, pctStart: 0.2, rotation: 10, augScale: 0.1, translate: 0.08 },
};

/** Settings that a resumed run may change; the others come from the checkpoint. */
export const RESUME_OVERRIDABLE: readonly (keyof TrainConfig)[] = ['out', 'epochs', 'patience', 'maxSteps', 'timeBudgetMin', 'device', 'evalBatchSize', 'prefetch', 'testSplit', 'limitTest', 'data'];

/** Per-invocation limits: not carried over by --resume (give them again to use them). */
const PER_INVOCATION: readonly (keyof TrainConfig)[] = ['maxSteps', 'timeBudgetMin'];

/** One row of the per-epoch log. */
export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  train_loss: number;
  train_acc: number;
  val_loss: number;
  val_acc: number;
  /** Learning rate used during the epoch. */
  lr: number;
  /** Optimizer steps so far (all epochs). */
  steps: number;
  /** Training images in the epoch. */
  images: number;
  /** Wall seconds of the epoch's training steps, batch loading included (not validation). */
  train_seconds: number;
  val_seconds: number;
  images_per_s: number;
  best_val_acc: number;
  best_epoch: number;
  improved: boolean;
}

export type StopReason = 'completed' | 'early_stopping' | 'max_steps' | 'time_budget' | 'interrupted';

/** Per-step progress. */
export interface StepInfo {
  /** 0-based epoch. */
  epoch: number;
  epochs: number;
  /** 0-based index of the batch just done, and the batches per epoch. */
  batch: number;
  numBatches: number;
  globalStep: number;
  loss: number;
  /** Running means over the epoch so far. */
  epochLoss: number;
  epochAcc: number;
  imagesPerSec: number;
  lr: number;
}

/** Callbacks; all optional. */
export interface TrainHooks {
  log?: (line: string) => void;
  onEpochStart?: (info: { epoch: number; epochs: number; numBatches: number; startBatch: number }) => void;
  onStep?: (s: StepInfo) => void;
  onEpochEnd?: (r: EpochRecord) => void;
  onEvalProgress?: (what: string, done: number, total: number) => void;
}

/** What {@link Trainer.fit} returns. */
export interface TrainResult {
  stopReason: StopReason;
  /** Completed epochs. */
  epochs: number;
  globalStep: number;
  bestValAcc: number;
  /** 1-based epoch of the best checkpoint (0: none yet). */
  bestEpoch: number;
  history: EpochRecord[];
  out: string;
  /** Sidecar paths. */
  lastCheckpoint: string;
  bestCheckpoint: string | null;
  test?: { split: string; origin: string; result: EvalResult; files: string[] };
  /** The final test was interrupted (Ctrl-C during it): the checkpoints are complete, the test not run. */
  testSkipped?: boolean;
}

/** Running sums of the current epoch (saved, so a resumed half epoch logs the same means). */
interface EpochProgress {
  lossSum: number;
  correct: number;
  seen: number;
  steps: number;
  trainMs: number;
  lr: number;
}

const freshProgress = (lr: number): EpochProgress => ({ lossSum: 0, correct: 0, seen: 0, steps: 0, trainMs: 0, lr });

/** The training state saved in the `last` sidecar. */
interface TrainState {
  /** 0-based current epoch (== completed epochs unless epochEndPending). */
  epoch: number;
  globalStep: number;
  bestValAcc: number;
  bestEpoch: number;
  epochsSinceBest: number;
  /** The batches of `epoch` are all done; validation / bookkeeping not yet. */
  epochEndPending: boolean;
  progress: EpochProgress;
  history: EpochRecord[];
}

/** The DataLoader's seed for run seed s: a separate Philox key from the weights/dropout generator's. */
export function loaderSeedFor(seed: number): number {
  return seed < 2 ** 52 ? seed + 2 ** 40 : seed - 2 ** 40;
}

/** Builds the optimizer of a config over `params`. */
export function makeOptimizer(cfg: Pick<TrainConfig, 'optimizer' | 'lr' | 'momentum' | 'weightDecay' | 'betas'> & { nesterov?: boolean }, params: Tensor[]): Optimizer<ParamGroup> {
  switch (cfg.optimizer) {
    case 'sgd':
      return new SGD(params, { lr: cfg.lr, momentum: cfg.momentum, weight_decay: cfg.weightDecay, nesterov: cfg.nesterov ?? false }) as unknown as Optimizer<ParamGroup>;
    case 'adam':
      return new Adam(params, { lr: cfg.lr, betas: cfg.betas, weight_decay: cfg.weightDecay }) as unknown as Optimizer<ParamGroup>;
    case 'adamw':
      return new AdamW(params, { lr: cfg.lr, betas: cfg.betas, weight_decay: cfg.weightDecay }) as unknown as Optimizer<ParamGroup>;
    default:
      throw new RangeError(`optimizer must be sgd, adam or adamw, got '${String(cfg.optimizer)}'`);
  }
}

type AnyScheduler = LRScheduler | ReduceLROnPlateau;

/**
 * Builds the LR scheduler of a config (null for 'none'); stepped once per epoch, except 'onecycle'
 * (OneCycleLR with max_lr = cfg.lr over epochs * stepsPerEpoch steps), stepped once per batch.
 */
export function makeScheduler(
  cfg: Pick<TrainConfig, 'scheduler' | 'stepSize' | 'gamma' | 'tMax' | 'epochs' | 'plateauPatience' | 'plateauFactor' | 'lr'> & Partial<Pick<TrainConfig, 'pctStart' | 'divFactor' | 'finalDivFactor'>>,
  opt: Optimizer<ParamGroup>,
  stepsPerEpoch = 1,
): AnyScheduler | null {
  switch (cfg.scheduler) {
    case 'onecycle':
      return new OneCycleLR(opt, cfg.lr, cfg.epochs * stepsPerEpoch, { pct_start: cfg.pctStart ?? 0.3, div_factor: cfg.divFactor ?? 25, final_div_factor: cfg.finalDivFactor ?? 1e4 });
    case 'none':
      return null;
    case 'step':
      return new StepLR(opt, cfg.stepSize, { gamma: cfg.gamma });
    case 'cosine':
      return new CosineAnnealingLR(opt, cfg.tMax ?? cfg.epochs);
    case 'plateau':
      return new ReduceLROnPlateau(opt, { mode: 'max', patience: cfg.plateauPatience, factor: cfg.plateauFactor });
    default:
      throw new RangeError(`scheduler must be none, step, cosine, plateau or onecycle, got '${String(cfg.scheduler)}'`);
  }
}

/**
 * One training step inside tidy(): zero_grad, forward, cross-entropy, backward, optimizer step.
 * Returns the (detached) batch-mean loss and logits; everything else the step allocated is freed.
 */
export function trainStep(model: Module<[Tensor], Tensor>, optimizer: Optimizer<ParamGroup>, lossFn: CrossEntropyLoss, makeBatch: () => { images: Tensor; labels: Tensor }): { loss: Tensor; logits: Tensor } {
  return tidy(() => {
    const { images, labels } = makeBatch();
    optimizer.zero_grad();
    const logits = model.call(images);
    const loss = lossFn.call(logits, labels);
    loss.backward();
    optimizer.step();
    return { loss: loss.detach(), logits: logits.detach() };
  });
}

/** Checks a merged config. @throws RangeError naming the bad setting. */
export function validateConfig(c: TrainConfig): void {
  const posInt = (k: keyof TrainConfig) => {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${k} must be a positive integer, got ${String(v)}`);
  };
  posInt('epochs');
  posInt('batchSize');
  posInt('evalBatchSize');
  posInt('imageSize');
  posInt('stepSize');
  // train-mode BatchNorm needs more than one value per channel; the 1x1 maps of the deepest block
  // make that "more than one image per batch"
  if (c.batchSize < 2) throw new RangeError(`batchSize must be at least 2 (BatchNorm in training mode needs more than one image per batch), got ${c.batchSize}`);
  if (c.imageSize < 8) throw new RangeError(`imageSize must be at least 8 (three 2x2 poolings), got ${c.imageSize}`);
  if (typeof c.skipBadData !== 'boolean') throw new RangeError(`skipBadData must be true or false, got ${String(c.skipBadData)}`);
  for (const k of ['lr', 'momentum', 'weightDecay', 'gamma', 'plateauFactor', 'flipProb', 'rotation', 'augScale', 'translate', 'labelSmoothing', 'dropout', 'fcDropout', 'divFactor', 'finalDivFactor'] as const) {
    if (!(typeof c[k] === 'number' && c[k] >= 0 && Number.isFinite(c[k]))) throw new RangeError(`${k} must be a finite number >= 0, got ${String(c[k])}`);
  }
  if (!(c.width > 0)) throw new RangeError(`width must be positive, got ${c.width}`);
  if (!Number.isSafeInteger(c.seed) || c.seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${c.seed}`);
  if (!Number.isInteger(c.patience) || c.patience < 0) throw new RangeError(`patience must be an integer >= 0, got ${c.patience}`);
  for (const k of ['maxSteps', 'limitTrain', 'limitVal', 'limitTest'] as const) {
    const v = c[k];
    if (v !== null && (!Number.isInteger(v) || v < 1)) throw new RangeError(`${k} must be a positive integer, got ${v}`);
  }
  if (c.timeBudgetMin !== null && !(c.timeBudgetMin > 0)) throw new RangeError(`timeBudgetMin must be positive, got ${c.timeBudgetMin}`);
  if (!['sgd', 'adam', 'adamw'].includes(c.optimizer)) throw new RangeError(`optimizer must be sgd, adam or adamw, got '${c.optimizer}'`);
  if (!['none', 'step', 'cosine', 'plateau', 'onecycle'].includes(c.scheduler)) throw new RangeError(`scheduler must be none, step, cosine, plateau or onecycle, got '${c.scheduler}'`);
  if (!(c.recipe in RECIPES)) throw new RangeError(`recipe must be one of ${Object.keys(RECIPES).join(', ')}, got '${String(c.recipe)}'`);
  if (typeof c.nesterov !== 'boolean') throw new RangeError(`nesterov must be true or false, got ${String(c.nesterov)}`);
  if (c.nesterov && !(c.optimizer === 'sgd' && c.momentum > 0)) throw new RangeError('nesterov needs the sgd optimizer with a momentum > 0');
  if (c.labelSmoothing >= 1) throw new RangeError(`labelSmoothing must be in [0, 1), got ${c.labelSmoothing}`);
  for (const k of ['flipProb', 'dropout', 'fcDropout', 'pctStart'] as const) if (!(c[k] >= 0 && c[k] <= 1)) throw new RangeError(`${k} must be in [0, 1], got ${String(c[k])}`);
  if (c.rotation > 180) throw new RangeError(`rotation must be at most 180 degrees, got ${c.rotation}`);
  if (c.augScale > 0.9) throw new RangeError(`augScale must be at most 0.9, got ${c.augScale}`);
  if (c.translate > 0.5) throw new RangeError(`translate must be at most 0.5, got ${c.translate}`);
  if (!FREEZE_MODES.includes(c.freeze)) throw new RangeError(`freeze must be one of ${FREEZE_MODES.join(', ')}, got '${String(c.freeze)}'`);
  if (c.classes !== null && c.classes !== 'auto') {
    if (!Array.isArray(c.classes) || c.classes.length < 2 || c.classes.some((n) => typeof n !== 'string' || !n.trim())) throw new RangeError(`classes must list at least two class names, got ${JSON.stringify(c.classes)}`);
    if (new Set(c.classes.map((n) => n.toLowerCase())).size !== c.classes.length) throw new RangeError(`classes has a name twice: ${c.classes.join(', ')}`);
  }
  if (!(c.divFactor > 0) || !(c.finalDivFactor > 0)) throw new RangeError(`divFactor and finalDivFactor must be positive, got ${c.divFactor}, ${c.finalDivFactor}`);
  if (c.device !== 'cpu' && c.device !== 'webgpu') throw new RangeError(`device must be cpu or webgpu, got '${String(c.device)}'`);
}

/** The `last` sidecar of a run folder (or a given sidecar path). @throws Error when there is none. */
export function resumeSidecarPath(p: string): string {
  const abs = path.resolve(p);
  if (existsSync(path.join(abs, 'last.json'))) return path.join(abs, 'last.json');
  const f = resolveCheckpointPath(p);
  return f;
}

/**
 * A training run: build with {@link Trainer.create}, run with {@link Trainer.fit}. `requestStop()`
 * (the CLI calls it on SIGINT) makes fit() finish the current step, save a resumable checkpoint
 * and return with stopReason 'interrupted'.
 */
export class Trainer {
  readonly config: TrainConfig;
  readonly modelConfig: ModelConfig;
  readonly model: ResEmoteNet;
  readonly optimizer: Optimizer<ParamGroup>;
  readonly scheduler: AnyScheduler | null;
  readonly loader: DataLoader;
  readonly lossFn: CrossEntropyLoss;
  readonly train: SplitData;
  readonly val: SplitData;
  private state: TrainState;
  private stopRequest: StopReason | null = null;
  /** What fit() is doing: 'train' (steps and validation) or 'test' (the final test split). */
  phase: 'idle' | 'train' | 'test' = 'idle';
  private startMs = 0;
  /** Whether the state changed since the last save of `last`. */
  private dirty = true;
  /** Stop as soon as the current step is done (see the class comment). */
  requestStop(reason: StopReason = 'interrupted'): void {
    this.stopRequest ??= reason;
  }
  get stopRequested(): StopReason | null {
    return this.stopRequest;
  }

  private constructor(a: { config: TrainConfig; modelConfig: ModelConfig; model: ResEmoteNet; optimizer: Optimizer<ParamGroup>; scheduler: AnyScheduler | null; loader: DataLoader; train: SplitData; val: SplitData; state: TrainState }) {
    this.config = a.config;
    this.modelConfig = a.modelConfig;
    this.model = a.model;
    this.optimizer = a.optimizer;
    this.scheduler = a.scheduler;
    this.loader = a.loader;
    this.train = a.train;
    this.val = a.val;
    this.state = a.state;
    this.lossFn = new CrossEntropyLoss({ label_smoothing: a.config.labelSmoothing });
  }

  /** Current optimizer step count, epoch etc. (a copy). */
  get progress(): Readonly<TrainState> {
    return structuredClone(this.state);
  }

  /**
   * Loads the data and builds model, optimizer, scheduler and loader, or restores them from a
   * run folder's `last` checkpoint (`resume`); with resume, `overrides` may change only
   * {@link RESUME_OVERRIDABLE} settings (an override is logged; --max-steps and --time-budget
   * apply to this invocation only), and any other setting must equal the checkpoint's. Without
   * resume, an `out` folder that already holds a run is refused unless `overwrite`.
   * Stale temporary and unreferenced generation files of `out` are removed (and logged).
   * @throws MissingDataError without data; RangeError for a bad setting or a setting that
   * contradicts the resumed checkpoint; RunExistsError for an existing run without overwrite.
   */
  static async create(overrides: Partial<TrainConfig>, opts: { resume?: string; log?: (s: string) => void; overwrite?: boolean } = {}): Promise<Trainer> {
    const log = opts.log ?? (() => {});
    let config: TrainConfig;
    let saved: Sidecar | null = null;
    let savedFile = '';
    if (opts.resume) {
      savedFile = resumeSidecarPath(opts.resume);
      saved = await readSidecar(savedFile);
      const tc = saved.train_config as TrainConfig | undefined;
      if (!tc || !saved.train_state || !saved.optimizer_file) throw new Error(`${savedFile}: not a resumable training checkpoint (use the run's last.json)`);
      config = { ...DEFAULT_TRAIN_CONFIG, ...tc };
      for (const k of PER_INVOCATION) (config as unknown as Record<string, unknown>)[k] = null;
      const refused: string[] = [];
      for (const [k, v] of Object.entries(overrides) as [keyof TrainConfig, unknown][]) {
        if (v === undefined) continue;
        const same = JSON.stringify(v) === JSON.stringify(config[k]);
        if ((RESUME_OVERRIDABLE as readonly string[]).includes(k)) {
          if (!same && !(PER_INVOCATION as readonly string[]).includes(k) && k !== 'out') log(`resume: overriding ${k}: ${JSON.stringify(config[k])} -> ${JSON.stringify(v)}`);
          (config as unknown as Record<string, unknown>)[k] = v;
        } else if (!same) refused.push(`${k} (checkpoint ${JSON.stringify(config[k])}, given ${JSON.stringify(v)})`);
      }
      if (refused.length) {
        throw new RangeError(`${savedFile}: --resume continues the run with its own settings; these contradict it: ${refused.join('; ')}. Drop them, or start a new run (another --out)`);
      }
      if (overrides.out === undefined) config.out = path.dirname(savedFile);
    } else {
      const recipe = overrides.recipe ?? DEFAULT_TRAIN_CONFIG.recipe;
      if (!(recipe in RECIPES)) throw new RangeError(`recipe must be one of ${Object.keys(RECIPES).join(', ')}, got '${String(recipe)}'`);
      config = { ...DEFAULT_TRAIN_CONFIG, ...RECIPES[recipe], recipe };
      for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (config as unknown as Record<string, unknown>)[k] = v;
    }
    validateConfig(config);
    if (!saved) {
      const present = existingRunFiles(config.out);
      if (present.length && !opts.overwrite) throw new RunExistsError(path.resolve(config.out), present);
    }
    const removed = await cleanRunFolder(config.out);
    if (removed.length) log(`removed ${removed.length} stale file(s) left by an interrupted save in ${config.out}: ${removed.join(', ')}`);
    const src = resolveDataSource(config.data);
    config.data = src.kind === 'csv' ? src.file : src.root;
    log(`data: ${describeSource(src)}`);
    if (config.testSplit && !hasSplit(src, config.testSplit)) {
      // an ImageFolder of one's own faces often has train/ and val/ only: no final test then, said up front
      if (config.testSplit === DEFAULT_TRAIN_CONFIG.testSplit) {
        log(`note: ${describeSource(src)} has no test split (no test/ folder): the final test is skipped (--test-split names another folder)`);
        config.testSplit = null;
      } else throw new RangeError(`testSplit '${config.testSplit}' not found in ${describeSource(src)}`);
    }
    let init: InitCheckpoint | null = null;
    if (!saved && config.init) {
      init = await readInitCheckpoint(config.init);
      if (config.width !== init.config.width || config.imageSize !== init.config.image_size) log(`--init: width ${init.config.width} and ${init.config.image_size}x${init.config.image_size} input come from ${init.file}`);
      config.width = init.config.width;
      config.imageSize = init.config.image_size;
    }
    if (config.classes === 'auto') {
      config.classes = splitClassNames(src, config.trainSplit);
      log(`classes (the training folders, sorted): ${config.classes.join(', ')}`);
    }
    const classList = config.classes ?? undefined;
    const skipBad = config.skipBadData;
    const train = await loadSplit(src, config.trainSplit, { limit: config.limitTrain ?? undefined, seed: config.seed, classNames: classList, skipBad });
    const val = await loadSplit(src, config.valSplit, { limit: config.limitVal ?? undefined, seed: config.seed, classNames: classList, skipBad });
    for (const sp of [train, val]) if (sp.skippedCount) log(`warning: ${sp.skippedCount} unreadable or malformed input(s) skipped in ${sp.origin}${sp.skippedExample ? ` (first: ${sp.skippedExample})` : ''}`);
    {
      const names = config.classes ?? [...EMOTIONS];
      const counts = new Array<number>(names.length).fill(0);
      for (const l of train.dataset.labels) if (l >= 0 && l < counts.length) counts[l]!++;
      const empty = names.filter((_, i) => counts[i] === 0);
      if (empty.length) log(`warning: no training images for class${empty.length > 1 ? 'es' : ''} ${empty.join(', ')} (${train.origin}); the model will not learn ${empty.length > 1 ? 'them' : 'it'}`);
    }
    log(`train: ${train.dataset.length} images (${train.origin}); validation: ${val.dataset.length} images (${val.origin})`);

    const mcfg = saved
      ? saved.config
      : modelConfig({
          width: config.width,
          image_size: config.imageSize,
          // FER2013 data is labelled with FER2013's ids: a checkpoint in another class order gets a new head
          class_names: [...(config.classes ?? EMOTIONS)],
          mean: init?.config.mean,
          std: init?.config.std,
          layer_channels: init?.config.layer_channels,
          width_rule: init?.config.width_rule,
        });
    manual_seed(config.seed);
    const model = buildModel(mcfg, { dropout: config.dropout, fc_dropout: config.fcDropout });
    if (init) {
      try {
        const { newHead } = loadInitWeights(model, init);
        log(`initialised from ${init.file}${newHead ? ` with a new ${mcfg.num_classes}-class head (${mcfg.class_names.join(', ')})` : ''}`);
      } finally {
        for (const t of Object.values(init.state)) t.dispose();
      }
    }
    if (config.device === 'webgpu') await initWebGPU();
    if (saved) {
      const dir = path.dirname(savedFile);
      await checkPair(savedFile, path.join(dir, saved.model_file), saved.checkpoint_id);
      await checkPair(savedFile, path.join(dir, saved.optimizer_file!), saved.checkpoint_id);
      const sd = await load_file(path.join(dir, saved.model_file));
      try {
        model.load_state_dict(sd);
      } finally {
        for (const t of Object.values(sd)) t.dispose();
      }
    }
    if (config.device !== 'cpu') model.to(config.device);
    model.train();
    const trainable = applyFreeze(model, config.freeze);
    if (config.freeze !== 'none') log(`freeze ${config.freeze}: training ${trainable.length} of ${model.parameters().length} parameter tensors`);
    const optimizer = makeOptimizer(config, trainable);

    const n = train.dataset.length;
    const dropLast = n % config.batchSize === 1 && n > 1;
    if (dropLast) log(`note: ${n} training images leave a last batch of 1, which BatchNorm cannot train on; it is dropped each epoch`);
    const transform = resEmoteNetTransform(true, { size: [mcfg.image_size, mcfg.image_size], mean: mcfg.mean, std: mcfg.std, flipProb: config.flipProb });
    const augment = config.rotation || config.augScale || config.translate ? { rotation: config.rotation, scale: config.augScale, translate: config.translate } : null;
    const loader = new DataLoader(train.dataset, { batchSize: config.batchSize, transform, shuffle: true, seed: loaderSeedFor(config.seed), dropLast, prefetch: config.prefetch, augment });
    if (loader.numBatches === 0) throw new RangeError(`no training batches: ${n} images with batch size ${config.batchSize}`);
    const scheduler = makeScheduler(config, optimizer, loader.numBatches);

    let state: TrainState = {
      epoch: 0,
      globalStep: 0,
      bestValAcc: -1,
      bestEpoch: 0,
      epochsSinceBest: 0,
      epochEndPending: false,
      progress: freshProgress(optimizer.param_groups[0]!.lr),
      history: [],
    };
    if (saved) {
      const dir = path.dirname(savedFile);
      const ot = await load_file(path.join(dir, saved.optimizer_file!), { device: config.device });
      try {
        unpackOptimizer(optimizer, saved.optimizer_state as Parameters<typeof unpackOptimizer>[1], ot);
      } finally {
        for (const t of Object.values(ot)) t.dispose();
      }
      if (scheduler && saved.scheduler_state) scheduler.load_state_dict(saved.scheduler_state as Record<string, unknown>);
      loader.loadState(saved.loader_state as LoaderState);
      default_generator.set_state(saved.rng_state as { seed: number; offset: number });
      state = structuredClone(saved.train_state as TrainState);
      if (state.epoch >= config.epochs && !state.epochEndPending) {
        log(`note: ${savedFile} is a finished run (${state.epoch} of ${config.epochs} epochs); pass --epochs N (more than ${state.epoch}) to train on`);
      } else log(`resumed ${savedFile}: epoch ${state.epoch + 1}, batch ${loader.batchIndex}/${loader.numBatches}, step ${state.globalStep}`);
    }
    return new Trainer({ config, modelConfig: mcfg, model, optimizer, scheduler, loader, train, val, state });
  }

  private files(kind: 'best' | 'last') {
    return checkpointFiles(path.join(this.config.out, kind));
  }

  private async saveLast(): Promise<string> {
    const sc = await saveCheckpoint({
      prefix: path.join(this.config.out, 'last'),
      model: this.model,
      config: this.modelConfig,
      kind: 'last',
      optimizer: this.optimizer,
      extra: {
        epoch: this.state.epoch,
        global_step: this.state.globalStep,
        metrics: this.state.history[this.state.history.length - 1] ?? null,
        train_config: this.config,
        train_state: this.state,
        scheduler_state: this.scheduler?.state_dict() ?? null,
        loader_state: this.loader.state(),
        rng_state: default_generator.get_state(),
      },
    });
    void sc;
    this.dirty = false;
    return this.files('last').json;
  }

  private async saveBest(rec: EpochRecord): Promise<void> {
    await saveCheckpoint({
      prefix: path.join(this.config.out, 'best'),
      model: this.model,
      config: this.modelConfig,
      kind: 'best',
      extra: { epoch: rec.epoch, global_step: this.state.globalStep, metrics: rec, train_config: this.config, history: this.state.history },
    });
  }

  private async writeLogs(): Promise<void> {
    const h = this.state.history;
    const out = this.config.out;
    await writeTextAtomic(path.join(out, 'log.jsonl'), h.map((r) => toJson(r, 0)).join('\n') + (h.length ? '\n' : ''));
    const cols: (keyof EpochRecord)[] = ['epoch', 'train_loss', 'train_acc', 'val_loss', 'val_acc', 'lr', 'steps', 'images', 'train_seconds', 'val_seconds', 'images_per_s', 'best_val_acc', 'best_epoch', 'improved'];
    const csv = [cols.join(','), ...h.map((r) => cols.map((c) => String(r[c])).join(','))].join('\n') + '\n';
    await writeTextAtomic(path.join(out, 'log.csv'), csv);
    await writeTextAtomic(path.join(out, 'curves.svg'), trainingCurvesSvg(h, { title: `ResEmoteNet training (${h.length} epochs)` }));
  }

  private budgetStop(): StopReason | null {
    if (this.stopRequest) return this.stopRequest;
    const c = this.config;
    if (c.maxSteps !== null && this.state.globalStep >= c.maxSteps) return 'max_steps';
    if (c.timeBudgetMin !== null && performance.now() - this.startMs >= c.timeBudgetMin * 60_000) return 'time_budget';
    return null;
  }

  /** Custom classes: the data's labels are already model indices. */
  private labelMap(): Int32Array | undefined {
    return Array.isArray(this.config.classes) ? Int32Array.from(this.config.classes, (_, i) => i) : undefined;
  }

  private currentLr(): number {
    return this.optimizer.param_groups[0]!.lr;
  }

  /** Runs the batches left in the current epoch; returns a stop reason when stopped before its end. */
  private async runEpochBatches(hooks: TrainHooks): Promise<StopReason | null> {
    const s = this.state;
    const c = this.config;
    const nb = this.loader.numBatches;
    // A resumed run that is already at its step limit must not take one more step.
    if (c.maxSteps !== null && s.globalStep >= c.maxSteps) return 'max_steps';
    freezeModes(this.model, c.freeze); // validation put every module back in train mode
    if (this.loader.epoch !== s.epoch) throw new Error(`internal: loader at epoch ${this.loader.epoch} but training at ${s.epoch}`);
    hooks.onEpochStart?.({ epoch: s.epoch, epochs: c.epochs, numBatches: nb, startBatch: this.loader.batchIndex });
    if (s.progress.steps === 0) s.progress.lr = this.currentLr();
    const k = this.modelConfig.num_classes;
    // Wall time per step, batch loading included (it overlaps the previous step when prefetching).
    let tPrev = performance.now();
    for await (const b of this.loader) {
      const lrUsed = this.currentLr();
      const { loss, logits } = trainStep(this.model, this.optimizer, this.lossFn, () => b.toTensors(c.device));
      if (this.scheduler instanceof OneCycleLR) this.scheduler.step();
      let lv: number;
      let lg: Float32Array;
      try {
        lv = await loss.item();
        lg = (await logits.data()) as Float32Array;
      } finally {
        loss.dispose();
        logits.dispose();
      }
      if (!Number.isFinite(lv)) throw new Error(`training diverged: loss ${lv} at epoch ${s.epoch + 1}, batch ${b.batchIndex + 1} (lower --lr?)`);
      let correct = 0;
      for (let m = 0; m < b.size; m++) if (argmaxRow(lg, m * k, k) === b.labels[m]) correct++;
      const p = s.progress;
      p.lossSum += lv * b.size;
      p.correct += correct;
      p.seen += b.size;
      p.steps++;
      const now = performance.now();
      p.trainMs += now - tPrev;
      tPrev = now;
      s.globalStep++;
      this.dirty = true;
      const last = this.loader.epoch !== s.epoch;
      if (last) s.epochEndPending = true;
      hooks.onStep?.({
        epoch: s.epoch,
        epochs: c.epochs,
        batch: b.batchIndex,
        numBatches: nb,
        globalStep: s.globalStep,
        loss: lv,
        epochLoss: p.lossSum / p.seen,
        epochAcc: p.correct / p.seen,
        imagesPerSec: p.seen / (p.trainMs / 1000),
        lr: lrUsed,
      });
      // Let the event loop run (signals such as Ctrl-C are delivered there): on the cpu every
      // await in a step may resolve as a microtask, which would starve it for a whole epoch.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const stop = this.budgetStop();
      if (stop && !last) return stop;
    }
    s.epochEndPending = true;
    return null;
  }

  /** Validation and bookkeeping at the end of an epoch; returns the record. */
  private async finishEpoch(hooks: TrainHooks): Promise<EpochRecord> {
    const s = this.state;
    const c = this.config;
    const v = await evaluateModel(this.model, this.val.dataset, {
      device: c.device,
      transform: evalTransform(this.modelConfig),
      classNames: this.modelConfig.class_names,
      labelMap: this.labelMap(),
      batchSize: c.evalBatchSize,
      onProgress: (d, t) => hooks.onEvalProgress?.('validation', d, t),
      shouldAbort: () => this.stopRequest === 'interrupted',
    });
    const p = s.progress;
    const improved = v.accuracy > s.bestValAcc;
    if (improved) {
      s.bestValAcc = v.accuracy;
      s.bestEpoch = s.epoch + 1;
      s.epochsSinceBest = 0;
    } else {
      s.epochsSinceBest++;
    }
    const rec: EpochRecord = {
      epoch: s.epoch + 1,
      train_loss: p.seen ? p.lossSum / p.seen : NaN,
      train_acc: p.seen ? p.correct / p.seen : NaN,
      val_loss: v.loss,
      val_acc: v.accuracy,
      lr: p.lr,
      steps: s.globalStep,
      images: p.seen,
      train_seconds: p.trainMs / 1000,
      val_seconds: v.seconds,
      images_per_s: p.trainMs > 0 ? p.seen / (p.trainMs / 1000) : 0,
      best_val_acc: s.bestValAcc,
      best_epoch: s.bestEpoch,
      improved,
    };
    s.history.push(rec);
    this.dirty = true;
    if (this.scheduler instanceof ReduceLROnPlateau) this.scheduler.step(v.accuracy);
    else if (!(this.scheduler instanceof OneCycleLR)) this.scheduler?.step();
    s.epoch++;
    s.epochEndPending = false;
    s.progress = freshProgress(this.currentLr());
    if (improved) await this.saveBest(rec);
    await this.writeLogs();
    await this.saveLast();
    hooks.onEpochEnd?.(rec);
    return rec;
  }

  /**
   * Trains until the epochs are done, early stopping, --max-steps, the time budget or
   * requestStop(); saves `last` (resumable) at every epoch end and on any stop, `best` when the
   * validation accuracy improves; finally (unless interrupted) scores the best checkpoint on the
   * test split.
   */
  async fit(hooks: TrainHooks = {}): Promise<TrainResult> {
    const c = this.config;
    const s = this.state;
    const log = hooks.log ?? (() => {});
    await mkdir(c.out, { recursive: true });
    this.startMs = performance.now();
    this.phase = 'train';
    let reason: StopReason | null = null;
    try {
      for (;;) {
        if (!s.epochEndPending) {
          if (s.epoch >= c.epochs) {
            reason = 'completed';
            break;
          }
          const stop = await this.runEpochBatches(hooks);
          if (stop) {
            reason = stop;
            break;
          }
        }
        await this.finishEpoch(hooks);
        if (c.patience > 0 && s.epochsSinceBest >= c.patience) {
          log(`early stopping: ${s.epochsSinceBest} epochs without a better validation accuracy (best ${(s.bestValAcc * 100).toFixed(2)}% at epoch ${s.bestEpoch})`);
          reason = 'early_stopping';
          break;
        }
        const stop = this.budgetStop();
        if (stop) {
          reason = s.epoch >= c.epochs ? 'completed' : stop;
          break;
        }
      }
    } catch (e) {
      if (!(e instanceof EvalAborted)) throw e;
      reason = 'interrupted';
    }
    const lastFile = this.dirty ? await this.saveLast() : this.files('last').json;
    const bestFile = existsSync(this.files('best').json) && s.bestEpoch > 0 ? this.files('best').json : null;
    const result: TrainResult = {
      stopReason: reason ?? 'completed',
      epochs: s.epoch,
      globalStep: s.globalStep,
      bestValAcc: s.bestValAcc,
      bestEpoch: s.bestEpoch,
      history: structuredClone(s.history),
      out: c.out,
      lastCheckpoint: lastFile,
      bestCheckpoint: bestFile,
    };
    if (reason !== 'interrupted' && bestFile && c.testSplit) {
      this.phase = 'test';
      try {
        result.test = await this.testBest(bestFile, hooks);
      } catch (e) {
        if (!(e instanceof EvalAborted)) throw e;
        result.stopReason = 'interrupted';
        result.testSkipped = true;
      }
    }
    this.phase = 'idle';
    return result;
  }

  /** Scores the best checkpoint's weights on the test split (the training weights are restored afterwards). */
  private async testBest(bestFile: string, hooks: TrainHooks): Promise<TrainResult['test']> {
    const c = this.config;
    const src = resolveDataSource(c.data);
    const test = await loadSplit(src, c.testSplit!, { limit: c.limitTest ?? undefined, seed: c.seed, classNames: Array.isArray(c.classes) ? c.classes : undefined });
    const sc = await readSidecar(bestFile);
    const bestModelFile = path.join(path.dirname(bestFile), sc.model_file);
    await checkPair(bestFile, bestModelFile, sc.checkpoint_id);
    const current = this.model.state_dict();
    const snapshot: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(current)) snapshot[k] = t.clone();
    for (const t of Object.values(current)) t.dispose();
    const best = await load_file(bestModelFile, { device: c.device });
    try {
      this.model.load_state_dict(best);
      const result = await evaluateModel(this.model, test.dataset, {
        device: c.device,
        transform: evalTransform(this.modelConfig),
        classNames: this.modelConfig.class_names,
        labelMap: this.labelMap(),
        batchSize: c.evalBatchSize,
        onProgress: (d, t) => hooks.onEvalProgress?.(`test (${test.name})`, d, t),
        shouldAbort: () => this.stopRequest === 'interrupted',
      });
      const w = await writeEvalOutputs(c.out, test.name, result, { ids: test.ids, checkpoint: bestFile, origin: test.origin });
      return { split: test.name, origin: test.origin, result, files: [w.json, w.svg] };
    } finally {
      for (const t of Object.values(best)) t.dispose();
      this.model.load_state_dict(snapshot);
      for (const t of Object.values(snapshot)) t.dispose();
    }
  }
}

/** Convenience: `Trainer.create` then `fit`. */
export async function train(config: Partial<TrainConfig>, opts: { resume?: string; overwrite?: boolean; hooks?: TrainHooks; onTrainer?: (t: Trainer) => void } = {}): Promise<TrainResult> {
  const t = await Trainer.create(config, { resume: opts.resume, overwrite: opts.overwrite, log: opts.hooks?.log });
  opts.onTrainer?.(t);
  return t.fit(opts.hooks);
}
