/** Layers with PyTorch's parameter names, shapes and default initialisation. */
import type { Engine } from "../engine.ts";
import type { Tensor } from "../tensor.ts";
import { gelu, relu, sigmoid, silu, tanh } from "../ops/elementwise.ts";
import { flatten } from "../ops/layout.ts";
import { linear } from "../ops/matmul.ts";
import { conv2d } from "../ops/conv.ts";
import { batchNorm2d, groupNorm, layerNorm, type NormActivation } from "../ops/norm.ts";
import { adaptiveAvgPool2d } from "../ops/pool.ts";
import { Layer } from "./module.ts";
import { kaimingUniform, ones, uniform } from "./init.ts";
import { initialVectors, type SpectralState, spectralWeight } from "./spectral_norm.ts";

/** A 2-D size given as one number for both dims or as [h, w]. */
export type Pair = number | [number, number];

/** A layer with a `weight` that spectral norm can wrap (Linear, Conv2d). */
export abstract class WeightedLayer extends Layer {
  /** The raw weight (`weight`, or `weight_orig` under spectral norm). */
  weight: Tensor;
  /** The bias [out], or null when the layer has none. */
  bias: Tensor | null;
  /** @internal Present when {@link spectralNorm} was applied. */
  spectral: SpectralState | null = null;

  /**
   * Registers `weight` (PyTorch's default kaiming-uniform init) and, when `bias`, a bias of
   * `weightShape[0]` values (uniform in ±1/√fan_in). `seed` makes the init reproducible.
   */
  constructor(engine: Engine, weightShape: number[], bias: boolean, seed?: number) {
    super(engine);
    this.weight = this.param("weight", engine.zeros(weightShape));
    this.bias = bias ? this.param("bias", engine.zeros([weightShape[0]])) : null;
    // PyTorch's default: kaiming_uniform(a=√5) for the weight, U(±1/√fan_in) for the bias.
    kaimingUniform(this.weight, { gain: Math.sqrt(2 / 6), seed });
    if (this.bias) {
      const fanIn = this.weight.size / weightShape[0];
      uniform(
        this.bias,
        -1 / Math.sqrt(fanIn),
        1 / Math.sqrt(fanIn),
        seed === undefined ? undefined : seed + 7,
      );
    }
  }

  /** The weight the forward pass uses (normalised under spectral norm). */
  effectiveWeight(): Tensor {
    return this.spectral ? spectralWeight(this.weight, this.spectral, this.training) : this.weight;
  }

  /** @internal Renames `weight` to `weight_orig` and adds the u/v buffers (see spectralNorm). */
  enableSpectralNorm(eps: number, seed?: number): void {
    if (this.spectral) throw new Error("spectralNorm: already applied to this layer");
    const { u, v } = initialVectors(this.weight, eps, seed);
    this.unregisterParam("weight");
    if (this.bias) {
      // Keep PyTorch's order: bias stays, weight_orig is appended after it.
      this.unregisterParam("bias");
      this.param("bias", this.bias);
    }
    this.param("weight_orig", this.weight);
    this.buffer("weight_u", u);
    this.buffer("weight_v", v);
    this.spectral = { u, v, eps };
  }
}

/** Wraps a Linear or Conv2d with spectral normalisation (torch.nn.utils.spectral_norm). */
export function spectralNorm<T extends WeightedLayer>(
  layer: T,
  options: { eps?: number; seed?: number } = {},
): T {
  layer.enableSpectralNorm(options.eps ?? 1e-12, options.seed);
  return layer;
}

/** Options for {@link Linear}. */
export interface LinearOptions {
  /** Add a learnable bias. Default true. */
  bias?: boolean;
  /** Seed of the initial weights. */
  seed?: number;
}

/** torch.nn.Linear: weight [out, in], bias [out]. */
export class Linear extends WeightedLayer {
  /** Creates the layer with PyTorch's default initialisation. */
  constructor(
    engine: Engine,
    inFeatures: number,
    outFeatures: number,
    options: LinearOptions = {},
  ) {
    super(engine, [outFeatures, inFeatures], options.bias ?? true, options.seed);
  }
  /** x [..., in] -> [..., out]. */
  forward(x: Tensor): Tensor {
    return linear(x, this.effectiveWeight(), this.bias ?? undefined);
  }
}

/** Options for the {@link Conv2d} layer. */
export interface Conv2dLayerOptions {
  /** Step of the kernel over the input. Default 1. */
  stride?: Pair;
  /** Zero padding added on each side. Default 0. */
  padding?: Pair;
  /** Spacing between kernel taps. Default 1. */
  dilation?: Pair;
  /** Channel groups; both channel counts must be divisible by it. Default 1. */
  groups?: number;
  /** Add a learnable bias. Default true. */
  bias?: boolean;
  /** Seed of the initial weights. */
  seed?: number;
}

/** torch.nn.Conv2d: weight [out, in / groups, kh, kw]. */
export class Conv2d extends WeightedLayer {
  /** Stride, padding, dilation and groups, with defaults filled in. */
  readonly options: Required<Omit<Conv2dLayerOptions, "seed" | "bias">>;
  /** Creates the layer with PyTorch's default initialisation. */
  constructor(
    engine: Engine,
    inChannels: number,
    outChannels: number,
    kernelSize: Pair,
    options: Conv2dLayerOptions = {},
  ) {
    const [kh, kw] = typeof kernelSize === "number" ? [kernelSize, kernelSize] : kernelSize;
    const groups = options.groups ?? 1;
    if (inChannels % groups || outChannels % groups) {
      throw new Error(
        `Conv2d: channels ${inChannels} -> ${outChannels} are not divisible by groups ${groups}`,
      );
    }
    super(engine, [outChannels, inChannels / groups, kh, kw], options.bias ?? true, options.seed);
    this.options = {
      stride: options.stride ?? 1,
      padding: options.padding ?? 0,
      dilation: options.dilation ?? 1,
      groups,
    };
  }
  /** x [B, in, H, W] -> [B, out, H', W']. */
  forward(x: Tensor): Tensor {
    return conv2d(x, this.effectiveWeight(), { bias: this.bias ?? undefined, ...this.options });
  }
}

/** Options for the normalisation layers. */
export interface NormOptions {
  /** Added to the variance for numerical stability. Default 1e-5. */
  eps?: number;
  /** Learnable per-channel weight and bias. Default true. */
  affine?: boolean;
}

/** Options of {@link GroupNorm}. */
export interface GroupNormLayerOptions extends NormOptions {
  /** Activation fused into the normalisation kernels ("silu": torch's GroupNorm then SiLU). */
  activation?: NormActivation;
}

/** torch.nn.GroupNorm, optionally followed by a fused activation. */
export class GroupNorm extends Layer {
  /** Number of channel groups normalised separately. */
  readonly groups: number;
  /** Added to the variance for numerical stability. */
  readonly eps: number;
  /** The activation applied to the output ("none" for plain torch.nn.GroupNorm). */
  readonly activation: NormActivation;
  /** Per-channel scale (ones at init), or null without `affine`. */
  readonly weight: Tensor | null;
  /** Per-channel shift (zeros at init), or null without `affine`. */
  readonly bias: Tensor | null;
  /** Creates the layer; `channels` must be divisible by `groups`. */
  constructor(
    engine: Engine,
    groups: number,
    channels: number,
    options: GroupNormLayerOptions = {},
  ) {
    super(engine);
    if (channels % groups) {
      throw new Error(`GroupNorm: ${channels} channels are not divisible by ${groups} groups`);
    }
    this.groups = groups;
    this.eps = options.eps ?? 1e-5;
    this.activation = options.activation ?? "none";
    const affine = options.affine ?? true;
    this.weight = affine ? this.param("weight", ones(engine.zeros([channels]))) : null;
    this.bias = affine ? this.param("bias", engine.zeros([channels])) : null;
  }
  /** Normalises x [B, C, ...] over each group's channels and spatial positions. */
  forward(x: Tensor): Tensor {
    return groupNorm(x, this.groups, {
      weight: this.weight ?? undefined,
      bias: this.bias ?? undefined,
      eps: this.eps,
      activation: this.activation,
    });
  }
}

/** torch.nn.LayerNorm over the trailing `shape` dims. */
export class LayerNorm extends Layer {
  /** The trailing dims normalised over. */
  readonly shape: number[];
  /** Added to the variance for numerical stability. */
  readonly eps: number;
  /** Elementwise scale of `shape` (ones at init), or null without `affine`. */
  readonly weight: Tensor | null;
  /** Elementwise shift of `shape` (zeros at init), or null without `affine`. */
  readonly bias: Tensor | null;
  /** Creates the layer for trailing dims `shape` (a number means one dim). */
  constructor(engine: Engine, shape: number | number[], options: NormOptions = {}) {
    super(engine);
    this.shape = typeof shape === "number" ? [shape] : shape;
    this.eps = options.eps ?? 1e-5;
    const affine = options.affine ?? true;
    this.weight = affine ? this.param("weight", ones(engine.zeros(this.shape))) : null;
    this.bias = affine ? this.param("bias", engine.zeros(this.shape)) : null;
  }
  /** Normalises x over its trailing `shape` dims. */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.shape, {
      weight: this.weight ?? undefined,
      bias: this.bias ?? undefined,
      eps: this.eps,
    });
  }
}

/** torch.nn.BatchNorm2d with running statistics (momentum 0.1 by default). */
export class BatchNorm2d extends Layer {
  /** Added to the variance for numerical stability. */
  readonly eps: number;
  /** Weight of the current batch in the running statistics' update. */
  readonly momentum: number;
  /** Per-channel scale (ones at init), or null without `affine`. */
  readonly weight: Tensor | null;
  /** Per-channel shift (zeros at init), or null without `affine`. */
  readonly bias: Tensor | null;
  /** Running per-channel mean (buffer `running_mean`), used in eval mode. */
  readonly runningMean: Tensor;
  /** Running per-channel variance (buffer `running_var`), used in eval mode. */
  readonly runningVar: Tensor;
  /** Creates the layer for `channels` channels. */
  constructor(engine: Engine, channels: number, options: NormOptions & { momentum?: number } = {}) {
    super(engine);
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    const affine = options.affine ?? true;
    this.weight = affine ? this.param("weight", ones(engine.zeros([channels]))) : null;
    this.bias = affine ? this.param("bias", engine.zeros([channels])) : null;
    this.runningMean = this.buffer("running_mean", engine.zeros([channels]));
    this.runningVar = this.buffer("running_var", engine.ones([channels]));
  }
  /**
   * Normalises x [B, C, H, W] per channel: with batch statistics (updating the running ones) in
   * training mode, with the running statistics in eval mode.
   */
  forward(x: Tensor): Tensor {
    return batchNorm2d(x, {
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      weight: this.weight ?? undefined,
      bias: this.bias ?? undefined,
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}

/** @internal Wraps a function of one tensor as a parameterless layer. */
class Fn extends Layer {
  readonly fn: (x: Tensor) => Tensor;
  constructor(engine: Engine, fn: (x: Tensor) => Tensor) {
    super(engine);
    this.fn = fn;
  }
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

/** torch.nn.SiLU */
export class SiLU extends Fn {
  /** Creates the layer (it has no parameters). */
  constructor(engine: Engine) {
    super(engine, silu);
  }
}
/** torch.nn.ReLU */
export class ReLU extends Fn {
  /** Creates the layer (it has no parameters). */
  constructor(engine: Engine) {
    super(engine, relu);
  }
}
/** torch.nn.GELU */
export class GELU extends Fn {
  /** Creates the layer (it has no parameters). */
  constructor(engine: Engine) {
    super(engine, gelu);
  }
}
/** torch.nn.Tanh */
export class Tanh extends Fn {
  /** Creates the layer (it has no parameters). */
  constructor(engine: Engine) {
    super(engine, tanh);
  }
}
/** torch.nn.Sigmoid */
export class Sigmoid extends Fn {
  /** Creates the layer (it has no parameters). */
  constructor(engine: Engine) {
    super(engine, sigmoid);
  }
}
/** torch.nn.Flatten (from dim 1). */
export class Flatten extends Fn {
  /** Creates the layer (it has no parameters). */
  constructor(engine: Engine) {
    super(engine, (x) => flatten(x, 1));
  }
}
/** torch.nn.AdaptiveAvgPool2d */
export class AdaptiveAvgPool2d extends Fn {
  /** Creates the layer for output size `size` ([h, w], or one number for both). */
  constructor(engine: Engine, size: Pair) {
    super(engine, (x) => adaptiveAvgPool2d(x, size));
  }
}
