/** `bench`: times the engine's kernels, the conv stack and the training step against peers. */
import { Command, type CommandUnknownOpts, Option } from "npm:@commander-js/extra-typings@15.1.0";
import { runBench, SECTIONS } from "../bench/run.ts";
import { formatReport, rows, targets } from "../bench/report.ts";
import { DEFAULT_STEP_OBJECTIVES } from "../bench/shapes.ts";
import { KEPT_INPUTS_FLAG, parseKeptInputs, WINOGRAD_F4_FLAG } from "./tune_command.ts";

/** Builds the `bench` command. */
export function benchCommand(): CommandUnknownOpts {
  return new Command("bench")
    .description(
      "Benchmark the engine (kernels, conv stack, training step) against PyTorch CPU and TF.js WebGPU",
    )
    .option("--quick", "fewer repetitions per case (about half the time)")
    .option("--json <file>", "also write the results as JSON")
    .option("--no-peers", "skip the PyTorch and TF.js peers")
    .addOption(
      new Option("--only <section>", "run one section only").choices(SECTIONS),
    )
    .option(
      "--match <text>",
      "only kernel cases (and, with --tuning auto or both, stack and step cases) whose id contains this text",
    )
    .addOption(
      new Option(
        "--tuning <mode>",
        "stack and step sections: fixed (the adapter's profile), auto (tuned, using the tuning " +
          'cache), or both in turn (ids of tuned runs end in "tuned")',
      ).choices(["fixed", "auto", "both"] as const).default("fixed" as const),
    )
    .option(
      "--objectives <list>",
      "training-step objectives, comma-separated: original and/or enhanced preset names",
      DEFAULT_STEP_OBJECTIVES.join(","),
    )
    .option(...WINOGRAD_F4_FLAG)
    .option(...KEPT_INPUTS_FLAG)
    .action(async (opts) => {
      const report = await runBench({
        quick: !!opts.quick,
        only: opts.only ? [opts.only] : undefined,
        peers: opts.peers,
        objectives: opts.objectives.split(",").map((o) => o.trim()).filter(Boolean),
        match: opts.match,
        tuning: opts.tuning,
        winogradF4: opts.winogradF4,
        keptInputsMiB: opts.keptInputs === undefined ? undefined : parseKeptInputs(opts.keptInputs),
        log: (l) => console.error(l),
      });
      console.log(formatReport(report));
      if (opts.json) {
        const json = { ...report, rows: rows(report), targets: targets(report) };
        await Deno.writeTextFile(opts.json, JSON.stringify(json, null, 2) + "\n");
        console.log(`Wrote ${opts.json}`);
      }
    });
}
