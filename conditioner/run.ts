/**
 * Chooses the training recipe for a configuration and runs it: the original recipe, or the
 * enhanced one with its component breakdown, metrics file and fallback to the original recipe
 * when the enhanced run fails.
 */
import type { Engine } from "../engine/engine.ts";
import { writeFileAtomic } from "../io/files.ts";
import { RUN_FILES, writeJson } from "./checkpoint.ts";
import {
  changedSettings,
  type ConditionerConfig,
  configFromJson,
  configToJson,
  flagOf,
  RESUME_CHANGEABLE,
} from "./config.ts";
import type { ConditionerDataset } from "./data.ts";
import { ENHANCED_PARTS, EnhancedObjective } from "./losses/enhanced_objective.ts";
import { writeNpz } from "./npy.ts";
import { writeReport } from "./report.ts";
import { type Objective, originalObjective } from "./objective.ts";
import {
  datasetFingerprint,
  readRunInfo,
  RunFolder,
  type RunInfo,
  writeRunInfo,
} from "./run_folder.ts";
import {
  type EpochRecord,
  train,
  TrainingError,
  type TrainProgress,
  type TrainResult,
} from "./train.ts";

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
  /**
   * Run folder: config, scalers, run.json, checkpoints, models, history, TensorBoard, plot,
   * metrics. A new run refuses a folder that holds a run unless `overwrite`.
   */
  runDir: string;
  /**
   * Continue the run in runDir from its checkpoint. The dataset must be the one the run started
   * with (same fingerprint) and the configuration may differ only in {@link RESUME_CHANGEABLE}.
   */
  resume?: boolean;
  /** Replace a run already in runDir (once the new run's first checkpoint is complete). */
  overwrite?: boolean;
  /** Where the data came from, recorded in run.json so a resume needs no other flags. */
  source?: { data: string; condition: string | null };
  /** Write loss_curves.svg and report.html. Default true. */
  plot?: boolean;
  /** Console lines (default: console.log). */
  log?: (line: string) => void;
  /** Progress within an epoch: (batches done, batches). */
  onProgress?: (progress: TrainProgress) => void;
  /** Checked between steps; when it returns true the run stops at its last checkpoint. */
  shouldStop?: () => boolean;
  /** Replaces the enhanced objective (tests inject failures with it). */
  enhancedObjective?: Objective;
}

/** What a run did, including a fallback from the enhanced to the original recipe. */
export interface RunResult extends TrainResult {
  /** Epoch (from 1) from which the original recipe took over, and why. */
  fallback?: { epoch: number; reason: string };
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
  const enhanced = (h: EpochRecord) => h.objective.startsWith("enhanced");
  const out: Record<string, { shape: number[]; data: Float32Array }> = {
    epochs: arr((h) => h.epoch),
    epoch_losses: arr((h) => h.train.total),
    validation_losses: arr((h) => h.val?.total ?? NaN),
    validation_metric: arr((h) => h.valMetric ?? NaN),
    learning_rates: arr((h) => h.lr),
    grad_norms: arr((h) => h.gradNorm),
    enhanced: arr((h) => (enhanced(h) ? 1 : 0)),
    fallback_epoch: { shape: [1], data: Float32Array.of(fallbackEpoch ?? -1) },
  };
  for (const part of ENHANCED_PARTS) {
    if (part.npz) out[part.npz] = arr((h) => (enhanced(h) ? h.train[part.name] : NaN));
  }
  return out;
}

/**
 * Opens the run folder for a resume: the data must have the fingerprint recorded in run.json and
 * the configuration may differ from config.json only in {@link RESUME_CHANGEABLE} settings, whose
 * new values are recorded.
 */
async function openForResume(o: RunOptions, fingerprint: string): Promise<RunFolder> {
  const folder = await RunFolder.open(o.runDir);
  const info = await readRunInfo(folder.dir);
  if (info.fingerprint !== fingerprint) {
    throw new TrainingError(
      `cannot resume ${o.runDir}: the data (${o.dataset.size} samples) is not what the run ` +
        `started with (${info.samples} samples from ${info.data}); a run continues on its own data`,
    );
  }
  const configPath = folder.file(RUN_FILES.config);
  const saved = configFromJson(await Deno.readTextFile(configPath), configPath);
  const changed = changedSettings(saved, o.config);
  const refused = changed.filter((f) => !RESUME_CHANGEABLE.includes(f));
  if (refused.length) {
    throw new TrainingError(
      `cannot resume ${o.runDir} with different settings: ${
        refused.map((f) => flagOf(f)).join(", ")
      } (see ${configPath}); only ${
        RESUME_CHANGEABLE.map((f) => flagOf(f)).join(", ")
      } may change on resume`,
    );
  }
  if (changed.length) {
    const resumes = [...info.resumes, {
      nEpoch: o.config.nEpoch,
      lr: o.config.lr,
      when: new Date().toISOString(),
    }];
    await writeJson(configPath, JSON.parse(configToJson(o.config)));
    await writeRunInfo(folder, { ...info, resumes });
  }
  return folder;
}

/** Starts a new run folder (staged until its first checkpoint) with its configuration files. */
async function createFolder(o: RunOptions, fingerprint: string): Promise<RunFolder> {
  const folder = await RunFolder.create(o.runDir, { overwrite: o.overwrite });
  const info: RunInfo = {
    data: o.source?.data ?? "",
    condition: o.source?.condition ?? null,
    fingerprint,
    samples: o.dataset.size,
    created: new Date().toISOString(),
    resumes: [],
  };
  await writeJson(folder.file(RUN_FILES.config), JSON.parse(configToJson(o.config)));
  await writeJson(folder.file(RUN_FILES.scalers), o.dataset.scalersJSON());
  await writeRunInfo(folder, info);
  return folder;
}

/** Trains with the recipe the configuration asks for. */
export async function runTraining(o: RunOptions): Promise<RunResult> {
  if (o.resume && o.overwrite) {
    throw new TrainingError("--resume and --overwrite exclude each other");
  }
  const fingerprint = await datasetFingerprint(o.dataset);
  const folder = o.resume
    ? await openForResume(o, fingerprint)
    : await createFolder(o, fingerprint);
  try {
    const result = await trainWithRecipe(o, folder);
    if ((o.plot ?? true) && folder.committed) {
      // The run is complete on disk; a report that fails is a warning, not a failed run.
      await writeReport(o.engine, folder.path, { dataset: o.dataset }).catch((e) =>
        (o.log ?? console.log)(
          `warning: report.html was not written (${(e as Error).message}); ` +
            `deno task cli report --run ${folder.path} tries again`,
        )
      );
    }
    return result;
  } finally {
    // A run that never completed an epoch leaves nothing behind (a previous run stays as it was).
    await folder.discard();
  }
}

async function trainWithRecipe(o: RunOptions, folder: RunFolder): Promise<RunResult> {
  const log = o.log ?? console.log;
  const base = { ...o, folder, resume: o.resume ?? false };
  if (!o.config.enhanced.enabled) {
    return await train({ ...base, objective: originalObjective });
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
      ...base,
      objective,
      maxNanRecoveries: 0,
      onEpoch: gradWarning,
    });
    history = result.history;
    if (result.stopReason === "diverged") {
      fallback = {
        epoch: (history.at(-1)?.epoch ?? 0) + 1,
        reason: "the training was not finite",
      };
    }
  } catch (e) {
    if (e instanceof TrainingError) throw e;
    fallback = { epoch: NaN, reason: `${(e as Error).message}` };
  }
  if (fallback) {
    const resumable = folder.committed;
    log(
      `Enhanced training failed (${fallback.reason}); continuing with the original recipe ` +
        (resumable ? "from the last checkpoint." : "from the start (no checkpoint yet)."),
    );
    result?.model.dispose();
    result = await train({ ...base, resume: resumable, objective: originalObjective });
    const firstOriginal = result.history.find((h) => h.objective === "original");
    fallback.epoch = firstOriginal?.epoch ?? result.history.length + 1;
    history = result.history;
  }
  if (folder.committed) {
    const npz = writeNpz(metricsArrays(history, fallback ? fallback.epoch : null));
    await writeFileAtomic(folder.file(METRICS_FILE), npz);
  }
  return { ...result!, fallback };
}
