/** Loss functions and similarity measures, composed from differentiable ops. */
import type { Tensor } from "../tensor.ts";
import { fmtShape } from "../tensor.ts";
import { abs, clampMin, div, huber, mul, sqrt, square, sub } from "./elementwise.ts";
import { mean, sum } from "./reduce.ts";
import { normalizeDim } from "./shape_utils.ts";

function sameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(
      `${op}: input ${fmtShape(a.shape)} and target ${fmtShape(b.shape)} must have the same shape`,
    );
  }
}

/** Applies `f` to the difference and averages. */
function meanOf(a: Tensor, b: Tensor, f: (d: Tensor) => Tensor): Tensor {
  return a.engine.composite([a, b], () => mean(f(sub(a, b))));
}

/** Mean squared error (reduction 'mean'), like torch.nn.functional.mse_loss. */
export function mseLoss(input: Tensor, target: Tensor): Tensor {
  sameShape("mseLoss", input, target);
  return meanOf(input, target, square);
}

/** Mean absolute error (reduction 'mean'), like torch.nn.functional.l1_loss. */
export function l1Loss(input: Tensor, target: Tensor): Tensor {
  sameShape("l1Loss", input, target);
  return meanOf(input, target, abs);
}

/** Options for {@link smoothL1Loss}. */
export interface SmoothL1Options {
  /** Where the loss turns from quadratic to linear. Default 1. */
  beta?: number;
}

/** Smooth L1 (Huber with threshold beta), reduction 'mean', like torch's smooth_l1_loss. */
export function smoothL1Loss(input: Tensor, target: Tensor, options: SmoothL1Options = {}): Tensor {
  sameShape("smoothL1Loss", input, target);
  const beta = options.beta ?? 1;
  return meanOf(input, target, (d) => huber(d, beta));
}

/** Options for {@link cosineSimilarity}. */
export interface CosineOptions {
  /** Dimension along which vectors lie. Default 1. */
  dim?: number;
  /** Lower bound of each vector's norm. Default 1e-8. */
  eps?: number;
}

/** Cosine similarity along `dim`: sum(a/max(|a|, eps) * b/max(|b|, eps)), like torch's. */
export function cosineSimilarity(a: Tensor, b: Tensor, options: CosineOptions = {}): Tensor {
  sameShape("cosineSimilarity", a, b);
  const dim = normalizeDim("cosineSimilarity", options.dim ?? 1, a.rank);
  const eps = options.eps ?? 1e-8;
  return a.engine.composite([a, b], () => {
    const na = clampMin(sqrt(sum(square(a), dim, true)), eps);
    const nb = clampMin(sqrt(sum(square(b), dim, true)), eps);
    return sum(mul(div(a, na), div(b, nb)), dim);
  });
}
