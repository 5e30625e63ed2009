/**
 * Settings of the enhanced training loss (SPEC section 5): the multi-scale robust loss, the
 * perceptual latent loss and consistency regularisation, with the five presets of SimulGen-VAE.
 */
import { ConfigError } from "./condition_file.ts";

/** Weights and switches of the enhanced loss. condition.txt keys are given per field. */
export interface EnhancedLossConfig {
  /** Weight of MSE in the multi-scale loss (`mse_weight`, default 1.0). */
  mseWeight: number;
  /** Weight of L1 in the multi-scale loss (`mae_weight`, default 0.1). */
  maeWeight: number;
  /** Weight of SmoothL1 in the multi-scale loss (`huber_weight`, default 0.05). */
  huberWeight: number;
  /** SmoothL1 transition point beta (`huber_beta`, default 0.1, > 0). */
  huberBeta: number;
  /** Multiplier of the y1 (main latent) terms (`main_weight`, default 10). */
  mainWeight: number;
  /** Multiplier of the y2 (hierarchical latent) terms (`hier_weight`, default 1). */
  hierWeight: number;
  /** Weight of the perceptual latent loss (`perceptual_weight`, default 0.1). */
  perceptualWeight: number;
  /** Hidden widths of the fixed random feature networks (`perceptual_feature_layers`, [16, 8]). */
  perceptualLayers: number[];
  /** Weight of consistency regularisation (`consistency_weight`, default 0.1). */
  consistencyWeight: number;
  /** Temperature dividing the consistency MSE (`consistency_temperature`, default 1.0, > 0). */
  consistencyTemperature: number;
  /** Whether the multi-scale robust loss is used (`use_multiscale_loss`, default true). */
  useMultiscaleLoss: boolean;
  /** Whether the perceptual loss is used (`use_perceptual_loss`, default true). */
  usePerceptualLoss: boolean;
  /** Whether consistency regularisation is used (`use_consistency_loss`, default true). */
  useConsistencyLoss: boolean;
}

/** Names of the presets, in the order SimulGen-VAE lists them. */
export const PRESET_NAMES = ["balanced", "robust", "semantic", "fast", "small_dataset"] as const;

/** One of {@link PRESET_NAMES}. */
export type PresetName = typeof PRESET_NAMES[number];

/** The SPEC section 5 defaults (identical to the `balanced` preset). */
export const DEFAULT_ENHANCED_LOSS: Readonly<EnhancedLossConfig> = Object.freeze({
  mseWeight: 1.0,
  maeWeight: 0.1,
  huberWeight: 0.05,
  huberBeta: 0.1,
  mainWeight: 10,
  hierWeight: 1,
  perceptualWeight: 0.1,
  perceptualLayers: Object.freeze([16, 8]) as unknown as number[],
  consistencyWeight: 0.1,
  consistencyTemperature: 1.0,
  useMultiscaleLoss: true,
  usePerceptualLoss: true,
  useConsistencyLoss: true,
});

/** How each preset differs from {@link DEFAULT_ENHANCED_LOSS} (the SPEC section 5 table). */
const PRESET_CHANGES: Record<PresetName, Partial<EnhancedLossConfig>> = {
  balanced: {},
  robust: { maeWeight: 0.2, huberWeight: 0.1, perceptualWeight: 0.05, consistencyWeight: 0.15 },
  semantic: { perceptualWeight: 0.2, perceptualLayers: [32, 16, 8], consistencyWeight: 0.05 },
  fast: { maeWeight: 0.05, huberWeight: 0.02, usePerceptualLoss: false, useConsistencyLoss: false },
  small_dataset: { perceptualWeight: 0.2, perceptualLayers: [8, 4], consistencyWeight: 0.15 },
};

/** True when `name` is one of {@link PRESET_NAMES}. */
export function isPresetName(name: string): name is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(name);
}

/** A fresh, mutable copy of the defaults. */
export function defaultEnhancedLoss(): EnhancedLossConfig {
  return {
    ...DEFAULT_ENHANCED_LOSS,
    perceptualLayers: [...DEFAULT_ENHANCED_LOSS.perceptualLayers],
  };
}

/**
 * The loss settings of a preset (a fresh copy the caller may change).
 * @throws ConfigError for an unknown name, listing the valid ones.
 */
export function presetConfig(name: string): EnhancedLossConfig {
  if (!isPresetName(name)) {
    throw new ConfigError(
      `unknown enhancement preset '${name}'; valid presets: ${PRESET_NAMES.join(", ")}`,
      { key: "enhancement_preset" },
    );
  }
  const changes = PRESET_CHANGES[name];
  const config = { ...defaultEnhancedLoss(), ...changes };
  config.perceptualLayers = [...config.perceptualLayers];
  return config;
}
