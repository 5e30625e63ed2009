/**
 * The enhanced recipe (SPEC section 5): training loss = multiscale + perceptual_weight *
 * perceptual + consistency; validation = multiscale + perceptual_weight * perceptual.
 * Consistency reuses the step's augmented forward and adds one gradient-free forward of the
 * clean batch (the original ran two extra forwards).
 */
import type { Engine } from "../../engine/engine.ts";
import type { Tensor } from "../../engine/tensor.ts";
import { add, scale } from "../../engine/ops/elementwise.ts";
import { reshape, slice } from "../../engine/ops/layout.ts";
import type { EnhancedLossConfig } from "../enhanced_config.ts";
import type { ConditionerOutput, LatentConditionerImg } from "../model.ts";
import {
  type BatchTensors,
  type LoggedPart,
  type Objective,
  type ObjectiveLosses,
  Y1_WEIGHT,
} from "../objective.ts";
import { consistencyLoss } from "./consistency.ts";
import { MULTISCALE_TERMS, multiscaleLoss } from "./multiscale.ts";
import { PerceptualFeatureNets } from "./perceptual.ts";

const component = (name: string): LoggedPart => ({
  name,
  trainTag: `Enhanced_Loss_Components/${name}_loss`,
  npz: `${name}_loss`,
  console: true,
  component: true,
});

/**
 * The enhanced recipe's logged parts, with SimulGen-VAE's TensorBoard tags (SPEC section 5): the
 * total, its three components as they enter it (perceptual times its weight, consistency times
 * its weight), then the raw per-output terms of the multi-scale loss.
 */
export const ENHANCED_PARTS: readonly LoggedPart[] = [
  {
    name: "total",
    trainTag: "Enhanced_Loss/Total_Train",
    valTag: "Enhanced_Loss/Total_Validation",
  },
  component("multiscale"),
  component("perceptual"),
  component("consistency"),
  ...MULTISCALE_TERMS.map((t) => ({ name: t, trainTag: `Enhanced_Loss_Details/${t}`, npz: t })),
];

/** The enhanced objective for one loss configuration. */
export class EnhancedObjective implements Objective {
  readonly name: string;
  readonly parts: readonly LoggedPart[] = ENHANCED_PARTS;
  readonly tensorboardDir = "EnhancedLatentConditionerRuns";
  readonly lrTag = "Enhanced_Training/Learning_Rate";
  /** The loss settings. */
  readonly config: EnhancedLossConfig;
  /** Feature networks of the perceptual loss; null when it is off or its weight is 0. */
  readonly perceptual: PerceptualFeatureNets | null;
  readonly #engine: Engine;
  /** Logged in place of a disabled term (kept, so steps don't allocate it). */
  readonly #zero: Tensor;

  /**
   * Builds the objective named `enhanced:<preset>`; the perceptual networks' seed is derived
   * from `seed`.
   */
  constructor(engine: Engine, config: EnhancedLossConfig, preset: string, seed = 0) {
    this.#engine = engine;
    this.#zero = engine.keep(engine.zeros([]));
    this.config = config;
    this.name = `enhanced:${preset}`;
    this.perceptual = config.usePerceptualLoss && config.perceptualWeight > 0
      ? new PerceptualFeatureNets(engine, config.perceptualLayers, seed + 1)
      : null;
  }

  /** Whether a step needs the extra clean forward. */
  get usesConsistency(): boolean {
    return this.config.useConsistencyLoss && this.config.consistencyWeight > 0;
  }

  train(model: LatentConditionerImg, batch: BatchTensors, clean: BatchTensors): ObjectiveLosses {
    const cleanOut = this.usesConsistency
      ? this.#engine.noGrad(() => model.forward(clean.x))
      : null;
    const out = model.forward(batch.x);
    const consistency = cleanOut
      ? consistencyLoss(
        out,
        cleanOut,
        this.config.consistencyWeight,
        this.config.consistencyTemperature,
      )
      : null;
    return this.#losses(out, batch, consistency);
  }

  validate(model: LatentConditionerImg, batch: BatchTensors): ObjectiveLosses {
    return this.#losses(model.forward(batch.x), batch, null);
  }

  #losses(
    out: ConditionerOutput,
    batch: BatchTensors,
    consistency: Tensor | null,
  ): ObjectiveLosses {
    const e = this.#engine;
    const c = this.config;
    // With the multi-scale loss off, the base term is plain MSE with the same output weights.
    const base = c.useMultiscaleLoss ? c : { ...c, mseWeight: 1, maeWeight: 0, huberWeight: 0 };
    const ms = multiscaleLoss(out, batch, base);
    let total = ms.total;
    const perceptual = this.perceptual
      ? scale(this.perceptual.forward(out.y1, out.y2, batch.y1, batch.y2).total, c.perceptualWeight)
      : this.#zero;
    if (this.perceptual) total = add(total, perceptual);
    if (consistency) total = add(total, consistency);
    const term = (i: number) => reshape(slice(ms.terms, 0, i, i + 1), []);
    const terms = MULTISCALE_TERMS.map((_, i) => term(i));
    const metric = e.noGrad(() => add(scale(terms[0], Y1_WEIGHT), terms[3]));
    return {
      total,
      parts: [total, ms.total, perceptual, consistency ?? this.#zero, ...terms],
      metric,
    };
  }
}
