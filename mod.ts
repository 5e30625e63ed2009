/**
 * WebGPU training engine for CNN latent conditioners.
 *
 * @module
 */
export {
  Engine,
  type EngineOptions,
  type TensorData,
  type TensorOptions,
} from "./engine/engine.ts";
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
  ReLU,
  Sigmoid,
  SiLU,
  spectralNorm,
  Tanh,
  WeightedLayer,
} from "./engine/nn/layers.ts";
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
