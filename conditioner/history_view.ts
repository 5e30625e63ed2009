/**
 * Named values of a run's per-epoch records for plots and reports. Everything that reads
 * `history.json` for display goes through {@link epochView}, so a change of the record's fields
 * is made here only.
 */
import { join } from "node:path";
import { RUN_FILES } from "./checkpoint.ts";
import { checkHistory, type EpochRecord } from "./history.ts";
import { lossCurvesSvg, type PlotSeries } from "./plot.ts";

/** One epoch as plots and reports show it. */
export interface EpochView {
  /** Epoch number, from 1 (as in every output). */
  epoch: number;
  /** Learning rate of the epoch. */
  lr: number;
  /** Training loss (the objective's total). */
  trainLoss: number;
  /** Validation loss (the objective's total), when validated this epoch. */
  valLoss?: number;
  /** Validation 10 * MSE(y1) + MSE(y2), when validated this epoch. */
  valMetric?: number;
  /** Wall time of the epoch in seconds. */
  seconds: number;
  /** Mean gradient norm of the epoch. */
  gradNorm: number;
  /** The objective trained with. */
  objective: string;
}

/** The named values of one history record. */
export function epochView(r: EpochRecord): EpochView {
  return {
    epoch: r.epoch,
    lr: r.lr,
    trainLoss: r.train.total,
    valLoss: r.val?.total,
    valMetric: r.valMetric,
    seconds: r.seconds,
    gradNorm: r.gradNorm,
    objective: r.objective,
  };
}

/** Reads a run folder's history.json as views; errors name the file. */
export async function readHistory(runDir: string): Promise<EpochView[]> {
  const path = join(runDir, RUN_FILES.history);
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  return checkHistory(json, path).map(epochView);
}

/**
 * The epoch whose model is `model_best.safetensors`: the lowest validation metric (the first of
 * equals), or undefined when the run never validated.
 */
export function bestEpoch(history: readonly EpochView[]): EpochView | undefined {
  let best: EpochView | undefined;
  for (const h of history) {
    if (h.valMetric !== undefined && (best === undefined || h.valMetric < best.valMetric!)) {
      best = h;
    }
  }
  return best;
}

/** Legend column of the history charts, equal so that stacked charts share their x positions. */
const LEGEND_WIDTH = 150;

/** Training and validation loss per epoch, the best epoch marked, as a standalone SVG. */
export function lossHistorySvg(
  history: readonly EpochView[],
  title: string,
  size: { width?: number; height?: number } = {},
): string {
  const series: PlotSeries[] = [
    { name: "train", points: history.map((h) => [h.epoch, h.trainLoss]) },
    {
      name: "validation",
      points: history.filter((h) => h.valLoss !== undefined).map((h) => [h.epoch, h.valLoss!]),
    },
  ];
  const best = bestEpoch(history);
  return lossCurvesSvg(series, {
    title,
    xLabel: "epoch",
    yLabel: "loss",
    markers: best ? [{ x: best.epoch, label: `best: epoch ${best.epoch}` }] : [],
    legendWidth: LEGEND_WIDTH,
    ...size,
  });
}

/** The learning rate per epoch (log axis), as a standalone SVG. */
export function lrHistorySvg(
  history: readonly EpochView[],
  size: { width?: number; height?: number } = {},
): string {
  return lossCurvesSvg([{ name: "learning rate", points: history.map((h) => [h.epoch, h.lr]) }], {
    title: "Learning rate",
    xLabel: "epoch",
    yLabel: "learning rate",
    legendWidth: LEGEND_WIDTH,
    ...size,
  });
}
