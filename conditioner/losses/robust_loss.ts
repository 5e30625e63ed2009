/** Fused multi-scale robust regression loss over two prediction/target pairs (one kernel). */
import type { Tensor } from "../../engine/tensor.ts";
import { fmtShape } from "../../engine/tensor.ts";
import { mul } from "../../engine/ops/elementwise.ts";
import { reshape, slice } from "../../engine/ops/layout.ts";
import { ROBUST_LOSS_SHADER } from "../kernels.ts";

/** Weights of {@link robustLoss}. */
export interface RobustLossWeights {
  /** Weight of the MSE term of each pair. */
  mse: number;
  /** Weight of the L1 (mean absolute error) term of each pair. */
  mae: number;
  /** Weight of the SmoothL1 term of each pair. */
  huber: number;
  /** SmoothL1 threshold. */
  beta: number;
  /** Weight of the first pair (the conditioner's y1). */
  main: number;
  /** Weight of the second pair (y2). */
  hier: number;
}

/** Result of {@link robustLoss}. */
export interface RobustLossResult {
  /** main * L(p1 - t1) + hier * L(p2 - t2), differentiable w.r.t. both predictions. */
  total: Tensor;
  /** [6] unweighted means: MSE, MAE, SmoothL1 of pair 1, then of pair 2 (for logging). */
  terms: Tensor;
}

/**
 * L(d) = mse·mean(d²) + mae·mean(|d|) + huber·mean(SmoothL1(d, beta)) for both pairs in one
 * dispatch that also writes the gradients w.r.t. the predictions; targets get no gradient.
 */
export function robustLoss(
  pred1: Tensor,
  target1: Tensor,
  pred2: Tensor,
  target2: Tensor,
  w: RobustLossWeights,
): RobustLossResult {
  for (const [p, t] of [[pred1, target1], [pred2, target2]]) {
    p.storage("robustLoss");
    t.storage("robustLoss");
    if (p.size !== t.size || p.rank !== t.rank) {
      throw new Error(
        `robustLoss: prediction ${fmtShape(p.shape)} and target ${fmtShape(t.shape)} differ`,
      );
    }
  }
  if (!(w.beta > 0)) throw new Error(`robustLoss: beta must be > 0, got ${w.beta}`);
  const e = pred1.engine;
  const grad1 = e.empty(pred1.shape);
  const grad2 = e.empty(pred2.shape);
  const terms7 = e.empty([7]);
  e.run({ file: ROBUST_LOSS_SHADER, entry: "robust_loss" }, {
    pred1,
    target1,
    pred2,
    target2,
    grad1,
    grad2,
    terms: terms7,
  }, {
    n1: pred1.size,
    n2: pred2.size,
    mse_w: w.mse,
    mae_w: w.mae,
    huber_w: w.huber,
    beta: w.beta,
    main_w: w.main,
    hier_w: w.hier,
  }, [1]);
  const { total, terms } = e.noGrad(() => ({
    total: reshape(slice(terms7, 0, 0, 1), []),
    terms: slice(terms7, 0, 1, 7),
  }));
  terms7.dispose();
  e.record(total, "robustLoss", [pred1, pred2], (g) => [mul(grad1, g), mul(grad2, g)]);
  return { total, terms };
}
