/**
 * The training loop shared by the original and the enhanced recipes: data, model, AdamW with
 * warm-up + cosine LR, clipping, validation, checkpoints (resumable, every epoch by default),
 * TensorBoard scalars, a loss plot, recovery from non-finite epochs and clean interruption.
 *
 * A step ({@link trainStep}) is recorded without any read back; losses, the gradient norm and a
 * parameter check accumulate on the GPU and are read once per epoch. Between steps the loop
 * yields to the event loop (so Ctrl-C is seen within a batch) and keeps at most
 * {@link MAX_BATCHES_IN_FLIGHT} batches queued on the GPU (so stopping never waits for a whole
 * queued epoch).
 */
import { join } from "node:path";
import type { Engine } from "../engine/engine.ts";
import type { Tensor } from "../engine/tensor.ts";
import { axpyInto } from "../engine/ops/elementwise.ts";
import { AdamW } from "../engine/optim/adamw.ts";
import { warmupCosineLr } from "../engine/optim/schedule.ts";
import { Augmenter } from "./augment.ts";
import {
  type LoadedCheckpoint,
  NonFiniteError,
  readCheckpoint,
  RUN_FILES,
  type RunState,
  saveCheckpoint,
  writeDerived,
} from "./checkpoint.ts";
import type { ConditionerConfig } from "./config.ts";
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
import type { EpochRecord } from "./history.ts";
import { LatentConditionerImg } from "./model.ts";
import { type Objective, stackScalars } from "./objective.ts";
import { epochView, lossHistorySvg } from "./history_view.ts";
import type { RunFolder } from "./run_folder.ts";
import { SummaryWriter } from "./tensorboard.ts";
import { parameterMagnitude, stepAccumulator, type StepContext, trainStep } from "./train_step.ts";
import { writeFileAtomic } from "../io/files.ts";

export type { EpochRecord } from "./history.ts";

/** Batches recorded ahead of the GPU at most; more would delay a stop by their run time. */
export const MAX_BATCHES_IN_FLIGHT = 2;

/** Where a run's outputs go and how it reports. */
export interface TrainOptions {
  /** The engine to train on. */
  engine: Engine;
  /** The settings (epochs, optimizer, schedule, model shape, split, seed). */
  config: ConditionerConfig;
  /** The data, split and uploaded by the run. */
  dataset: ConditionerDataset;
  /** The run folder (checkpoints, models, history, TensorBoard, plot). */
  folder: RunFolder;
  /** The loss recipe for training and validation. */
  objective: Objective;
  /** Continue from the folder's resumable checkpoint. */
  resume?: boolean;
  /** Write loss_curves.svg. Default true. */
  plot?: boolean;
  /** Console lines (default: console.log). */
  log?: (line: string) => void;
  /** Progress within an epoch: (batch done, batches). */
  onBatch?: (done: number, total: number) => void;
  /** Checked between steps; when it returns true the run stops at its last checkpoint. */
  shouldStop?: () => boolean;
  /** Called after every epoch (for extra logging, e.g. component breakdowns). */
  onEpoch?: (record: EpochRecord) => void;
  /**
   * Non-finite epochs recovered from (each returns to the last checkpoint with half the learning
   * rate) before the run stops as diverged. Default 3.
   */
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

/** Error raised when training cannot start or continue (e.g. no complete batch, wrong checkpoint). */
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

/** Everything a run trains with, built once. */
interface Setup extends StepContext {
  config: ConditionerConfig;
  gpu: GpuDataset;
  augmenter: Augmenter;
  schedule: ReturnType<typeof warmupCosineLr>;
  trainIdx: number[];
  valIdx: number[][];
  batchesPerEpoch: number;
  /** Per-epoch sums of the objective's parts and the gradient norm. */
  acc: Tensor;
}

function setUp(o: TrainOptions): Setup {
  const { engine: e, config: c, dataset } = o;
  const split = splitIndices(dataset.size, c.valFraction, c.seed);
  const batchesPerEpoch = Math.floor(split.train.length / c.batchSize);
  if (batchesPerEpoch === 0) {
    throw new TrainingError(
      `${split.train.length} training samples are fewer than one batch of ${c.batchSize}; lower latent_conditioner_batch`,
    );
  }
  const model = new LatentConditionerImg(e, {
    filters: c.filters,
    imageSize: c.imageSize,
    seed: c.seed,
  });
  const ctx: StepContext = {
    engine: e,
    model,
    opt: new AdamW(model.parameters(), { lr: c.lr, weightDecay: c.weightDecay }),
    objective: o.objective,
    gradClip: c.gradClip,
  };
  return {
    ...ctx,
    config: c,
    gpu: uploadDataset(e, dataset),
    augmenter: new Augmenter(e, { seed: c.seed }),
    schedule: warmupCosineLr({
      lr: c.lr,
      warmupEpochs: c.warmupEpochs,
      startFactor: 0.01,
      totalEpochs: c.nEpoch,
      etaMin: c.etaMin,
    }),
    trainIdx: split.train,
    valIdx: valBatches(split.val, c.batchSize),
    batchesPerEpoch,
    acc: stepAccumulator(ctx),
  };
}

/** What one epoch's training steps left: averages, or null when stopped before the end. */
interface EpochSums {
  /** Objective parts averaged over the epoch's steps. */
  parts: number[];
  /** Gradient norm averaged over the steps. */
  gradNorm: number;
  /** Whether every parameter is finite after the epoch. */
  paramsFinite: boolean;
}

/** Where an epoch stopped when `shouldStop` asked before its last batch. */
interface Stopped {
  /** Batches completed. */
  done: number;
  /** Batches in the epoch. */
  of: number;
}

/** Trains one epoch, or part of it when `shouldStop` asks to stop. */
async function trainEpoch(
  s: Setup,
  o: TrainOptions,
  epoch: number,
): Promise<EpochSums | Stopped> {
  const e = s.engine;
  s.model.train();
  e.fill(s.acc, 0);
  const batches = trainBatches(s.trainIdx, s.config.batchSize, epochSeed(s.config.seed, epoch));
  const inFlight: Promise<unknown>[] = [];
  for (let done = 0; done < batches.length; done++) {
    // Yield so signal handlers run; bound the GPU queue so a stop is honoured within a batch
    // (in Deno the wait for a batch blocks the event loop until that batch is done).
    await new Promise((resolve) => setTimeout(resolve, 0));
    while (inFlight.length >= MAX_BATCHES_IN_FLIGHT) await inFlight.shift();
    if (o.shouldStop?.()) {
      // The queued batches finish first (waiting blocks Deno's event loop, so yield after it:
      // a second Ctrl-C that arrived meanwhile is handled before the run reports).
      await Promise.all(inFlight);
      await new Promise((resolve) => setTimeout(resolve, 0));
      return { done, of: batches.length };
    }
    e.tidy(() => {
      const clean = gatherBatch(e, s.gpu, batches[done]);
      const aug = s.augmenter.apply(clean.x, clean.y1, clean.y2, done, epoch);
      trainStep(s, aug, clean, s.acc);
    });
    e.flush();
    inFlight.push(e.device.queue.onSubmittedWorkDone());
    o.onBatch?.(done + 1, batches.length);
  }
  const magnitude = parameterMagnitude(s.opt);
  const [sums, mag] = await e.readAll([s.acc, magnitude]);
  magnitude.dispose();
  const avg = Array.from(sums, (v) => v / batches.length);
  const gradNorm = avg.pop()!;
  return { parts: avg, gradNorm, paramsFinite: Number.isFinite(mag[0]) };
}

/** The run's progress: what the resumable checkpoint records. */
function freshState(s: Setup): RunState {
  return {
    epoch: -1,
    optimizerSteps: 0,
    lr: s.config.lr,
    lrScale: 1,
    recoveries: 0,
    bestVal: null,
    bestEpoch: null,
    objective: s.objective.name,
    filters: s.config.filters,
    imageSize: s.config.imageSize,
    history: [],
  };
}

/** Loads the folder's checkpoint into the model and optimizer (all or nothing). */
async function restore(s: Setup, folder: RunFolder): Promise<LoadedCheckpoint> {
  const loaded = await readCheckpoint(folder.dir, s.model, s.opt);
  const { state } = loaded;
  const c = s.config;
  if (state.filters.join(" ") !== c.filters.join(" ") || state.imageSize !== c.imageSize) {
    throw new TrainingError(
      `cannot resume ${join(folder.dir, RUN_FILES.resume)}: it holds filters ${
        state.filters.join(" ")
      } at ${state.imageSize}px, the configuration ${c.filters.join(" ")} at ${c.imageSize}px`,
    );
  }
  loaded.apply();
  return loaded;
}

/** Console line of an epoch. */
function epochLine(s: Setup, record: EpochRecord, secondsPerEpoch: number): string {
  const c = s.config;
  const parts = (v: number[]) =>
    `${fmtNum(v[0])} (${
      s.objective.parts.slice(1, 4).map((p, i) => `${p} ${fmtNum(v[i + 1])}`).join(", ")
    })`;
  const phase = record.epoch < c.warmupEpochs ? "warmup" : "cosine";
  return `Epoch ${String(record.epoch + 1).padStart(String(c.nEpoch).length)}/${c.nEpoch} | ` +
    `train ${parts(record.train)}` + (record.val ? ` | val ${parts(record.val)}` : "") +
    ` | lr ${record.lr.toExponential(2)} ${phase} | ${record.seconds.toFixed(1)}s | ETA ${
      fmtDuration(secondsPerEpoch * (c.nEpoch - record.epoch - 1))
    }`;
}

function logScalars(writer: SummaryWriter, objective: Objective, record: EpochRecord): void {
  const tags = objective.tensorboard;
  tags.train.forEach((tag, i) => writer.addScalar(tag, record.train[i], record.epoch));
  writer.addScalar(tags.lr, record.lr, record.epoch);
  if (record.val) tags.val.forEach((tag, i) => writer.addScalar(tag, record.val![i], record.epoch));
}

const allFinite = (values: number[] | undefined) => (values ?? []).every(Number.isFinite);

/** Trains a latent conditioner; see the module documentation. */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const log = o.log ?? console.log;
  const { folder, objective } = o;
  const s = setUp(o);
  const c = s.config;
  const maxRecoveries = o.maxNanRecoveries ?? 3;
  let writer: SummaryWriter | null = null;
  let stopReason: StopReason = "completed";
  try {
    let state = freshState(s);
    if (o.resume) {
      const loaded = await restore(s, folder);
      state = loaded.state;
      // Files derived from the checkpoint may lag it after a kill; rewrite them.
      await writeDerived(folder.dir, state, loaded.model);
      log(
        `Resuming from epoch ${state.epoch + 2} (checkpoint after epoch ${
          state.epoch + 1
        }, ${state.optimizerSteps} optimizer steps)`,
      );
    }
    let lrScale = state.lrScale;
    let recoveries = state.recoveries;
    const history = [...state.history];
    log(
      `Training ${objective.name} on ${o.dataset.size} samples (${s.trainIdx.length} train, ` +
        `${s.valIdx.flat().length} val), ${s.batchesPerEpoch} batches of ${c.batchSize}, ` +
        `${
          s.model.parameterCount().toLocaleString("en-US")
        } parameters, ${s.engine.gpu.description}`,
    );
    const runStart = performance.now();
    let epochsThisRun = 0;

    /** Returns to the last checkpoint with half the learning rate; false when it cannot. */
    const recover = async (epoch: number, what: string): Promise<boolean> => {
      recoveries++;
      const hasCheckpoint = folder.committed || state.epoch >= 0;
      if (recoveries > maxRecoveries || !hasCheckpoint) {
        stopReason = "diverged";
        log(
          `Epoch ${epoch + 1}: ${what}; ` +
            (hasCheckpoint
              ? `stopping after ${maxRecoveries} recoveries. The last checkpoint (epoch ${
                state.epoch + 1
              }) is kept; try a lower --lr.`
              : "there is no checkpoint to return to, so nothing was saved; try a lower --lr."),
        );
        return false;
      }
      lrScale /= 2;
      state = (await restore(s, folder)).state;
      history.length = 0;
      history.push(...state.history);
      log(
        `Epoch ${epoch + 1}: ${what}; returned to the checkpoint after epoch ${
          state.epoch + 1
        }, learning rate now x${lrScale} (recovery ${recoveries} of ${maxRecoveries}).`,
      );
      return true;
    };

    for (let epoch = state.epoch + 1; epoch < c.nEpoch;) {
      const t0 = performance.now();
      s.opt.lr = s.schedule.lrAt(epoch) * lrScale;
      const sums = await trainEpoch(s, o, epoch);
      if ("done" in sums) {
        stopReason = "interrupted";
        const where = `Interrupted in epoch ${epoch + 1} after ${sums.done} of ${sums.of} batches`;
        log(
          state.epoch >= 0
            ? `${where}; the checkpoint after epoch ${
              state.epoch + 1
            } is kept (--resume continues from there).`
            : `${where}, before the run's first checkpoint; nothing was saved.`,
        );
        break;
      }
      const record: EpochRecord = {
        epoch,
        lr: s.opt.lr,
        train: sums.parts,
        gradNorm: sums.gradNorm,
        seconds: 0,
        objective: objective.name,
      };
      const finite = allFinite(sums.parts) && Number.isFinite(sums.gradNorm) && sums.paramsFinite;
      const validateNow = (epoch + 1) % c.valEvery === 0 || epoch === c.nEpoch - 1;
      if (finite && validateNow && s.valIdx.length) {
        const val = await evaluate(s.engine, s.model, objective, s.gpu, s.valIdx);
        record.valMetric = val.pop();
        record.val = val;
      }
      if (!finite || !allFinite(record.val)) {
        const what = !allFinite(sums.parts)
          ? `training loss is ${sums.parts[0]}`
          : !Number.isFinite(sums.gradNorm)
          ? `gradient norm is ${sums.gradNorm}`
          : !sums.paramsFinite
          ? "parameters are not finite"
          : `validation loss is ${record.val![0]}`;
        if (!(await recover(epoch, what))) break;
        epoch = state.epoch + 1;
        continue;
      }
      record.seconds = (performance.now() - t0) / 1000;

      const improved = record.val !== undefined &&
        (state.bestVal === null || record.val[0] < state.bestVal);
      const next: RunState = {
        ...state,
        epoch,
        optimizerSteps: s.opt.stepCount,
        lr: s.opt.lr,
        lrScale,
        recoveries,
        bestVal: improved ? record.val![0] : state.bestVal,
        bestEpoch: improved ? epoch : state.bestEpoch,
        history: [...history, record],
      };
      const checkpointNow = (epoch + 1) % c.checkpointEvery === 0 || record.val !== undefined ||
        epoch === c.nEpoch - 1 || !folder.committed;
      if (checkpointNow) {
        try {
          await saveCheckpoint(folder.dir, s.model, s.opt, next);
        } catch (err) {
          if (!(err instanceof NonFiniteError)) throw err;
          if (!(await recover(epoch, err.message))) break;
          epoch = state.epoch + 1;
          continue;
        }
        await folder.commit();
      }
      state = next;
      history.push(record);
      epochsThisRun++;

      writer ??= new SummaryWriter(join(folder.dir, objective.tensorboard.dir));
      logScalars(writer, objective, record);
      const perEpoch = (performance.now() - runStart) / 1000 / epochsThisRun;
      log(epochLine(s, record, perEpoch));
      o.onEpoch?.(record);

      if (record.val && record.val[0] / record.train[0] > 1000) {
        stopReason = "overfit";
        log(
          `Stopping: validation/training loss ratio ${
            (record.val[0] / record.train[0]).toFixed(0)
          } exceeds 1000.`,
        );
        break;
      }
      epoch++;
    }
    if ((o.plot ?? true) && folder.committed) await writePlot(folder.dir, history, objective);
    return {
      history,
      bestVal: state.bestVal,
      bestEpoch: state.bestEpoch,
      stopReason,
      runDir: folder.path,
      model: s.model,
    };
  } catch (err) {
    s.model.dispose();
    throw err;
  } finally {
    writer?.close();
    s.acc.dispose();
    s.gpu.dispose();
  }
}

async function writePlot(
  dir: string,
  history: EpochRecord[],
  objective: Objective,
): Promise<void> {
  const svg = lossHistorySvg(history.map(epochView), `Latent conditioner (${objective.name})`);
  await writeFileAtomic(join(dir, "loss_curves.svg"), new TextEncoder().encode(svg));
}
