/** `predict`: images -> y1/y2 .npy files in raw latent space, ready for SimulGen-VAE's decoder. */
import { join } from "node:path";
import { Command } from "npm:@commander-js/extra-typings@15.1.0";
import { Engine } from "../engine/engine.ts";
import { predictFolder } from "../conditioner/predict.ts";

/** Builds the `predict` command. */
export function predictCommand(): Command {
  return new Command("predict")
    .description("Predict latents for a folder of images with a trained run")
    .requiredOption(
      "--run <dir>",
      "run folder written by `train` (config.json, scalers.json, model_*.safetensors)",
    )
    .requiredOption("--images <dir>", "folder of condition images")
    .option(
      "--out <dir>",
      "where to write latent_vectors.npy and xs.npy (default: <run>/predictions)",
    )
    .option("--model <which>", "best or last", "best")
    .option("--batch-size <n>", "images per forward pass", "16")
    .action(async (opts) => {
      const engine = await Engine.create();
      try {
        const out = opts.out ?? join(opts.run, "predictions");
        const r = await predictFolder(engine, {
          runDir: opts.run,
          imageDir: opts.images,
          outDir: out,
          which: opts.model === "last" ? "last" : "best",
          batchSize: Number(opts.batchSize),
        });
        console.log(`Predicted ${r.count} images with ${r.modelPath}: ${r.files.join(", ")}`);
      } finally {
        engine.destroy();
      }
    }) as unknown as Command;
}
