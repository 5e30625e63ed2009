/** Learning-rate schedules, stepped once per epoch like PyTorch's LR schedulers. */

/** A schedule: the learning rate to use in a given epoch (0-based). */
export interface LrSchedule {
  /** The learning rate for `epoch` (0-based). */
  lrAt(epoch: number): number;
}

/** A constant learning rate. */
export function constantLr(lr: number): LrSchedule {
  return { lrAt: () => lr };
}

/** Options for {@link warmupCosineLr}. */
export interface WarmupCosineOptions {
  /** The base learning rate (what the optimizer was created with). */
  lr: number;
  /** Epochs of linear warm-up (PyTorch LinearLR total_iters). */
  warmupEpochs: number;
  /** Factor at epoch 0 (LinearLR start_factor); the factor reaches 1 at `warmupEpochs`. */
  startFactor: number;
  /** Total epochs; cosine runs over the last `totalEpochs - warmupEpochs` (CosineAnnealingLR T_max). */
  totalEpochs: number;
  /** Final learning rate (CosineAnnealingLR eta_min). */
  etaMin: number;
}

/**
 * PyTorch's SequentialLR([LinearLR(start_factor, total_iters=warmup), CosineAnnealingLR(T_max =
 * total - warmup, eta_min)], milestones=[warmup]): SimulGen-VAE's conditioner schedule.
 */
export function warmupCosineLr(o: WarmupCosineOptions): LrSchedule {
  const tMax = Math.max(1, o.totalEpochs - o.warmupEpochs);
  return {
    lrAt(epoch: number): number {
      if (epoch < o.warmupEpochs) {
        const f = o.startFactor + (1 - o.startFactor) * epoch / o.warmupEpochs;
        return o.lr * f;
      }
      const t = Math.min(epoch - o.warmupEpochs, tMax);
      return o.etaMin + (o.lr - o.etaMin) * (1 + Math.cos(Math.PI * t / tMax)) / 2;
    },
  };
}
