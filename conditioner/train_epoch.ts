/**
 * What the trainer builds once (model, optimizer, schedule, data on the GPU) and the passes it
 * runs each epoch: the training steps and validation.
 */
import type { Engine } from "../engine/engine.ts";
import type { Tensor } from "../engine/tensor.ts";
import { axpyInto } from "../engine/ops/elementwise.ts";
import { AdamW } from "../engine/optim/adamw.ts";
import { warmupCosineLr } from "../engine/optim/schedule.ts";
import { Augmenter } from "./augment.ts";
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
import { LatentConditionerImg } from "./model.ts";
import { type Objective, stackScalars } from "./objective.ts";
import { parameterMagnitude, stepAccumulator, type StepContext, trainStep } from "./train_step.ts";

/** Batches recorded ahead of the GPU at most; more would delay a stop by their run time. */
export const MAX_BATCHES_IN_FLIGHT = 2;

/** Error raised when training cannot start or continue (e.g. no complete batch, wrong checkpoint). */
export class TrainingError extends Error {}

/** Everything a run trains with, built once. */
export interface Setup extends StepContext {
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

/** Builds the model, optimizer, schedule and GPU data of a run. */
export function setUp(
  e: Engine,
  c: ConditionerConfig,
  dataset: ConditionerDataset,
  objective: Objective,
): Setup {
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
    objective,
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

/** What an epoch's training steps left. */
export interface EpochSums {
  /** Objective parts averaged over the epoch's steps, in the objective's order. */
  parts: number[];
  /** Gradient norm averaged over the steps. */
  gradNorm: number;
  /** Whether every parameter is finite after the epoch. */
  paramsFinite: boolean;
}

/** Where an epoch stopped when `shouldStop` asked before its last batch. */
export interface Stopped {
  /** Batches completed. */
  done: number;
  /** Batches in the epoch. */
  of: number;
}

/** Reported after each batch the GPU has finished. */
export interface BatchDone {
  /** Batches of this epoch finished. */
  batch: number;
  /** Batches in the epoch. */
  batches: number;
  /** Mean training loss (total) over the epoch's finished batches (null when not read). */
  runningLoss: number | null;
}

/**
 * Trains one (0-based) epoch, or part of it when `shouldStop` asks to stop. Between batches it
 * yields to the event loop (so signal handlers run) and waits while
 * {@link MAX_BATCHES_IN_FLIGHT} batches are queued; with `readRunningLoss` that wait reads the
 * epoch's running sums, so progress costs no extra GPU sync.
 */
export async function trainEpoch(
  s: Setup,
  epoch: number,
  hooks: {
    shouldStop?: () => boolean;
    /** Before the first batch is recorded (the first batch of a process compiles the kernels). */
    onStart?: () => void;
    /** After each batch the GPU has finished. */
    onBatchDone?: (b: BatchDone) => void;
    /** Read the epoch's sums back after each batch, for {@link BatchDone.runningLoss}. */
    readRunningLoss?: boolean;
  },
): Promise<EpochSums | Stopped> {
  const e = s.engine;
  s.model.train();
  e.fill(s.acc, 0);
  const batches = trainBatches(s.trainIdx, s.config.batchSize, epochSeed(s.config.seed, epoch));
  const inFlight: Promise<void>[] = [];
  hooks.onStart?.();
  for (let done = 0; done < batches.length; done++) {
    // In Deno a wait for the GPU blocks the event loop until that work is done, so yield too.
    await new Promise((resolve) => setTimeout(resolve, 0));
    while (inFlight.length >= MAX_BATCHES_IN_FLIGHT) await inFlight.shift();
    if (hooks.shouldStop?.()) {
      // The queued batches finish first; yield after the wait so that a second Ctrl-C that
      // arrived meanwhile is handled before the run reports.
      await Promise.all(inFlight);
      await new Promise((resolve) => setTimeout(resolve, 0));
      return { done, of: batches.length };
    }
    e.tidy(() => {
      const clean = gatherBatch(e, s.gpu, batches[done]);
      const aug = s.augmenter.apply(clean.x, clean.y1, clean.y2, done, epoch);
      trainStep(s, aug, clean, s.acc);
    });
    const finished = done + 1;
    const report = (runningLoss: number | null) =>
      hooks.onBatchDone?.({ batch: finished, batches: batches.length, runningLoss });
    // The running loss is read back only when it is shown; otherwise the wait is the queue's.
    const batchDone = hooks.readRunningLoss
      ? e.readAll([s.acc]).then(([v]) => report(v[0] / finished))
      : (e.flush(), e.device.queue.onSubmittedWorkDone().then(() => report(null)));
    batchDone.catch(() => {}); // awaited below; this only keeps an abandoned one from being unhandled
    inFlight.push(batchDone);
  }
  await Promise.all(inFlight);
  const magnitude = parameterMagnitude(s.opt);
  const [sums, mag] = await e.readAll([s.acc, magnitude]);
  magnitude.dispose();
  const avg = Array.from(sums, (v) => v / batches.length);
  const gradNorm = avg.pop()!;
  return { parts: avg, gradNorm, paramsFinite: Number.isFinite(mag[0]) };
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
