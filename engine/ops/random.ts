/** Dropout, with its mask regenerated from the seed in the backward pass (nothing stored). */
import type { Tensor } from "../tensor.ts";
import { clone } from "./layout.ts";

/** Options for {@link dropout}. */
export interface DropoutOptions {
  /** Identity when false (evaluation). Default true. */
  training?: boolean;
  /** Mask seed; drawn from the engine's stream when omitted. */
  seed?: number;
}

function dropoutKernel(x: Tensor, p: number, seed: number): Tensor {
  const e = x.engine;
  const out = e.empty(x.shape);
  e.run({ file: "random", entry: "dropout" }, { src: x, dst: out }, {
    n: x.size,
    seed: seed >>> 0,
    stream: 1,
    p,
    inv_keep: 1 / (1 - p),
  }, e.grid(x.size));
  return out;
}

/** Zeroes each element with probability p and scales the rest by 1 / (1 - p) (training only). */
export function dropout(x: Tensor, p: number, options: DropoutOptions = {}): Tensor {
  x.storage("dropout");
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (options.training === false || p === 0) return clone(x);
  const seed = options.seed ?? x.engine.nextSeed();
  const out = dropoutKernel(x, p, seed);
  // The gradient is the same mask and scale applied to g: dropout of g with the same seed.
  return x.engine.record(out, "dropout", [x], (g) => [dropoutKernel(g, p, seed)]);
}
