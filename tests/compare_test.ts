/**
 * Sharded comparisons: two shards merged give the same table as one unsharded run (training is
 * deterministic for a seed), and merging refuses shards of different comparisons and missing or
 * duplicate pairs, naming them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type ConditionerConfig, defaultConfig } from "../conditioner/config.ts";
import { comparePairs, compareRecipes, type CompareRow } from "../conditioner/compare.ts";
import {
  compareShard,
  mergeShards,
  parseShard,
  shardFileName,
  shardPairs,
} from "../conditioner/compare_shards.ts";
import { loadDataset } from "../conditioner/data.ts";
import { generateDemo, writeDemo } from "../conditioner/demo_data.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const quiet = () => {};

const dataDir = await Deno.makeTempDir({ prefix: "compare-data-" });
await writeDemo(dataDir, generateDemo({ count: 40, imageSize: 32, seed: 3 }));
const { dataset } = await loadDataset(dataDir, { imageSize: 32 });

const config: ConditionerConfig = {
  ...defaultConfig(),
  filters: [8, 16],
  imageSize: 32,
  nEpoch: 2,
  lr: 3e-3,
  batchSize: 8,
  warmupEpochs: 1,
  valEvery: 1,
  seed: 7,
};

Deno.test("--shard i/n: parsing and a deterministic round-robin assignment", () => {
  assert.deepEqual(parseShard("1/4"), { index: 1, count: 4 });
  assert.deepEqual(parseShard(" 0 / 1 "), { index: 0, count: 1 });
  for (const bad of ["4/4", "1/0", "-1/4", "a/b", "1", "1/2/3"]) {
    assert.throws(() => parseShard(bad), /option '--shard' must be i\/n/, bad);
  }
  const pairs = comparePairs(["fast", "robust"], 2, 10);
  assert.deepEqual(pairs.map((p) => `${p.recipe}@${p.seed}`), [
    "original@10",
    "fast@10",
    "robust@10",
    "original@11",
    "fast@11",
    "robust@11",
  ]);
  const shards = [0, 1, 2, 3].map((index) => shardPairs(pairs, { index, count: 4 }));
  assert.deepEqual(shards.map((s) => s.length), [2, 2, 1, 1]);
  assert.deepEqual(shards.flat().map((p) => pairs.indexOf(p)).sort(), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(shards[1], [pairs[1], pairs[5]]);
});

/** The numbers of a table that training determines (times are not compared). */
function values(rows: CompareRow[]) {
  return rows.map((r) => ({
    recipe: r.recipe,
    runs: r.runs.map((x) => [x.recipe, x.seed, x.finalVal, x.bestVal, x.peakBytes, x.fallback]),
    finalVal: r.finalVal,
    bestVal: r.bestVal,
    bestValChange: r.bestValChange,
  }));
}

Deno.test(
  "two shards merged equal one unsharded comparison; bad merges are refused by name",
  opts,
  async () => {
    const root = await Deno.makeTempDir({ prefix: "compare-" });
    const base = { config, dataset, presets: ["fast"], seeds: 1, log: quiet };
    const whole = await compareRecipes({ ...base, outDir: join(root, "whole") });
    const shardDir = join(root, "shards");
    for (const index of [0, 1]) {
      const { path, result } = await compareShard(
        { ...base, outDir: shardDir },
        { index, count: 2 },
      );
      assert.equal(path, join(shardDir, shardFileName({ index, count: 2 })));
      assert.equal(result.runs.length, 1);
    }
    const merged = await mergeShards([shardDir]);
    assert.equal(merged.files.length, 2);
    assert.equal(merged.seeds, 1);
    // Training is deterministic for a seed (fixed split, batch order, Philox augmentation and
    // fixed-order GPU reductions), so the validation numbers agree exactly.
    assert.deepEqual(values(merged.rows), values(whole));
    assert.ok(whole.every((r) => Number.isFinite(r.bestVal.mean) && r.bestVal.mean > 0));

    // Refusals: each names the files and what differs.
    const file0 = join(shardDir, shardFileName({ index: 0, count: 2 }));
    const file1 = join(shardDir, shardFileName({ index: 1, count: 2 }));
    const edited = async (name: string, edit: (j: Record<string, unknown>) => void) => {
      const json = JSON.parse(await Deno.readTextFile(file1));
      edit(json);
      const dir = join(root, name);
      await Deno.mkdir(dir);
      const path = join(dir, shardFileName({ index: 1, count: 2 }));
      await Deno.writeTextFile(path, JSON.stringify(json));
      return path;
    };
    const refused = async (paths: string[], ...parts: string[]) => {
      await assert.rejects(() => mergeShards(paths), (e: Error) => {
        for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
        return true;
      });
    };
    const epochs = await edited("epochs", (j) => {
      (j.config as ConditionerConfig).nEpoch = 3;
    });
    await refused([file0, epochs], epochs, file0, "different settings: --epochs 2 and 3");
    const data = await edited("data", (j) => {
      j.fingerprint = "0".repeat(64);
    });
    await refused([file0, data], data, "different data");
    const seeds = await edited("seeds", (j) => {
      j.seeds = 2;
    });
    await refused([file0, seeds], seeds, "different --seeds (1 and 2)");
    await refused([file0], "fast seed 7 is missing (shard 1/2, compare-shard-1-of-2.json)");
    const copy = await edited("copy", () => {});
    await refused([shardDir, copy], "fast seed 7 is in both", file1, copy);
    await refused([join(root, "whole")], "holds no compare-shard-<i>-of-<n>.json files");
    await Deno.remove(root, { recursive: true });
  },
);
