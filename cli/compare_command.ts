/** `compare`: the original recipe against enhancement presets, measured on the same data. */
import { dirname, join } from "node:path";
import { Command, type CommandUnknownOpts } from "npm:@commander-js/extra-typings@15.1.0";
import {
  type ConditionerConfig,
  formatResolvedConfig,
  resolveConfig,
} from "../conditioner/config.ts";
import {
  type CompareOptions,
  compareRecipes,
  formatCompareTable,
  writeComparison,
} from "../conditioner/compare.ts";
import { compareShard, mergeShards, parseShard } from "../conditioner/compare_shards.ts";
import { PRESET_NAMES } from "../conditioner/enhanced_config.ts";
import { conditionFile, loadConfiguredData, withDataOptions } from "./data_options.ts";
import { addSettingOptions, settingOverrides } from "./settings_options.ts";

/** The default folder of a comparison's runs, tables and shard results. */
const DEFAULT_OUT = join("runs", "compare");

/** Builds the `compare` command. */
export function compareCommand(): CommandUnknownOpts {
  const cmd = withDataOptions(
    new Command("compare")
      .description(
        "Train the original recipe and enhancement presets on the same data and compare them",
      ),
    `folder for the runs, compare.md and compare.json (default: ${DEFAULT_OUT}; with --merge: ` +
      "the first merged folder)",
  )
    .option(
      "--presets <names>",
      `comma-separated presets (default: all: ${PRESET_NAMES.join(",")})`,
    )
    .option("--seeds <n>", "repeat with this many seeds and report mean ± std", "1")
    .option(
      "--shard <i/n>",
      "train only shard i of n (0-based) of the (recipe, seed) pairs and write " +
        "compare-shard-<i>-of-<n>.json into --out",
    )
    .option(
      "--merge <dirs...>",
      "merge the shard results in these folders (or files) into one table; trains nothing",
    );
  addSettingOptions(cmd);
  return cmd.action(async (opts, command) => {
    if (opts.merge) {
      if (opts.shard) throw new Error("--merge and --shard exclude each other");
      await merge(opts.merge, opts.out);
      return;
    }
    const shard = opts.shard === undefined ? undefined : parseShard(opts.shard);
    const seeds = Number(opts.seeds);
    if (!Number.isInteger(seeds) || seeds < 1) {
      throw new Error(`--seeds must be a positive integer, got ${opts.seeds}`);
    }
    const file = await conditionFile(opts);
    const resolved = resolveConfig({ file, overrides: settingOverrides(command) });
    console.log(formatResolvedConfig(resolved));
    const presets = opts.presets
      ? opts.presets.split(",").map((s) => s.trim()).filter(Boolean)
      : [...PRESET_NAMES];
    const config: ConditionerConfig = resolved.config;
    const dataset = await loadConfiguredData(opts.data, config);
    let stop = false;
    const onSigint = () => {
      stop = true;
    };
    Deno.addSignalListener("SIGINT", onSigint);
    try {
      const outDir = opts.out ?? DEFAULT_OUT;
      const o: CompareOptions = {
        config,
        dataset,
        presets,
        seeds,
        outDir,
        shouldStop: () => stop,
      };
      if (shard) {
        const { path, result } = await compareShard(o, shard);
        console.log(
          `\nShard ${shard.index}/${shard.count}: ${result.runs.length} run(s) written to ${path}. ` +
            `When every shard is done: deno task cli compare --merge ${outDir}`,
        );
        return;
      }
      const rows = await compareRecipes(o);
      console.log(
        `\n${formatCompareTable(rows, seeds)}\n\nWritten to ${
          join(outDir, "compare.md")
        } and compare.json`,
      );
    } finally {
      Deno.removeSignalListener("SIGINT", onSigint);
    }
  });
}

/** `--merge`: one table from shard results; writes compare.md and compare.json. */
async function merge(paths: string[], out: string | undefined): Promise<void> {
  const merged = await mergeShards(paths);
  const firstIsFile = (await Deno.stat(paths[0])).isFile;
  const target = out ?? (firstIsFile ? dirname(paths[0]) : paths[0]);
  await writeComparison(target, merged);
  console.log(
    `Merged ${merged.files.length} shard file(s):\n\n${
      formatCompareTable(merged.rows, merged.seeds)
    }\n\nWritten to ${join(target, "compare.md")} and compare.json`,
  );
}
