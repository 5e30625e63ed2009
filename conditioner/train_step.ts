/**
 * One training step, shared by the trainer and the step benchmark: zero the gradients, the
 * objective's forward, backward, gradient clipping, AdamW, and the logged values added into a
 * GPU accumulator. Nothing is read back.
 */
import type { Engine } from "../engine/engine.ts";
import type { Tensor } from "../engine/tensor.ts";
import { abs, axpyInto } from "../engine/ops/elementwise.ts";
import { sum } from "../engine/ops/reduce.ts";
import { clipGradNorm } from "../engine/optim/clip.ts";
import type { AdamW } from "../engine/optim/adamw.ts";
import type { LatentConditionerImg } from "./model.ts";
import { type BatchTensors, type Objective, stackScalars } from "./objective.ts";

/** What a step trains: the model, its optimizer, the objective and the clipping norm. */
export interface StepContext {
  engine: Engine;
  model: LatentConditionerImg;
  opt: AdamW;
  objective: Objective;
  /** Global gradient-norm clip. */
  gradClip: number;
}

/**
 * A GPU accumulator of an epoch's steps: one slot per objective part, then the gradient norm.
 * NaN or infinity in any step's loss or gradient stays in the sums, so reading it once per
 * epoch is enough to notice a non-finite step.
 */
export function stepAccumulator(ctx: StepContext): Tensor {
  return ctx.engine.keep(ctx.engine.zeros([ctx.objective.parts.length + 1]));
}

/**
 * Records one training step on `batch` (`clean` is the batch before augmentation) and adds its
 * parts and gradient norm into `acc`. Call inside `engine.tidy`.
 */
export function trainStep(
  ctx: StepContext,
  batch: BatchTensors,
  clean: BatchTensors,
  acc: Tensor,
): void {
  ctx.opt.zeroGrad();
  const { total, parts } = ctx.objective.train(ctx.model, batch, clean);
  total.backward();
  const norm = clipGradNorm(ctx.opt.params, ctx.gradClip);
  ctx.opt.step();
  ctx.engine.noGrad(() => axpyInto(acc, stackScalars([...parts, norm]), 1));
}

/**
 * Sum of |parameter| over the optimizer's packed parameters, as a GPU scalar: NaN or infinite
 * exactly when a parameter is (short of 3e38 in total). A NaN parameter stays NaN through
 * AdamW, so checking once per epoch, read with the epoch's accumulator, catches any step's.
 */
export function parameterMagnitude(opt: AdamW): Tensor {
  const e = opt.pack.engine;
  return e.noGrad(() => e.tidy(() => sum(abs(opt.pack.values))));
}
