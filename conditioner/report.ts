/**
 * A run's report: what `report.html` shows, gathered from the run folder (config.json,
 * run.json, history.json, the best model) and from the run's validation split, on which the
 * best model is evaluated per output in raw latent space.
 */
import { join } from "node:path";
import type { Engine } from "../engine/engine.ts";
import { writeFileAtomic } from "../io/files.ts";
import type { ConditionerConfig } from "./config.ts";
import { type ConditionerDataset, loadDataset, splitIndices } from "./data.ts";
import { bestEpoch, type EpochView, readHistory } from "./history_view.ts";
import { LATENT_DIM, XS_SHAPE } from "./model.ts";
import { predictLatents, readRunModel, type RunModel } from "./predict.ts";
import { reportHtml } from "./report_html.ts";
import { datasetFingerprint, readRunInfo, type RunInfo } from "./run_folder.ts";

/** File name of the report inside a run folder. */
export const REPORT_FILE = "report.html";

/** How well one output is predicted on the validation samples (raw latent units). */
export interface OutputFit {
  /** The output, e.g. `y1[3]` or `y2[1,5]` (level 1, position 5 of xs). */
  name: string;
  /** Coefficient of determination 1 - SS_res / SS_tot (NaN for a constant target). */
  r2: number;
  /** Root mean squared error. */
  rmse: number;
}

/** Predicted against true values of one output on the validation samples. */
export interface ParitySeries {
  /** The output, as in {@link OutputFit.name}. */
  name: string;
  /** Its fit. */
  fit: OutputFit;
  /** `[true, predicted]` per validation sample, raw units. */
  points: [number, number][];
}

/** The best model evaluated on the run's validation split. */
export interface ValidationFit {
  /** The model file evaluated. */
  modelPath: string;
  /** Number of validation samples. */
  samples: number;
  /** Their indices in the data folder's natural order. */
  indices: number[];
  /** Fits of the 32 y1 outputs. */
  y1: OutputFit[];
  /** Fits of the 24 y2 outputs (xs flattened level by level). */
  y2: OutputFit[];
  /** A few outputs' parity data: the best and worst fitted of y1 and of y2. */
  parity: ParitySeries[];
  /** Set when the data folder no longer matches the run's fingerprint. */
  dataChanged?: string;
}

/** Everything the report shows. */
export interface ReportData {
  /** The run folder. */
  runDir: string;
  /** The resolved configuration (config.json). */
  config: ConditionerConfig;
  /** The run's data source (run.json), when present. */
  info: RunInfo | null;
  /** Every epoch. */
  history: EpochView[];
  /** The epoch of model_best (lowest validation metric), when validated. */
  best?: EpochView;
  /** The validation fit, or why there is none. */
  validation: ValidationFit | { unavailable: string };
  /** When the report was made (ISO 8601). */
  created: string;
}

/** Options of {@link collectReport} and {@link writeReport}. */
export interface ReportOptions {
  /**
   * The run's data, when already loaded (the end of a training run); otherwise it is loaded
   * from the folder named in run.json with the run's settings.
   */
  dataset?: ConditionerDataset;
  /** The model to evaluate (default "best", falling back to "last"). */
  which?: "best" | "last";
}

/** R^2 and RMSE of each column of row-major [rows, columns] predictions and targets. */
export function outputFits(
  predicted: ArrayLike<number>,
  truth: ArrayLike<number>,
  columns: number,
  names: readonly string[],
): OutputFit[] {
  const rows = truth.length / columns;
  return names.map((name, j) => {
    let mean = 0;
    for (let i = 0; i < rows; i++) mean += truth[i * columns + j];
    mean /= rows;
    let ssRes = 0;
    let ssTot = 0;
    for (let i = 0; i < rows; i++) {
      const t = truth[i * columns + j];
      ssRes += (t - predicted[i * columns + j]) ** 2;
      ssTot += (t - mean) ** 2;
    }
    return { name, r2: ssTot > 0 ? 1 - ssRes / ssTot : NaN, rmse: Math.sqrt(ssRes / rows) };
  });
}

/** Output names: y1[0..31] and y2[level,position]. */
export const Y1_NAMES = Array.from({ length: LATENT_DIM }, (_, j) => `y1[${j}]`);
export const Y2_NAMES = Array.from(
  { length: XS_SHAPE[0] * XS_SHAPE[1] },
  (_, j) => `y2[${Math.floor(j / XS_SHAPE[1])},${j % XS_SHAPE[1]}]`,
);

/** Rows `indices` of a row-major array with `width` values per row. */
function rowsOf(data: Float32Array, indices: readonly number[], width: number): Float32Array {
  const out = new Float32Array(indices.length * width);
  indices.forEach((r, i) => out.set(data.subarray(r * width, (r + 1) * width), i * width));
  return out;
}

/** Parity data of column `j`. */
function parityOf(
  fit: OutputFit,
  j: number,
  predicted: Float32Array,
  truth: Float32Array,
  columns: number,
): ParitySeries {
  const rows = truth.length / columns;
  const points: [number, number][] = [];
  for (let i = 0; i < rows; i++) points.push([truth[i * columns + j], predicted[i * columns + j]]);
  return { name: fit.name, fit, points };
}

/** The best and the worst fitted column (by R^2; constant columns left out). */
function extremes(fits: readonly OutputFit[]): number[] {
  const ranked = fits.map((f, j) => [f.r2, j] as const).filter(([r2]) => Number.isFinite(r2))
    .sort((a, b) => b[0] - a[0]);
  if (ranked.length === 0) return [];
  return ranked.length === 1 ? [ranked[0][1]] : [ranked[0][1], ranked.at(-1)![1]];
}

/** Loads the run's data as training did (folder from run.json, settings from config.json). */
async function runDataset(info: RunInfo, config: ConditionerConfig): Promise<ConditionerDataset> {
  const { dataset } = await loadDataset(info.data, {
    paramDir: config.paramDir,
    ext: config.paramDataType,
    imageSize: config.imageSize,
    truncate: config.truncate,
  });
  return dataset;
}

/** Evaluates the run's model on its validation split. */
async function validationFit(
  engine: Engine,
  run: RunModel,
  info: RunInfo,
  options: ReportOptions,
): Promise<ValidationFit> {
  const config = run.config;
  const dataset = options.dataset ?? await runDataset(info, config);
  const fingerprint = await datasetFingerprint(dataset);
  const dataChanged = fingerprint === info.fingerprint ? undefined : `the data in ${info.data} ` +
    `(${dataset.size} samples) is not what the run trained on (${info.samples} samples); the ` +
    `validation split below is taken from its current contents`;
  const indices = splitIndices(dataset.size, config.valFraction, config.seed).val;
  if (indices.length === 0) throw new Error("the validation split is empty");
  const plane = dataset.imageSize * dataset.imageSize;
  const predicted = await predictLatents(engine, run, rowsOf(dataset.images, indices, plane));
  const w2 = XS_SHAPE[0] * XS_SHAPE[1];
  const truth1 = dataset.y1Scaler.inverseTransform(rowsOf(dataset.y1, indices, LATENT_DIM));
  const truth2 = dataset.y2Scaler.inverseTransform(rowsOf(dataset.y2, indices, w2));
  const y1 = outputFits(predicted.y1, truth1, LATENT_DIM, Y1_NAMES);
  const y2 = outputFits(predicted.y2, truth2, w2, Y2_NAMES);
  const parity = [
    ...extremes(y1).map((j) => parityOf(y1[j], j, predicted.y1, truth1, LATENT_DIM)),
    ...extremes(y2).map((j) => parityOf(y2[j], j, predicted.y2, truth2, w2)),
  ];
  return {
    modelPath: run.modelPath,
    samples: indices.length,
    indices,
    y1,
    y2,
    parity,
    dataChanged,
  };
}

/**
 * Gathers a run's report. The validation section needs the run's data folder and a model; when
 * either is missing the report says why and shows the rest.
 */
export async function collectReport(
  engine: Engine,
  runDir: string,
  options: ReportOptions = {},
): Promise<ReportData> {
  const run = await readRunModel(runDir, options.which ?? "best");
  const history = await readHistory(runDir);
  let info: RunInfo | null = null;
  let validation: ReportData["validation"];
  try {
    info = await readRunInfo(runDir);
    validation = await validationFit(engine, run, info, options);
  } catch (e) {
    validation = { unavailable: (e as Error).message };
  }
  return {
    runDir,
    config: run.config,
    info,
    history,
    best: bestEpoch(history),
    validation,
    created: new Date().toISOString(),
  };
}

/**
 * Writes `report.html` into a run folder: loss and learning-rate curves, per-output R^2 and RMSE
 * of the best model on the validation split, parity plots, the configuration and the timing, in
 * one self-contained file (inline SVG and CSS). Returns its path.
 */
export async function writeReport(
  engine: Engine,
  runDir: string,
  options: ReportOptions = {},
): Promise<string> {
  const data = await collectReport(engine, runDir, options);
  const path = join(runDir, REPORT_FILE);
  await writeFileAtomic(path, new TextEncoder().encode(reportHtml(data)));
  return path;
}
