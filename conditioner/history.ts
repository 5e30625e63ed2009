/** Per-epoch records of a run: kept in the resumable checkpoint and exported as history.json. */

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

const isNumberList = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "number");

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
    if (!Number.isInteger(r.epoch)) bad("epoch");
    if (typeof r.lr !== "number") bad("lr");
    if (!isNumberList(r.train)) bad("train");
    if (r.val !== undefined && !isNumberList(r.val)) bad("val");
    if (typeof r.objective !== "string") bad("objective");
  });
  return value as EpochRecord[];
}
