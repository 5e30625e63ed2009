/** A tiny run folder (8/16 filters, 16 px images) as `train` writes it, for prediction tests. */
import { Buffer } from "node:buffer";
import { join } from "node:path";
// @ts-types="npm:@types/pngjs@6.0.5"
import { PNG } from "npm:pngjs@7.0.0";
import type { Engine } from "../engine/engine.ts";
import { readTensors, serializeSafetensors } from "../engine/nn/safetensors.ts";
import { RUN_FILES } from "../conditioner/checkpoint.ts";
import { configToJson, defaultConfig } from "../conditioner/config.ts";
import { LatentConditionerImg } from "../conditioner/model.ts";
import { MinMaxScaler } from "../conditioner/targets.ts";

/** The tiny run's model shape. */
export const TINY = { filters: [8, 16], imageSize: 16 } as const;

/** An 8-bit gray PNG of `size` x `size` pixels. */
export function grayPng(size: number, seed: number): Uint8Array {
  const png = new PNG({ width: size, height: size, colorType: 0, inputColorType: 0 });
  png.data = Buffer.from(Array.from({ length: size * size }, (_, i) => (i * 7 + seed * 31) % 256));
  return new Uint8Array(PNG.sync.write(png, { colorType: 0, inputColorType: 0 }));
}

/**
 * Writes config.json, scalers.json, model_best/model_last.safetensors of a freshly initialised
 * tiny model, and `images/` with `count` PNGs, into `dir`.
 */
export async function writeTinyRun(engine: Engine, dir: string, count = 3): Promise<void> {
  const config = { ...defaultConfig(), filters: [...TINY.filters], imageSize: TINY.imageSize };
  await Deno.writeTextFile(join(dir, RUN_FILES.config), configToJson(config));
  const fit = (cols: number) =>
    MinMaxScaler.fit(Float64Array.from({ length: cols * 4 }, (_, i) => Math.sin(i)), cols)
      .toJSON();
  const scalers = { y1: fit(32), y2: fit(24) };
  await Deno.writeTextFile(join(dir, RUN_FILES.scalers), JSON.stringify(scalers));
  const model = new LatentConditionerImg(engine, { ...config, seed: 1 });
  const weights = serializeSafetensors(await readTensors(model.stateDict()));
  model.dispose();
  await Deno.writeFile(join(dir, RUN_FILES.best), weights);
  await Deno.writeFile(join(dir, RUN_FILES.last), weights);
  await Deno.mkdir(join(dir, "images"), { recursive: true });
  for (let i = 0; i < count; i++) {
    await Deno.writeFile(join(dir, "images", `img${i + 1}.png`), grayPng(TINY.imageSize, i));
  }
}
