/** `tune`: times kernel tiles for a model's GEMM shapes on this adapter and caches the choices. */
import { Command, type CommandUnknownOpts } from "npm:@commander-js/extra-typings@15.1.0";
import { Engine } from "../engine/engine.ts";
import {
  fmtWinogradTiles,
  PROFILES,
  type TuningOverrides,
  WINOGRAD_F2_ONLY,
} from "../engine/tuning.ts";
import {
  bucketsOf,
  fmtTile,
  formatTuneTable,
  type TuneCase,
  type TuneReport,
} from "../engine/autotune.ts";
import { resolveConfig } from "../conditioner/config.ts";
import { conditionerTuneCases } from "../conditioner/tuning_cases.ts";
import { loadTuningCache, saveTuningCache, tuningCachePath } from "../io/tuning_cache.ts";
import { TuneBar } from "./progress.ts";

/** The `--no-winograd-f4` flag of `tune`, `train` and `bench`. */
export const WINOGRAD_F4_FLAG = [
  "--no-winograd-f4",
  "keep the tuner to Winograd F(2x2, 3x3) for stride-1 3x3 layers: F(4x4, 3x3) is faster on " +
  "deep layers but its float32 errors are about 3x the implicit GEMM's; cached apart",
] as const;

/** The `--kept-inputs` flag of `train` and `bench`. */
export const KEPT_INPUTS_FLAG = [
  "--kept-inputs <MiB>",
  "memory for packed convolution inputs kept from the forward for the weight gradient " +
  `(saves packing them again; 0: none; default ${PROFILES.software.budgets.keptInputsMiB})`,
] as const;

/** The engine tuning `--no-winograd-f4` and `--kept-inputs` ask for (undefined: the profile's). */
export function engineTuning(
  flags: { winogradF4?: boolean; keptInputs?: string },
): TuningOverrides | undefined {
  const over: TuningOverrides = flags.winogradF4 === false ? { ...WINOGRAD_F2_ONLY } : {};
  if (flags.keptInputs !== undefined) {
    over.budgets = { keptInputsMiB: parseKeptInputs(flags.keptInputs) };
  }
  return Object.keys(over).length ? over : undefined;
}

/** The MiB of `--kept-inputs`: a non-negative integer. */
export function parseKeptInputs(text: string): number {
  const mib = Number(text);
  if (text.trim() === "" || !Number.isInteger(mib) || mib < 0) {
    throw new Error(`--kept-inputs must be a whole number of MiB (0 or more), got "${text}"`);
  }
  return mib;
}

/** Builds the `tune` command. */
export function tuneCommand(): CommandUnknownOpts {
  return new Command("tune")
    .description(
      "Time kernel tiles for a model's convolutions and products on this adapter and cache the fastest",
    )
    .option("--filters <list...>", "channels of the residual blocks", ["32 64 128 256 512"])
    .option("--image-size <n>", "images are n x n pixels", "256")
    .option("--batch-size <n>", "images per batch", "16")
    .option("--budget <seconds>", "stop timing new shapes after this long", "3600")
    .option("--no-progress", "print one line per shape instead of a progress bar")
    .option(...WINOGRAD_F4_FLAG)
    .action(async (opts) => {
      const { config } = resolveConfig({
        overrides: {
          filters: opts.filters.join(" "),
          imageSize: opts.imageSize,
          batchSize: opts.batchSize,
        },
      });
      const budgetS = Number(opts.budget);
      if (!(budgetS > 0)) throw new Error(`--budget must be a positive number, got ${opts.budget}`);
      const engine = await Engine.create({ tuning: engineTuning(opts) });
      try {
        const cases = conditionerTuneCases({
          filters: config.filters,
          imageSize: config.imageSize,
          batch: config.batchSize,
        });
        console.log(
          `Tuning on ${engine.gpu.description} (${engine.gpu.backend.backend}, ` +
            `profile ${engine.tuning.profile}, Winograd ` +
            `${fmtWinogradTiles(engine.tuning.winogradTiles)}): ` +
            `${cases.length} shapes`,
        );
        const bar = opts.progress && Deno.stderr.isTerminal();
        const r = await tuneShapes(engine, cases, { budgetS, show: bar ? "bar" : "lines" });
        console.log(formatTuneTable(r.reports));
        const clocks = [...new Set(r.reports.flatMap((x) => x.clock ? [CLOCKS[x.clock]] : []))];
        console.log(
          `${r.tuned} of ${r.buckets} shapes timed in ${r.seconds.toFixed(1)} s` +
            (clocks.length ? ` (${clocks.join(", ")})` : "") + `, ${r.fromCache} from the cache`,
        );
        console.log(`${r.tuned > 0 ? "Wrote" : "Unchanged:"} ${tuningCachePath()}`);
      } finally {
        await engine.close();
      }
    });
}

const CLOCKS = { gpu: "GPU timestamps", wall: "wall clock" } as const;

/**
 * Loads the cache, tunes the shapes it lacks within `budgetS`, saves it; returns what it did.
 * `show`: a progress bar, one line per timed shape, or nothing.
 */
export async function tuneShapes(
  engine: Engine,
  cases: readonly TuneCase[],
  options: { budgetS: number; show: "bar" | "lines" | "nothing" },
): Promise<
  { reports: TuneReport[]; buckets: number; fromCache: number; tuned: number; seconds: number }
> {
  const t0 = performance.now();
  await loadTuningCache(engine);
  const bar = options.show === "bar" ? new TuneBar() : null;
  const reports = await engine.tune(cases, {
    budgetS: options.budgetS,
    onStart: (key, _label, i, n) => bar?.start(key, i, n),
    onResult: (r, i, n) => {
      if (bar) return bar.update(r, i, n);
      if (r.cached || options.show !== "lines") return;
      console.log(
        `  [${i}/${n}] ${r.key} (${r.label}): ${fmtTile(r.tile)} ${r.ms.toFixed(2)} ms, ` +
          `fixed ${r.fixedMs.toFixed(2)} ms`,
      );
    },
  }).finally(() => bar?.stop());
  const tuned = reports.filter((r) => !r.cached).length;
  if (tuned > 0) await saveTuningCache(engine);
  return {
    reports,
    buckets: bucketsOf(cases).length,
    fromCache: reports.length - tuned,
    tuned,
    seconds: (performance.now() - t0) / 1000,
  };
}
