/** Prediction with a trained run: images in, raw-space latents out (SimulGen-VAE's npy layout). */
import { join } from "node:path";
import type { Engine } from "../engine/engine.ts";
import type { HostTensor } from "../engine/nn/safetensors.ts";
import { loadStateDict } from "../engine/nn/safetensors.ts";
import { assertFinite, RUN_FILES } from "./checkpoint.ts";
import { recoverRunFolder } from "./run_folder.ts";
import { type ConditionerConfig, configFromJson } from "./config.ts";
import { IMAGE_EXTENSIONS, type LoadedImages, loadImages } from "./images.ts";
import { LATENT_DIM, LatentConditionerImg, XS_SHAPE } from "./model.ts";
import { loadModelTensors } from "./model_file.ts";
import { writeNpy } from "./npy.ts";
import { MinMaxScaler } from "./targets.ts";

/** The saved models a prediction can use. */
export const MODEL_CHOICES = ["best", "last"] as const;

/** Options for {@link predictFolder}. */
export interface PredictOptions {
  /** Run folder written by training (config.json, scalers.json, model files). */
  runDir: string;
  /** Folder of images to predict. */
  imageDir: string;
  /** Image extensions to read (default: every supported one, {@link IMAGE_EXTENSIONS}). */
  extensions?: readonly string[];
  /** Folder (created) for latent_vectors.npy, xs.npy and names.txt. */
  outDir: string;
  /** Which saved model to use. Default "best" (falls back to "last" when there is no best). */
  which?: "best" | "last";
  /** Images per forward pass, a positive integer. Default 16. */
  batchSize?: number;
}

/** What {@link predictFolder} wrote. */
export interface PredictResult {
  /** Number of images predicted. */
  count: number;
  /** The model file used. */
  modelPath: string;
  /** The files written: latent_vectors.npy, xs.npy, names.txt. */
  files: string[];
  /** Raw-space (unscaled) main latents, [N, 32] flattened. */
  y1: Float32Array;
  /** Raw-space hierarchical latents, [N, 3, 8] flattened. */
  y2: Float32Array;
}

/** A trained run's settings, scalers and model weights, read and checked without the GPU. */
export interface RunModel {
  /** The run's settings (config.json). */
  config: ConditionerConfig;
  /** Target scaler of y1 (32 columns). */
  y1Scaler: MinMaxScaler;
  /** Target scaler of y2 (24 columns). */
  y2Scaler: MinMaxScaler;
  /** The model file chosen. */
  modelPath: string;
  /** Its weights, checked finite. */
  weights: Map<string, HostTensor>;
}

/** Everything a prediction reads from disk, checked, before any GPU work. */
export interface PredictionInputs extends RunModel {
  /** The images, decoded and resized to the run's image size. */
  images: LoadedImages;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Checks the options a program passes (the command line checks its flags itself). */
function checkPredictOptions(o: PredictOptions): void {
  if (o.which !== undefined && !(MODEL_CHOICES as readonly string[]).includes(o.which)) {
    throw new Error(`predict: which must be ${MODEL_CHOICES.join(" or ")}, got "${o.which}"`);
  }
  const batch = o.batchSize;
  if (batch !== undefined && (!Number.isInteger(batch) || batch < 1)) {
    throw new Error(`predict: batchSize must be a positive integer, got ${batch}`);
  }
}

/** The run's y1 and y2 scalers; their column counts must be the model's output widths. */
async function readScalers(path: string): Promise<[MinMaxScaler, MinMaxScaler]> {
  const json = await readJson(path) as { y1?: unknown; y2?: unknown } | null;
  const widths = { y1: LATENT_DIM, y2: XS_SHAPE[0] * XS_SHAPE[1] };
  return (["y1", "y2"] as const).map((part) => {
    const scaler = MinMaxScaler.fromJSON(json?.[part], `${path} ${part}`);
    if (scaler.columns !== widths[part]) {
      throw new Error(
        `${path}: the ${part} scaler has ${scaler.columns} columns but the model predicts ` +
          `${widths[part]} ${part} values`,
      );
    }
    return scaler;
  }) as [MinMaxScaler, MinMaxScaler];
}

/** The model file to use: the one asked for; "best" falls back to "last" when it is missing. */
async function chooseModel(runDir: string, which: "best" | "last"): Promise<string> {
  const path = join(runDir, which === "last" ? RUN_FILES.last : RUN_FILES.best);
  try {
    await Deno.stat(path);
    return path;
  } catch {
    if (which === "last") throw new Error(`no ${RUN_FILES.last} in ${runDir}`);
    return join(runDir, RUN_FILES.last);
  }
}

/**
 * Reads and checks a run's settings, scalers and model (`which`, default "best", falling back to
 * "last"), finishing an interrupted run-folder replacement first. No GPU work.
 */
export async function readRunModel(
  runDir: string,
  which: "best" | "last" = "best",
): Promise<RunModel> {
  await recoverRunFolder(runDir);
  const configPath = join(runDir, RUN_FILES.config);
  const config = configFromJson(await readJson(configPath), configPath);
  const [y1Scaler, y2Scaler] = await readScalers(join(runDir, RUN_FILES.scalers));
  const modelPath = await chooseModel(runDir, which);
  const weights = await loadModelTensors(modelPath);
  assertFinite(weights, `${modelPath} holds non-finite weights (a diverged model)`);
  return { config, y1Scaler, y2Scaler, modelPath, weights };
}

/**
 * Reads and checks everything a prediction needs (settings, scalers, model weights, images)
 * without touching the GPU, so that wrong inputs fail before an engine exists.
 */
export async function readPredictionInputs(o: PredictOptions): Promise<PredictionInputs> {
  checkPredictOptions(o);
  const run = await readRunModel(o.runDir, o.which);
  const images = await loadImages(o.imageDir, o.extensions ?? IMAGE_EXTENSIONS, {
    imageSize: run.config.imageSize,
  });
  return { ...run, images };
}

/**
 * Runs a run's model over `count` images ([count, 1, S, S] values in [0, 1] at the run's image
 * size) in batches and returns raw-space latents: y1 [count, 32] and y2 [count, 3, 8], flattened.
 */
export async function predictLatents(
  e: Engine,
  run: RunModel,
  images: Float32Array,
  batchSize = 16,
): Promise<{ y1: Float32Array; y2: Float32Array }> {
  const { config, modelPath } = run;
  const plane = config.imageSize * config.imageSize;
  const n = images.length / plane;
  if (!Number.isInteger(n)) {
    throw new Error(
      `predictLatents: ${images.length} pixel values are not whole ${config.imageSize}x` +
        `${config.imageSize} images`,
    );
  }
  const model = new LatentConditionerImg(e, {
    filters: config.filters,
    imageSize: config.imageSize,
  });
  try {
    loadStateDict(model, run.weights, { source: modelPath });
    model.eval();
    const xsSize = XS_SHAPE[0] * XS_SHAPE[1];
    const y1 = new Float32Array(n * LATENT_DIM);
    const y2 = new Float32Array(n * xsSize);
    for (let start = 0; start < n; start += batchSize) {
      const b = Math.min(batchSize, n - start);
      const out = e.noGrad(() =>
        e.tidy(() => {
          const x = e.tensor(images.subarray(start * plane, (start + b) * plane), [
            b,
            1,
            config.imageSize,
            config.imageSize,
          ]);
          return model.forward(x);
        })
      );
      const [v1, v2] = await e.readAll([out.y1, out.y2]);
      y1.set(v1, start * LATENT_DIM);
      y2.set(v2, start * xsSize);
      out.y1.dispose();
      out.y2.dispose();
    }
    return { y1: run.y1Scaler.inverseTransform(y1), y2: run.y2Scaler.inverseTransform(y2) };
  } finally {
    model.dispose();
  }
}

/** Runs the model over checked inputs and writes latent_vectors.npy, xs.npy and names.txt. */
export async function predictWith(
  e: Engine,
  inputs: PredictionInputs,
  o: Pick<PredictOptions, "outDir" | "batchSize">,
): Promise<PredictResult> {
  const { images, modelPath } = inputs;
  const n = images.names.length;
  const { y1, y2 } = await predictLatents(e, inputs, images.data, o.batchSize);
  await Deno.mkdir(o.outDir, { recursive: true });
  const files = [
    join(o.outDir, "latent_vectors.npy"),
    join(o.outDir, "xs.npy"),
    join(o.outDir, "names.txt"),
  ];
  await Deno.writeFile(files[0], writeNpy([n, LATENT_DIM], y1));
  await Deno.writeFile(files[1], writeNpy([n, ...XS_SHAPE], y2));
  await Deno.writeTextFile(files[2], images.names.join("\n") + "\n");
  return { count: n, modelPath, files, y1, y2 };
}

/** Predicts latents for every image of a folder and writes latent_vectors.npy, xs.npy, names.txt. */
export async function predictFolder(e: Engine, o: PredictOptions): Promise<PredictResult> {
  return await predictWith(e, await readPredictionInputs(o), o);
}
