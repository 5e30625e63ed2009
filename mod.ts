/**
 * WebGPU training engine for CNN latent conditioners.
 *
 * @module
 */
export {
  Engine,
  type EngineOptions,
  type Keepable,
  type TensorData,
  type TensorOptions,
} from "./engine/engine.ts";
export type { Backend, BackendInfo, DeviceOptions, GpuContext } from "./engine/device.ts";
export { type DType, Tensor } from "./engine/tensor.ts";
export type { PoolStats } from "./engine/buffers.ts";
export {
  abs,
  add,
  addScalar,
  clampMin,
  div,
  exp,
  gelu,
  huber,
  leakyRelu,
  log,
  mul,
  neg,
  relu,
  scale,
  sigmoid,
  silu,
  sqrt,
  square,
  sub,
  tanh,
} from "./engine/ops/elementwise.ts";
export { mean, sum } from "./engine/ops/reduce.ts";
export {
  clone,
  concat,
  expand,
  flatten,
  permute,
  reshape,
  slice,
  transpose,
} from "./engine/ops/layout.ts";
export { linear, matmul } from "./engine/ops/matmul.ts";
export { dropout, type DropoutOptions } from "./engine/ops/random.ts";
export {
  type CosineOptions,
  cosineSimilarity,
  l1Loss,
  mseLoss,
  smoothL1Loss,
  type SmoothL1Options,
} from "./engine/ops/losses.ts";
export { SGD, type SGDOptions } from "./engine/optim/sgd.ts";
export { AdamW, type AdamWOptions } from "./engine/optim/adamw.ts";
export { clipGradNorm } from "./engine/optim/clip.ts";
export {
  constantLr,
  type LrSchedule,
  warmupCosineLr,
  type WarmupCosineOptions,
} from "./engine/optim/schedule.ts";
export { Layer, Module, ModuleList, Sequential } from "./engine/nn/module.ts";
export {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  type Conv2dLayerOptions,
  Flatten,
  GELU,
  GroupNorm,
  LayerNorm,
  Linear,
  type LinearOptions,
  type NormOptions,
  type Pair,
  ReLU,
  Sigmoid,
  SiLU,
  spectralNorm,
  Tanh,
  WeightedLayer,
} from "./engine/nn/layers.ts";
/** Weight initialisers (PyTorch's `torch.nn.init`), filling tensors in place. */
export * as init from "./engine/nn/init.ts";
export {
  type HostTensor,
  loadSafetensors,
  loadStateDict,
  parseSafetensors,
  readTensors,
  type SafetensorsFile,
  saveSafetensors,
  serializeSafetensors,
  writeFileAtomic,
} from "./engine/nn/safetensors.ts";
export {
  batchNorm2d,
  type BatchNormOptions,
  groupNorm,
  type GroupNormOptions,
  layerNorm,
  type LayerNormOptions,
} from "./engine/ops/norm.ts";
export {
  adaptiveAvgPool2d,
  avgPool2d,
  type AvgPool2dOptions,
  maxPool2d,
  type MaxPool2dOptions,
  type PoolSize,
} from "./engine/ops/pool.ts";
export { conv2d, type Conv2dOptions } from "./engine/ops/conv.ts";
export { gatherRows } from "./engine/ops/gather.ts";
export { spectralNormalize, type SpectralNormalizeOptions } from "./engine/ops/spectral.ts";
export { KernelProfiler, type KernelTiming } from "./engine/profiler.ts";
export {
  robustLoss,
  type RobustLossResult,
  type RobustLossWeights,
} from "./engine/ops/robust_loss.ts";

// Conditioner: the model.
export {
  type ConditionerOptions,
  type ConditionerOutput,
  groupsFor,
  LATENT_DIM,
  LatentConditionerImg,
  XS_SHAPE,
} from "./conditioner/model.ts";

// Conditioner: settings (condition.txt, command-line overrides, JSON).
export {
  type ConditionEntry,
  type ConditionerConfig,
  type ConditionSection,
  ConfigError,
  configFromJson,
  type ConfigNote,
  type ConfigOverrides,
  configToJson,
  defaultConfig,
  type EnhancedSettings,
  type FlatSettings,
  formatResolvedConfig,
  parseConditionFile,
  type ParsedCondition,
  resolveConfig,
  type ResolvedConfig,
  type ResolveInput,
  type SettingName,
  type SettingValue,
  type ValueSource,
} from "./conditioner/config.ts";
export {
  defaultEnhancedLoss,
  type EnhancedLossConfig,
  PRESET_NAMES,
  presetConfig,
  type PresetName,
} from "./conditioner/enhanced_config.ts";

// Conditioner: data (loading, scaling, split, GPU upload and batches).
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
  type Split,
  splitIndices,
  uploadDataset,
  type UploadOptions,
} from "./conditioner/data.ts";
export { MinMaxScaler, type MinMaxScalerJSON } from "./conditioner/targets.ts";

// Conditioner: augmentation.
export {
  type AugmentationRecord,
  type AugmentConfig,
  Augmenter,
  type AugmentOptions,
  type AugmentProbabilities,
  type AugmentResult,
} from "./conditioner/augment.ts";

// Conditioner: training objectives and losses.
export {
  type BatchTensors,
  type Objective,
  type ObjectiveLosses,
  ORIGINAL_TENSORBOARD,
  originalObjective,
  simulgenLoss,
  type TensorBoardTags,
} from "./conditioner/objective.ts";
export {
  ENHANCED_TENSORBOARD,
  EnhancedObjective,
} from "./conditioner/losses/enhanced_objective.ts";
export { PerceptualFeatureNets, type PerceptualLoss } from "./conditioner/losses/perceptual.ts";
export { consistencyLoss } from "./conditioner/losses/consistency.ts";
export { multiscaleLoss } from "./conditioner/losses/multiscale.ts";

// Conditioner: training, prediction and recipe comparison.
export { type RunOptions, type RunResult, runTraining } from "./conditioner/run.ts";
export {
  type EpochRecord,
  evaluate,
  type StopReason,
  train,
  TrainingError,
  type TrainOptions,
  type TrainResult,
} from "./conditioner/train.ts";
export { predictFolder, type PredictOptions, type PredictResult } from "./conditioner/predict.ts";
export {
  type CompareOptions,
  compareRecipes,
  type CompareRow,
  type CompareRun,
  formatCompareTable,
  type Stat,
} from "./conditioner/compare.ts";

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
export { RUN_FILES, saveModel } from "./conditioner/checkpoint.ts";
