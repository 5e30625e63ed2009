/**
 * Compiles the kernels of a training step of the demo model (one step with the original
 * objective, one with the `robust` preset) with the software tiling and then with the hardware
 * tiling, which a software adapter never compiles otherwise, so that
 * `WEBGPU_CONDITIONER_WGSL_DUMP=<dir>` collects all of them for tools/tint/validate.mjs:
 *
 *     WEBGPU_CONDITIONER_WGSL_DUMP=/tmp/wgsl deno run -A tools/tint_step.ts
 */
import { Engine } from "../engine/engine.ts";
import { convTiles } from "../engine/ops/conv.ts";
import { matmulTiling } from "../engine/ops/matmul.ts";
import { setupStep, stepObjective, trainStep } from "../bench/step.ts";
import { BATCH, DEMO_MODEL } from "../bench/shapes.ts";

const software = { conv: convTiles.software, matmul: matmulTiling.software };
const e = await Engine.create({ seed: 0 });
try {
  for (const tiling of ["software", "hardware"] as const) {
    convTiles.software = convTiles[tiling];
    matmulTiling.software = matmulTiling[tiling];
    for (const name of ["original", "robust"]) {
      const objective = stepObjective(name)(e);
      const spec = { id: name, batch: BATCH, ...DEMO_MODEL, filters: [...DEMO_MODEL.filters] };
      const setup = setupStep(e, { ...spec, objective: name }, objective);
      e.tidy(() => trainStep(setup));
      await e.sync();
      console.log(`step: ${name} objective, ${tiling} tiling: ${e.kernels.size} kernels so far`);
    }
  }
} finally {
  convTiles.software = software.conv;
  matmulTiling.software = software.matmul;
  e.destroy();
}
