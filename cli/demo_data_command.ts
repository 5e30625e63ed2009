/** `demo-data`: writes a procedural demo dataset (deterministic) into a folder of its own. */
import { join } from "node:path";
import { Command, type CommandUnknownOpts } from "npm:@commander-js/extra-typings@15.1.0";
import { generateDemo, writeDemo } from "../conditioner/demo_data.ts";
import { LATENT_FILE, XS_FILE } from "../conditioner/targets.ts";

/** Where `demo-data` writes without a folder argument. */
export const DEMO_DATA_OUT = join("runs", "demo-data");

/** What a demo dataset consists of inside its folder. */
const DATASET_ENTRIES = ["images", LATENT_FILE, XS_FILE];

/**
 * Makes `outDir` ready for a new dataset: a missing or empty folder is used as it is; one that
 * holds anything is refused unless `overwrite`, which removes the old dataset's images and
 * latents (other files, such as a condition.txt, stay) so no old image survives next to the
 * new ones.
 */
export async function prepareDemoFolder(outDir: string, overwrite: boolean): Promise<void> {
  const entries: string[] = [];
  try {
    for await (const entry of Deno.readDir(outDir)) entries.push(entry.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw new Error(`cannot use ${outDir} for the demo data: ${(e as Error).message}`);
  }
  if (entries.length === 0) return;
  if (!overwrite) {
    throw new Error(
      `${outDir} is not empty (${entries.sort().slice(0, 5).join(", ")}` +
        `${entries.length > 5 ? ", ..." : ""}); choose another folder, or pass --overwrite to ` +
        `replace its images/, ${LATENT_FILE} and ${XS_FILE}`,
    );
  }
  for (const name of DATASET_ENTRIES) {
    await Deno.remove(join(outDir, name), { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
}

/** Builds the `demo-data` command. */
export function demoDataCommand(): CommandUnknownOpts {
  return new Command("demo-data")
    .description(
      "Write a procedural demo dataset (images/, latent_vectors.npy, xs.npy) into a new folder",
    )
    .argument("[outDir]", `where to write it (default: ${DEMO_DATA_OUT})`)
    .option("--count <n>", "number of samples", "240")
    .option("--image-size <px>", "image side in pixels", "64")
    .option("--seed <n>", "generator seed", "2025")
    .option("--overwrite", "replace the dataset in a folder that is not empty")
    .action(async (outArg, opts) => {
      const outDir = outArg ?? DEMO_DATA_OUT;
      const count = Number(opts.count);
      const imageSize = Number(opts.imageSize);
      const seed = Number(opts.seed);
      const checks = [["--count", count, 2], ["--image-size", imageSize, 16], ["--seed", seed, 0]];
      for (const [name, v, min] of checks as [string, number, number][]) {
        if (!Number.isInteger(v) || v < min) {
          throw new Error(`option '${name}' must be an integer >= ${min}`);
        }
      }
      await prepareDemoFolder(outDir, opts.overwrite ?? false);
      const demo = generateDemo({ count, imageSize, seed });
      await writeDemo(outDir, demo);
      console.log(
        `Wrote ${demo.count} images of ${imageSize}x${imageSize} and their latents to ${outDir}`,
      );
    });
}
