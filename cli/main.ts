/** Command-line entry point: `deno task train`, `predict`, `info`, `demo-data`. */
import { Command } from "npm:@commander-js/extra-typings@15.1.0";
import { trainCommand } from "./train_command.ts";
import { predictCommand } from "./predict_command.ts";
import { infoCommand } from "./info_command.ts";
import { demoDataCommand } from "./demo_data_command.ts";
import { benchCommand } from "./bench_command.ts";
import { compareCommand } from "./compare_command.ts";

const program = new Command("webgpu-conditioner")
  .description("Train SimulGen-VAE's CNN latent conditioner on WebGPU")
  .version("0.1.0")
  .showHelpAfterError();
program.addCommand(trainCommand());
program.addCommand(predictCommand());
program.addCommand(infoCommand());
program.addCommand(demoDataCommand());
program.addCommand(benchCommand());
program.addCommand(compareCommand());

try {
  await program.parseAsync(Deno.args, { from: "user" });
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  Deno.exit(1);
}
