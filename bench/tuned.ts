/** Benchmarks with the autotuner: the tuning cache loaded and the model's missing shapes tuned. */
import type { Engine } from "../engine/engine.ts";
import type { TuningOverrides } from "../engine/tuning.ts";
import type { TuneReport } from "../engine/autotune.ts";
import { conditionerTuneCases, type TuneShapeOptions } from "../conditioner/tuning_cases.ts";
import { loadTuningCache, saveTuningCache } from "../io/tuning_cache.ts";

/** How the stack and step sections choose kernel tiles: the profile's, tuned, or both in turn. */
export type BenchTuning = "fixed" | "auto" | "both";

/** How a stack or step case sets up its fresh engine. */
export interface EngineSetup {
  /** Tuning the engine is created with (default the adapter's profile). */
  tuning?: TuningOverrides;
  /** Runs on the fresh engine before anything else (e.g. tuning). */
  prepare?: (e: Engine) => Promise<void>;
}

/** A `prepare` hook that tunes an engine for `model` and keeps what it chose in `into`. */
export function tunedPrepare(
  model: TuneShapeOptions,
  into: TuneReport[],
  log: (line: string) => void,
): (e: Engine) => Promise<void> {
  return async (e) => {
    const t0 = performance.now();
    await loadTuningCache(e);
    const reports = await e.tune(conditionerTuneCases(model));
    if (reports.some((r) => !r.cached)) await saveTuningCache(e);
    into.push(...reports);
    const timed = reports.filter((r) => !r.cached).length;
    log(
      `  tuned ${reports.length} shapes (${reports.length - timed} from the cache) in ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  };
}
