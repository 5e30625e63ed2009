/** Parameter initialisers (in place, seeded), matching torch.nn.init. */
import type { Tensor } from "../tensor.ts";
import { fmtShape } from "../tensor.ts";
import { addScalar, scale } from "../ops/elementwise.ts";
import { copyInto } from "../ops/layout.ts";

/** Fan-in and fan-out as torch.nn.init computes them (dim 1 and dim 0 times the receptive field). */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.rank < 2) {
    throw new Error(`init: fan in/out need at least 2 dims, got ${fmtShape(t.shape)}`);
  }
  const receptive = t.shape.slice(2).reduce((s, d) => s * d, 1);
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

/** Options shared by the Kaiming initialisers. */
export interface KaimingOptions {
  /** Which fan to preserve. Default "fanIn". */
  mode?: "fanIn" | "fanOut";
  /** Gain; default sqrt(2) (ReLU), as `nonlinearity='relu'` in PyTorch. */
  gain?: number;
  /** Seed of the GPU generator (default: the engine's next seed). */
  seed?: number;
}

/** Fills `t` with U(low, high) from the GPU generator. */
export function uniform(t: Tensor, low: number, high: number, seed?: number): Tensor {
  const e = t.engine;
  e.noGrad(() =>
    e.tidy(() => {
      const r = e.rand(t.shape, { seed });
      copyInto(t, addScalar(scale(r, high - low), low));
    })
  );
  return t;
}

/** Fills `t` with N(0, std²). */
export function normal(t: Tensor, std: number, seed?: number): Tensor {
  const e = t.engine;
  e.noGrad(() => e.tidy(() => copyInto(t, scale(e.randn(t.shape, { seed }), std))));
  return t;
}

/** torch.nn.init.kaiming_uniform_: U(-b, b) with b = gain * sqrt(3 / fan). */
export function kaimingUniform(t: Tensor, options: KaimingOptions = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  const fan = options.mode === "fanOut" ? fanOut : fanIn;
  const bound = (options.gain ?? Math.SQRT2) * Math.sqrt(3 / fan);
  return uniform(t, -bound, bound, options.seed);
}

/** torch.nn.init.kaiming_normal_: N(0, (gain / sqrt(fan))²). */
export function kaimingNormal(t: Tensor, options: KaimingOptions = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  const fan = options.mode === "fanOut" ? fanOut : fanIn;
  return normal(t, (options.gain ?? Math.SQRT2) / Math.sqrt(fan), options.seed);
}

/** torch.nn.init.xavier_uniform_: U(-b, b) with b = gain * sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform(t: Tensor, gain = 1, seed?: number): Tensor {
  const { fanIn, fanOut } = fans(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(t, -bound, bound, seed);
}

/** Sets every element to 0. */
export function zeros(t: Tensor): Tensor {
  t.engine.fill(t, 0);
  return t;
}

/** Sets every element to 1. */
export function ones(t: Tensor): Tensor {
  t.engine.fill(t, 1);
  return t;
}
