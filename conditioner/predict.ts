/** Prediction with a trained run: images in, raw-space latents out (SimulGen-VAE's npy layout). */
import { join } from "node:path";
import type { Engine } from "../engine/engine.ts";
import { loadStateDict } from "../engine/nn/safetensors.ts";
import { loadSafetensors } from "../io/files.ts";
import { RUN_FILES } from "./checkpoint.ts";
import { configFromJson } from "./config.ts";
import { loadImages } from "./images.ts";
import { LATENT_DIM, LatentConditionerImg, XS_SHAPE } from "./model.ts";
import { writeNpy } from "./npy.ts";
import { MinMaxScaler } from "./targets.ts";

/** Options for {@link predictFolder}. */
export interface PredictOptions {
  /** Run folder written by training (config.json, scalers.json, model files). */
  runDir: string;
  /** Folder of images to predict, with the run's image extension. */
  imageDir: string;
  /** Folder (created) for latent_vectors.npy, xs.npy and names.txt. */
  outDir: string;
  /** Which saved model to use. Default "best" (falls back to "last" when there is no best). */
  which?: "best" | "last";
  /** Images per forward pass. Default 16. */
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

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Predicts latents for every image of a folder and writes latent_vectors.npy, xs.npy, names.txt. */
export async function predictFolder(e: Engine, o: PredictOptions): Promise<PredictResult> {
  const config = configFromJson(
    await readJson(join(o.runDir, RUN_FILES.config)),
    join(o.runDir, RUN_FILES.config),
  );
  const scalers = await readJson(join(o.runDir, RUN_FILES.scalers)) as { y1: unknown; y2: unknown };
  const y1Scaler = MinMaxScaler.fromJSON(scalers.y1, `${RUN_FILES.scalers} y1`);
  const y2Scaler = MinMaxScaler.fromJSON(scalers.y2, `${RUN_FILES.scalers} y2`);
  let modelPath = join(o.runDir, o.which === "last" ? RUN_FILES.last : RUN_FILES.best);
  try {
    await Deno.stat(modelPath);
  } catch {
    if (o.which === "last") throw new Error(`no ${RUN_FILES.last} in ${o.runDir}`);
    modelPath = join(o.runDir, RUN_FILES.last);
  }
  const model = new LatentConditionerImg(e, {
    filters: config.filters,
    imageSize: config.imageSize,
  });
  loadStateDict(model, (await loadSafetensors(modelPath)).tensors, { source: modelPath });
  model.eval();

  const images = await loadImages(o.imageDir, config.paramDataType, {
    imageSize: config.imageSize,
  });
  const n = images.names.length;
  const plane = config.imageSize * config.imageSize;
  const batch = Math.max(1, o.batchSize ?? 16);
  const xsSize = XS_SHAPE[0] * XS_SHAPE[1];
  const y1 = new Float32Array(n * LATENT_DIM);
  const y2 = new Float32Array(n * xsSize);
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    const out = e.noGrad(() =>
      e.tidy(() => {
        const x = e.tensor(images.data.subarray(start * plane, (start + b) * plane), [
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
  model.dispose();
  const raw1 = y1Scaler.inverseTransform(y1);
  const raw2 = y2Scaler.inverseTransform(y2);
  await Deno.mkdir(o.outDir, { recursive: true });
  const files = [
    join(o.outDir, "latent_vectors.npy"),
    join(o.outDir, "xs.npy"),
    join(o.outDir, "names.txt"),
  ];
  await Deno.writeFile(files[0], writeNpy([n, LATENT_DIM], raw1));
  await Deno.writeFile(files[1], writeNpy([n, ...XS_SHAPE], raw2));
  await Deno.writeTextFile(files[2], images.names.join("\n") + "\n");
  return { count: n, modelPath, files, y1: raw1, y2: raw2 };
}
