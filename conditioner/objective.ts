/** Training objectives: what loss a step minimises and which parts of it are logged. */
import type { Tensor } from "../engine/tensor.ts";
import { add, scale } from "../engine/ops/elementwise.ts";
import { concat, reshape } from "../engine/ops/layout.ts";
import { mseLoss } from "../engine/ops/losses.ts";
import type { ConditionerOutput, LatentConditionerImg } from "./model.ts";

/** Inputs and targets of one batch. */
export interface BatchTensors {
  /** Images [B, 1, S, S]. */
  x: Tensor;
  /** Scaled main latents [B, 32]. */
  y1: Tensor;
  /** Scaled hierarchical latents [B, 3, 8]. */
  y2: Tensor;
}

/** A step's loss and its logged parts (one-element tensors, all on the GPU). */
export interface ObjectiveLosses {
  /** What backward() runs on. */
  total: Tensor;
  /** Parts in the order of {@link Objective.parts}. */
  parts: Tensor[];
  /** 10 * MSE(y1) + MSE(y2): the metric every recipe is compared on. */
  metric: Tensor;
}

/**
 * TensorBoard folder and tags of an objective (SimulGen-VAE's names differ between its two
 * recipes). Tag i names part i; parts past the end of a list are not logged.
 */
export interface TensorBoardTags {
  /** Log folder name inside the run folder. */
  dir: string;
  /** Tags of the first training parts, e.g. "LatentConditioner Loss/train". */
  train: string[];
  /** Tags of the first validation parts. */
  val: string[];
  /** Tag of the learning rate. */
  lr: string;
}

/** A loss recipe for training and validation. */
export interface Objective {
  /** "original", or "enhanced:<preset>". */
  readonly name: string;
  /** Names of the logged parts. */
  readonly parts: readonly string[];
  /** Where and under which tags the parts go in TensorBoard. */
  readonly tensorboard: TensorBoardTags;
  /**
   * Training loss for an augmented batch; `clean` is the same batch before augmentation (used by
   * consistency regularisation).
   */
  train(model: LatentConditionerImg, batch: BatchTensors, clean: BatchTensors): ObjectiveLosses;
  /** Validation loss (eval mode, no gradient). */
  validate(model: LatentConditionerImg, batch: BatchTensors): ObjectiveLosses;
}

/** Weight of the y1 term in SimulGen-VAE's loss 10 * MSE(y1) + MSE(y2). */
export const Y1_WEIGHT = 10;

/** 10 * MSE(y1) + MSE(y2), parts [total, MSE(y1), MSE(y2)]: the metric all recipes are compared on. */
export function simulgenLoss(out: ConditionerOutput, batch: BatchTensors): ObjectiveLosses {
  const l1 = mseLoss(out.y1, batch.y1);
  const l2 = mseLoss(out.y2, batch.y2);
  const total = add(scale(l1, Y1_WEIGHT), l2);
  return { total, parts: [total, l1, l2], metric: total };
}

/** SimulGen-VAE's TensorBoard layout for the original recipe (SPEC section 4). */
export const ORIGINAL_TENSORBOARD: TensorBoardTags = {
  dir: "LatentConditionerRuns",
  train: [
    "LatentConditioner Loss/train",
    "LatentConditioner Loss/train_y1",
    "LatentConditioner Loss/train_y2",
  ],
  val: [
    "LatentConditioner Loss/val",
    "LatentConditioner Loss/val_y1",
    "LatentConditioner Loss/val_y2",
  ],
  lr: "Learning Rate",
};

/** SimulGen-VAE's original recipe. */
export const originalObjective: Objective = {
  name: "original",
  parts: ["total", "y1", "y2"],
  tensorboard: ORIGINAL_TENSORBOARD,
  train: (model, batch) => simulgenLoss(model.forward(batch.x), batch),
  validate: (model, batch) => simulgenLoss(model.forward(batch.x), batch),
};

/** Packs one-element tensors into one [n] tensor (for accumulation on the GPU). */
export function stackScalars(parts: Tensor[]): Tensor {
  return concat(parts.map((p) => reshape(p, [1])));
}
