/**
 * The `resemotenet` command line: train, eval, predict, import, curves.
 *
 *   npx resemotenet train --data ../shared/data/fer2013/fer2013.csv.gz --out runs/r1
 *   npx resemotenet eval -c runs/r1 --data ... --split PrivateTest
 *   npx resemotenet predict -c runs/r1 photo.jpg photos/ [--json|--csv] [--annotate out/] [--no-detect]
 *   npx resemotenet import best_model.pth --out weights/official --class-names official
 *   npx resemotenet curves runs/r1
 *
 * (`npm run resemotenet -- <command> ...` or `npx tsx src/resemotenet/cli.ts <command> ...` too.)
 * Exit status: 0 success, 1 error, 2 bad usage or no data, 130 training interrupted by Ctrl-C
 * (after saving a resumable checkpoint).
 */
import path from 'node:path';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { parseDevice, resolveDevice, type DeviceOption } from './device.js';
import { MissingDataError, resolveDataSource } from './datasets.js';
import { DEFAULT_TRAIN_CONFIG, Trainer, type TrainConfig, type TrainResult, type OptimizerName, type SchedulerName, type RecipeName, RECIPES } from './train.js';
import { formatEvalResult, runEvaluation, writeCurves } from './evaluate.js';
import { predictFiles } from './predict.js';
import { formatCsv, formatFaceTable, formatJson } from './predict_format.js';
import { importCheckpoint, parseClassNames, CLASS_NAME_PRESETS } from './checkpoint.js';
import { num_parameters } from '../nn/module.js';
import { RunExistsError } from './run_folder.js';
import type { FreezeMode } from './finetune.js';

/** Where output goes (tests pass collectors). */
export interface CliIO {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Show progress bars (default: when stderr is a TTY). */
  progress?: boolean;
  /** Install a SIGINT handler during training (default true). */
  handleSignals?: boolean;
}

/** Thrown inside commands to exit with a status. */
class ExitCode extends Error {
  constructor(readonly code: number, message = '') {
    super(message);
  }
}

const intArg = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer.`);
  return n;
};
const numArg = (name: string) => (v: string): number => {
  const m = /^\s*([0-9.eE+-]+)\s*\/\s*([0-9.eE+-]+)\s*$/.exec(v);
  const n = m ? Number(m[1]) / Number(m[2]) : Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number (or a fraction like 1/16).`);
  return n;
};
const deviceArg = (v: string): DeviceOption => {
  try {
    return parseDevice(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
const classNamesArg = (v: string): string[] => {
  try {
    return parseClassNames(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/** The package's version (package.json two levels above this file, in src/ and in dist/). */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** TrainConfig keys -> the train command's option names, for error messages. */
const OPTION_NAMES: Record<string, string> = {
  batchSize: '--batch-size', evalBatchSize: '--eval-batch-size', weightDecay: '--weight-decay', labelSmoothing: '--label-smoothing',
  stepSize: '--step-size', tMax: '--t-max', plateauPatience: '--plateau-patience', plateauFactor: '--plateau-factor',
  pctStart: '--pct-start', divFactor: '--div-factor', finalDivFactor: '--final-div-factor', imageSize: '--image-size',
  flipProb: '--flip', augScale: '--scale-jitter', fcDropout: '--fc-dropout', maxSteps: '--max-steps', timeBudgetMin: '--time-budget',
  limitTrain: '--limit-train', limitVal: '--limit-val', limitTest: '--limit-test', trainSplit: '--train-split', valSplit: '--val-split',
  testSplit: '--test-split', skipBadData: '--skip-bad-data', epochs: '--epochs', lr: '--lr', momentum: '--momentum', gamma: '--gamma',
  patience: '--patience', width: '--width', seed: '--seed', rotation: '--rotation', translate: '--translate', dropout: '--dropout',
  optimizer: '--optimizer', scheduler: '--scheduler', device: '--device', prefetch: '--prefetch', recipe: '--recipe', freeze: '--freeze',
  classes: '--classes', nesterov: '--nesterov', init: '--init',
};

/** A train error message with the option names a user typed instead of TrainConfig's keys. */
export function withOptionNames(msg: string): string {
  return msg.replace(/\b([a-zA-Z]+)\b(?= must| has| \(checkpoint)/g, (k: string) => OPTION_NAMES[k] ?? k);
}

/** Maps the train command's options to TrainConfig overrides (only those given on the command line when resuming). */
function trainOverrides(cmd: Command, resume: boolean): Partial<TrainConfig> {
  const o = cmd.opts();
  // Only options given on the command line: the others come from the recipe preset (or, when
  // resuming, from the checkpoint); the help's defaults are the official recipe's.
  void resume;
  const given = (k: string) => cmd.getOptionValueSource(k) === 'cli' || cmd.getOptionValueSource(k) === 'env';
  const pick = <K extends keyof TrainConfig>(key: K, opt: string, conv: (v: unknown) => TrainConfig[K] = (v) => v as TrainConfig[K]): Partial<TrainConfig> =>
    given(opt) && o[opt] !== undefined ? ({ [key]: conv(o[opt]) } as Partial<TrainConfig>) : {};
  return {
    ...pick('recipe', 'recipe', (v) => v as RecipeName),
    ...pick('data', 'data'),
    ...pick('init', 'init'),
    ...pick('classes', 'classes', (v) => (v === 'auto' ? 'auto' : String(v).split(',').map((x) => x.trim()).filter(Boolean))),
    ...pick('freeze', 'freeze', (v) => v as FreezeMode),
    ...pick('out', 'out'),
    ...pick('epochs', 'epochs'),
    ...pick('batchSize', 'batchSize'),
    ...pick('evalBatchSize', 'evalBatchSize'),
    ...pick('lr', 'lr'),
    ...pick('momentum', 'momentum'),
    ...pick('nesterov', 'nesterov'),
    ...pick('labelSmoothing', 'labelSmoothing'),
    ...pick('pctStart', 'pctStart'),
    ...pick('divFactor', 'divFactor'),
    ...pick('finalDivFactor', 'finalDivFactor'),
    ...pick('rotation', 'rotation'),
    ...pick('augScale', 'scaleJitter'),
    ...pick('translate', 'translate'),
    ...pick('dropout', 'dropout'),
    ...pick('fcDropout', 'fcDropout'),
    ...pick('weightDecay', 'weightDecay'),
    ...pick('optimizer', 'optimizer', (v) => v as OptimizerName),
    ...pick('scheduler', 'scheduler', (v) => v as SchedulerName),
    ...pick('stepSize', 'stepSize'),
    ...pick('gamma', 'gamma'),
    ...pick('tMax', 'tMax'),
    ...pick('plateauPatience', 'plateauPatience'),
    ...pick('plateauFactor', 'plateauFactor'),
    ...pick('patience', 'patience'),
    ...pick('width', 'width'),
    ...pick('seed', 'seed'),
    ...pick('imageSize', 'imageSize'),
    ...pick('flipProb', 'flip'),
    ...pick('maxSteps', 'maxSteps'),
    ...pick('timeBudgetMin', 'timeBudget'),
    ...pick('limitTrain', 'limitTrain'),
    ...pick('limitVal', 'limitVal'),
    ...pick('limitTest', 'limitTest'),
    ...pick('trainSplit', 'trainSplit'),
    ...pick('valSplit', 'valSplit'),
    ...pick('testSplit', 'testSplit', (v) => (v === false || v === 'none' ? null : (v as string))),
    ...pick('prefetch', 'prefetch'),
    ...pick('skipBadData', 'skipBadData'),
  };
}

async function runTrain(cmd: Command, io: Required<CliIO>): Promise<number> {
  const o = cmd.opts();
  const resume: string | undefined = o.resume;
  let pendingStop = false;
  let trainer: Trainer | null = null;
  let sigints = 0;
  const onSigint = () => {
    sigints++;
    if (sigints > 1) {
      io.err('\nsecond Ctrl-C: exiting without saving');
      process.exit(130);
    }
    if (trainer?.phase === 'test') io.err('\nCtrl-C: stopping the final test (the checkpoints are already saved; Ctrl-C again to quit at once)');
    else io.err('\nCtrl-C: finishing the current step and saving a resumable checkpoint (Ctrl-C again to quit at once)');
    pendingStop = true;
    trainer?.requestStop('interrupted');
  };
  if (io.handleSignals) process.on('SIGINT', onSigint);
  const bars = io.progress
    ? new cliProgress.MultiBar(
        { clearOnComplete: false, hideCursor: true, format: '{label} [{bar}] {value}/{total} {info}| eta {eta_formatted}', barsize: 24, stream: process.stderr, etaBuffer: 50 },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let bar: cliProgress.SingleBar | null = null;
  let lastPlain = 0;
  try {
    if (!resume) resolveDataSource(o.data); // the missing-data help comes first, before any device setup
    const device = await resolveDevice(o.device as DeviceOption, (s) => io.err(s));
    // On --resume the checkpoint's device is kept unless --device is given.
    const overrides = { ...trainOverrides(cmd, !!resume), ...(!resume || cmd.getOptionValueSource('device') === 'cli' ? { device } : {}) };
    try {
      trainer = await Trainer.create(overrides, { resume, log: io.err, overwrite: o.overwrite === true });
    } catch (e) {
      if (e instanceof RangeError) throw new RangeError(withOptionNames(e.message));
      throw e;
    }
    if (pendingStop) trainer.requestStop('interrupted');
    const c = trainer.config;
    io.err(
      `ResEmoteNet width ${c.width} (${num_parameters(trainer.model).toLocaleString('en-US')} parameters), ${c.imageSize}x${c.imageSize} input, device ${c.device}; ` +
        `recipe ${c.recipe}: ${c.optimizer} ${c.scheduler === 'onecycle' ? `peak lr ${c.lr} (one-cycle, momentum cycled 0.95-0.85)` : `lr ${c.lr} momentum ${c.momentum}`}${c.nesterov ? ' (nesterov)' : ''} weight decay ${c.weightDecay}, batch ${c.batchSize}, scheduler ${c.scheduler}` +
        `${c.labelSmoothing ? `, label smoothing ${c.labelSmoothing}` : ''}${c.rotation || c.augScale || c.translate ? `, augment rot ${c.rotation} zoom ${c.augScale} shift ${c.translate}` : ''}, ` +
        `up to ${c.epochs} epochs, patience ${c.patience}${c.maxSteps ? `, max ${c.maxSteps} steps` : ''}${c.timeBudgetMin ? `, budget ${c.timeBudgetMin} min` : ''}; out ${path.resolve(c.out)}`,
    );
    const result: TrainResult = await trainer.fit({
      log: io.err,
      onEpochStart: ({ epoch, epochs, numBatches, startBatch }) => {
        if (!io.progress) return;
        bar = bars!.create(numBatches, startBatch, { label: `epoch ${epoch + 1}/${epochs}`, info: '' });
      },
      onStep: (s) => {
        const info = `| loss ${s.epochLoss.toFixed(4)} acc ${pct(s.epochAcc)} | ${s.imagesPerSec.toFixed(1)} img/s | lr ${s.lr.toPrecision(3)} `;
        if (bar) bar.update(s.batch + 1, { info });
        else if (!io.progress && performance.now() - lastPlain > 30_000) {
          lastPlain = performance.now();
          io.err(`epoch ${s.epoch + 1}/${s.epochs} batch ${s.batch + 1}/${s.numBatches} step ${s.globalStep}: loss ${s.epochLoss.toFixed(4)} acc ${pct(s.epochAcc)} ${s.imagesPerSec.toFixed(1)} img/s`);
        }
      },
      onEvalProgress: (what, done, total) => {
        if (!io.progress) return;
        if (bar && (bar as unknown as { label?: string }).label !== what) {
          bar.stop();
          bars!.remove(bar);
          bar = null;
        }
        if (!bar) {
          bar = bars!.create(total, 0, { label: what, info: '' });
          (bar as unknown as { label?: string }).label = what;
        }
        bar.update(done, { info: '' });
      },
      onEpochEnd: (r) => {
        if (bar) {
          bar.stop();
          bars?.remove(bar);
          bar = null;
        }
        const line =
          `epoch ${r.epoch}: train loss ${r.train_loss.toFixed(4)} acc ${pct(r.train_acc)} | val loss ${r.val_loss.toFixed(4)} acc ${pct(r.val_acc)}` +
          `${r.improved ? ' (best)' : ''} | ${r.images_per_s.toFixed(1)} img/s, ${fmtDuration(r.train_seconds + r.val_seconds)} | lr ${r.lr.toPrecision(3)}`;
        if (bars) bars.log(line + '\n');
        else io.err(line);
      },
    });
    if (bar) (bar as cliProgress.SingleBar).stop();
    bars?.stop();
    const logs = ['log.jsonl', 'log.csv', 'curves.svg'].map((f) => path.join(result.out, f)).filter((f) => existsSync(f));
    const summary = [
      `stopped: ${result.stopReason} after ${result.epochs} epoch${result.epochs === 1 ? '' : 's'}, ${result.globalStep} steps; best validation accuracy ${result.bestEpoch ? `${pct(result.bestValAcc)} (epoch ${result.bestEpoch})` : 'n/a'}`,
      `checkpoints: ${result.bestCheckpoint ?? '(no best yet)'}, ${result.lastCheckpoint}`,
      logs.length ? `logs: ${logs.join(', ')}` : 'logs: none yet (written at the end of each epoch)',
    ];
    if (result.testSkipped) summary.push('test: skipped (interrupted); score the best checkpoint with `resemotenet eval`');
    if (result.test) summary.push(`test ${result.test.split} with the best checkpoint: accuracy ${pct(result.test.result.accuracy)}, loss ${result.test.result.loss.toFixed(4)} on ${result.test.result.count} images of ${result.test.origin}; wrote ${result.test.files.join(', ')}`);
    if ((result.stopReason === 'interrupted' && !result.testSkipped) || result.stopReason === 'max_steps' || result.stopReason === 'time_budget') {
      summary.push(`resume with: resemotenet train --resume ${result.out}${result.stopReason === 'max_steps' ? ' --max-steps <more>' : ''}`);
    }
    if (o.json) io.out(JSON.stringify({ ...result, test: result.test ? { split: result.test.split, accuracy: result.test.result.accuracy, loss: result.test.result.loss, files: result.test.files } : undefined }, null, 2));
    else io.out(summary.join('\n'));
    return result.stopReason === 'interrupted' ? 130 : 0;
  } finally {
    bars?.stop();
    if (io.handleSignals) process.off('SIGINT', onSigint);
  }
}

/** Builds the commander program (exposed for tests and docs). */
export function buildProgram(io: Required<CliIO>, done: (code: number) => void): Command {
  const program = new Command('resemotenet')
    .description('ResEmoteNet facial-emotion recognition on FER2013: train, evaluate, predict, import official checkpoints')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) })
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride();
  const d = DEFAULT_TRAIN_CONFIG;

  program
    .command('train')
    .description('train ResEmoteNet (the official recipe by default) with progress, logs, best/last checkpoints, resume and Ctrl-C safety')
    .option('--data <path>', 'fer2013.csv / .csv.gz (or a folder holding it), or an ImageFolder root [env RESEMOTENET_DATA]')
    .addOption(
      new Option(
        '--recipe <name>',
        "settings preset; explicit options override it. 'official': the paper's script (the defaults shown below). 'shipped': the recipe of the weights in weights/: " +
          Object.entries(RECIPES.shipped).map(([k, v]) => `${OPTION_NAMES[k] ?? k} ${String(v)}`).join(', ') +
          ". 'shipped-2': the second stage of those weights (with --init on the first stage's best checkpoint, --seed 1): the same but " +
          Object.entries(RECIPES['shipped-2'])
            .filter(([k, v]) => RECIPES.shipped[k as keyof TrainConfig] !== v)
            .map(([k, v]) => `${OPTION_NAMES[k] ?? k} ${String(v)}`)
            .join(', '),
      )
        .choices(Object.keys(RECIPES))
        .default(d.recipe),
    )
    .option('--out <dir>', 'output folder', d.out)
    .option('--init <checkpoint>', "fine-tune: start from a checkpoint (sidecar or run folder) or 'pretrained' (the shipped weights)")
    .option('--classes <names>', "other classes than FER2013's: a comma list, or 'auto' (the training folders' names); the data must be an ImageFolder with one folder per class")
    .addOption(new Option('--freeze <part>', "weights kept fixed: none, features (train fc1..fc4), all-but-head (train fc4)").choices(['none', 'features', 'all-but-head']).default(d.freeze))
    .option('--epochs <n>', 'maximum epochs', intArg('--epochs'), d.epochs)
    .option('--batch-size <n>', 'training batch size', intArg('--batch-size'), d.batchSize)
    .option('--eval-batch-size <n>', 'validation/test batch size', intArg('--eval-batch-size'), d.evalBatchSize)
    .option('--lr <x>', 'learning rate', numArg('--lr'), d.lr)
    .option('--momentum <x>', 'SGD momentum', numArg('--momentum'), d.momentum)
    .option('--nesterov', 'SGD: Nesterov momentum')
    .option('--weight-decay <x>', 'weight decay', numArg('--weight-decay'), d.weightDecay)
    .option('--label-smoothing <x>', 'cross-entropy label smoothing in [0, 1)', numArg('--label-smoothing'), d.labelSmoothing)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['sgd', 'adam', 'adamw']).default(d.optimizer))
    .addOption(new Option('--scheduler <name>', 'learning-rate schedule, stepped per epoch (onecycle: per batch, with --lr as its peak)').choices(['none', 'step', 'cosine', 'plateau', 'onecycle']).default(d.scheduler))
    .option('--step-size <n>', 'step scheduler: epochs between decays', intArg('--step-size'), d.stepSize)
    .option('--gamma <x>', 'step scheduler: decay factor', numArg('--gamma'), d.gamma)
    .option('--t-max <n>', 'cosine scheduler: period in epochs (default: --epochs)', intArg('--t-max'))
    .option('--plateau-patience <n>', 'plateau scheduler: epochs without a better validation accuracy before decaying', intArg('--plateau-patience'), d.plateauPatience)
    .option('--plateau-factor <x>', 'plateau scheduler: decay factor', numArg('--plateau-factor'), d.plateauFactor)
    .option('--pct-start <x>', 'onecycle: fraction of the steps spent warming up', numArg('--pct-start'), d.pctStart)
    .option('--div-factor <x>', 'onecycle: the lr starts at lr / div-factor', numArg('--div-factor'), d.divFactor)
    .option('--final-div-factor <x>', 'onecycle: and ends at lr / div-factor / final-div-factor', numArg('--final-div-factor'), d.finalDivFactor)
    .option('--patience <n>', 'early stopping: epochs without a better validation accuracy (0: off)', intArg('--patience'), d.patience)
    .option('--width <x>', 'channel-width multiplier, e.g. 1/16 for a small variant', numArg('--width'), d.width)
    .option('--seed <n>', 'random seed (weights, dropout, shuffling, flips)', intArg('--seed'), d.seed)
    .option('--image-size <n>', 'input side in pixels', intArg('--image-size'), d.imageSize)
    .option('--flip <p>', 'horizontal-flip probability', numArg('--flip'), d.flipProb)
    .option('--rotation <deg>', 'random rotation range in degrees (augmentation)', numArg('--rotation'), d.rotation)
    .option('--scale-jitter <x>', 'random zoom range: a factor in [1-x, 1+x] (augmentation)', numArg('--scale-jitter'), d.augScale)
    .option('--translate <x>', 'random shift range, a fraction of the image side (augmentation)', numArg('--translate'), d.translate)
    .option('--dropout <p>', 'dropout after the first two conv stages', numArg('--dropout'), d.dropout)
    .option('--fc-dropout <p>', 'dropout after fc1..fc3', numArg('--fc-dropout'), d.fcDropout)
    .addOption(new Option('--device <name>', 'cpu, webgpu, or auto (webgpu when it can train, else cpu)').argParser(deviceArg).default('auto'))
    .option('--max-steps <n>', 'stop after this many optimizer steps in all', intArg('--max-steps'))
    .option('--time-budget <minutes>', 'stop after this many minutes', numArg('--time-budget'))
    .option('--limit-train <n>', 'use only n training images (quick runs)', intArg('--limit-train'))
    .option('--limit-val <n>', 'use only n validation images', intArg('--limit-val'))
    .option('--limit-test <n>', 'use only n test images', intArg('--limit-test'))
    .option('--train-split <name>', 'training split', d.trainSplit)
    .option('--val-split <name>', 'validation split (early stopping, best checkpoint)', d.valSplit)
    .option('--test-split <name>', "split scored with the best checkpoint at the end ('none': skip)", d.testSplit!)
    .option('--prefetch <n>', 'batches prepared ahead', intArg('--prefetch'), d.prefetch)
    .option('--skip-bad-data', 'skip (and count) malformed CSV rows and unreadable images instead of stopping')
    .option('--resume <dir>', "continue a stopped run from its folder's last checkpoint (with the run's own settings)")
    .option('--overwrite', 'start over in an --out folder that already holds a run (its checkpoints and logs are replaced)')
    .option('--no-progress', 'no progress bars')
    .option('--json', 'print the result as JSON')
    .action(async (_opts, cmd: Command) => done(await runTrain(cmd, { ...io, progress: io.progress && cmd.opts().progress !== false })));

  program
    .command('eval')
    .description('accuracy (and the leak-free accuracy on FER2013), per-class precision/recall/F1 and the confusion matrix of a checkpoint on a split (table + SVG + JSON)')
    .option('-c, --checkpoint <path>', "checkpoint: a .json sidecar, a .safetensors, a run folder, or 'pretrained' (the shipped weights)", 'pretrained')
    .option('--data <path>', 'data (as for train) [env RESEMOTENET_DATA]')
    .option('--split <name>', 'PrivateTest, PublicTest, Training, or an ImageFolder split folder', 'PrivateTest')
    .addOption(new Option('--device <name>', 'cpu, webgpu or auto').argParser(deviceArg).default('auto'))
    .option('--batch-size <n>', 'batch size', intArg('--batch-size'), 64)
    .option('--limit <n>', 'use only n images', intArg('--limit'))
    .option('--seed <n>', 'seed of the --limit sample (ImageFolder)', intArg('--seed'), 0)
    .option('--out <dir>', "where to write eval_<split>.json, confusion_<split>.svg, curves.svg (default: the checkpoint's folder; nothing for the shipped weights)")
    .option('--duplicates <csv>', 'FER2013 duplicates list for the leak-free accuracy (default: fer2013_duplicates.csv beside the data)')
    .addOption(new Option('--tta <mode>', 'test-time augmentation: none, or flip (mean of the image and its mirror)').choices(['none', 'flip']).default('none'))
    .option('--class-names <names>', `class names of a bare .safetensors (comma list or ${Object.keys(CLASS_NAME_PRESETS).join('/')}); a checkpoint's own names win`, classNamesArg)
    .option('--override-class-names', "replace the checkpoint's own class names with --class-names")
    .option('--json', 'print the metrics as JSON')
    .action(async (o) => {
      const device = await resolveDevice(o.device, (s) => io.err(s));
      let bar: cliProgress.SingleBar | null = null;
      const { result, files, text, split, leakFree } = await runEvaluation({
        checkpoint: o.checkpoint,
        data: o.data,
        split: o.split,
        device,
        batchSize: o.batchSize,
        limit: o.limit,
        seed: o.seed,
        out: o.out,
        duplicates: o.duplicates,
        tta: o.tta,
        classNames: o.classNames,
        overrideClassNames: o.overrideClassNames === true,
        log: io.err,
        onProgress: (dn, total) => {
          if (!io.progress) return;
          bar ??= new cliProgress.SingleBar({ format: 'eval [{bar}] {value}/{total} {eta_formatted}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
          if (dn <= o.batchSize) bar.start(total, 0);
          bar.update(dn);
        },
      });
      (bar as cliProgress.SingleBar | null)?.stop();
      if (o.json) {
        io.out(JSON.stringify({ split: split.name, origin: split.origin, tta: o.tta, count: result.count, accuracy: result.accuracy, leak_free: leakFree ?? undefined, loss: result.loss, per_class: result.report.perClass, macro: result.report.macro, weighted: result.report.weighted, confusion: result.report.confusion, class_names: result.report.classNames, files }, null, 2));
      } else {
        io.out(text);
        io.out(files.length ? `\nwrote ${files.join(', ')}` : '\n(no files written: give --out to save the JSON and the confusion-matrix SVG)');
      }
      done(0);
    });

  program
    .command('predict')
    .description('find the faces in photos (BlazeFace), crop and level each one, and give its per-emotion probabilities (softmax); one row per face')
    .argument('<inputs...>', 'image files (PNG/JPEG) and folders (searched recursively for .png/.jpg/.jpeg)')
    .option('-c, --checkpoint <path>', "checkpoint: a .json sidecar, a .safetensors, a run folder, or 'pretrained' (the shipped weights)", 'pretrained')
    .addOption(new Option('--device <name>', 'cpu, webgpu or auto').argParser(deviceArg).default('auto'))
    .option('--class-names <names>', `class names of a bare .safetensors (comma list or ${Object.keys(CLASS_NAME_PRESETS).join('/')}); a checkpoint's own names win`, classNamesArg)
    .option('--override-class-names', "replace the checkpoint's own class names with --class-names")
    .option('--json', 'print JSON instead of a table')
    .option('--csv', 'print CSV instead of a table')
    .option('--no-detect', 'no face detection: each whole image is taken as the face crop (pre-cropped faces such as FER2013\'s)')
    .option('--annotate <dir>', 'write each image as a PNG with the face boxes and top emotions drawn on it into <dir>')
    .option('--min-face-score <x>', 'lowest detector score kept as a face, in [0, 1]', numArg('--min-face-score'), 0.65)
    .option('--margin <x>', 'face crop side = face box side * (1 + margin)', numArg('--margin'), 0.2)
    .action(async (inputs: string[], o) => {
      if (o.json && o.csv) throw new RangeError('predict: --json and --csv cannot be used together');
      if (!(o.minFaceScore >= 0 && o.minFaceScore <= 1)) throw new RangeError(`predict: --min-face-score must be in [0, 1], got ${o.minFaceScore}`);
      if (!(o.margin >= 0)) throw new RangeError(`predict: --margin must be >= 0, got ${o.margin}`);
      const device = await resolveDevice(o.device, (s) => io.err(s));
      const detectOptions = { minScore: o.minFaceScore };
      const r = await predictFiles(o.checkpoint, inputs, {
        device,
        classNames: o.classNames,
        overrideClassNames: o.overrideClassNames === true,
        warn: (m) => io.err(m),
        detect: o.detect,
        detectOptions,
        margin: o.margin,
        annotateDir: o.annotate,
        onResult: (x) => {
          if (x.status === 'error') io.err(`${x.image}: ${x.error} (skipped)`);
        },
      });
      const detection = o.detect ? { model: 'BlazeFace (weights/blazeface)', min_score: o.minFaceScore, iou_threshold: 0.3, margin: o.margin } : null;
      if (o.json) io.out(formatJson(r, detection));
      else if (o.csv) io.out(formatCsv(r.results, r.classNames));
      else io.out(formatFaceTable(r.results, r.classNames));
      if (r.annotated.length) io.err(`wrote ${r.annotated.length} annotated picture(s) to ${o.annotate}`);
      if (r.failed) io.err(`${r.failed} of ${r.results.length} input(s) could not be read`);
      done(r.failed ? 1 : 0);
    });

  program
    .command('import')
    .description('load an official-format PyTorch checkpoint (.pth state dict, {"model_state_dict": ...}, or .safetensors) with strict key checking and save it in our format')
    .argument('<checkpoint>', 'the .pth / .pt / .safetensors file')
    .requiredOption('--out <path>', 'output prefix (writes <path>.safetensors + <path>.json) or an existing folder (<folder>/imported.*)')
    .option('--class-names <names>', `class names in logit order: a comma list, or a preset: ${Object.entries(CLASS_NAME_PRESETS).map(([k, v]) => `${k} (${v.join(',')})`).join('; ')} (default fer2013 for 7 classes)`, classNamesArg)
    .option('--width <x>', 'width multiplier (default: inferred from the shapes)', numArg('--width'))
    .option('--image-size <n>', 'input side the model was trained at', intArg('--image-size'), 64)
    .option('--key <key>', 'key of the state dict inside a training checkpoint (default: model_state_dict, state_dict, model)')
    .option('--strip-prefix <prefix>', "prefix to remove from every key (e.g. 'module.')")
    .action(async (input: string, o) => {
      if (!o.classNames) io.err('note: no --class-names given; assuming FER2013 order (angry, disgust, fear, happy, sad, surprise, neutral). The official eval scripts use --class-names official.');
      const r = await importCheckpoint(input, { out: o.out, classNames: o.classNames, width: o.width, imageSize: o.imageSize, key: o.key, stripPrefix: o.stripPrefix });
      const cfg = r.sidecar.config;
      io.out(`imported ${input}: ResEmoteNet width ${cfg.width}, ${cfg.num_classes} classes (${cfg.class_names.join(', ')}), ${num_parameters(r.model).toLocaleString('en-US')} parameters`);
      io.out(`wrote ${r.prefix}.safetensors and ${r.prefix}.json`);
      done(0);
    });

  program
    .command('curves')
    .description('training curves (loss and accuracy per epoch) as SVG from a run folder or its log.jsonl')
    .argument('<run>', 'run folder or log.jsonl')
    .option('-o, --output <file>', 'SVG to write (default: <run>/curves.svg)')
    .action(async (run: string, o) => {
      io.out(`wrote ${await writeCurves(run, o.output)}`);
      done(0);
    });

  return program;
}

/**
 * Runs the command line with `argv` (without node and the script). Returns the exit status
 * instead of exiting (except a second Ctrl-C during training, which exits 130 at once).
 */
export async function main(argv: string[], ioIn: Partial<CliIO> = {}): Promise<number> {
  const io: Required<CliIO> = {
    out: ioIn.out ?? ((s) => process.stdout.write(s + '\n')),
    err: ioIn.err ?? ((s) => process.stderr.write(s + '\n')),
    progress: ioIn.progress ?? !!process.stderr.isTTY,
    handleSignals: ioIn.handleSignals ?? true,
  };
  let code = 0;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') return 0;
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof MissingDataError) {
      io.err(e.message);
      return 2;
    }
    if (e instanceof ExitCode) {
      if (e.message) io.err(e.message);
      return e.code;
    }
    if (e instanceof RangeError || e instanceof InvalidArgumentError || e instanceof RunExistsError) {
      io.err(`error: ${e.message}`);
      return 2;
    }
    io.err(`error: ${(e as Error).message ?? String(e)}`);
    if (process.env.RESEMOTENET_DEBUG) io.err((e as Error).stack ?? '');
    return 1;
  }
}

function isMain(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(arg)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
