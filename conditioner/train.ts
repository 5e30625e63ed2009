/**
 * The training loop shared by the original and the enhanced recipes: data, model, AdamW with
 * warm-up + cosine LR, clipping, validation, checkpoints (best and last, resumable), TensorBoard
 * scalars, a loss plot, NaN handling and clean interruption.
 *
 * A step (gather, augment, forward, loss, backward, clip, AdamW) is recorded without any read
 * back; losses accumulate on the GPU and are read once per epoch.
 */
import { join } from "node:path";
import type { Engine } from "../engine/engine.ts";
import { axpyInto } from "../engine/ops/elementwise.ts";
import { AdamW } from "../engine/optim/adamw.ts";
import { clipGradNorm } from "../engine/optim/clip.ts";
import { warmupCosineLr } from "../engine/optim/schedule.ts";
import { Augmenter } from "./augment.ts";
import {
  fileExists,
  loadResumable,
  RUN_FILES,
  type RunState,
  saveCheckpoint,
  writeJson,
} from "./checkpoint.ts";
import type { ConditionerConfig } from "./config.ts";
import { configToJson } from "./config.ts";
import {
  type ConditionerDataset,
  epochSeed,
  gatherBatch,
  type GpuDataset,
  splitIndices,
  trainBatches,
  uploadDataset,
  valBatches,
} from "./data.ts";
import { LatentConditionerImg } from "./model.ts";
import { type Objective, stackScalars } from "./objective.ts";
import { lossCurvesSvg } from "./plot.ts";
import { SummaryWriter } from "./tensorboard.ts";
import { writeFileAtomic } from "../io/files.ts";

/** One epoch's record (losses are averages over the epoch's batches or validation samples). */
export interface EpochRecord {
  /** 0-based epoch index. */
  epoch: number;
  /** Learning rate used in this epoch. */
  lr: number;
  /** Training loss parts, in the objective's order (first is the total). */
  train: number[];
  /** Validation parts, when validated this epoch. */
  val?: number[];
  /** Validation 10 * MSE(y1) + MSE(y2), the recipe-independent metric. */
  valMetric?: number;
  /** Global gradient norm averaged over the epoch's steps (before clipping). */
  gradNorm: number;
  /** Wall time of the epoch, validation included. */
  seconds: number;
  /** Objective used for this epoch. */
  objective: string;
}

/** Where a run's outputs go and how it reports. */
export interface TrainOptions {
  /** The engine to train on. */
  engine: Engine;
  /** The settings (epochs, optimizer, schedule, model shape, split, seed). */
  config: ConditionerConfig;
  /** The data, split and uploaded by the run. */
  dataset: ConditionerDataset;
  /** Run folder (created): checkpoints, config, scalers, TensorBoard, plot. */
  runDir: string;
  /** The loss recipe for training and validation. */
  objective: Objective;
  /** Continue from runDir's resumable checkpoint. */
  resume?: boolean;
  /** Write loss_curves.svg. Default true. */
  plot?: boolean;
  /** Console lines (default: console.log). */
  log?: (line: string) => void;
  /** Progress within an epoch: (batch done, batches). */
  onBatch?: (done: number, total: number) => void;
  /** Checked between steps; when it returns true the run saves and stops. */
  shouldStop?: () => boolean;
  /** Called after every epoch (for extra logging, e.g. component breakdowns). */
  onEpoch?: (record: EpochRecord, writer: SummaryWriter) => void;
  /** Non-finite epoch losses tolerated (each rolls back to the last checkpoint) before giving up. */
  maxNanRecoveries?: number;
}

/** Why the loop ended. */
export type StopReason = "completed" | "interrupted" | "diverged" | "overfit";

/** Summary of a run. */
export interface TrainResult {
  /** Every epoch's record, including those of the runs it resumed. */
  history: EpochRecord[];
  /** Lowest validation loss (the total), or null when never validated. */
  bestVal: number | null;
  /** 0-based epoch of {@link bestVal}, or null. */
  bestEpoch: number | null;
  /** Why the loop ended. */
  stopReason: StopReason;
  /** The run folder. */
  runDir: string;
  /** The model with its last epoch's weights; the caller disposes it. */
  model: LatentConditionerImg;
}

/** Error raised when training cannot continue (e.g. the loss stays non-finite). */
export class TrainingError extends Error {}

function fmtNum(v: number): string {
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toFixed(4) : v.toExponential(3);
}

function fmtDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(s % 60).padStart(2, "0")}s`;
}

/**
 * Mean of each objective part over a list of batches (validation; eval mode, no gradient); the
 * last element is the comparison metric 10 * MSE(y1) + MSE(y2).
 */
export async function evaluate(
  engine: Engine,
  model: LatentConditionerImg,
  objective: Objective,
  gpu: GpuDataset,
  batches: number[][],
): Promise<number[]> {
  const wasTraining = model.training;
  model.eval();
  const acc = engine.zeros([objective.parts.length + 1]);
  let count = 0;
  engine.noGrad(() => {
    for (const idx of batches) {
      engine.tidy(() => {
        const batch = gatherBatch(engine, gpu, idx);
        const { parts, metric } = objective.validate(model, batch);
        axpyInto(acc, stackScalars([...parts, metric]), idx.length);
      });
      count += idx.length;
    }
  });
  const sums = await acc.read();
  acc.dispose();
  model.train(wasTraining);
  return Array.from(sums, (s) => s / Math.max(1, count));
}

/** Trains a latent conditioner; see the module documentation. */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const { engine: e, config: c, dataset, runDir, objective } = o;
  const log = o.log ?? console.log;
  await Deno.mkdir(runDir, { recursive: true });

  const split = splitIndices(dataset.size, c.valFraction, c.seed);
  const gpu = uploadDataset(e, dataset);
  const model = new LatentConditionerImg(e, {
    filters: c.filters,
    imageSize: c.imageSize,
    seed: c.seed,
  });
  const params = model.parameters();
  const opt = new AdamW(params, { lr: c.lr, weightDecay: c.weightDecay });
  const schedule = warmupCosineLr({
    lr: c.lr,
    warmupEpochs: c.warmupEpochs,
    startFactor: 0.01,
    totalEpochs: c.nEpoch,
    etaMin: c.etaMin,
  });
  const augmenter = new Augmenter(e, { seed: c.seed });
  const valIdx = valBatches(split.val, c.batchSize);

  let history: EpochRecord[] = [];
  let bestVal: number | null = null;
  let bestEpoch: number | null = null;
  let startEpoch = 0;
  if (o.resume) {
    const state = await loadResumable(runDir, model, opt);
    if (state.filters.join(" ") !== c.filters.join(" ") || state.imageSize !== c.imageSize) {
      throw new TrainingError(
        `cannot resume: the checkpoint has filters ${
          state.filters.join(" ")
        } at ${state.imageSize}px, the configuration ${c.filters.join(" ")} at ${c.imageSize}px`,
      );
    }
    startEpoch = state.epoch + 1;
    bestVal = state.bestVal;
    bestEpoch = state.bestEpoch;
    try {
      history = JSON.parse(await Deno.readTextFile(join(runDir, RUN_FILES.history)));
      history = history.filter((h) => h.epoch <= state.epoch);
    } catch {
      history = [];
    }
    log(
      `Resuming from epoch ${startEpoch + 1} (checkpoint after epoch ${
        state.epoch + 1
      }, ${state.optimizerSteps} optimizer steps)`,
    );
  }
  await writeJson(join(runDir, RUN_FILES.config), JSON.parse(configToJson(c)));
  await writeJson(join(runDir, RUN_FILES.scalers), dataset.scalersJSON());
  const writer = new SummaryWriter(join(runDir, objective.tensorboard.dir));

  const runState = (epoch: number): RunState => ({
    epoch,
    optimizerSteps: opt.stepCount,
    lr: opt.lr,
    bestVal,
    bestEpoch,
    objective: objective.name,
    filters: c.filters,
    imageSize: c.imageSize,
  });
  // True while the weights have changed since the last checkpoint.
  let unsaved = false;
  const checkpoint = async (epoch: number, best?: Record<string, string>) => {
    await saveCheckpoint(runDir, model, opt, runState(epoch), best);
    await writeJson(join(runDir, RUN_FILES.history), history);
    unsaved = false;
  };

  const nBatches = Math.floor(split.train.length / c.batchSize);
  if (nBatches === 0) {
    throw new TrainingError(
      `${split.train.length} training samples are fewer than one batch of ${c.batchSize}; lower latent_conditioner_batch`,
    );
  }
  log(
    `Training ${objective.name} on ${dataset.size} samples (${split.train.length} train, ${split.val.length} val), ` +
      `${nBatches} batches of ${c.batchSize}, ${
        model.parameterCount().toLocaleString("en-US")
      } parameters, ${e.gpu.description}`,
  );

  let stopReason: StopReason = "completed";
  let nanRecoveries = 0;
  let lrScale = 1;
  const maxNan = o.maxNanRecoveries ?? 3;
  // Sums over the epoch's steps of each objective part, then the gradient norm; read once.
  const acc = e.keep(e.zeros([objective.parts.length + 1]));
  const runStart = performance.now();
  let epochsThisRun = 0;

  for (let epoch = startEpoch; epoch < c.nEpoch; epoch++) {
    const t0 = performance.now();
    opt.lr = schedule.lrAt(epoch) * lrScale;
    model.train();
    e.fill(acc, 0);
    const batches = trainBatches(split.train, c.batchSize, epochSeed(c.seed, epoch));
    let done = 0;
    for (const idx of batches) {
      if (o.shouldStop?.()) break;
      e.tidy(() => {
        const clean = gatherBatch(e, gpu, idx);
        const aug = augmenter.apply(clean.x, clean.y1, clean.y2, done, epoch);
        opt.zeroGrad();
        const { total, parts } = objective.train(model, aug, clean);
        total.backward();
        const norm = clipGradNorm(params, c.gradClip);
        opt.step();
        e.noGrad(() => axpyInto(acc, stackScalars([...parts, norm]), 1));
      });
      done++;
      unsaved = true;
      o.onBatch?.(done, batches.length);
    }
    if (done < batches.length) {
      stopReason = "interrupted";
      log(
        `Interrupted during epoch ${
          epoch + 1
        }; saving the current state (--resume starts this epoch again).`,
      );
      break;
    }
    const sums = Array.from(await acc.read(), (v) => v / done);
    const gradNorm = sums.pop()!;
    const trainParts = sums;

    if (!trainParts.every(Number.isFinite)) {
      nanRecoveries++;
      if (nanRecoveries > maxNan) {
        stopReason = "diverged";
        log(
          `Epoch ${epoch + 1}: training loss is ${
            trainParts[0]
          } again; stopping after ${maxNan} recoveries.`,
        );
        break;
      }
      const hasCheckpoint = await fileExists(join(runDir, RUN_FILES.resume));
      if (!hasCheckpoint) {
        stopReason = "diverged";
        log(
          `Epoch ${epoch + 1}: training loss is not finite (${
            trainParts[0]
          }) and there is no checkpoint to return to; stopping. Try a lower learning rate.`,
        );
        break;
      }
      lrScale /= 2;
      log(
        `Epoch ${epoch + 1}: training loss is not finite (${
          trainParts[0]
        }); restored the last checkpoint, learning rate now x${lrScale}.`,
      );
      await loadResumable(runDir, model, opt);
      continue;
    }

    const record: EpochRecord = {
      epoch,
      lr: opt.lr,
      train: trainParts,
      gradNorm,
      seconds: (performance.now() - t0) / 1000,
      objective: objective.name,
    };
    const validateNow = (epoch + 1) % c.valEvery === 0 || epoch === c.nEpoch - 1;
    if (validateNow && valIdx.length) {
      const val = await evaluate(e, model, objective, gpu, valIdx);
      record.valMetric = val.pop();
      record.val = val;
      record.seconds = (performance.now() - t0) / 1000;
    }
    history.push(record);
    epochsThisRun++;

    const tags = objective.tensorboard;
    tags.train.forEach((tag, i) => writer.addScalar(tag, trainParts[i], epoch));
    writer.addScalar(tags.lr, opt.lr, epoch);
    if (record.val) tags.val.forEach((tag, i) => writer.addScalar(tag, record.val![i], epoch));
    o.onEpoch?.(record, writer);

    const perEpoch = (performance.now() - runStart) / 1000 / epochsThisRun;
    const phase = epoch < c.warmupEpochs ? "warmup" : "cosine";
    const parts = (v: number[]) =>
      `${fmtNum(v[0])} (${
        objective.parts.slice(1, 4).map((p, i) => `${p} ${fmtNum(v[i + 1])}`).join(", ")
      })`;
    log(
      `Epoch ${String(epoch + 1).padStart(String(c.nEpoch).length)}/${c.nEpoch} | train ${
        parts(trainParts)
      }` +
        (record.val ? ` | val ${parts(record.val)}` : "") +
        ` | lr ${opt.lr.toExponential(2)} ${phase} | ${record.seconds.toFixed(1)}s | ETA ${
          fmtDuration(perEpoch * (c.nEpoch - epoch - 1))
        }`,
    );

    if (record.val) {
      const v = record.val[0];
      const improved = Number.isFinite(v) && (bestVal === null || v < bestVal);
      if (improved) {
        bestVal = v;
        bestEpoch = epoch;
      }
      await checkpoint(epoch, improved ? { val_loss: String(v) } : undefined);
      if (v / trainParts[0] > 1000) {
        stopReason = "overfit";
        log(
          `Stopping: validation/training loss ratio ${
            (v / trainParts[0]).toFixed(0)
          } exceeds 1000.`,
        );
        break;
      }
    }
  }

  const lastEpoch = history.length ? history[history.length - 1].epoch : startEpoch - 1;
  if (unsaved && lastEpoch >= 0 && stopReason !== "diverged") await checkpoint(lastEpoch);
  writer.close();
  if (o.plot ?? true) await writePlot(runDir, history, objective);
  acc.dispose();
  gpu.dispose();
  return { history, bestVal, bestEpoch, stopReason, runDir, model };
}

async function writePlot(
  runDir: string,
  history: EpochRecord[],
  objective: Objective,
): Promise<void> {
  const series = [
    { name: "train", points: history.map((h) => [h.epoch + 1, h.train[0]] as [number, number]) },
    {
      name: "validation",
      points: history.filter((h) => h.val).map((h) => [h.epoch + 1, h.val![0]] as [number, number]),
    },
  ];
  const svg = lossCurvesSvg(series, {
    title: `Latent conditioner (${objective.name})`,
    xLabel: "epoch",
    yLabel: "loss",
  });
  await writeFileAtomic(join(runDir, "loss_curves.svg"), new TextEncoder().encode(svg));
}
