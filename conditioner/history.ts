/** Per-epoch records of a run: kept in the resumable checkpoint and exported as history.json. */

/**
 * One epoch's record (losses are averages over the epoch's batches or validation samples).
 * Epochs are numbered from 1 here as everywhere: console, TensorBoard steps, checkpoints, files.
 */
export interface EpochRecord {
  /** Epoch number, from 1. */
  epoch: number;
  /** Learning rate used in this epoch. */
  lr: number;
  /** Training loss parts by name (the objective's parts; `total` is the loss minimised). */
  train: Record<string, number>;
  /** Validation parts by name, when validated this epoch. */
  val?: Record<string, number>;
  /**
   * Validation 10 * MSE(y1) + MSE(y2): the metric every recipe is compared on and the best
   * model is chosen by.
   */
  valMetric?: number;
  /** Global gradient norm averaged over the epoch's steps (before clipping). */
  gradNorm: number;
  /** Wall time of the epoch, validation included. */
  seconds: number;
  /** Objective used for this epoch. */
  objective: string;
}

const isNumberRecord = (v: unknown) =>
  v !== null && typeof v === "object" && !Array.isArray(v) &&
  Object.values(v).every((x) => typeof x === "number") && "total" in v;

/**
 * Checks a parsed history (an array of {@link EpochRecord}); errors name `source` and the
 * first bad record and field.
 */
export function checkHistory(value: unknown, source: string): EpochRecord[] {
  if (!Array.isArray(value)) throw new Error(`${source}: history is not a list`);
  value.forEach((r, i) => {
    const bad = (field: string) => {
      throw new Error(`${source}: history[${i}].${field} is missing or invalid`);
    };
    if (r === null || typeof r !== "object") bad("(record)");
    if (!Number.isInteger(r.epoch) || r.epoch < 1) bad("epoch");
    if (typeof r.lr !== "number") bad("lr");
    if (!isNumberRecord(r.train)) bad("train");
    if (r.val !== undefined && !isNumberRecord(r.val)) bad("val");
    if (typeof r.objective !== "string") bad("objective");
  });
  return value as EpochRecord[];
}
