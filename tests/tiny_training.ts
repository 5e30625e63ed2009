/** The tiny training setup shared by the trainer's tests: demo data at 32 px and filters 8 16. */
import { type ConditionerConfig, defaultConfig } from "../conditioner/config.ts";
import { type ConditionerDataset, loadDataset } from "../conditioner/data.ts";
import { generateDemo, writeDemo } from "../conditioner/demo_data.ts";

/** Writes `count` procedural demo samples at 32 px into a new temporary folder; returns it. */
async function tinyDataDir(count: number, seed: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "conditioner-data-" });
  await writeDemo(dir, generateDemo({ count, imageSize: 32, seed }));
  return dir;
}

/** A demo data folder and its loaded dataset. */
export async function tinyDataset(
  count: number,
  seed: number,
): Promise<{ dataDir: string; dataset: ConditionerDataset }> {
  const dataDir = await tinyDataDir(count, seed);
  return { dataDir, dataset: (await loadDataset(dataDir, { imageSize: 32 })).dataset };
}

/** A fast configuration for 32 px images: filters 8 16, warm-up 1, validation every epoch. */
export function tinyConfig(over: Partial<ConditionerConfig> = {}): ConditionerConfig {
  return {
    ...defaultConfig(),
    filters: [8, 16],
    imageSize: 32,
    nEpoch: 3,
    lr: 3e-3,
    batchSize: 8,
    warmupEpochs: 1,
    valEvery: 1,
    ...over,
  };
}
