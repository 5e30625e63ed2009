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
