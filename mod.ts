/**
 * WebGPU training engine for CNN latent conditioners: everything of `core.ts` (the engine and the
 * conditioner's model, settings, augmentation and losses, which run in any WebGPU runtime) plus
 * the file layer, which needs Deno: safetensors files by path, datasets from folders, training
 * runs, prediction, recipe comparison, TensorBoard and NumPy files.
 *
 * @module
 */
export * from "./core.ts";

// Files (Deno): safetensors by path, atomic writes.
export { loadSafetensors, saveSafetensors, writeFileAtomic } from "./io/files.ts";
export { loadTuningCache, saveTuningCache, tuningCachePath } from "./io/tuning_cache.ts";

// Conditioner: data (loading, scaling, GPU upload and batches).
export {
  type Batch,
  ConditionerDataset,
  gatherBatch,
  type GpuDataset,
  type GpuRows,
  loadDataset,
  type LoadDatasetOptions,
  type LoadedDataset,
  type ScalersJSON,
  uploadDataset,
  type UploadOptions,
} from "./conditioner/data.ts";
export { MinMaxScaler, type MinMaxScalerJSON } from "./conditioner/targets.ts";

// Conditioner: training, prediction and recipe comparison.
export { type RunOptions, type RunResult, runTraining } from "./conditioner/run.ts";
export {
  type EpochRecord,
  evaluate,
  type StopReason,
  train,
  TrainingError,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
} from "./conditioner/train.ts";
export {
  predictFolder,
  predictLatents,
  type PredictOptions,
  type PredictResult,
  readRunModel,
  type RunModel,
} from "./conditioner/predict.ts";
export {
  type CompareOptions,
  type ComparePair,
  comparePairs,
  compareRecipes,
  type CompareRow,
  type CompareRun,
  formatCompareTable,
  type Stat,
} from "./conditioner/compare.ts";
export {
  type CompareShard,
  compareShard,
  type MergedComparison,
  mergeShards,
  parseShard,
  type ShardResult,
} from "./conditioner/compare_shards.ts";

// Conditioner: the run report (report.html) and the history it plots.
export {
  collectReport,
  type OutputFit,
  outputFits,
  type ParitySeries,
  REPORT_FILE,
  type ReportData,
  type ReportOptions,
  type ValidationFit,
  writeReport,
} from "./conditioner/report.ts";
export { type EpochView, epochView, readHistory } from "./conditioner/history_view.ts";

// Conditioner: file formats (TensorBoard events, NumPy arrays, run checkpoints).
export {
  type EventRecord,
  readEvents,
  type ReadEventsOptions,
  SummaryWriter,
  type SummaryWriterOptions,
} from "./conditioner/tensorboard.ts";
export {
  type NpyArray,
  parseNpy,
  readNpy,
  readNpz,
  writeNpy,
  writeNpz,
} from "./conditioner/npy.ts";
export {
  assertFinite,
  NonFiniteError,
  RUN_FILES,
  type RunState,
  saveModel,
} from "./conditioner/checkpoint.ts";
export {
  datasetFingerprint,
  recoverRunFolder,
  RUN_INFO_FILE,
  RunFolder,
  type RunInfo,
} from "./conditioner/run_folder.ts";
