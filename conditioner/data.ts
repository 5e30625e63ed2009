/**
 * The conditioner's dataset: condition images paired with scaled VAE latents, a seeded
 * train/validation split, batching, and the GPU copy that training batches are gathered from.
 *
 * Layout of a data folder (SimulGen-VAE's): `images/` (`param_dir`) with `*.png` or `*.jpg`
 * (`param_data_type`) in natural order, plus `latent_vectors.npy` (N, 32) and `xs.npy`
 * (N, 3, 8). Image i pairs with row i of both arrays.
 *
 * The split and batching functions live in `batches.ts` and are re-exported here.
 */
import { existsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { Engine } from "../engine/engine.ts";
import type { Tensor } from "../engine/tensor.ts";
import { bucketSize } from "../engine/buffers.ts";
import { gatherRows, gatherRowsInto } from "../engine/ops/gather.ts";
import type { NpyArray } from "./npy.ts";
import { checkImageSize, listImageFiles, normalizeExtension, readImages } from "./images.ts";
export {
  epochSeed,
  mulberry32,
  shuffled,
  type Split,
  splitIndices,
  trainBatches,
  valBatches,
} from "./batches.ts";
import {
  LATENT_FILE,
  loadTargets,
  MinMaxScaler,
  type MinMaxScalerJSON,
  replaceNonFinite,
  takeRows,
  XS_FILE,
} from "./targets.ts";

// ---------------------------------------------------------------------------- the dataset

/** Both scalers, serialised (saved next to checkpoints). */
export interface ScalersJSON {
  /** Scaler of the main latents (latent_vectors.npy), 32 columns. */
  y1: MinMaxScalerJSON;
  /** Scaler of the hierarchical latents (xs.npy flattened per sample), 24 columns. */
  y2: MinMaxScalerJSON;
}

/**
 * Images and scaled targets in CPU memory. `y1` and `y2` are scaled per column to (-0.7, 0.7)
 * with scalers fitted on all samples (y2 flattened to 24 columns per sample, like SimulGen-VAE).
 */
export class ConditionerDataset {
  /** [N, 1, S, S] pixel values in [0, 1]. */
  readonly images: Float32Array;
  /** [N, latentDim] scaled main latents. */
  readonly y1: Float32Array;
  /** [N, ...xsShape] scaled hierarchical latents. */
  readonly y2: Float32Array;
  /** Image file names, in sample order. */
  readonly names: string[];
  /** S. */
  readonly imageSize: number;
  /** Per-sample shape of y1, e.g. [32]. */
  readonly y1Shape: number[];
  /** Per-sample shape of y2, e.g. [3, 8]. */
  readonly y2Shape: number[];
  /** Scaler fitted on the raw main latents; its inverse maps predictions back to raw units. */
  readonly y1Scaler: MinMaxScaler;
  /** Scaler fitted on the raw hierarchical latents (one column per flattened value). */
  readonly y2Scaler: MinMaxScaler;

  /**
   * Builds the dataset from decoded images and raw (unscaled, finite) targets with the same
   * number of rows, fitting the scalers.
   */
  constructor(
    images: Float32Array,
    imageSize: number,
    names: readonly string[],
    latents: NpyArray,
    xs: NpyArray,
  ) {
    checkImageSize(imageSize);
    const n = names.length;
    const plane = imageSize * imageSize;
    if (images.length !== n * plane) {
      throw new Error(
        `ConditionerDataset: ${images.length} pixel values for ${n} images of ` +
          `${imageSize}x${imageSize}`,
      );
    }
    if (latents.shape[0] !== n || xs.shape[0] !== n || n === 0) {
      throw new Error(
        `ConditionerDataset: ${n} images, ${latents.shape[0]} latent rows and ${xs.shape[0]} ` +
          `xs rows; they must be equal and non-zero`,
      );
    }
    this.images = images;
    this.names = [...names];
    this.imageSize = imageSize;
    this.y1Shape = latents.shape.slice(1);
    this.y2Shape = xs.shape.slice(1);
    const c1 = this.y1Shape.reduce((a, b) => a * b, 1);
    const c2 = this.y2Shape.reduce((a, b) => a * b, 1);
    this.y1Scaler = MinMaxScaler.fit(latents.data, c1);
    this.y2Scaler = MinMaxScaler.fit(xs.data, c2);
    this.y1 = this.y1Scaler.transform(latents.data);
    this.y2 = this.y2Scaler.transform(xs.data);
  }

  /** Number of samples N. */
  get size(): number {
    return this.names.length;
  }

  /** The two scalers as JSON. */
  scalersJSON(): ScalersJSON {
    return { y1: this.y1Scaler.toJSON(), y2: this.y2Scaler.toJSON() };
  }
}

/** Options for {@link loadDataset}. */
export interface LoadDatasetOptions {
  /**
   * Image folder, relative to the data folder (default `images`). A leading `/`, as in
   * SimulGen-VAE's `param_dir /images`, is also taken relative to the data folder unless the
   * absolute path exists.
   */
  paramDir?: string;
  /** Image extension (`param_data_type`, default `.png`; `.jpg` also works), case-insensitive. */
  ext?: string;
  /** Images are resized to imageSize x imageSize (default 256). */
  imageSize?: number;
  /**
   * When the image count and the two target row counts differ, use the first min(...) samples
   * of each (with a warning) instead of failing.
   */
  truncate?: boolean;
  /** Called after each decoded image with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** What {@link loadDataset} returns. */
export interface LoadedDataset {
  /** Images and scaled targets, with the fitted scalers. */
  dataset: ConditionerDataset;
  /** Human-readable warnings (non-finite targets replaced, truncation). */
  warnings: string[];
}

/** The image folder for `paramDir` (see {@link LoadDatasetOptions.paramDir}). */
export function resolveParamDir(dataDir: string, paramDir: string): string {
  if (isAbsolute(paramDir) && existsSync(paramDir)) return paramDir;
  return join(dataDir, paramDir.replace(/^[/\\]+/, ""));
}

/**
 * Loads a SimulGen-VAE data folder: targets (shape-checked, non-finite values replaced by 0
 * with a warning), the image list (natural order), a count check (an error naming all three
 * counts unless `truncate`), the images (decoded, grayscale, bicubic-resized, in [0, 1]) and the
 * fitted scalers.
 */
export async function loadDataset(
  dataDir: string,
  options: LoadDatasetOptions = {},
): Promise<LoadedDataset> {
  const imageSize = options.imageSize ?? 256;
  checkImageSize(imageSize);
  const ext = normalizeExtension(options.ext ?? ".png");
  const imageDir = resolveParamDir(dataDir, options.paramDir ?? "images");
  const warnings: string[] = [];
  let { latents, xs } = await loadTargets(dataDir);
  let names = await listImageFiles(imageDir, ext);
  const counts = [names.length, latents.shape[0], xs.shape[0]];
  const n = Math.min(...counts);
  const latentPath = join(dataDir, LATENT_FILE);
  const xsPath = join(dataDir, XS_FILE);
  if (counts.some((c) => c !== n)) {
    const what = `${counts[0]} *${ext} images in ${imageDir}, ${counts[1]} rows in ` +
      `${latentPath} and ${counts[2]} rows in ${xsPath}`;
    if (!options.truncate) {
      throw new Error(
        `sample counts differ: ${what}. Image i pairs with row i of both files, so the counts ` +
          `must match; pass --truncate to use the first ${n} samples of each`,
      );
    }
    if (n === 0) throw new Error(`no samples left after truncating: ${what}`);
    warnings.push(`sample counts differ (${what}); truncated all to the first ${n}`);
    names = names.slice(0, n);
    latents = takeRows(latents, n);
    xs = takeRows(xs, n);
  }
  if (n === 0) throw new Error(`${latentPath} and ${xsPath} hold no samples (N = 0)`);
  for (const [arr, path] of [[latents, latentPath], [xs, xsPath]] as const) {
    const warning = replaceNonFinite(arr.data, path);
    if (warning) warnings.push(warning);
  }
  const images = await readImages(imageDir, names, {
    imageSize,
    onProgress: options.onProgress,
  });
  return {
    dataset: new ConditionerDataset(images.data, imageSize, names, latents, xs),
    warnings,
  };
}

// ---------------------------------------------------------------------------- GPU copy

/**
 * Rows of one array on the GPU, split into chunks of `chunkRows` rows so that no buffer exceeds
 * the device's storage-binding limit (128 MiB on some adapters; 484 images of 256x256 are
 * already 127 MiB).
 */
export interface GpuRows {
  /** Chunk k holds rows [k * chunkRows, min((k + 1) * chunkRows, rows)). */
  chunks: Tensor[];
  /** Rows per chunk (the last chunk may hold fewer). */
  chunkRows: number;
  /** Total number of rows. */
  rows: number;
  /** Shape of one row, e.g. [1, S, S]. */
  rowShape: number[];
}

/** A dataset uploaded once with {@link uploadDataset}; batches are gathered from it. */
export interface GpuDataset {
  /** Images, rows of [1, S, S]. */
  x: GpuRows;
  /** Scaled y1, rows of [32]. */
  y1: GpuRows;
  /** Scaled y2, rows of [3, 8]. */
  y2: GpuRows;
  /** Number of samples. */
  size: number;
  /** Frees the GPU memory. */
  dispose(): void;
}

/** Options for {@link uploadDataset}. */
export interface UploadOptions {
  /** Upper bound on one chunk's bytes (default: the device's maxStorageBufferBindingSize). */
  maxChunkBytes?: number;
}

function uploadRows(
  engine: Engine,
  data: Float32Array,
  rows: number,
  rowShape: number[],
  maxChunkBytes: number,
): GpuRows {
  const rowLen = rowShape.reduce((a, b) => a * b, 1);
  const rowBytes = rowLen * 4;
  const maxBuffer = engine.device.limits.maxBufferSize;
  let chunkRows = Math.min(rows, Math.floor(maxChunkBytes / rowBytes));
  while (chunkRows > 1 && bucketSize(chunkRows * rowBytes) > maxBuffer) {
    chunkRows = Math.floor(chunkRows * 0.9);
  }
  if (chunkRows < 1) {
    throw new Error(
      `uploadDataset: one sample of shape [${rowShape.join(", ")}] (${rowBytes} bytes) exceeds ` +
        `the GPU buffer limit of ${maxChunkBytes} bytes; use a smaller image size`,
    );
  }
  const chunks: Tensor[] = [];
  for (let start = 0; start < rows; start += chunkRows) {
    const count = Math.min(chunkRows, rows - start);
    const t = engine.tensor(
      data.subarray(start * rowLen, (start + count) * rowLen),
      [count, ...rowShape],
    );
    chunks.push(engine.keep(t));
  }
  return { chunks, chunkRows, rows, rowShape };
}

/**
 * Copies the dataset's images and scaled targets to the GPU once. The tensors are kept out of
 * any enclosing `tidy` scope; call `dispose()` when done.
 */
export function uploadDataset(
  engine: Engine,
  dataset: ConditionerDataset,
  options: UploadOptions = {},
): GpuDataset {
  const limit = Math.min(
    options.maxChunkBytes ?? Infinity,
    engine.device.limits.maxStorageBufferBindingSize,
  );
  const n = dataset.size;
  const s = dataset.imageSize;
  const all: Tensor[] = [];
  const up = (data: Float32Array, shape: number[]): GpuRows => {
    const r = uploadRows(engine, data, n, shape, limit);
    all.push(...r.chunks);
    return r;
  };
  const x = up(dataset.images, [1, s, s]);
  const y1 = up(dataset.y1, dataset.y1Shape);
  const y2 = up(dataset.y2, dataset.y2Shape);
  return {
    x,
    y1,
    y2,
    size: n,
    dispose: () => all.forEach((t) => t.dispose()),
  };
}

/** A batch on the GPU: x [B, 1, S, S], y1 [B, 32], y2 [B, 3, 8]. */
export interface Batch {
  /** Images [B, 1, S, S]. */
  x: Tensor;
  /** Scaled main latents [B, 32]. */
  y1: Tensor;
  /** Scaled hierarchical latents [B, 3, 8]. */
  y2: Tensor;
}

/** Per-chunk (source rows, destination rows) index tensors of one batch, cached per chunking. */
type ChunkIndex = Map<number, { chunk: number; src: Tensor; dst: Tensor | null }[]>;

function gatherFrom(
  engine: Engine,
  rows: GpuRows,
  indices: readonly number[],
  cache: ChunkIndex,
  temps: Tensor[],
): Tensor {
  let parts = cache.get(rows.chunkRows);
  if (!parts) {
    const byChunk = new Map<number, { src: number[]; dst: number[] }>();
    indices.forEach((i, pos) => {
      const c = Math.floor(i / rows.chunkRows);
      let entry = byChunk.get(c);
      if (!entry) byChunk.set(c, entry = { src: [], dst: [] });
      entry.src.push(i - c * rows.chunkRows);
      entry.dst.push(pos);
    });
    const single = rows.chunks.length === 1;
    parts = [...byChunk].map(([chunk, { src, dst }]) => {
      const s = engine.tensor(src, [src.length], { dtype: "i32" });
      const d = single ? null : engine.tensor(dst, [dst.length], { dtype: "i32" });
      temps.push(s);
      if (d) temps.push(d);
      return { chunk, src: s, dst: d };
    });
    cache.set(rows.chunkRows, parts);
  }
  if (rows.chunks.length === 1) return gatherRows(rows.chunks[0], parts[0].src);
  const out = engine.empty([indices.length, ...rows.rowShape]);
  for (const p of parts) gatherRowsInto(out, rows.chunks[p.chunk], p.src, p.dst!);
  return out;
}

/**
 * Gathers the samples `indices` (each in [0, N)) of an uploaded dataset into batch tensors, on
 * the GPU (only the indices are uploaded). The caller owns (and disposes) the returned tensors.
 */
export function gatherBatch(
  engine: Engine,
  gpuData: GpuDataset,
  indices: readonly number[],
): Batch {
  if (indices.length === 0) throw new Error("gatherBatch: the batch has no indices");
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= gpuData.size) {
      throw new Error(
        `gatherBatch: sample index ${i} is outside [0, ${gpuData.size}) (dataset size)`,
      );
    }
  }
  const cache: ChunkIndex = new Map();
  const temps: Tensor[] = [];
  try {
    return {
      x: gatherFrom(engine, gpuData.x, indices, cache, temps),
      y1: gatherFrom(engine, gpuData.y1, indices, cache, temps),
      y2: gatherFrom(engine, gpuData.y2, indices, cache, temps),
    };
  } finally {
    for (const t of temps) t.dispose();
  }
}
