/**
 * Measures what the enhanced recipes buy: trains the original recipe and each chosen preset on
 * the same data, split, seed and epochs, and compares validation 10 * MSE(y1) + MSE(y2) (the same
 * metric for all), time per epoch and peak GPU memory.
 */
import { join } from "node:path";
import { Engine } from "../engine/engine.ts";
import { writeFileAtomic } from "../io/files.ts";
import type { ConditionerConfig } from "./config.ts";
import type { ConditionerDataset } from "./data.ts";
import { presetConfig } from "./enhanced_config.ts";
import { runTraining } from "./run.ts";
import { datasetFingerprint } from "./run_folder.ts";

/** One trained recipe. */
export interface CompareRun {
  /** "original" or a preset name. */
  recipe: string;
  /** The run's seed. */
  seed: number;
  /** Validation 10 * MSE(y1) + MSE(y2) at the last validation (NaN when never validated). */
  finalVal: number;
  /** Lowest validation 10 * MSE(y1) + MSE(y2) (NaN when never validated). */
  bestVal: number;
  /** Mean wall time per epoch, leaving out the first (kernel compilation) when there are more. */
  secondsPerEpoch: number;
  /** GPU bytes held by the run's buffer pool at its end (a fresh engine per run: its peak). */
  peakBytes: number;
  /** Whether an enhanced run fell back to the original recipe. */
  fallback: boolean;
}

/** Per-recipe summary over seeds. */
export interface CompareRow {
  /** "original" or a preset name. */
  recipe: string;
  /** The recipe's runs, one per seed. */
  runs: CompareRun[];
  /** {@link CompareRun.finalVal} over seeds. */
  finalVal: Stat;
  /** {@link CompareRun.bestVal} over seeds. */
  bestVal: Stat;
  /** {@link CompareRun.secondsPerEpoch} over seeds. */
  secondsPerEpoch: Stat;
  /** Largest {@link CompareRun.peakBytes} of the runs. */
  peakBytes: number;
  /** Relative change of mean best validation vs the original recipe (negative = better). */
  bestValChange: number;
  /** Relative extra time per epoch vs the original recipe. */
  timeOverhead: number;
}

/** Mean and sample standard deviation. */
export interface Stat {
  /** Mean of the values. */
  mean: number;
  /** Sample standard deviation (0 for a single value). */
  std: number;
}

/** Options for {@link compareRecipes} and {@link compareShard}. */
export interface CompareOptions {
  /** Settings shared by all runs; each run replaces the seed and the enhanced settings. */
  config: ConditionerConfig;
  /** The data every run trains on. */
  dataset: ConditionerDataset;
  /** Presets to compare with the original recipe. */
  presets: string[];
  /** Number of seeds (config.seed, config.seed + 1, ...). */
  seeds: number;
  /** Folder for the individual runs and the report. */
  outDir: string;
  /** Console lines (default: console.log). */
  log?: (line: string) => void;
  /** Checked between steps and runs; true stops the current run and starts no more. */
  shouldStop?: () => boolean;
}

/** One (recipe, seed) training of a comparison. */
export interface ComparePair {
  /** "original" or a preset name. */
  recipe: string;
  /** The run's seed. */
  seed: number;
}

/** The recipes of a comparison: the original one, then the presets. */
export function compareRecipeNames(presets: readonly string[]): string[] {
  return ["original", ...presets];
}

/**
 * Every (recipe, seed) pair of a comparison in its fixed order: seed by seed, the recipes of
 * each seed in {@link compareRecipeNames} order. Shards are cut from this order.
 */
export function comparePairs(
  presets: readonly string[],
  seeds: number,
  firstSeed: number,
): ComparePair[] {
  const pairs: ComparePair[] = [];
  for (let s = 0; s < seeds; s++) {
    for (const recipe of compareRecipeNames(presets)) pairs.push({ recipe, seed: firstSeed + s });
  }
  return pairs;
}

function stat(values: number[]): Stat {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const variance = values.length > 1
    ? values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)
    : 0;
  return { mean, std: Math.sqrt(variance) };
}

/** Trains one (recipe, seed) pair on a fresh engine (so its buffer pool's size is its peak). */
async function trainPair(o: CompareOptions, pair: ComparePair): Promise<CompareRun> {
  const log = o.log ?? console.log;
  const { recipe, seed } = pair;
  const config: ConditionerConfig = {
    ...o.config,
    seed,
    enhanced: recipe === "original"
      ? { ...o.config.enhanced, enabled: false }
      : { enabled: true, preset: recipe, loss: presetConfig(recipe) },
  };
  log(`\n=== ${recipe}, seed ${seed} ===`);
  const engine = await Engine.create({ seed });
  try {
    const r = await runTraining({
      engine,
      config,
      dataset: o.dataset,
      runDir: join(o.outDir, `${recipe}-seed${seed}`),
      overwrite: true,
      plot: false,
      log: (line) => log(`  ${line}`),
      shouldStop: o.shouldStop,
    });
    r.model.dispose();
    const vals = r.history.filter((h) => h.valMetric !== undefined).map((h) => h.valMetric!);
    const timed = r.history.length > 1 ? r.history.slice(1) : r.history; // epoch 1 compiles kernels
    return {
      recipe,
      seed,
      finalVal: vals.at(-1) ?? NaN,
      bestVal: vals.length ? Math.min(...vals) : NaN,
      secondsPerEpoch: timed.reduce((a, h) => a + h.seconds, 0) / Math.max(1, timed.length),
      peakBytes: engine.memory.allocatedBytes,
      fallback: r.fallback !== undefined,
    };
  } finally {
    engine.destroy();
  }
}

/** Trains the given pairs in order; stops starting new ones when `shouldStop` says so. */
export async function trainPairs(
  o: CompareOptions,
  pairs: readonly ComparePair[],
): Promise<CompareRun[]> {
  for (const p of o.presets) presetConfig(p); // unknown names fail before any training
  const runs: CompareRun[] = [];
  for (const pair of pairs) {
    if (o.shouldStop?.()) break;
    runs.push(await trainPair(o, pair));
  }
  return runs;
}

/** Per-recipe rows of a comparison from its runs (recipes in `recipes` order). */
export function summarizeRuns(
  recipes: readonly string[],
  runs: readonly CompareRun[],
): CompareRow[] {
  const base = runs.filter((r) => r.recipe === "original");
  const baseBest = stat(base.map((r) => r.bestVal)).mean;
  const baseTime = stat(base.map((r) => r.secondsPerEpoch)).mean;
  return recipes.map((recipe): CompareRow => {
    const rs = runs.filter((r) => r.recipe === recipe);
    const bestVal = stat(rs.map((r) => r.bestVal));
    const secondsPerEpoch = stat(rs.map((r) => r.secondsPerEpoch));
    return {
      recipe,
      runs: rs,
      finalVal: stat(rs.map((r) => r.finalVal)),
      bestVal,
      secondsPerEpoch,
      peakBytes: Math.max(0, ...rs.map((r) => r.peakBytes)),
      bestValChange: bestVal.mean / baseBest - 1,
      timeOverhead: secondsPerEpoch.mean / baseTime - 1,
    };
  });
}

/** Writes compare.json (settings, data fingerprint, rows) and compare.md (the table). */
export async function writeComparison(
  outDir: string,
  c: { config: ConditionerConfig; fingerprint: string; seeds: number; rows: CompareRow[] },
): Promise<void> {
  const encode = (text: string) => new TextEncoder().encode(text);
  await Deno.mkdir(outDir, { recursive: true });
  const json = { config: c.config, fingerprint: c.fingerprint, rows: c.rows };
  await writeFileAtomic(join(outDir, "compare.json"), encode(JSON.stringify(json, null, 2)));
  await writeFileAtomic(
    join(outDir, "compare.md"),
    encode(formatCompareTable(c.rows, c.seeds) + "\n"),
  );
}

/** Trains every recipe for every seed and returns the comparison (also written to outDir). */
export async function compareRecipes(o: CompareOptions): Promise<CompareRow[]> {
  const pairs = comparePairs(o.presets, o.seeds, o.config.seed);
  const runs = await trainPairs(o, pairs);
  const rows = summarizeRuns(compareRecipeNames(o.presets), runs);
  const fingerprint = await datasetFingerprint(o.dataset);
  await writeComparison(o.outDir, { config: o.config, fingerprint, seeds: o.seeds, rows });
  return rows;
}

/** The comparison as a Markdown table. */
export function formatCompareTable(rows: CompareRow[], seeds: number): string {
  const pm = (
    s: Stat,
    digits = 4,
  ) => (seeds > 1
    ? `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}`
    : s.mean.toFixed(digits));
  const pct = (
    v: number,
  ) => (Number.isFinite(v) ? `${v >= 0 ? "+" : ""}${(100 * v).toFixed(1)}%` : "-");
  const lines = [
    "| recipe | final val | best val | best vs original | s/epoch | time vs original | peak GPU MiB |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const base = r.recipe === "original";
    const note = r.runs.some((x) => x.fallback) ? " (fell back)" : "";
    lines.push(
      `| ${r.recipe}${note} | ${pm(r.finalVal)} | ${pm(r.bestVal)} | ${
        base ? "—" : pct(r.bestValChange)
      } | ${pm(r.secondsPerEpoch, 2)} | ${base ? "—" : pct(r.timeOverhead)} | ${
        (r.peakBytes / 2 ** 20).toFixed(1)
      } |`,
    );
  }
  return lines.join("\n");
}
