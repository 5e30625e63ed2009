/** Chooses the training recipe for a configuration and runs it. */
import type { Engine } from "../engine/engine.ts";
import type { ConditionerConfig } from "./config.ts";
import type { ConditionerDataset } from "./data.ts";
import { originalObjective } from "./objective.ts";
import { type TensorBoardTags, train, type TrainResult } from "./train.ts";

/** SimulGen-VAE's TensorBoard layout for the original recipe (SPEC section 4). */
export const ORIGINAL_TENSORBOARD: TensorBoardTags = {
  dir: "LatentConditionerRuns",
  train: ["LatentConditioner Loss/train", "LatentConditioner Loss/train_y1", "LatentConditioner Loss/train_y2"],
  val: ["LatentConditioner Loss/val", "LatentConditioner Loss/val_y1", "LatentConditioner Loss/val_y2"],
  lr: "Learning Rate",
};

/** Options for {@link runTraining}. */
export interface RunOptions {
  engine: Engine;
  config: ConditionerConfig;
  dataset: ConditionerDataset;
  runDir: string;
  resume?: boolean;
  plot?: boolean;
  log?: (line: string) => void;
  onBatch?: (done: number, total: number) => void;
  shouldStop?: () => boolean;
}

/** Trains with the recipe the configuration asks for. */
export function runTraining(o: RunOptions): Promise<TrainResult> {
  return train({ ...o, objective: originalObjective, tensorboard: ORIGINAL_TENSORBOARD });
}
