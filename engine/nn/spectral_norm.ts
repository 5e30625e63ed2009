/**
 * Spectral normalisation with PyTorch's semantics (torch.nn.utils.spectral_norm, dim 0): the
 * parameter `weight_orig`, buffers `weight_u` and `weight_v`, one power iteration per training
 * forward (no gradient through u and v), none in eval; the weight used is weight_orig / sigma
 * with sigma = uᵀ W v, and gradients flow through sigma.
 */
import type { Tensor } from "../tensor.ts";
import { clampMin, div, sqrt, square } from "../ops/elementwise.ts";
import { sum } from "../ops/reduce.ts";
import { spectralNormalize } from "../ops/spectral.ts";

/** The state spectral norm adds to a layer. */
export interface SpectralState {
  u: Tensor;
  v: Tensor;
  eps: number;
}

function normalize(x: Tensor, eps: number): Tensor {
  return div(x, clampMin(sqrt(sum(square(x))), eps));
}

/** Initial u, v: normalised standard normal vectors, as PyTorch draws them. */
export function initialVectors(
  weight: Tensor,
  eps: number,
  seed?: number,
): { u: Tensor; v: Tensor } {
  const e = weight.engine;
  const h = weight.shape[0];
  const w = weight.size / h;
  return e.noGrad(() =>
    e.tidy(() => ({
      u: normalize(e.randn([h], { seed }), eps),
      v: normalize(e.randn([w], { seed: seed === undefined ? undefined : seed + 1 }), eps),
    }))
  );
}

/** The normalised weight; in training mode first updates u and v in place. */
export function spectralWeight(weightOrig: Tensor, s: SpectralState, training: boolean): Tensor {
  return spectralNormalize(weightOrig, s.u, s.v, { iterate: training, eps: s.eps });
}
