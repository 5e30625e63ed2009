/**
 * SimulGen-VAE's image latent conditioner (`LatentConditionerImg`): a residual CNN with
 * squeeze-excitation and spectral norm mapping a grayscale image to the VAE latents y1 (32) and
 * y2 (3 x 8). Parameter names match PyTorch's `state_dict()` of the original exactly.
 */
import type { Engine } from "../engine/engine.ts";
import type { Tensor } from "../engine/tensor.ts";
import { fmtShape } from "../engine/tensor.ts";
import { addSilu, tanh } from "../engine/ops/elementwise.ts";
import { channelGate } from "../engine/ops/gate.ts";
import { reshape } from "../engine/ops/layout.ts";
import { mean } from "../engine/ops/reduce.ts";
import { Conv2d, GroupNorm, Linear, SiLU, spectralNorm } from "../engine/nn/layers.ts";
import { Layer, Module, ModuleList, Sequential } from "../engine/nn/module.ts";
import { kaimingUniform } from "../engine/nn/init.ts";

/** Size of the main latent y1. */
export const LATENT_DIM = 32;
/** Shape of the hierarchical latent y2 per sample. */
export const XS_SHAPE = [3, 8] as const;

/** Options for {@link LatentConditionerImg}. */
export interface ConditionerOptions {
  /** Channel list (`latent_conditioner_filter`). Default 32 64 128 256 512. */
  filters?: number[];
  /** Input images are imageSize x imageSize. Default 256. */
  imageSize?: number;
  /** Seed of the initial weights. */
  seed?: number;
}

/** The model's outputs: y1 [B, 32] and y2 [B, 3, 8], both in (-1, 1). */
export interface ConditionerOutput {
  /** Main latent [B, 32]. */
  y1: Tensor;
  /** Hierarchical latent [B, 3, 8]. */
  y2: Tensor;
}

/** GroupNorm groups: the largest divisor of C that is <= 32. */
export function groupsFor(channels: number): number {
  for (let g = Math.min(32, channels); g > 1; g--) if (channels % g === 0) return g;
  return 1;
}

/** Hands out consecutive seeds so every layer's init is distinct and reproducible. */
class Seeds {
  #next: number;
  constructor(seed: number) {
    this.#next = seed * 1000;
  }
  next(): number {
    return this.#next++;
  }
}

function conv(
  e: Engine,
  seeds: Seeds,
  cin: number,
  cout: number,
  k: number,
  stride: number,
  spectral: boolean,
): Conv2d {
  const c = new Conv2d(e, cin, cout, k, {
    stride,
    padding: (k - 1) / 2,
    bias: false,
    seed: seeds.next(),
  });
  kaimingUniform(c.weight, { seed: seeds.next() });
  return spectral ? spectralNorm(c, { seed: seeds.next() }) : c;
}

function snLinear(e: Engine, seeds: Seeds, inF: number, outF: number, bias: boolean): Linear {
  const l = new Linear(e, inF, outF, { bias, seed: seeds.next() });
  kaimingUniform(l.weight, { seed: seeds.next() });
  if (l.bias) e.fill(l.bias, 0);
  return spectralNorm(l, { seed: seeds.next() });
}

/** Squeeze-excitation: x * (0.5 + 0.5 * sigmoid(MLP(global average of x))). */
class SqueezeExcitation extends Layer {
  readonly excitation: Sequential;
  constructor(e: Engine, channels: number, seeds: Seeds) {
    super(e);
    const hidden = Math.max(1, Math.floor(channels / 8));
    this.excitation = this.child(
      "excitation",
      new Sequential(e, [
        snLinear(e, seeds, channels, hidden, false),
        new SiLU(e),
        snLinear(e, seeds, hidden, channels, false),
      ]),
    );
  }
  forward(x: Tensor): Tensor {
    const [b, c] = x.shape;
    return channelGate(x, this.excitation.forward(reshape(mean(x, [2, 3]), [b, c])));
  }
}

/**
 * conv3x3(stride) -> GN -> SiLU -> conv3x3 -> GN -> SE -> + shortcut -> SiLU, with GN -> SiLU and
 * + shortcut -> SiLU each one fused op.
 */
class ResidualBlock extends Layer {
  readonly conv1: Conv2d;
  readonly gn1: GroupNorm;
  readonly conv2: Conv2d;
  readonly gn2: GroupNorm;
  readonly attention: SqueezeExcitation;
  readonly downsample: Sequential | null;
  constructor(e: Engine, cin: number, cout: number, stride: number, seeds: Seeds) {
    super(e);
    this.conv1 = this.child("conv1", conv(e, seeds, cin, cout, 3, stride, true));
    this.gn1 = this.child("gn1", new GroupNorm(e, groupsFor(cout), cout, { activation: "silu" }));
    this.conv2 = this.child("conv2", conv(e, seeds, cout, cout, 3, 1, true));
    this.gn2 = this.child("gn2", new GroupNorm(e, groupsFor(cout), cout));
    this.attention = this.child("attention", new SqueezeExcitation(e, cout, seeds));
    this.downsample = stride !== 1 || cin !== cout
      ? this.child(
        "downsample",
        new Sequential(e, [
          conv(e, seeds, cin, cout, 1, stride, false),
          new GroupNorm(e, groupsFor(cout), cout),
        ]),
      )
      : null;
  }
  forward(x: Tensor): Tensor {
    let h = this.gn1.forward(this.conv1.forward(x));
    h = this.attention.forward(this.gn2.forward(this.conv2.forward(h)));
    const shortcut = this.downsample ? this.downsample.forward(x) : x;
    return addSilu(h, shortcut);
  }
}

/** The latent conditioner CNN (SPEC section 2). */
export class LatentConditionerImg extends Module {
  /** Channels of the residual stages, one stage per entry. */
  readonly filters: number[];
  /** Side length S of the input images. */
  readonly imageSize: number;
  /** Stem: 7x7 stride-2 convolution from 1 channel to `filters[0]`. */
  readonly conv1: Conv2d;
  /** GroupNorm after the stem, with the SiLU fused. */
  readonly gn1: GroupNorm;
  /** The residual stages (one block each; even-indexed stages halve the resolution). */
  readonly layers: ModuleList<Sequential>;
  /** Spectral-norm MLP head producing y1 (`latent_head`). */
  readonly latentHead: Sequential;
  /** Spectral-norm MLP head producing y2 (`xs_head`). */
  readonly xsHead: Sequential;

  /** Builds the network; throws unless every filter count is an integer >= 8. */
  constructor(e: Engine, options: ConditionerOptions = {}) {
    super(e);
    const filters = options.filters ?? [32, 64, 128, 256, 512];
    if (filters.length === 0 || filters.some((f) => !Number.isInteger(f) || f < 8)) {
      throw new Error(
        `LatentConditionerImg: filters must be integers >= 8, got [${filters.join(", ")}]`,
      );
    }
    this.filters = filters;
    this.imageSize = options.imageSize ?? 256;
    const seeds = new Seeds(options.seed ?? 0);
    this.conv1 = this.child("conv1", conv(e, seeds, 1, filters[0], 7, 2, false));
    this.gn1 = this.child(
      "gn1",
      new GroupNorm(e, groupsFor(filters[0]), filters[0], { activation: "silu" }),
    );
    const blocks: Sequential[] = [];
    let cin = filters[0];
    filters.forEach((cout, i) => {
      blocks.push(new Sequential(e, [new ResidualBlock(e, cin, cout, i % 2 === 0 ? 2 : 1, seeds)]));
      cin = cout;
    });
    this.layers = this.child("layers", new ModuleList(e, blocks));
    const last = filters[filters.length - 1];
    const hidden = Math.floor(last / 2);
    const head = (out: number) =>
      new Sequential(e, [
        snLinear(e, seeds, last, hidden, true),
        new SiLU(e),
        snLinear(e, seeds, hidden, out, true),
      ]);
    this.latentHead = this.child("latent_head", head(LATENT_DIM));
    this.xsHead = this.child("xs_head", head(XS_SHAPE[0] * XS_SHAPE[1]));
  }

  /** Predicts latents for images [B, 1, S, S] in [0, 1]. */
  forward(x: Tensor): ConditionerOutput {
    if (x.rank !== 4 || x.shape[1] !== 1) {
      throw new Error(
        `LatentConditionerImg: expected images [B, 1, H, W], got ${fmtShape(x.shape)}`,
      );
    }
    let h = this.gn1.forward(this.conv1.forward(x));
    for (const block of this.layers.items) h = block.forward(h);
    const b = x.shape[0];
    const pooled = reshape(mean(h, [2, 3]), [b, h.shape[1]]);
    const y1 = tanh(this.latentHead.forward(pooled));
    const y2 = reshape(tanh(this.xsHead.forward(pooled)), [b, XS_SHAPE[0], XS_SHAPE[1]]);
    return { y1, y2 };
  }
}
