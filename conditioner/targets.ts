/**
 * Regression targets written by the VAE (`latent_vectors.npy` (N, 32), `xs.npy` (N, 3, 8)) and
 * the per-column min-max scaling SimulGen-VAE applies to them.
 */
import { join } from "node:path";
import { type NpyArray, readNpy } from "./npy.ts";
import { LATENT_DIM, XS_SHAPE } from "./model.ts";

/** File name of the main latent targets inside the data folder. */
export const LATENT_FILE = "latent_vectors.npy";
/** File name of the hierarchical latent targets inside the data folder. */
export const XS_FILE = "xs.npy";

/** The two target arrays, both float32 and C-ordered. */
export interface Targets {
  /** Main latents, shape (N, latentDim). */
  latents: NpyArray;
  /** Hierarchical latents, shape (N, ...xsShape). */
  xs: NpyArray;
}

/** Options for {@link loadTargets}. */
export interface LoadTargetsOptions {
  /** Width of a latent vector (default 32). */
  latentDim?: number;
  /** Per-sample shape of xs (default [3, 8]). */
  xsShape?: readonly number[];
}

function fmt(shape: readonly number[]): string {
  return `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;
}

/** Throws unless `arr` has shape (N, ...perSample) for some N, naming the file and both shapes. */
export function checkTargetShape(arr: NpyArray, perSample: readonly number[], path: string): void {
  const ok = arr.shape.length === perSample.length + 1 &&
    perSample.every((d, i) => arr.shape[i + 1] === d);
  if (!ok) {
    throw new Error(
      `${path}: expected shape (N, ${perSample.join(", ")}), got ${fmt(arr.shape)}`,
    );
  }
}

/**
 * Replaces NaN and +-Infinity by 0 in place. Returns a warning naming the file and the count,
 * or null when every value was finite.
 */
export function replaceNonFinite(data: Float32Array, path: string): string | null {
  let nan = 0;
  let inf = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isNaN(v)) nan++;
    else if (!Number.isFinite(v)) inf++;
    else continue;
    data[i] = 0;
  }
  if (nan + inf === 0) return null;
  const parts = [nan ? `${nan} NaN` : "", inf ? `${inf} infinite` : ""].filter(Boolean);
  return `${path}: ${parts.join(" and ")} value${nan + inf === 1 ? "" : "s"} of ${data.length} ` +
    `replaced by 0`;
}

/**
 * Reads `latent_vectors.npy` and `xs.npy` from `dataDir` and checks their shapes
 * ((N, 32) and (N, 3, 8) by default). Errors name the file, the expected and the actual shape.
 */
export async function loadTargets(
  dataDir: string,
  options: LoadTargetsOptions = {},
): Promise<Targets> {
  const latentDim = options.latentDim ?? LATENT_DIM;
  const xsShape = options.xsShape ?? XS_SHAPE;
  const latentPath = join(dataDir, LATENT_FILE);
  const xsPath = join(dataDir, XS_FILE);
  const latents = await readNpy(latentPath);
  checkTargetShape(latents, [latentDim], latentPath);
  const xs = await readNpy(xsPath);
  checkTargetShape(xs, xsShape, xsPath);
  return { latents, xs };
}

/** The first `n` rows of a C-ordered array (a copy). */
export function takeRows(arr: NpyArray, n: number): NpyArray {
  const row = arr.shape.slice(1).reduce((a, b) => a * b, 1);
  return { shape: [n, ...arr.shape.slice(1)], data: arr.data.slice(0, n * row) };
}

// ---------------------------------------------------------------------------- scaling

/** Serialised form of a {@link MinMaxScaler} (what {@link MinMaxScaler.toJSON} returns). */
export interface MinMaxScalerJSON {
  /** Identifies the object as a serialised MinMaxScaler. */
  type: "MinMaxScaler";
  /** [lo, hi], the range the data is scaled into. */
  featureRange: [number, number];
  /** Per-column minimum of the fitted data. */
  dataMin: number[];
  /** Per-column maximum of the fitted data. */
  dataMax: number[];
  /** Per-column factor: `x_scaled = x * scale + min`. */
  scale: number[];
  /** Per-column offset (see `scale`). */
  min: number[];
}

/**
 * Ranges below this count as constant columns: sklearn's `_handle_zeros_in_scale` uses
 * 10 * eps of the data's dtype, and the targets are float32.
 */
const CONSTANT_RANGE = 10 * 2 ** -23;

/**
 * Per-column min-max scaling to a feature range, like
 * `sklearn.preprocessing.MinMaxScaler(feature_range=(-0.7, 0.7))`:
 * `x_scaled = x * scale + min` with `scale = (hi - lo) / (dataMax - dataMin)` and
 * `min = lo - dataMin * scale`. A constant column (range below 10 float32 epsilons) gets range
 * 1, as in sklearn, so it maps to `lo` instead of dividing by zero. Arithmetic is float64.
 */
export class MinMaxScaler {
  /** [lo, hi], the range the data is scaled into. */
  readonly featureRange: [number, number];
  /** Per-column minimum of the fitted data. */
  readonly dataMin: Float64Array;
  /** Per-column maximum of the fitted data. */
  readonly dataMax: Float64Array;
  /** Per-column factor: `x_scaled = x * scale + min`. */
  readonly scale: Float64Array;
  /** Per-column offset (see {@link scale}). */
  readonly min: Float64Array;

  private constructor(
    featureRange: [number, number],
    dataMin: Float64Array,
    dataMax: Float64Array,
  ) {
    this.featureRange = featureRange;
    this.dataMin = dataMin;
    this.dataMax = dataMax;
    const [lo, hi] = featureRange;
    const cols = dataMin.length;
    this.scale = new Float64Array(cols);
    this.min = new Float64Array(cols);
    for (let j = 0; j < cols; j++) {
      const range = dataMax[j] - dataMin[j];
      this.scale[j] = (hi - lo) / (range < CONSTANT_RANGE ? 1 : range);
      this.min[j] = lo - dataMin[j] * this.scale[j];
    }
  }

  /** Number of columns. */
  get columns(): number {
    return this.dataMin.length;
  }

  /** Fits per-column minima and maxima of a row-major [rows, cols] array (NaN-free). */
  static fit(
    data: ArrayLike<number>,
    cols: number,
    featureRange: [number, number] = [-0.7, 0.7],
  ): MinMaxScaler {
    if (!Number.isInteger(cols) || cols < 1) {
      throw new Error(`MinMaxScaler.fit: columns must be a positive integer, got ${cols}`);
    }
    if (data.length === 0 || data.length % cols !== 0) {
      throw new Error(
        `MinMaxScaler.fit: ${data.length} values are not a non-empty whole number of rows of ${cols}`,
      );
    }
    if (!(featureRange[0] < featureRange[1])) {
      throw new Error(
        `MinMaxScaler.fit: feature range (${featureRange.join(", ")}) must have min < max`,
      );
    }
    const lo = new Float64Array(cols).fill(Infinity);
    const hi = new Float64Array(cols).fill(-Infinity);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (Number.isNaN(v)) throw new Error(`MinMaxScaler.fit: value ${i} is NaN`);
      const j = i % cols;
      if (v < lo[j]) lo[j] = v;
      if (v > hi[j]) hi[j] = v;
    }
    return new MinMaxScaler([featureRange[0], featureRange[1]], lo, hi);
  }

  #check(data: ArrayLike<number>, op: string): void {
    if (data.length % this.columns !== 0) {
      throw new Error(
        `MinMaxScaler.${op}: ${data.length} values are not whole rows of ${this.columns} columns`,
      );
    }
  }

  /** Scales a row-major [rows, columns] array into the feature range (a new array). */
  transform(data: ArrayLike<number>): Float32Array {
    this.#check(data, "transform");
    const out = new Float32Array(data.length);
    const cols = this.columns;
    for (let i = 0; i < data.length; i++) {
      const j = i % cols;
      out[i] = data[i] * this.scale[j] + this.min[j];
    }
    return out;
  }

  /** Maps scaled values back to the original units (a new array). */
  inverseTransform(data: ArrayLike<number>): Float32Array {
    this.#check(data, "inverseTransform");
    const out = new Float32Array(data.length);
    const cols = this.columns;
    for (let i = 0; i < data.length; i++) {
      const j = i % cols;
      out[i] = (data[i] - this.min[j]) / this.scale[j];
    }
    return out;
  }

  /** A JSON-ready description (saved next to checkpoints). */
  toJSON(): MinMaxScalerJSON {
    return {
      type: "MinMaxScaler",
      featureRange: [...this.featureRange],
      dataMin: Array.from(this.dataMin),
      dataMax: Array.from(this.dataMax),
      scale: Array.from(this.scale),
      min: Array.from(this.min),
    };
  }

  /** Rebuilds a scaler from {@link toJSON}'s output; `source` names the file in errors. */
  static fromJSON(json: unknown, source = "scaler JSON"): MinMaxScaler {
    const o = json as Partial<MinMaxScalerJSON> | null;
    if (!o || typeof o !== "object" || o.type !== "MinMaxScaler") {
      throw new Error(`${source}: not a MinMaxScaler (expected "type": "MinMaxScaler")`);
    }
    const nums = (v: unknown, key: string): number[] => {
      if (!Array.isArray(v) || v.some((x) => typeof x !== "number" || !Number.isFinite(x))) {
        throw new Error(`${source}: "${key}" must be an array of finite numbers`);
      }
      return v as number[];
    };
    const range = nums(o.featureRange, "featureRange");
    if (range.length !== 2 || !(range[0] < range[1])) {
      throw new Error(`${source}: "featureRange" must be [min, max] with min < max`);
    }
    const dataMin = nums(o.dataMin, "dataMin");
    const dataMax = nums(o.dataMax, "dataMax");
    if (dataMin.length === 0 || dataMin.length !== dataMax.length) {
      throw new Error(
        `${source}: "dataMin" (${dataMin.length}) and "dataMax" (${dataMax.length}) must be ` +
          `non-empty and the same length`,
      );
    }
    return new MinMaxScaler(
      [range[0], range[1]],
      Float64Array.from(dataMin),
      Float64Array.from(dataMax),
    );
  }
}
