/**
 * Chooses the training recipe for a configuration and runs it: the original recipe, or the
 * enhanced one with its component breakdown, metrics file and fallback to the original recipe
 * when the enhanced run fails.
 */
import { join } from "node:path";
import type { Engine } from "../engine/engine.ts";
import { writeFileAtomic } from "../io/files.ts";
import { fileExists } from "./checkpoint.ts";
import type { ConditionerConfig } from "./config.ts";
import type { ConditionerDataset } from "./data.ts";
import { ENHANCED_PARTS, EnhancedObjective } from "./losses/enhanced_objective.ts";
import { writeNpz } from "./npy.ts";
import { type Objective, originalObjective } from "./objective.ts";
import { type EpochRecord, train, type TrainResult } from "./train.ts";

/** File of per-epoch enhanced-training metrics (numpy-readable). */
export const METRICS_FILE = "enhanced_training_metrics.npz";

/** Options for {@link runTraining}. */
export interface RunOptions {
  /** The engine to train on. */
  engine: Engine;
  /** The settings; `config.enhanced.enabled` chooses the recipe. */
  config: ConditionerConfig;
  /** The data, split and uploaded by the run. */
  dataset: ConditionerDataset;
  /** Run folder (created): checkpoints, config, scalers, TensorBoard, plot, metrics. */
  runDir: string;
  /** Continue from runDir's resumable checkpoint. */
  resume?: boolean;
  /** Write loss_curves.svg. Default true. */
  plot?: boolean;
  /** Console lines (default: console.log). */
  log?: (line: string) => void;
  /** Progress within an epoch: (batches done, batches). */
  onBatch?: (done: number, total: number) => void;
  /** Checked between steps; when it returns true the run saves and stops. */
  shouldStop?: () => boolean;
  /** Replaces the enhanced objective (tests inject failures with it). */
  enhancedObjective?: Objective;
}

/** What a run did, including a fallback from the enhanced to the original recipe. */
export interface RunResult extends TrainResult {
  /** Epoch (0-based) from which the original recipe took over, and why. */
  fallback?: { epoch: number; reason: string };
}

/** Weighted terms of an enhanced epoch and their shares of the total, as one console line. */
export function componentBreakdown(
  record: EpochRecord,
  parts: readonly string[],
  perceptualWeight: number,
): string | null {
  const at = (name: string) => record.train[parts.indexOf(name)];
  if (!["multiscale", "perceptual", "consistency"].every((p) => parts.includes(p))) return null;
  const total = record.train[0];
  const terms: [string, number][] = [
    ["multiscale", at("multiscale")],
    [`perceptual x${perceptualWeight}`, at("perceptual") * perceptualWeight],
    ["consistency", at("consistency")],
  ];
  const share = (v: number) => (total > 0 ? `${((100 * v) / total).toFixed(1)}%` : "-");
  return "  components: " +
    terms.map(([n, v]) => `${n} ${v.toExponential(3)} (${share(v)})`).join(" | ");
}

/** Per-epoch arrays of an enhanced run, written as enhanced_training_metrics.npz. */
export function metricsArrays(
  history: EpochRecord[],
  fallbackEpoch: number | null,
): Record<string, { shape: number[]; data: Float32Array }> {
  const arr = (f: (h: EpochRecord) => number) => ({
    shape: [history.length],
    data: Float32Array.from(history, f),
  });
  const out: Record<string, { shape: number[]; data: Float32Array }> = {
    epochs: arr((h) => h.epoch + 1),
    epoch_losses: arr((h) => h.train[0]),
    validation_losses: arr((h) => h.val?.[0] ?? NaN),
    validation_metric: arr((h) => h.valMetric ?? NaN),
    learning_rates: arr((h) => h.lr),
    grad_norms: arr((h) => h.gradNorm),
    enhanced: arr((h) => (h.objective.startsWith("enhanced") ? 1 : 0)),
    fallback_epoch: {
      shape: [1],
      data: Float32Array.of(fallbackEpoch === null ? -1 : fallbackEpoch + 1),
    },
  };
  ENHANCED_PARTS.slice(1).forEach((name, i) => {
    const key = name === "multiscale" || name === "perceptual" || name === "consistency"
      ? `${name}_loss`
      : name;
    out[key] = arr((h) => (h.objective.startsWith("enhanced") ? h.train[i + 1] : NaN));
  });
  return out;
}

/** Trains with the recipe the configuration asks for. */
export async function runTraining(o: RunOptions): Promise<RunResult> {
  const log = o.log ?? console.log;
  if (!o.config.enhanced.enabled) {
    return await train({ ...o, objective: originalObjective });
  }
  const loss = o.config.enhanced.loss;
  const gradWarning = (r: EpochRecord) => {
    if (r.gradNorm > 10) {
      log(
        `  warning: mean gradient norm ${
          r.gradNorm.toFixed(2)
        } > 10 (clipped at ${o.config.gradClip})`,
      );
    }
    if (r.gradNorm < 1e-4) {
      log(
        `  warning: mean gradient norm ${
          r.gradNorm.toExponential(2)
        } < 1e-4 (vanishing gradients?)`,
      );
    }
  };
  let history: EpochRecord[] = [];
  let fallback: RunResult["fallback"];
  let result: TrainResult | null = null;
  try {
    const objective = o.enhancedObjective ??
      new EnhancedObjective(o.engine, loss, o.config.enhanced.preset, o.config.seed);
    result = await train({
      ...o,
      objective,
      maxNanRecoveries: 0,
      onEpoch: (record) => {
        const line = componentBreakdown(record, objective.parts, loss.perceptualWeight);
        if (line) log(line);
        gradWarning(record);
      },
    });
    history = result.history;
    if (result.stopReason === "diverged") {
      fallback = {
        epoch: (history.at(-1)?.epoch ?? -1) + 1,
        reason: "the training loss was not finite",
      };
    }
  } catch (e) {
    fallback = { epoch: NaN, reason: `${(e as Error).message}` };
  }
  if (fallback) {
    const resumable = await fileExists(join(o.runDir, "checkpoint_last.safetensors"));
    log(
      `Enhanced training failed (${fallback.reason}); continuing with the original recipe ` +
        (resumable ? "from the last checkpoint." : "from the start (no checkpoint yet)."),
    );
    result?.model.dispose();
    result = await train({
      ...o,
      resume: resumable,
      objective: originalObjective,
    });
    const firstOriginal = result.history.find((h) => h.objective === "original");
    fallback.epoch = firstOriginal?.epoch ?? result.history.length;
    history = result.history;
  }
  const npz = writeNpz(metricsArrays(history, fallback ? fallback.epoch : null));
  await writeFileAtomic(join(o.runDir, METRICS_FILE), npz);
  return { ...result!, fallback };
}
