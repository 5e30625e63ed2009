/** Command-line entry point: `deno task train`, `predict`, `report`, `compare`, `info`, `demo-data`, `bench`, `tune`. */
import { Command } from "npm:@commander-js/extra-typings@15.1.0";
import { trainCommand } from "./train_command.ts";
import { predictCommand } from "./predict_command.ts";
import { infoCommand } from "./info_command.ts";
import { demoDataCommand } from "./demo_data_command.ts";
import { benchCommand } from "./bench_command.ts";
import { compareCommand } from "./compare_command.ts";
import { reportCommand } from "./report_command.ts";
import { tuneCommand } from "./tune_command.ts";

const program = new Command("webgpu-conditioner")
  .description("Train SimulGen-VAE's CNN latent conditioner on WebGPU")
  .version("0.1.0")
  .showHelpAfterError();
program.addCommand(trainCommand());
program.addCommand(predictCommand());
program.addCommand(reportCommand());
program.addCommand(infoCommand());
program.addCommand(demoDataCommand());
program.addCommand(benchCommand());
program.addCommand(compareCommand());
program.addCommand(tuneCommand());

try {
  await program.parseAsync(Deno.args, { from: "user" });
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  // Not Deno.exit(1): it ends the process at once, and ending it while Mesa's lavapipe still runs
  // queued GPU work crashed it now and then (exit code 139 after the message). Returning lets the
  // runtime shut down in order; should something keep the event loop alive, the timer ends it.
  Deno.exitCode = 1;
  Deno.unrefTimer(setTimeout(() => Deno.exit(1), 5000));
}
