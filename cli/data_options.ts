/**
 * What `train` and `compare` share: the data, condition and output flags, the condition file
 * they imply, and loading the data folder with the resolved settings.
 */
import { join, resolve } from "node:path";
import type { Command, OptionValues } from "npm:@commander-js/extra-typings@15.1.0";
import type { ConditionerConfig } from "../conditioner/config.ts";
import { readConditionText, readConditionTextIfPresent } from "../conditioner/condition_file.ts";
import { type ConditionerDataset, loadDataset } from "../conditioner/data.ts";

/** The bundled demo: data folder and its condition file, relative to the repository. */
export const DEMO_DATA = new URL("../fixtures/demo", import.meta.url).pathname;
/** The condition file used with the bundled demo data. */
export const DEMO_CONDITION = new URL("../fixtures/conditions/demo.txt", import.meta.url).pathname;

/**
 * Adds `--data` (default: the demo data), `--condition` and `--out` to a command and returns it
 * typed with them; `outHelp` describes what `--out` holds for this command.
 */
export function withDataOptions<
  Args extends unknown[],
  Opts extends OptionValues,
  Globals extends OptionValues,
>(cmd: Command<Args, Opts, Globals>, outHelp: string) {
  return cmd
    .option(
      "--data <dir>",
      "data folder with the image folder, latent_vectors.npy and xs.npy",
      DEMO_DATA,
    )
    .option(
      "--condition <file>",
      "SimulGen-VAE condition.txt (default: <data>/condition.txt if present; the demo's for the demo data)",
    )
    .option("--out <dir>", outHelp);
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
    const text = flags.condition
      ? await readConditionText(path)
      : await readConditionTextIfPresent(path);
    if (text !== undefined) return { text, path };
  }
  return undefined;
}

/**
 * Loads a data folder as the settings describe it (image folder and extension, image size,
 * truncation), printing the loader's warnings; `onProgress` sees each decoded image.
 */
export async function loadConfiguredData(
  dataDir: string,
  config: ConditionerConfig,
  onProgress?: (done: number, total: number) => void,
): Promise<ConditionerDataset> {
  const { dataset, warnings } = await loadDataset(dataDir, {
    paramDir: config.paramDir,
    ext: config.paramDataType,
    imageSize: config.imageSize,
    truncate: config.truncate,
    onProgress,
  });
  for (const w of warnings) console.warn(`warning: ${w}`);
  return dataset;
}
