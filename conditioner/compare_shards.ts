/**
 * Comparisons split over machines: shard i of n trains every n-th (recipe, seed) pair of the
 * fixed order ({@link comparePairs}) and writes its runs as JSON; merging checks that the shards
 * belong to one comparison (same data, settings, recipes, seeds and shard count) and hold every
 * pair exactly once, then builds the same table as an unsharded comparison.
 */
import { basename, join } from "node:path";
import { writeFileAtomic } from "../io/files.ts";
import {
  type CompareOptions,
  comparePairs,
  compareRecipeNames,
  type CompareRow,
  type CompareRun,
  summarizeRuns,
  trainPairs,
} from "./compare.ts";
import {
  changedSettings,
  type ConditionerConfig,
  configFromJson,
  flagOf,
  readPath,
  type SettingName,
} from "./config.ts";
import { datasetFingerprint } from "./run_folder.ts";

/** Which part of a comparison one process runs: pairs k with k % count === index. */
export interface CompareShard {
  /** 0-based shard index, below {@link count}. */
  index: number;
  /** Number of shards. */
  count: number;
}

/** `format` of a shard's result file. */
const SHARD_FORMAT = "webgpu-conditioner-compare-shard";
/** Names of shard result files: `compare-shard-<i>-of-<n>.json`. */
const SHARD_FILE = /^compare-shard-(\d+)-of-(\d+)\.json$/;

/** A shard's result file, as written by {@link compareShard}. */
export interface ShardResult {
  /** Always "webgpu-conditioner-compare-shard". */
  format: string;
  /** The shard. */
  shard: CompareShard;
  /** Fingerprint of the data (see datasetFingerprint). */
  fingerprint: string;
  /** The data's sample count. */
  samples: number;
  /** The shared settings (each run replaces the seed and the enhanced settings). */
  config: ConditionerConfig;
  /** Presets compared with the original recipe. */
  presets: string[];
  /** Number of seeds. */
  seeds: number;
  /** The runs this shard trained. */
  runs: CompareRun[];
}

/** Parses `--shard i/n` (0 <= i < n); errors name the flag. */
export function parseShard(text: string): CompareShard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) {
    throw new Error(
      `option '--shard' must be i/n with 0 <= i < n, e.g. 0/4 (got '${text}')`,
    );
  }
  return { index, count };
}

/** The file name of a shard's results. */
export function shardFileName(shard: CompareShard): string {
  return `compare-shard-${shard.index}-of-${shard.count}.json`;
}

/** The pairs a shard trains: every `count`-th pair of the fixed order, from `index`. */
export function shardPairs<T>(pairs: readonly T[], shard: CompareShard): T[] {
  return pairs.filter((_, k) => k % shard.count === shard.index);
}

/**
 * Trains this shard's pairs and writes `compare-shard-<i>-of-<n>.json` into outDir; returns the
 * file's path and contents. A stopped shard writes the runs it finished (a merge names the rest).
 */
export async function compareShard(
  o: CompareOptions,
  shard: CompareShard,
): Promise<{ path: string; result: ShardResult }> {
  const pairs = shardPairs(comparePairs(o.presets, o.seeds, o.config.seed), shard);
  const runs = await trainPairs(o, pairs);
  const result: ShardResult = {
    format: SHARD_FORMAT,
    shard,
    fingerprint: await datasetFingerprint(o.dataset),
    samples: o.dataset.size,
    config: o.config,
    presets: o.presets,
    seeds: o.seeds,
    runs,
  };
  await Deno.mkdir(o.outDir, { recursive: true });
  const path = join(o.outDir, shardFileName(shard));
  await writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(result, null, 2) + "\n"));
  return { path, result };
}

/** Reads and checks one shard file; errors name the file and the field. */
export async function readShard(path: string): Promise<ShardResult> {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`cannot read shard results ${path}: ${(e as Error).message}`);
  }
  const bad = (field: string): never => {
    throw new Error(`${path}: field '${field}' is missing or invalid (not a compare shard file?)`);
  };
  if (value === null || typeof value !== "object" || value.format !== SHARD_FORMAT) bad("format");
  const shard = value.shard as CompareShard | undefined;
  if (!Number.isInteger(shard?.index) || !Number.isInteger(shard?.count)) bad("shard");
  if (typeof value.fingerprint !== "string") bad("fingerprint");
  if (!Number.isInteger(value.seeds)) bad("seeds");
  const presets = value.presets;
  if (!Array.isArray(presets) || !presets.every((p) => typeof p === "string")) bad("presets");
  const runs = value.runs;
  if (!Array.isArray(runs)) bad("runs");
  // JSON writes NaN (a run never validated) as null.
  const number = (v: unknown) => (typeof v === "number" ? v : NaN);
  const checked = (runs as CompareRun[]).map((r, i): CompareRun => {
    if (typeof r?.recipe !== "string" || !Number.isInteger(r?.seed)) bad(`runs[${i}]`);
    return {
      recipe: r.recipe,
      seed: r.seed,
      finalVal: number(r.finalVal),
      bestVal: number(r.bestVal),
      secondsPerEpoch: number(r.secondsPerEpoch),
      peakBytes: number(r.peakBytes),
      fallback: r.fallback === true,
    };
  });
  return {
    format: SHARD_FORMAT,
    shard: { index: shard!.index, count: shard!.count },
    fingerprint: value.fingerprint as string,
    samples: Number(value.samples),
    config: configFromJson(value.config, `${path} config`),
    presets: presets as string[],
    seeds: value.seeds as number,
    runs: checked,
  };
}

/** The shard files of a folder (`compare-shard-*-of-*.json`), or the file itself. */
async function shardFiles(path: string): Promise<string[]> {
  const info = await Deno.stat(path).catch(() => {
    throw new Error(`--merge: ${path} does not exist`);
  });
  if (!info.isDirectory) return [path];
  const files: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    if (entry.isFile && SHARD_FILE.test(entry.name)) files.push(join(path, entry.name));
  }
  if (files.length === 0) {
    throw new Error(`--merge: ${path} holds no compare-shard-<i>-of-<n>.json files`);
  }
  return files.sort();
}

/** A merged comparison. */
export interface MergedComparison {
  /** The shared settings. */
  config: ConditionerConfig;
  /** The data fingerprint all shards share. */
  fingerprint: string;
  /** Number of seeds. */
  seeds: number;
  /** The table's rows, as {@link compareRecipes} returns them. */
  rows: CompareRow[];
  /** The shard files merged. */
  files: string[];
}

/** What two shards disagree on, as a phrase, or null when they agree. */
function disagreement(a: ShardResult, b: ShardResult): string | null {
  if (a.fingerprint !== b.fingerprint) {
    return `different data (fingerprints ${a.fingerprint.slice(0, 12)}… and ` +
      `${b.fingerprint.slice(0, 12)}…, ${a.samples} and ${b.samples} samples)`;
  }
  const changed = changedSettings(a.config, b.config);
  if (changed.length) {
    return `different settings: ${
      changed.map((f) => `${flagOf(f)} ${show(a.config, f)} and ${show(b.config, f)}`).join(", ")
    }`;
  }
  if (a.presets.join(",") !== b.presets.join(",")) {
    return `different presets (${a.presets.join(",")} and ${b.presets.join(",")})`;
  }
  if (a.seeds !== b.seeds) return `different --seeds (${a.seeds} and ${b.seeds})`;
  if (a.shard.count !== b.shard.count) {
    return `different shard counts (${a.shard.count} and ${b.shard.count})`;
  }
  return null;
}

function show(config: ConditionerConfig, field: SettingName): string {
  return JSON.stringify(readPath(config, field));
}

/**
 * Merges shard results (files, or folders holding `compare-shard-*-of-*.json`) into one
 * comparison. Refuses shards of different comparisons (data, settings, presets, seeds, shard
 * count) and missing or duplicate (recipe, seed) pairs, naming the files and pairs.
 */
export async function mergeShards(paths: readonly string[]): Promise<MergedComparison> {
  if (paths.length === 0) throw new Error("--merge needs at least one folder or shard file");
  const files = [...new Set((await Promise.all(paths.map(shardFiles))).flat())];
  const shards = await Promise.all(files.map(readShard));
  const first = shards[0];
  shards.forEach((s, i) => {
    const why = disagreement(first, s);
    if (why) {
      throw new Error(
        `cannot merge ${files[i]} with ${files[0]}: ${why}; shards of one comparison must be ` +
          `run with the same data, settings, --presets, --seeds and shard count`,
      );
    }
  });
  const key = (p: { recipe: string; seed: number }) => `${p.recipe} seed ${p.seed}`;
  const expected = comparePairs(first.presets, first.seeds, first.config.seed);
  const where = new Map<string, string>();
  const runs: CompareRun[] = [];
  const problems: string[] = [];
  shards.forEach((s, i) => {
    for (const run of s.runs) {
      const k = key(run);
      const seen = where.get(k);
      if (seen) problems.push(`${k} is in both ${seen} and ${files[i]}`);
      else if (!expected.some((p) => key(p) === k)) {
        problems.push(`${k} in ${files[i]} is not part of this comparison`);
      } else {
        where.set(k, files[i]);
        runs.push(run);
      }
    }
  });
  expected.forEach((p, k) => {
    if (!where.has(key(p))) {
      const owner = { index: k % first.shard.count, count: first.shard.count };
      problems.push(
        `${key(p)} is missing (shard ${owner.index}/${owner.count}, ${shardFileName(owner)})`,
      );
    }
  });
  if (problems.length) {
    throw new Error(
      `cannot merge ${files.map((f) => basename(f)).join(", ")}: ${problems.join("; ")}`,
    );
  }
  const order = (r: CompareRun) => expected.findIndex((p) => key(p) === key(r));
  runs.sort((a, b) => order(a) - order(b));
  return {
    config: first.config,
    fingerprint: first.fingerprint,
    seeds: first.seeds,
    rows: summarizeRuns(compareRecipeNames(first.presets), runs),
    files,
  };
}
