/** `train`: trains the latent conditioner on a SimulGen-VAE data folder. */
import { join, resolve } from "node:path";
import { Command } from "@commander-js/extra-typings";
import cliProgress from "cli-progress";
import { Engine } from "../engine/engine.ts";
import { formatNote, formatResolvedConfig, resolveConfig } from "../conditioner/config.ts";
import { loadDataset } from "../conditioner/data.ts";
import { runTraining } from "../conditioner/run.ts";
import { addSettingOptions, settingOverrides } from "./settings_options.ts";

/** The bundled demo: data folder and its condition file, relative to the repository. */
export const DEMO_DATA = new URL("../fixtures/demo", import.meta.url).pathname;
export const DEMO_CONDITION = new URL("../fixtures/conditions/demo.txt", import.meta.url).pathname;

/** Builds the `train` command. */
export function trainCommand(): Command {
  const cmd = new Command("train")
    .description("Train the latent conditioner (no arguments: the bundled demo dataset)")
    .option(
      "--data <dir>",
      "data folder with the image folder, latent_vectors.npy and xs.npy",
      DEMO_DATA,
    )
    .option(
      "--condition <file>",
      "SimulGen-VAE condition.txt (default: <data>/condition.txt if present; the demo's for the demo data)",
    )
    .option(
      "--out <dir>",
      "run folder for checkpoints, TensorBoard logs and plots (default: runs/<data folder name>)",
    )
    .option("--resume", "continue the run in --out from its last checkpoint")
    .option("--plot", "write loss_curves.svg in the run folder (the default)")
    .option("--no-plot", "do not write loss_curves.svg")
    .option("--no-progress", "no progress bar within epochs");
  addSettingOptions(cmd as unknown as Command<[], Record<string, unknown>>);
  return cmd.action(async (opts) => {
    await train(opts as unknown as Record<string, unknown> & TrainFlags);
  }) as unknown as Command;
}

interface TrainFlags {
  data: string;
  condition?: string;
  out?: string;
  resume?: boolean;
  plot?: boolean;
  progress: boolean;
}

/** The condition file: --condition, else <data>/condition.txt, else the demo's for the demo data. */
export async function conditionFile(
  flags: { data: string; condition?: string },
): Promise<{ text: string; path: string } | undefined> {
  const candidates = flags.condition ? [flags.condition] : [join(flags.data, "condition.txt")];
  if (!flags.condition && resolve(flags.data) === resolve(DEMO_DATA)) {
    candidates.push(DEMO_CONDITION);
  }
  for (const path of candidates) {
    try {
      return { text: await Deno.readTextFile(path), path };
    } catch (e) {
      if (flags.condition) {
        throw new Error(`cannot read condition file ${path}: ${(e as Error).message}`);
      }
    }
  }
  return undefined;
}

async function train(flags: Record<string, unknown> & TrainFlags): Promise<void> {
  const file = await conditionFile(flags);
  const resolved = resolveConfig({ file, overrides: settingOverrides(flags) });
  const config = resolved.config;
  // The adapter first: without one, the first line printed says what to install.
  const engine = await Engine.create({ seed: config.seed });
  try {
    await trainOn(engine, flags, resolved);
  } finally {
    engine.destroy();
  }
}

async function trainOn(
  engine: Engine,
  flags: Record<string, unknown> & TrainFlags,
  resolved: ReturnType<typeof resolveConfig>,
): Promise<void> {
  const config = resolved.config;
  console.log(formatResolvedConfig(resolved));
  for (const w of resolved.warnings) console.warn(`warning: ${formatNote(w)}`);

  const runDir = flags.out ?? join("runs", resolve(flags.data).split(/[\\/]/).pop() || "run");
  const interactive = flags.progress && Deno.stderr.isTerminal();
  const loadBar = interactive
    ? new cliProgress.SingleBar(
      { format: "Loading images |{bar}| {value}/{total}" },
      cliProgress.Presets.shades_classic,
    )
    : null;
  const { dataset, warnings } = await loadDataset(flags.data, {
    paramDir: config.paramDir,
    ext: config.paramDataType,
    imageSize: config.imageSize,
    truncate: config.truncate,
    onProgress: (done, total) => {
      if (!loadBar) return;
      if (done === 1) loadBar.start(total, 0);
      loadBar.update(done);
      if (done === total) loadBar.stop();
    },
  });
  for (const w of warnings) console.warn(`warning: ${w}`);

  let stopRequests = 0;
  const onSigint = () => {
    stopRequests++;
    if (stopRequests === 1) {
      console.error(
        "\nStopping after the current batch and saving a checkpoint (Ctrl-C again to quit now).",
      );
    } else Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSigint);
  const bar = interactive
    ? new cliProgress.SingleBar({
      format: "  epoch |{bar}| {value}/{total} batches",
      clearOnComplete: true,
      hideCursor: true,
    }, cliProgress.Presets.shades_classic)
    : null;
  try {
    const result = await runTraining({
      engine,
      config,
      dataset,
      runDir,
      resume: flags.resume ?? false,
      plot: flags.plot ?? true,
      shouldStop: () => stopRequests > 0,
      onBatch: bar
        ? (done, total) => {
          if (done === 1) bar.start(total, 0);
          bar.update(done);
          if (done === total) bar.stop();
        }
        : undefined,
    });
    bar?.stop();
    const best = result.bestVal === null
      ? "none"
      : `${result.bestVal.toFixed(5)} (epoch ${result.bestEpoch! + 1})`;
    console.log(
      `Done (${result.stopReason}). Best validation loss: ${best}. Outputs in ${result.runDir}`,
    );
    if (result.stopReason === "interrupted") {
      console.log(`Continue with: deno task train --resume --out ${result.runDir}`);
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
}
