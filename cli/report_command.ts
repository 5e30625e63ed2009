/** `report`: writes report.html into a run folder (curves, validation fit, configuration). */
import { Command, type CommandUnknownOpts } from "npm:@commander-js/extra-typings@15.1.0";
import { Engine } from "../engine/engine.ts";
import { MODEL_CHOICES } from "../conditioner/predict.ts";
import { writeReport } from "../conditioner/report.ts";
import { readHistory } from "../conditioner/history_view.ts";

/** Builds the `report` command. */
export function reportCommand(): CommandUnknownOpts {
  return new Command("report")
    .description(
      "Write report.html into a run folder: loss and learning-rate curves, R² and RMSE per " +
        "output on the validation split, parity plots, configuration and timing",
    )
    .requiredOption("--run <dir>", "run folder written by `train`")
    .option("--model <which>", `model to evaluate: ${MODEL_CHOICES.join(" or ")}`, "best")
    .action(async (opts) => {
      const which = opts.model;
      if (which !== "best" && which !== "last") {
        throw new Error(`option '--model' must be ${MODEL_CHOICES.join(" or ")} (got '${which}')`);
      }
      // Checked before the GPU starts: the folder and its history.
      if (!(await Deno.stat(opts.run).catch(() => null))?.isDirectory) {
        throw new Error(`option '--run': ${opts.run} is not a folder`);
      }
      await readHistory(opts.run);
      const engine = await Engine.create();
      try {
        const path = await writeReport(engine, opts.run, { which });
        console.log(`Wrote ${path}`);
      } finally {
        await engine.close();
      }
    });
}
