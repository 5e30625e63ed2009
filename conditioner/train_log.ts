/**
 * What a run reports: the epoch line, TensorBoard scalars, and progress within an epoch with a
 * rate and an ETA from steady-state timings (the first batch of a process compiles every kernel
 * and is left out).
 */
import type { ConditionerConfig } from "./config.ts";
import type { EpochRecord } from "./history.ts";
import { METRIC_TAG, type Objective } from "./objective.ts";
import type { SummaryWriter } from "./tensorboard.ts";

/** Progress within an epoch, reported after every batch the GPU has finished. */
export interface TrainProgress {
  /** Epoch number, 1-based. */
  epoch: number;
  /** Epochs of the run. */
  epochs: number;
  /** Batches of this epoch finished. */
  batch: number;
  /** Batches in the epoch. */
  batches: number;
  /**
   * True until the first batch of the process has finished: it compiles every kernel, which
   * takes seconds to minutes on a software adapter.
   */
  compiling: boolean;
  /** Mean training loss over the epoch's finished batches. */
  runningLoss: number | null;
  /** Training samples per second over steady-state batches (null until measured). */
  samplesPerSecond: number | null;
  /** Seconds left in the run (null until measured). */
  etaSeconds: number | null;
}

/** Steady-state timing of a run's batches and epochs, for rates and ETAs. */
export class RunPace {
  readonly #batchSize: number;
  readonly #batchesPerEpoch: number;
  #batchSeconds = 0;
  #batchCount = 0;
  #epochSeconds = 0;
  #epochCount = 0;
  #last = 0;
  #compiled = false;

  constructor(batchSize: number, batchesPerEpoch: number) {
    this.#batchSize = batchSize;
    this.#batchesPerEpoch = batchesPerEpoch;
  }

  /** Whether the process's first batch (which compiles the kernels) has finished. */
  get compiled(): boolean {
    return this.#compiled;
  }

  /** Marks the start of an epoch's batches (ms, performance.now()). */
  epochStarted(now: number): void {
    this.#last = now;
  }

  /** Records a finished batch; the first of the process is compile time and is not counted. */
  batchDone(now: number): void {
    if (this.#compiled) {
      this.#batchSeconds += (now - this.#last) / 1000;
      this.#batchCount++;
    }
    this.#compiled = true;
    this.#last = now;
  }

  /** Records a whole epoch's seconds; `first` marks the process's first (compiling) epoch. */
  epochDone(seconds: number, first: boolean): void {
    if (first) return;
    this.#epochSeconds += seconds;
    this.#epochCount++;
  }

  /** Seconds of one steady-state batch, or null before one was measured. */
  get secondsPerBatch(): number | null {
    return this.#batchCount ? this.#batchSeconds / this.#batchCount : null;
  }

  /** Training samples per second over steady-state batches. */
  get samplesPerSecond(): number | null {
    const b = this.secondsPerBatch;
    return b ? this.#batchSize / b : null;
  }

  /** Seconds of one epoch: measured over steady-state epochs, else estimated from batches. */
  get secondsPerEpoch(): number | null {
    if (this.#epochCount) return this.#epochSeconds / this.#epochCount;
    const b = this.secondsPerBatch;
    return b === null ? null : b * this.#batchesPerEpoch;
  }

  /** Seconds left: the rest of this epoch's batches and `epochsAfter` whole epochs. */
  eta(batchesLeft: number, epochsAfter: number): number | null {
    const b = this.secondsPerBatch;
    const perEpoch = this.secondsPerEpoch;
    if (b === null || perEpoch === null) return null;
    return b * batchesLeft + perEpoch * epochsAfter;
  }
}

function fmtNum(v: number): string {
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toFixed(4) : v.toExponential(3);
}

/** "1h02m", "3m07s". */
export function fmtDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(s % 60).padStart(2, "0")}s`;
}

/** The parts shown on the epoch line: the total, then those marked `console`. */
function partsText(objective: Objective, values: Record<string, number>): string {
  const shown = objective.parts.filter((p) => p.console).map((p) =>
    `${p.name} ${fmtNum(values[p.name])}`
  );
  return `${fmtNum(values.total)} (${shown.join(", ")})`;
}

/** The console line of an epoch. */
export function epochLine(
  c: ConditionerConfig,
  objective: Objective,
  record: EpochRecord,
  etaSeconds: number | null,
): string {
  const phase = record.epoch <= c.warmupEpochs ? "warmup" : "cosine";
  return `Epoch ${String(record.epoch).padStart(String(c.nEpoch).length)}/${c.nEpoch} | ` +
    `train ${partsText(objective, record.train)}` +
    (record.val ? ` | val ${partsText(objective, record.val)}` : "") +
    (record.valMetric !== undefined ? ` | metric ${fmtNum(record.valMetric)}` : "") +
    ` | lr ${record.lr.toExponential(2)} ${phase} | ${record.seconds.toFixed(1)}s | ETA ${
      etaSeconds === null ? "-" : fmtDuration(etaSeconds)
    }`;
}

/**
 * The weighted components of an enhanced epoch and their shares of the total, as one line
 * (null for objectives without components).
 */
export function componentLine(objective: Objective, record: EpochRecord): string | null {
  const components = objective.parts.filter((p) => p.component);
  if (!components.length) return null;
  const total = record.train.total;
  const share = (v: number) => (total > 0 ? `${((100 * v) / total).toFixed(1)}%` : "-");
  return "  components: " + components.map((p) => {
    const v = record.train[p.name];
    return `${p.name} ${v.toExponential(3)} (${share(v)})`;
  }).join(" | ");
}

/** One epoch's TensorBoard scalars, at step = the 1-based epoch. */
export function logScalars(writer: SummaryWriter, objective: Objective, r: EpochRecord): void {
  for (const p of objective.parts) {
    if (p.trainTag) writer.addScalar(p.trainTag, r.train[p.name], r.epoch);
    if (p.valTag && r.val) writer.addScalar(p.valTag, r.val[p.name], r.epoch);
  }
  if (r.valMetric !== undefined) writer.addScalar(METRIC_TAG, r.valMetric, r.epoch);
  writer.addScalar(objective.lrTag, r.lr, r.epoch);
}

/** The parts of an objective as a named record. */
export function namedParts(objective: Objective, values: number[]): Record<string, number> {
  return Object.fromEntries(objective.parts.map((p, i) => [p.name, values[i]]));
}
