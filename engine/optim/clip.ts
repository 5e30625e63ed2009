/** Gradient clipping by global norm, like torch.nn.utils.clip_grad_norm_. */
import type { Tensor } from "../tensor.ts";
import { sqrt, square } from "../ops/elementwise.ts";
import { concat, reshape } from "../ops/layout.ts";
import { sum } from "../ops/reduce.ts";
import { packs } from "./pack.ts";

/**
 * Scales the gradients of `params` in place by min(1, maxNorm / (norm + 1e-6)) and returns the
 * total L2 norm as a one-element GPU tensor (read it later; nothing waits here). When the
 * parameters are exactly an optimizer's packed set, the norm and the scaling run over its one
 * gradient buffer (a few dispatches whatever the model size) instead of per parameter.
 */
export function clipGradNorm(params: Tensor[], maxNorm: number): Tensor {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const withGrad = params.filter((p) => p.grad);
  if (withGrad.length === 0) throw new Error("clipGradNorm: no parameter has a gradient");
  const e = withGrad[0].engine;
  const packed = packedGrads(withGrad);
  const grads = packed ? [packed] : withGrad.map((p) => p.grad!);
  const norm = e.noGrad(() =>
    e.tidy(() => {
      if (grads.length === 1) return sqrt(sum(square(grads[0])));
      return sqrt(sum(concat(grads.map((g) => reshape(sum(square(g)), [1])))));
    })
  );
  for (const g of grads) {
    e.run({ file: "optim", entry: "clip_scale" }, { total_norm: norm, grad_rw: g }, {
      n: g.size,
      max_norm: maxNorm,
    }, e.grid(g.size));
  }
  return norm;
}

/** The packed gradient buffer when `params` are exactly one pack's parameters, all with grads. */
function packedGrads(params: Tensor[]): Tensor | null {
  const root = params[0].gradSlot?.storage().parent;
  const pack = root ? packs.get(root) : undefined;
  if (!pack || pack.params.length !== params.length) return null;
  const members = new Set(pack.params);
  const complete = params.every((p) => members.has(p) && p.grad === p.gradSlot);
  return complete ? pack.grads : null;
}
