/**
 * ResEmoteNet (Roy et al. 2024): the model, FER2013 data, training, evaluation, prediction,
 * checkpoints (ours and official PyTorch imports), metrics and pictures. Import as
 * `import * as resemotenet from 'resemotenet-webgpu/resemotenet'`.
 */
export { ResEmoteNet, ResidualBlock, type ResEmoteNetOptions } from './model.js';
export * from './data/index.js';
export {
  DATA_ENV,
  FER2013_KAGGLE_URL,
  MissingDataError,
  missingDataMessage,
  resolveDataSource,
  describeSource,
  loadSplit,
  seededSubset,
  type DataSource,
  type SplitData,
} from './datasets.js';
export { parseDevice, resolveDevice, probeTraining, type DeviceOption } from './device.js';
export {
  CLASS_NAME_PRESETS,
  parseClassNames,
  modelConfig,
  buildModel,
  saveCheckpoint,
  loadCheckpoint,
  readSidecar,
  resolveCheckpointPath,
  checkpointFiles,
  checkPair,
  importCheckpoint,
  inferArchitecture,
  packOptimizer,
  unpackOptimizer,
  toJson,
  fromJson,
  type ModelConfig,
  type Sidecar,
  type LoadedCheckpoint,
  type ImportOptions,
  type SaveCheckpointArgs,
} from './checkpoint.js';
export {
  DEFAULT_TRAIN_CONFIG,
  RESUME_OVERRIDABLE,
  Trainer,
  train,
  trainStep,
  makeOptimizer,
  makeScheduler,
  validateConfig,
  loaderSeedFor,
  type TrainConfig,
  type TrainHooks,
  type TrainResult,
  type EpochRecord,
  type StepInfo,
  type StopReason,
  type OptimizerName,
  type SchedulerName,
} from './train.js';
export {
  evaluateModel,
  runEvaluation,
  writeEvalOutputs,
  writeCurves,
  readTrainingLog,
  formatEvalResult,
  labelMapFor,
  evalTransform,
  EvalAborted,
  type EvaluateOptions,
  type EvalResult,
  type RunEvalOptions,
} from './evaluate.js';
export { predictImages, predictFiles, readImages, formatPredictions, type Prediction } from './predict.js';
export {
  confusionMatrix,
  reportFromConfusion,
  classificationReport,
  formatReport,
  formatConfusion,
  formatTable,
  softmaxRows,
  argmaxRow,
  type ClassificationReport,
  type ClassScores,
  type AverageScores,
} from './metrics.js';
export { confusionMatrixSvg, trainingCurvesSvg, niceTicks, escapeXml, type CurvePoint, type Series, type ConfusionSvgOptions } from './plot.js';
export { main as cliMain, buildProgram, type CliIO } from './cli.js';
