/**
 * Seeded, deterministic sample order on the CPU: the mulberry32 generator, the
 * train/validation split and the per-epoch training and validation batches.
 */

// ---------------------------------------------------------------------------- seeded randomness

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit-state generator returning uniform
 * numbers in [0, 1). Small, fast and fully determined by the seed, which is all shuffling needs
 * (it is not for statistics or cryptography).
 */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A well-mixed 32-bit seed for one epoch of a run (so consecutive epochs are unrelated). */
export function epochSeed(seed: number, epoch: number): number {
  let x = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca77)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** Fisher-Yates shuffle of a copy of `items`, driven by mulberry32(seed). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const rand = mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

// ---------------------------------------------------------------------------- split and batches

/** A train/validation split: sample indices, each list ascending. */
export interface Split {
  /** Training sample indices. */
  train: number[];
  /** Validation sample indices (empty when the validation fraction is 0). */
  val: number[];
}

/**
 * Splits samples 0..n-1 into training and validation sets, reproducibly: the indices are
 * shuffled with mulberry32(seed), the first `int((1 - valFraction) * n)` are training samples
 * (SimulGen-VAE's `train_size = int(0.8 * N)` for the default 0.2), the rest validation. Both
 * lists are returned in ascending order.
 */
export function splitIndices(n: number, valFraction = 0.2, seed = 0): Split {
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`splitIndices: sample count must be a positive integer, got ${n}`);
  }
  if (!(valFraction >= 0 && valFraction < 1)) {
    throw new Error(`splitIndices: validation fraction must be in [0, 1), got ${valFraction}`);
  }
  const trainSize = Math.floor((1 - valFraction) * n + 1e-9);
  if (trainSize < 1) {
    throw new Error(
      `splitIndices: ${n} samples with validation fraction ${valFraction} leave no training sample`,
    );
  }
  const order = shuffled(Array.from({ length: n }, (_, i) => i), seed);
  const asc = (a: number, b: number) => a - b;
  return { train: order.slice(0, trainSize).sort(asc), val: order.slice(trainSize).sort(asc) };
}

function checkBatchSize(op: string, batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`${op}: batch size must be a positive integer, got ${batchSize}`);
  }
}

/**
 * One epoch of training batches: `trainIdx` shuffled with mulberry32(epochSeed), cut into
 * batches of `batchSize`, the last partial batch dropped (PyTorch's `shuffle=True,
 * drop_last=True`). Throws when there are fewer samples than one batch.
 */
export function trainBatches(
  trainIdx: readonly number[],
  batchSize: number,
  epochSeed: number,
): number[][] {
  checkBatchSize("trainBatches", batchSize);
  if (trainIdx.length < batchSize) {
    throw new Error(
      `trainBatches: ${trainIdx.length} training samples are fewer than the batch size ` +
        `${batchSize}, so no full batch can be formed; lower the batch size ` +
        `(latent_conditioner_batch)`,
    );
  }
  const order = shuffled(trainIdx, epochSeed);
  const batches: number[][] = [];
  for (let i = 0; i + batchSize <= order.length; i += batchSize) {
    batches.push(order.slice(i, i + batchSize));
  }
  return batches;
}

/** Validation batches: `valIdx` in order, cut into batches of `batchSize`, the last one partial. */
export function valBatches(valIdx: readonly number[], batchSize: number): number[][] {
  checkBatchSize("valBatches", batchSize);
  const batches: number[][] = [];
  for (let i = 0; i < valIdx.length; i += batchSize) {
    batches.push(valIdx.slice(i, i + batchSize));
  }
  return batches;
}
