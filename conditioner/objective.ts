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
 * One logged part of an objective and everywhere it goes: history.json, the console, TensorBoard
 * and the enhanced metrics file. An objective's first part is its total.
 */
export interface LoggedPart {
  /** Key in history.json's `train` / `val` objects and label on the console. */
  readonly name: string;
  /** TensorBoard tag of the training value (not logged when absent). */
  readonly trainTag?: string;
  /** TensorBoard tag of the validation value (not logged when absent). */
  readonly valTag?: string;
  /** Key of the per-epoch array in enhanced_training_metrics.npz (not written when absent). */
  readonly npz?: string;
  /** Shown on the epoch line after the total. */
  readonly console?: boolean;
  /** A term of the total as it enters it (weighted), shown with its share of the total. */
  readonly component?: boolean;
}

/** TensorBoard tag of the validation metric 10 * MSE(y1) + MSE(y2), the same for every recipe. */
export const METRIC_TAG = "Validation/metric";

/** A loss recipe for training and validation. */
export interface Objective {
  /** "original", or "enhanced:<preset>". */
  readonly name: string;
  /** The logged parts, total first ({@link LoggedPart}). */
  readonly parts: readonly LoggedPart[];
  /** TensorBoard log folder inside the run folder. */
  readonly tensorboardDir: string;
  /** TensorBoard tag of the learning rate. */
  readonly lrTag: string;
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

/** The original recipe's parts and SimulGen-VAE's TensorBoard tags for them (SPEC section 4). */
export const ORIGINAL_PARTS: readonly LoggedPart[] = [
  {
    name: "total",
    trainTag: "LatentConditioner Loss/train",
    valTag: "LatentConditioner Loss/val",
  },
  {
    name: "y1",
    trainTag: "LatentConditioner Loss/train_y1",
    valTag: "LatentConditioner Loss/val_y1",
    console: true,
  },
  {
    name: "y2",
    trainTag: "LatentConditioner Loss/train_y2",
    valTag: "LatentConditioner Loss/val_y2",
    console: true,
  },
];

/** SimulGen-VAE's original recipe. */
export const originalObjective: Objective = {
  name: "original",
  parts: ORIGINAL_PARTS,
  tensorboardDir: "LatentConditionerRuns",
  lrTag: "Learning Rate",
  train: (model, batch) => simulgenLoss(model.forward(batch.x), batch),
  validate: (model, batch) => simulgenLoss(model.forward(batch.x), batch),
};

/** Packs one-element tensors into one [n] tensor (for accumulation on the GPU). */
export function stackScalars(parts: Tensor[]): Tensor {
  return concat(parts.map((p) => reshape(p, [1])));
}
