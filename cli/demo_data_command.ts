/** `demo-data`: regenerates the bundled demo dataset (deterministic). */
import { Command } from "npm:@commander-js/extra-typings@15.1.0";
import { generateDemo, writeDemo } from "../conditioner/demo_data.ts";
import { DEMO_DATA } from "./train_command.ts";

/** Builds the `demo-data` command. */
export function demoDataCommand(): Command {
  return new Command("demo-data")
    .description("Write the procedural demo dataset (images/, latent_vectors.npy, xs.npy)")
    .argument("[outDir]", "where to write it", DEMO_DATA)
    .option("--count <n>", "number of samples", "240")
    .option("--image-size <px>", "image side in pixels", "64")
    .option("--seed <n>", "generator seed", "2025")
    .action(async (outDir, opts) => {
      const count = Number(opts.count);
      const imageSize = Number(opts.imageSize);
      const seed = Number(opts.seed);
      for (
        const [name, v, min] of [["--count", count, 2], ["--image-size", imageSize, 16], [
          "--seed",
          seed,
          0,
        ]] as const
      ) {
        if (!Number.isInteger(v) || v < min) {
          throw new Error(`${name} must be an integer >= ${min}`);
        }
      }
      const demo = generateDemo({ count, imageSize, seed });
      await writeDemo(outDir, demo);
      console.log(
        `Wrote ${demo.count} images of ${imageSize}x${imageSize} and their latents to ${outDir}`,
      );
    }) as unknown as Command;
}
