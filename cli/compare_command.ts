/** `compare`: the original recipe against enhancement presets, measured on the same data. */
import { join } from "node:path";
import { Command } from "npm:@commander-js/extra-typings@15.1.0";
import { formatResolvedConfig, resolveConfig } from "../conditioner/config.ts";
import { compareRecipes, formatCompareTable } from "../conditioner/compare.ts";
import { loadDataset } from "../conditioner/data.ts";
import { PRESET_NAMES } from "../conditioner/enhanced_config.ts";
import { conditionFile, DEMO_DATA } from "./train_command.ts";
import { addSettingOptions, settingOverrides } from "./settings_options.ts";

/** Builds the `compare` command. */
export function compareCommand(): Command {
  const cmd = new Command("compare")
    .description(
      "Train the original recipe and enhancement presets on the same data and compare them",
    )
    .option("--data <dir>", "data folder", DEMO_DATA)
    .option("--condition <file>", "condition.txt (default as for train)")
    .option("--out <dir>", "folder for the runs and compare.md (default: runs/compare)")
    .option(
      "--presets <names>",
      `comma-separated presets (default: all: ${PRESET_NAMES.join(",")})`,
    )
    .option("--seeds <n>", "repeat with this many seeds and report mean ± std", "1");
  addSettingOptions(cmd as unknown as Command<[], Record<string, unknown>>);
  return cmd.action(async (raw) => {
    const opts = raw as unknown as Record<string, unknown> & {
      data: string;
      condition?: string;
      out?: string;
      presets?: string;
      seeds: string;
    };
    const file = await conditionFile({ data: opts.data, condition: opts.condition });
    const resolved = resolveConfig({ file, overrides: settingOverrides(opts) });
    console.log(formatResolvedConfig(resolved));
    const seeds = Number(opts.seeds);
    if (!Number.isInteger(seeds) || seeds < 1) {
      throw new Error(`--seeds must be a positive integer, got ${opts.seeds}`);
    }
    const presets = opts.presets
      ? opts.presets.split(",").map((s) => s.trim()).filter(Boolean)
      : [...PRESET_NAMES];
    const c = resolved.config;
    const { dataset } = await loadDataset(opts.data, {
      paramDir: c.paramDir,
      ext: c.paramDataType,
      imageSize: c.imageSize,
      truncate: c.truncate,
    });
    let stop = false;
    const onSigint = () => {
      stop = true;
    };
    Deno.addSignalListener("SIGINT", onSigint);
    try {
      const outDir = opts.out ?? join("runs", "compare");
      const rows = await compareRecipes({
        config: c,
        dataset,
        presets,
        seeds,
        outDir,
        shouldStop: () => stop,
      });
      console.log(
        `\n${formatCompareTable(rows, seeds)}\n\nWritten to ${
          join(outDir, "compare.md")
        } and compare.json`,
      );
    } finally {
      Deno.removeSignalListener("SIGINT", onSigint);
    }
  }) as unknown as Command;
}
