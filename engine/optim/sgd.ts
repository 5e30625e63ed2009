/** Plain stochastic gradient descent, updating parameters in place. */
import type { Tensor } from "../tensor.ts";
import { fmtShape } from "../tensor.ts";
import { axpyInto } from "../ops/elementwise.ts";

/** Options for {@link SGD}. */
export interface SGDOptions {
  /** Learning rate. */
  lr: number;
}

/** p ← p − lr · p.grad for every parameter that has a gradient. */
export class SGD {
  /** The parameters it updates. */
  readonly params: Tensor[];
  /** Learning rate of the next step. */
  lr: number;

  /** Throws unless `options.lr` > 0. */
  constructor(params: Tensor[], options: SGDOptions) {
    if (!(options.lr > 0)) throw new Error(`SGD: lr must be > 0, got ${options.lr}`);
    this.params = params;
    this.lr = options.lr;
  }

  /** Applies one update (recorded on the GPU, no readback). */
  step(): void {
    for (const p of this.params) {
      if (!p.grad) continue;
      if (p.grad.size !== p.size) {
        throw new Error(
          `SGD: gradient ${fmtShape(p.grad.shape)} does not match parameter ${fmtShape(p.shape)}`,
        );
      }
      axpyInto(p, p.grad, -this.lr);
    }
  }

  /** Frees and clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params) p.clearGrad();
  }
}
