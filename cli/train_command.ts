/** `train`: trains the latent conditioner on a SimulGen-VAE data folder. */
import { basename, join, resolve } from "node:path";
import { Command, type CommandUnknownOpts, Option } from "npm:@commander-js/extra-typings@15.1.0";
// @ts-types="npm:@types/cli-progress@3.11.6"
import cliProgress from "npm:cli-progress@3.12.0";
import { Engine } from "../engine/engine.ts";
import {
  type ConditionerConfig,
  configFromJson,
  type ConfigOverrides,
  flagOf,
  formatNote,
  formatResolvedConfig,
  resolveConfig,
  RESUME_CHANGEABLE,
  type SettingName,
} from "../conditioner/config.ts";
import { RUN_FILES } from "../conditioner/checkpoint.ts";
import { readRunInfo, recoverRunFolder } from "../conditioner/run_folder.ts";
import { runTraining } from "../conditioner/run.ts";
import { EpochBar } from "./progress.ts";
import { engineTuning, KEPT_INPUTS_FLAG, tuneShapes, WINOGRAD_F4_FLAG } from "./tune_command.ts";
import { conditionerTuneCases } from "../conditioner/tuning_cases.ts";
import { tuningCachePath } from "../io/tuning_cache.ts";
import { addSettingOptions, settingOverrides } from "./settings_options.ts";
import { conditionFile, loadConfiguredData, withDataOptions } from "./data_options.ts";

/** Default seconds `train --tuning auto` may spend timing shapes the cache lacks. */
export const TRAIN_TUNING_BUDGET_S = 300;

/** Exit status after Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/** Builds the `train` command. */
export function trainCommand(): CommandUnknownOpts {
  const cmd = withDataOptions(
    new Command("train")
      .description("Train the latent conditioner (no arguments: the bundled demo dataset)"),
    "run folder for checkpoints, TensorBoard logs and plots (default: runs/<data folder name>)",
  )
    .option(
      "--resume",
      "continue the run in --out from its last checkpoint, with its own data and settings",
    )
    .option("--overwrite", "replace a run already in --out (kept until the first checkpoint)")
    .option("--plot", "write loss_curves.svg and report.html in the run folder (the default)")
    .option("--no-plot", "do not write loss_curves.svg and report.html")
    .option("--no-progress", "no progress bar within epochs")
    .addOption(
      new Option(
        "--tuning <mode>",
        "auto: load the tuning cache and time kernel tiles for the model's shapes it lacks; " +
          "fixed: the adapter's profile, no timing",
      ).choices(["auto", "fixed"] as const).default("auto" as const),
    )
    .option(
      "--tuning-budget <seconds>",
      "auto tuning: stop timing new shapes after this long",
      String(TRAIN_TUNING_BUDGET_S),
    )
    .option(...WINOGRAD_F4_FLAG)
    .option(...KEPT_INPUTS_FLAG);
  addSettingOptions(cmd);
  return cmd.action(async (opts, command) => {
    const given = (name: string) => command.getOptionValueSource(name) === "cli";
    await train(opts, settingOverrides(command), given);
  });
}

interface TrainFlags {
  data: string;
  condition?: string;
  out?: string;
  resume?: boolean;
  overwrite?: boolean;
  plot?: boolean;
  progress: boolean;
  tuning: "auto" | "fixed";
  tuningBudget: string;
  winogradF4?: boolean;
  keptInputs?: string;
}

/** What a run trains on: data folder, condition file and resolved settings. */
interface RunPlan {
  data: string;
  condition: string | null;
  config: ConditionerConfig;
  /** What to print before training (the resolved settings and their warnings). */
  lines: string[];
}

/** A new run: settings from the condition file and the flags. */
async function planNewRun(flags: TrainFlags, overrides: ConfigOverrides): Promise<RunPlan> {
  const file = await conditionFile(flags);
  const resolved = resolveConfig({ file, overrides });
  return {
    data: resolve(flags.data),
    condition: file ? resolve(file.path) : null,
    config: resolved.config,
    lines: [
      formatResolvedConfig(resolved),
      ...resolved.warnings.map((w) => `warning: ${formatNote(w)}`),
    ],
  };
}

/**
 * A resumed run: data folder, condition file and settings come from the run folder; flags that
 * would change them are refused by name, except the settings a resume may change.
 */
async function planResume(
  runDir: string,
  flags: TrainFlags,
  overrides: ConfigOverrides,
  given: (name: string) => boolean,
): Promise<RunPlan> {
  await recoverRunFolder(runDir);
  const info = await readRunInfo(runDir);
  const refused = (Object.keys(overrides) as SettingName[])
    .filter((f) => !RESUME_CHANGEABLE.includes(f)).map((f) => flagOf(f));
  if (given("data") && resolve(flags.data) !== info.data) refused.unshift("--data");
  if (given("condition") && resolve(flags.condition!) !== info.condition) {
    refused.unshift("--condition");
  }
  if (flags.overwrite) refused.unshift("--overwrite");
  if (refused.length) {
    throw new Error(
      `--resume continues ${runDir} with the data and settings it started with; these flags ` +
        `would change them: ${refused.join(", ")}. Only ${
          RESUME_CHANGEABLE.map((f) => flagOf(f)).join(", ")
        } may be given with --resume`,
    );
  }
  const configPath = join(runDir, RUN_FILES.config);
  const saved = configFromJson(await Deno.readTextFile(configPath), configPath);
  const changes = resolveConfig({ overrides }).config;
  const config = { ...saved };
  for (const f of Object.keys(overrides) as (keyof ConditionerConfig)[]) {
    (config as Record<string, unknown>)[f] = changes[f];
  }
  const line = `Resuming ${runDir}: data ${info.data}` +
    (info.condition ? `, condition file ${info.condition}` : "") +
    Object.keys(overrides).map((f) => `, ${flagOf(f as SettingName)} ${config[f as "lr"]}`)
      .join("");
  return { data: info.data, condition: info.condition, config, lines: [line] };
}

async function train(
  flags: TrainFlags,
  overrides: ConfigOverrides,
  given: (name: string) => boolean,
): Promise<void> {
  const runDir = flags.out ?? join("runs", basename(resolve(flags.data)) || "run");
  const plan = flags.resume
    ? await planResume(runDir, flags, overrides, given)
    : await planNewRun(flags, overrides);
  const config = plan.config;
  // The adapter before any output: without one, the first line printed says what to install.
  if (flags.winogradF4 === false && flags.tuning !== "auto") {
    throw new Error("--no-winograd-f4 limits what the tuner chooses: it needs --tuning auto");
  }
  const engine = await Engine.create({
    seed: config.seed,
    tuning: engineTuning(flags),
  });
  try {
    for (const line of plan.lines) console.log(line);
    if (flags.tuning === "auto") {
      await tuneForRun(engine, config, Number(flags.tuningBudget), flags.progress);
    }
    await trainOn(engine, flags, runDir, plan);
  } finally {
    // Queued batches finish before the device goes (a second Ctrl-C still ends it at once).
    await engine.close();
  }
}

/** Loads the tuning cache and tunes the model's shapes it lacks; prints one line. */
async function tuneForRun(
  engine: Engine,
  config: ConditionerConfig,
  budgetS: number,
  progress: boolean,
) {
  if (!(budgetS >= 0)) throw new Error(`--tuning-budget must be a number >= 0, got ${budgetS}`);
  const cases = conditionerTuneCases({
    filters: config.filters,
    imageSize: config.imageSize,
    batch: config.batchSize,
  });
  // Off a terminal the shapes timed are not listed (the line below sums them up).
  const show = progress && Deno.stderr.isTerminal() ? "bar" : "nothing";
  const r = await tuneShapes(engine, cases, { budgetS, show });
  const left = r.buckets - r.fromCache - r.tuned;
  console.log(
    `Kernel tuning: ${r.fromCache} of ${r.buckets} shapes from the cache, ${r.tuned} timed in ` +
      `${r.seconds.toFixed(1)} s` + (left ? `, ${left} left at the profile's tiles (budget)` : "") +
      ` (${tuningCachePath()}; --tuning fixed skips this)`,
  );
}

async function trainOn(
  engine: Engine,
  flags: TrainFlags,
  runDir: string,
  plan: RunPlan,
): Promise<void> {
  const config = plan.config;
  const interactive = flags.progress && Deno.stderr.isTerminal();
  const loadBar = interactive
    ? new cliProgress.SingleBar(
      { format: "Loading images |{bar}| {value}/{total}" },
      cliProgress.Presets.shades_classic,
    )
    : null;
  const dataset = await loadConfiguredData(plan.data, config, (done, total) => {
    if (!loadBar) return;
    if (done === 1) loadBar.start(total, 0);
    loadBar.update(done);
    if (done === total) loadBar.stop();
  });

  // The first Ctrl-C asks the run to stop after the current batch; it then gives SIGINT back to
  // its default action, so a second one ends the process at once even while it waits for the
  // GPU (every file on disk is complete: all are written atomically).
  let stopRequested = false;
  const onSigint = () => {
    stopRequested = true;
    Deno.removeSignalListener("SIGINT", onSigint);
    console.error(
      "\nStopping after the current batch (Ctrl-C again to quit at once; the last checkpoint is kept).",
    );
  };
  Deno.addSignalListener("SIGINT", onSigint);
  const bar = interactive ? new EpochBar() : null;
  try {
    const result = await runTraining({
      engine,
      config,
      dataset,
      runDir,
      resume: flags.resume ?? false,
      overwrite: flags.overwrite ?? false,
      source: { data: plan.data, condition: plan.condition },
      plot: flags.plot ?? true,
      shouldStop: () => stopRequested,
      log: (line) => {
        bar?.stop(); // the epoch line replaces the bar; the next batch draws it again
        console.log(line);
      },
      onProgress: bar ? (p) => bar.update(p) : undefined,
    });
    bar?.stop();
    result.model.dispose();
    const best = result.bestVal === null
      ? "none"
      : `${result.bestVal.toFixed(5)} (epoch ${result.bestEpoch})`;
    const saved = result.history.length > 0;
    console.log(
      `Done (${result.stopReason}). Best validation metric 10*MSE(y1)+MSE(y2): ${best}. ` +
        (saved ? `Outputs in ${result.runDir}` : "Nothing was saved."),
    );
    if (result.stopReason === "interrupted") {
      if (saved) console.log(`Continue with: deno task train --resume --out ${result.runDir}`);
      Deno.exitCode = EXIT_INTERRUPTED;
    }
    if (result.stopReason === "diverged") {
      throw new Error(
        "training diverged (non-finite values); " +
          (saved ? `the last good checkpoint in ${result.runDir} is kept` : "nothing was saved"),
      );
    }
  } finally {
    bar?.stop();
    if (!stopRequested) Deno.removeSignalListener("SIGINT", onSigint);
  }
}
