/**
 * Perceptual latent loss (SPEC section 5): fixed random feature networks, never trained, compare
 * predicted and target latents in feature space by cosine similarity.
 */
import type { Engine } from "../../engine/engine.ts";
import type { Tensor } from "../../engine/tensor.ts";
import { add, addScalar, neg, scale } from "../../engine/ops/elementwise.ts";
import { reshape } from "../../engine/ops/layout.ts";
import { cosineSimilarity } from "../../engine/ops/losses.ts";
import { mean } from "../../engine/ops/reduce.ts";
import { Linear, SiLU } from "../../engine/nn/layers.ts";
import { Module, ModuleList, Sequential } from "../../engine/nn/module.ts";
import { xavierUniform } from "../../engine/nn/init.ts";

/** Per-net outputs. */
export interface PerceptualLoss {
  /** main + hier (the caller multiplies by perceptual_weight). */
  total: Tensor;
  /** 1 - cosine similarity of the y1 features, averaged over the main networks. */
  main: Tensor;
  /** The same for the rows of y2 and the hier networks. */
  hier: Tensor;
}

/** Hidden width of the y2 networks for a y1 width h. */
export function hierWidth(h: number): number {
  return Math.max(4, Math.floor(h / 2));
}

/**
 * For each h of `featureLayers`: main net Linear(32,h) SiLU Linear(h,h) SiLU Linear(h,16) on y1,
 * hier net Linear(8,k) SiLU Linear(k,k) SiLU Linear(k,4) on the rows of y2 (k = max(4, h/2)).
 * Xavier-uniform gain 0.1, zero bias, and no parameter requires grad (they are never trained).
 * State names follow PyTorch: main_networks.{j}.{0,2,4}.weight/bias, hier_networks....
 */
export class PerceptualFeatureNets extends Module {
  /** Hidden width h of each main network (one network pair per entry). */
  readonly featureLayers: number[];
  /** Networks on y1 (`main_networks`). */
  readonly mainNetworks: ModuleList<Sequential>;
  /** Networks on the rows of y2 (`hier_networks`). */
  readonly hierNetworks: ModuleList<Sequential>;

  /** Builds the frozen networks; throws unless every width is a positive integer. */
  constructor(e: Engine, featureLayers: number[], seed = 0) {
    super(e);
    if (featureLayers.length === 0 || featureLayers.some((h) => !Number.isInteger(h) || h < 1)) {
      throw new Error(
        `PerceptualFeatureNets: feature layers must be positive integers, got [${
          featureLayers.join(", ")
        }]`,
      );
    }
    this.featureLayers = featureLayers;
    let s = seed * 100;
    const mlp = (dims: number[]) => {
      const layers = [];
      for (let i = 0; i + 1 < dims.length; i++) {
        const l = new Linear(e, dims[i], dims[i + 1], { seed: s++ });
        xavierUniform(l.weight, 0.1, s++);
        e.fill(l.bias!, 0);
        layers.push(l);
        if (i + 2 < dims.length) layers.push(new SiLU(e));
      }
      return new Sequential(e, layers);
    };
    this.mainNetworks = this.child(
      "main_networks",
      new ModuleList(e, featureLayers.map((h) => mlp([32, h, h, 16]))),
    );
    this.hierNetworks = this.child(
      "hier_networks",
      new ModuleList(e, featureLayers.map((h) => mlp([8, hierWidth(h), hierWidth(h), 4]))),
    );
    for (const p of this.parameters()) p.requiresGrad = false;
    this.eval();
  }

  /** 1 - mean row cosine similarity of features, averaged over nets; targets get no gradient. */
  forward(pred1: Tensor, pred2: Tensor, target1: Tensor, target2: Tensor): PerceptualLoss {
    const rows = (t: Tensor) => reshape(t, [-1, 8]);
    const t1 = target1.detach();
    const t2 = rows(target2.detach());
    const p2 = rows(pred2);
    const oneMinusCos = (a: Tensor, b: Tensor) =>
      addScalar(neg(mean(cosineSimilarity(a, b, { dim: 1, eps: 1e-8 }))), 1);
    const average = (terms: Tensor[]) => scale(terms.reduce((s, t) => add(s, t)), 1 / terms.length);
    const main = average(
      this.mainNetworks.items.map((f) => oneMinusCos(f.forward(pred1), f.forward(t1))),
    );
    const hier = average(
      this.hierNetworks.items.map((f) => oneMinusCos(f.forward(p2), f.forward(t2))),
    );
    return { total: add(main, hier), main, hier };
  }
}
