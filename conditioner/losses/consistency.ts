/** Consistency regularisation (SPEC section 5): augmented predictions should match clean ones. */
import type { Tensor } from "../../engine/tensor.ts";
import { add, scale } from "../../engine/ops/elementwise.ts";
import { mseLoss } from "../../engine/ops/losses.ts";
import type { ConditionerOutput } from "../model.ts";

/**
 * weight * (MSE(aug.y1, clean.y1) + MSE(aug.y2, clean.y2)) / temperature, where `clean` is the
 * model's prediction on the un-augmented batch, taken as a constant target.
 */
export function consistencyLoss(
  aug: ConditionerOutput,
  clean: ConditionerOutput,
  weight: number,
  temperature: number,
): Tensor {
  if (!(temperature > 0)) {
    throw new Error(`consistencyLoss: temperature must be > 0, got ${temperature}`);
  }
  const l = add(mseLoss(aug.y1, clean.y1.detach()), mseLoss(aug.y2, clean.y2.detach()));
  return scale(l, weight / temperature);
}
