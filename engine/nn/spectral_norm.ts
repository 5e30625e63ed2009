/**
 * Spectral normalisation with PyTorch's semantics (torch.nn.utils.spectral_norm, dim 0): the
 * parameter `weight_orig`, buffers `weight_u` and `weight_v`, one power iteration per training
 * forward (no gradient through u and v), none in eval; the weight used is weight_orig / sigma
 * with sigma = uᵀ W v, and gradients flow through sigma.
 */
import type { Tensor } from "../tensor.ts";
import { clampMin, div, mul, sqrt, square } from "../ops/elementwise.ts";
import { copyInto, reshape } from "../ops/layout.ts";
import { matmul } from "../ops/matmul.ts";
import { sum } from "../ops/reduce.ts";

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
export function initialVectors(weight: Tensor, eps: number, seed?: number): { u: Tensor; v: Tensor } {
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
  const e = weightOrig.engine;
  const h = weightOrig.shape[0];
  const w = weightOrig.size / h;
  const wm = reshape(weightOrig, [h, w]);
  let u = s.u;
  let v = s.v;
  if (training) {
    // u and v are fresh tensors here (PyTorch clones them), so the in-place buffer update below
    // cannot change what this forward's backward pass sees.
    [u, v] = e.noGrad(() => {
      const wd = wm.detach();
      const vNew = normalize(reshape(matmul(reshape(s.u, [1, h]), wd), [w]), s.eps);
      const uNew = normalize(reshape(matmul(wd, reshape(vNew, [w, 1])), [h]), s.eps);
      copyInto(s.v, vNew);
      copyInto(s.u, uNew);
      return [uNew, vNew];
    });
  }
  const wv = matmul(wm, reshape(v, [w, 1]));
  const sigma = sum(mul(reshape(u, [h, 1]), wv));
  return div(weightOrig, sigma);
}
