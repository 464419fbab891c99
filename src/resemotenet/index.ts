/**
 * ResEmoteNet (Roy et al. 2024): the model, FER2013 data, training, evaluation, prediction,
 * checkpoints (ours and official PyTorch imports), metrics and pictures. Import as
 * `import * as resemotenet from 'resemotenet-webgpu/resemotenet'`.
 */
export { ResEmoteNet, ResidualBlock, channelsForWidth, FULL_CHANNELS, type ResEmoteNetOptions, type ResEmoteNetChannels, type WidthRule } from './model.js';
export { inferChannels, type InferredArchitecture } from './arch.js';
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
  type RecipeName,
  RECIPES,
} from './train.js';
export { loadPretrained } from './checkpoint.js';
export { PRETRAINED, pretrainedSidecarPath } from './weights.js';
export { applyFreeze, freezeModes, loadInitWeights, readInitCheckpoint, FREEZE_MODES, type FreezeMode, type InitCheckpoint } from './finetune.js';
export { findDuplicatesFile, rowsDuplicatedInTraining, leakFreeAccuracy } from './duplicates.js';
export { cleanRunFolder, existingRunFiles, RunExistsError, RUN_MARKERS } from './run_folder.js';
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
  type LeakFree,
} from './evaluate.js';
export {
  predictImages,
  predictFiles,
  predictPhoto,
  readImages,
  formatPredictions,
  classifierFromCheckpoint,
  rgbToGray,
  cropSide,
  type Prediction,
  type FacePrediction,
  type ImageResult,
  type EmotionClassifier,
  type PhotoPredictOptions,
  type PredictFilesOptions,
  type PredictFilesResult,
} from './predict.js';
export { formatFaceTable, formatCsv, formatJson, csvField } from './predict_format.js';
export { expandInputs, IMAGE_EXTENSIONS, type PredictInput } from './predict_inputs.js';
export { drawAnnotations, encodePng, writeAnnotated, type Annotation } from './annotate.js';
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
