/** Packs parameters and their gradients into single buffers so optimizers touch them at once. */
import type { Engine } from "../engine.ts";
import type { Tensor } from "../tensor.ts";
import { copyInto } from "../ops/layout.ts";

/** @internal Packs by the root storage of their gradient buffer (registered by ParamPack). */
export const packs: WeakMap<object, { params: Tensor[]; grads: Tensor }> = new WeakMap();

/**
 * Moves each parameter's data into a slice of one buffer (the tensor objects stay the same, so
 * modules keep working) and gives each a gradient slot in a second buffer of the same layout,
 * which backward accumulates into.
 */
export class ParamPack {
  readonly engine: Engine;
  readonly params: Tensor[];
  /** All parameter values (slices padded for alignment; padding stays zero). */
  readonly values: Tensor;
  /** All gradients, same layout. */
  readonly grads: Tensor;
  /** Element offset of each parameter in the packed buffers. */
  readonly offsets: number[];

  constructor(params: Tensor[]) {
    if (params.length === 0) throw new Error("optimizer: no parameters given");
    const e = params[0].engine;
    this.engine = e;
    this.params = params;
    for (const p of params) {
      if (p.dtype !== "f32") throw new Error(`optimizer: parameter ${p} is not f32`);
      if (p.gradSlot) throw new Error(`optimizer: parameter ${p} already belongs to an optimizer`);
      if (!p.isLeaf) throw new Error(`optimizer: ${p} is computed, not a leaf parameter`);
    }
    const shapes = params.map((p) => p.shape);
    const vals = e.packed(shapes);
    const grads = e.packed(shapes);
    this.values = e.keep(vals.whole);
    this.grads = e.keep(grads.whole);
    packs.set(this.grads.storage(), this);
    this.offsets = vals.tensors.map((t) => t.binding().offset / 4);
    params.forEach((p, i) => {
      const slice = vals.tensors[i];
      copyInto(slice, p);
      p.rebind(slice.shareStorage());
      slice.dispose();
      if (p.grad) p.clearGrad();
      p.gradSlot = e.keep(grads.tensors[i]);
    });
  }

  /** Total elements of the packed buffers (including alignment padding). */
  get length(): number {
    return this.values.size;
  }
}
