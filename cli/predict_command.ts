/** `predict`: images -> y1/y2 .npy files in raw latent space, ready for SimulGen-VAE's decoder. */
import { join } from "node:path";
import { Command, type CommandUnknownOpts } from "npm:@commander-js/extra-typings@15.1.0";
import { IMAGE_EXTENSIONS, normalizeExtension } from "../conditioner/images.ts";
import { Engine } from "../engine/engine.ts";
import { MODEL_CHOICES, predictWith, readPredictionInputs } from "../conditioner/predict.ts";
import type { PredictOptions } from "../conditioner/predict.ts";

/** The `predict` flags as commander gives them. */
export interface PredictFlags {
  run: string;
  images: string;
  out?: string;
  model: string;
  batchSize: string;
  /** --ext: image extensions to read, as given (words with one or more items each). */
  ext?: string[];
}

/** Checks the flags and turns them into prediction options; errors name the flag. */
export function predictOptions(flags: PredictFlags): PredictOptions {
  const which = flags.model;
  if (!(MODEL_CHOICES as readonly string[]).includes(which)) {
    throw new Error(`option '--model' must be ${MODEL_CHOICES.join(" or ")} (got '${which}')`);
  }
  const text = flags.batchSize.trim();
  const batchSize = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new Error(`option '--batch-size' must be a positive integer (got '${flags.batchSize}')`);
  }
  let extensions: string[] = [...IMAGE_EXTENSIONS];
  if (flags.ext) {
    try {
      extensions = flags.ext.join(" ").split(/[\s,]+/).filter(Boolean).map(normalizeExtension);
    } catch (e) {
      throw new Error(`option '--ext': ${(e as Error).message}`);
    }
    if (extensions.length === 0) throw new Error("option '--ext' needs at least one extension");
  }
  return {
    runDir: flags.run,
    imageDir: flags.images,
    outDir: flags.out ?? join(flags.run, "predictions"),
    which: which as PredictOptions["which"],
    batchSize,
    extensions,
  };
}

/** Builds the `predict` command. */
export function predictCommand(): CommandUnknownOpts {
  return new Command("predict")
    .description("Predict latents for a folder of images with a trained run")
    .requiredOption(
      "--run <dir>",
      "run folder written by `train` (config.json, scalers.json, model_*.safetensors)",
    )
    .requiredOption("--images <dir>", "folder of condition images (.png, .jpg, .jpeg)")
    .option(
      "--out <dir>",
      "where to write latent_vectors.npy and xs.npy (default: <run>/predictions)",
    )
    .option("--model <which>", `${MODEL_CHOICES.join(" or ")}`, "best")
    .option("--batch-size <n>", "images per forward pass", "16")
    .option(
      "--ext <extensions...>",
      `read only these image types (default: all of ${IMAGE_EXTENSIONS.join(" ")}), e.g. --ext png`,
    )
    .action(async (flags) => {
      // Flags and every file are checked before the GPU is touched.
      const options = predictOptions(flags);
      const inputs = await readPredictionInputs(options);
      const engine = await Engine.create();
      try {
        const r = await predictWith(engine, inputs, options);
        console.log(`Predicted ${r.count} images with ${r.modelPath}: ${r.files.join(", ")}`);
      } finally {
        await engine.close();
      }
    });
}
