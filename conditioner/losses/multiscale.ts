/** Multi-scale robust loss of the conditioner's two outputs (SPEC section 5), one fused kernel. */
import { robustLoss, type RobustLossResult, type RobustLossWeights } from "./robust_loss.ts";
import type { EnhancedLossConfig } from "../enhanced_config.ts";
import type { BatchTensors } from "../objective.ts";
import type { ConditionerOutput } from "../model.ts";

/** Names of the six unweighted terms in {@link RobustLossResult.terms}, as SimulGen-VAE logs them. */
export const MULTISCALE_TERMS = [
  "mse_main",
  "mae_main",
  "huber_main",
  "mse_hier",
  "mae_hier",
  "huber_hier",
] as const;

/**
 * main_w * (mse_w MSE + mae_w L1 + huber_w SmoothL1(beta))(y1) + hier_w * (same)(y2).
 * Returns the differentiable total and the six unweighted terms.
 */
export function multiscaleLoss(
  out: ConditionerOutput,
  batch: BatchTensors,
  cfg: EnhancedLossConfig,
): RobustLossResult {
  return robustLoss(out.y1, batch.y1, out.y2, batch.y2, robustLossWeights(cfg));
}

/** The fused kernel's weights for a loss configuration. */
export function robustLossWeights(cfg: EnhancedLossConfig): RobustLossWeights {
  return {
    mse: cfg.mseWeight,
    mae: cfg.maeWeight,
    huber: cfg.huberWeight,
    beta: cfg.huberBeta,
    main: cfg.mainWeight,
    hier: cfg.hierWeight,
  };
}
