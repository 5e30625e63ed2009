/**
 * The training loop shared by the original and the enhanced recipes: AdamW with warm-up +
 * cosine LR, validation, the best model by the validation metric, checkpoints (resumable, every
 * epoch by default), early stopping, TensorBoard scalars, a loss plot, recovery from non-finite
 * epochs and clean interruption.
 *
 * A step (`trainStep`, train_step.ts) is recorded without any read back; losses, the gradient norm and a
 * parameter check accumulate on the GPU and are read once per epoch, and progress within an
 * epoch comes from the wait that keeps the GPU queue short ({@link trainEpoch}). Epochs are
 * numbered from 1 in every output.
 */
import { join } from "node:path";
import type { Engine } from "../engine/engine.ts";
import { writeFileAtomic } from "../io/files.ts";
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
import type { ConditionerDataset } from "./data.ts";
import type { EpochRecord } from "./history.ts";
import type { LatentConditionerImg } from "./model.ts";
import type { Objective } from "./objective.ts";
import { epochView, lossHistorySvg } from "./history_view.ts";
import type { RunFolder } from "./run_folder.ts";
import { SummaryWriter } from "./tensorboard.ts";
import { evaluate, type Setup, setUp, trainEpoch, TrainingError } from "./train_epoch.ts";
import {
  componentLine,
  epochLine,
  logScalars,
  namedParts,
  RunPace,
  type TrainProgress,
} from "./train_log.ts";

export type { EpochRecord } from "./history.ts";
export { evaluate, MAX_BATCHES_IN_FLIGHT, TrainingError } from "./train_epoch.ts";
export type { TrainProgress } from "./train_log.ts";

/** Where a run's outputs go and how it reports. */
export interface TrainOptions {
  /** The engine to train on. */
  engine: Engine;
  /** The settings (epochs, optimizer, schedule, model shape, split, seed, patience). */
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
  /** Progress within an epoch, after every batch the GPU has finished. */
  onProgress?: (progress: TrainProgress) => void;
  /** Checked between steps; when it returns true the run stops at its last checkpoint. */
  shouldStop?: () => boolean;
  /** Called after every epoch (for extra logging). */
  onEpoch?: (record: EpochRecord) => void;
  /**
   * Non-finite epochs recovered from (each returns to the last checkpoint with half the learning
   * rate) before the run stops as diverged. Default 3.
   */
  maxNanRecoveries?: number;
}

/** Why the loop ended. */
export type StopReason = "completed" | "interrupted" | "diverged" | "overfit" | "no-improvement";

/** Summary of a run. */
export interface TrainResult {
  /** Every epoch's record, including those of the runs it resumed. */
  history: EpochRecord[];
  /** Lowest validation metric 10 * MSE(y1) + MSE(y2), or null when never validated. */
  bestVal: number | null;
  /** The epoch of {@link bestVal} (from 1), or null. */
  bestEpoch: number | null;
  /** Why the loop ended. */
  stopReason: StopReason;
  /** The run folder. */
  runDir: string;
  /** The model with its last epoch's weights; the caller disposes it. */
  model: LatentConditionerImg;
}

/** The run's progress before its first epoch: what the resumable checkpoint records. */
function freshState(s: Setup): RunState {
  return {
    epoch: 0,
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

/** Validations since the best one (for early stopping). */
function validationsSinceBest(history: EpochRecord[], bestEpoch: number | null): number {
  return history.filter((h) => h.valMetric !== undefined && h.epoch > (bestEpoch ?? 0)).length;
}

const allFinite = (values: number[] | Record<string, number> | undefined) =>
  Object.values(values ?? {}).every(Number.isFinite);

/** What a non-finite epoch shows first, for the console. */
function nonFiniteWhat(parts: number[], gradNorm: number, paramsFinite: boolean): string {
  if (!allFinite(parts)) return `training loss is ${parts[0]}`;
  if (!Number.isFinite(gradNorm)) return `gradient norm is ${gradNorm}`;
  if (!paramsFinite) return "parameters are not finite";
  return "validation loss is not finite";
}

/** Trains a latent conditioner; see the module documentation. */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const log = o.log ?? console.log;
  const { folder, objective } = o;
  const s = setUp(o.engine, o.config, o.dataset, objective);
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
        `Resuming from epoch ${state.epoch + 1} (checkpoint after epoch ${state.epoch}, ` +
          `${state.optimizerSteps} optimizer steps)`,
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
    if (c.warmupEpochs >= c.nEpoch) {
      log(
        `warning: the warm-up (${c.warmupEpochs} epochs, --warmup-epochs) is not shorter than the ` +
          `run (${c.nEpoch} epochs): the learning rate never reaches ${c.lr} and never decays`,
      );
    }
    const pace = new RunPace(c.batchSize, s.batchesPerEpoch);
    let firstEpochOfProcess = true;

    /** Returns to the last checkpoint with half the learning rate; false when it cannot. */
    const recover = async (epoch: number, what: string): Promise<boolean> => {
      recoveries++;
      const hasCheckpoint = folder.committed;
      if (recoveries > maxRecoveries || !hasCheckpoint) {
        stopReason = "diverged";
        log(
          `Epoch ${epoch}: ${what}; ` +
            (hasCheckpoint
              ? `stopping after ${maxRecoveries} recoveries. The last checkpoint (epoch ${state.epoch}) is kept; try a lower --lr.`
              : "there is no checkpoint to return to, so nothing was saved; try a lower --lr."),
        );
        return false;
      }
      lrScale /= 2;
      state = (await restore(s, folder)).state;
      history.length = 0;
      history.push(...state.history);
      log(
        `Epoch ${epoch}: ${what}; returned to the checkpoint after epoch ${state.epoch}, ` +
          `learning rate now x${lrScale} (recovery ${recoveries} of ${maxRecoveries}).`,
      );
      return true;
    };

    while (state.epoch < c.nEpoch) {
      const epoch = state.epoch + 1; // the epoch being trained, from 1
      const t0 = performance.now();
      s.opt.lr = s.schedule.lrAt(epoch - 1) * lrScale;
      pace.epochStarted(t0);
      const sums = await trainEpoch(s, epoch - 1, {
        shouldStop: o.shouldStop,
        readRunningLoss: o.onProgress !== undefined,
        onBatchDone: (b) => {
          pace.batchDone(performance.now());
          o.onProgress?.({
            epoch,
            epochs: c.nEpoch,
            batch: b.batch,
            batches: b.batches,
            compiling: false,
            runningLoss: b.runningLoss,
            samplesPerSecond: pace.samplesPerSecond,
            etaSeconds: pace.eta(b.batches - b.batch, c.nEpoch - epoch),
          });
        },
        onStart: () =>
          o.onProgress?.({
            epoch,
            epochs: c.nEpoch,
            batch: 0,
            batches: s.batchesPerEpoch,
            compiling: !pace.compiled,
            runningLoss: null,
            samplesPerSecond: pace.samplesPerSecond,
            etaSeconds: pace.eta(s.batchesPerEpoch, c.nEpoch - epoch),
          }),
      });
      if ("done" in sums) {
        stopReason = "interrupted";
        const where = `Interrupted in epoch ${epoch} after ${sums.done} of ${sums.of} batches`;
        log(
          state.epoch > 0
            ? `${where}; the checkpoint after epoch ${state.epoch} is kept (--resume continues from there).`
            : `${where}, before the run's first checkpoint; nothing was saved.`,
        );
        break;
      }
      const record: EpochRecord = {
        epoch,
        lr: s.opt.lr,
        train: namedParts(objective, sums.parts),
        gradNorm: sums.gradNorm,
        seconds: 0,
        objective: objective.name,
      };
      const finite = allFinite(sums.parts) && Number.isFinite(sums.gradNorm) && sums.paramsFinite;
      const validateNow = epoch % c.valEvery === 0 || epoch === c.nEpoch;
      if (finite && validateNow && s.valIdx.length) {
        const val = await evaluate(s.engine, s.model, objective, s.gpu, s.valIdx);
        record.valMetric = val.pop();
        record.val = namedParts(objective, val);
      }
      if (!finite || !allFinite(record.val) || !allFinite([record.valMetric ?? 0])) {
        if (!(await recover(epoch, nonFiniteWhat(sums.parts, sums.gradNorm, sums.paramsFinite)))) {
          break;
        }
        continue;
      }
      record.seconds = (performance.now() - t0) / 1000;

      const metric = record.valMetric;
      const improved = metric !== undefined && (state.bestVal === null || metric < state.bestVal);
      const next: RunState = {
        ...state,
        epoch,
        optimizerSteps: s.opt.stepCount,
        lr: s.opt.lr,
        lrScale,
        recoveries,
        bestVal: improved ? metric! : state.bestVal,
        bestEpoch: improved ? epoch : state.bestEpoch,
        history: [...history, record],
      };
      const checkpointNow = epoch % c.checkpointEvery === 0 || record.val !== undefined ||
        epoch === c.nEpoch || !folder.committed;
      if (checkpointNow) {
        try {
          await saveCheckpoint(folder.dir, s.model, s.opt, next);
        } catch (err) {
          if (!(err instanceof NonFiniteError)) throw err;
          if (!(await recover(epoch, err.message))) break;
          continue;
        }
        await folder.commit();
      }
      state = next;
      history.push(record);
      pace.epochDone(record.seconds, firstEpochOfProcess);
      firstEpochOfProcess = false;

      writer ??= new SummaryWriter(join(folder.dir, objective.tensorboardDir));
      logScalars(writer, objective, record);
      log(epochLine(c, objective, record, pace.eta(0, c.nEpoch - epoch)));
      const components = componentLine(objective, record);
      if (components) log(components);
      o.onEpoch?.(record);

      if (record.val && record.val.total / record.train.total > 1000) {
        stopReason = "overfit";
        log(
          `Stopping: validation/training loss ratio ${
            (record.val.total / record.train.total).toFixed(0)
          } exceeds 1000.`,
        );
        break;
      }
      if (c.patience > 0 && validationsSinceBest(history, state.bestEpoch) >= c.patience) {
        stopReason = "no-improvement";
        log(
          `Stopping early: the validation metric has not improved for ${c.patience} ` +
            `validations (best ${
              state.bestVal!.toFixed(5)
            } at epoch ${state.bestEpoch}, kept in ${RUN_FILES.best}).`,
        );
        break;
      }
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
