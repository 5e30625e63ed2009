/**
 * The runtime-agnostic part of the public API: the WebGPU tensor engine (ops, autograd, layers,
 * optimizers, safetensors as bytes) and the latent conditioner's model, settings, augmentation and
 * losses. It needs nothing but WebGPU (`navigator.gpu`), so it runs under Deno, in a browser (the
 * bundle `dist/webgpu-conditioner.js`, built by `deno task bundle`) and in Node with a WebGPU
 * implementation. `mod.ts` adds the Deno-only file layer (paths, datasets, training runs).
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
export {
  adapterKey,
  type Budgets,
  type ConvTiles,
  type Family,
  KERNELS_VERSION,
  type NormTuning,
  profileFor,
  type ProfileName,
  PROFILES,
  resolveTuning,
  type Tile,
  type TunedChoice,
  type Tuning,
  type TuningOption,
  type TuningOverrides,
  type WinogradVariant,
} from "./engine/tuning.ts";
export {
  CANDIDATES,
  type TuneCase,
  type TuneClock,
  type TuneOptions,
  type TuneReport,
} from "./engine/autotune.ts";
export { conditionerTuneCases, type TuneShapeOptions } from "./conditioner/tuning_cases.ts";
export { type DType, Tensor } from "./engine/tensor.ts";
export type { PoolStats } from "./engine/buffers.ts";
export {
  abs,
  add,
  addScalar,
  addSilu,
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
  type GroupNormLayerOptions,
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
  loadStateDict,
  parseSafetensors,
  readTensors,
  type SafetensorsFile,
  serializeSafetensors,
  serializeStateDict,
} from "./engine/nn/safetensors.ts";
export {
  batchNorm2d,
  type BatchNormOptions,
  groupNorm,
  type GroupNormOptions,
  layerNorm,
  type LayerNormOptions,
  type NormActivation,
} from "./engine/ops/norm.ts";
export { channelGate } from "./engine/ops/gate.ts";
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
  type LoggedPart,
  METRIC_TAG,
  type Objective,
  type ObjectiveLosses,
  ORIGINAL_PARTS,
  originalObjective,
  simulgenLoss,
} from "./conditioner/objective.ts";
export { ENHANCED_PARTS, EnhancedObjective } from "./conditioner/losses/enhanced_objective.ts";
export { PerceptualFeatureNets, type PerceptualLoss } from "./conditioner/losses/perceptual.ts";
export { consistencyLoss } from "./conditioner/losses/consistency.ts";
export { multiscaleLoss } from "./conditioner/losses/multiscale.ts";
export {
  robustLoss,
  type RobustLossResult,
  type RobustLossWeights,
} from "./conditioner/losses/robust_loss.ts";

// Conditioner: the seeded train/validation split.
export { type Split, splitIndices } from "./conditioner/batches.ts";
