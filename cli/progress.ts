/**
 * Progress bars on a terminal. Within an epoch: epoch i/n, batches, samples/s, running loss and
 * ETA, or "compiling kernels" while the process's first batch compiles them. While the tuner
 * times kernel tiles: shapes done, ETA and the last choice. Off a terminal nothing is drawn
 * (the callers print their lines instead).
 */
// @ts-types="npm:@types/cli-progress@3.11.6"
import cliProgress from "npm:cli-progress@3.12.0";
import type { TrainProgress } from "../conditioner/train.ts";
import { fmtTile, type TuneReport } from "../engine/autotune.ts";
import { fmtDuration } from "../conditioner/train_log.ts";

/** A redrawn line for {@link TrainProgress} events. */
export class EpochBar {
  readonly #bar = new cliProgress.SingleBar({
    format: "  epoch {epoch} |{bar}| {value}/{total} batches | {status}",
    hideCursor: true,
    clearOnComplete: true,
    stopOnComplete: false,
  }, cliProgress.Presets.shades_classic);
  #epoch = 0;
  #running = false;

  /** Shows one progress event (a new epoch restarts the bar). */
  update(p: TrainProgress): void {
    const payload = { epoch: `${p.epoch}/${p.epochs}`, status: status(p) };
    if (!this.#running || p.epoch !== this.#epoch) {
      this.stop();
      this.#bar.start(p.batches, p.batch, payload);
      this.#running = true;
      this.#epoch = p.epoch;
    } else this.#bar.update(p.batch, payload);
  }

  /** Clears the bar (before the epoch line is printed, and at the end). */
  stop(): void {
    if (this.#running) this.#bar.stop();
    this.#running = false;
  }
}

function status(p: TrainProgress): string {
  if (p.compiling) return "compiling kernels (first batch; seconds to minutes on a CPU adapter)";
  const parts = [
    p.samplesPerSecond === null ? null : `${p.samplesPerSecond.toFixed(1)} samples/s`,
    p.runningLoss === null ? null : `loss ${p.runningLoss.toPrecision(4)}`,
    `ETA ${p.etaSeconds === null ? "-" : fmtDuration(p.etaSeconds)}`,
  ];
  return parts.filter((x) => x !== null).join(" | ");
}

/** A redrawn line while the tuner works through a model's shape buckets. */
export class TuneBar {
  readonly #bar = new cliProgress.SingleBar({
    format: "  tuning kernels |{bar}| {value}/{total} shapes | ETA {eta_formatted} | {status}",
    hideCursor: true,
    clearOnComplete: true,
    stopOnComplete: false,
  }, cliProgress.Presets.shades_classic);
  #running = false;

  /** Shows that bucket `index` of `total` is being timed now. */
  start(key: string, index: number, total: number): void {
    this.#show(index - 1, total, `timing ${key}`);
  }

  /** Shows that bucket `done` of `total` was decided (`r`: from the cache or timed now). */
  update(r: TuneReport, done: number, total: number): void {
    const status = r.cached
      ? `${r.key}: cached`
      : `${r.key}: ${fmtTile(r.tile)} ${(r.fixedMs / r.ms).toFixed(2)}x`;
    this.#show(done, total, status);
  }

  #show(done: number, total: number, status: string): void {
    if (!this.#running) {
      this.#bar.start(total, done, { status });
      this.#running = true;
    } else this.#bar.update(done, { status });
  }

  /** Clears the bar. */
  stop(): void {
    if (this.#running) this.#bar.stop();
    this.#running = false;
  }
}
