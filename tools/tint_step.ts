/**
 * Compiles the kernels of a training step of the demo model (one step with the original
 * objective, one with the `robust` preset) under every tuning profile (engine/tuning.ts) and
 * with the workgroup-memory kernels for every GEMM (the autotuner's other family), which a
 * software adapter never compiles otherwise, so that `WEBGPU_CONDITIONER_WGSL_DUMP=<dir>`
 * collects all of them for tools/tint/validate.mjs:
 *
 *     WEBGPU_CONDITIONER_WGSL_DUMP=/tmp/wgsl deno run -A tools/tint_step.ts
 */
import { Engine } from "../engine/engine.ts";
import { PROFILES, type TuningOption } from "../engine/tuning.ts";
import { SHARED_TILE } from "../engine/autotune.ts";
import { setupStep, stepObjective, trainStep } from "../bench/step.ts";
import { BATCH, DEMO_MODEL } from "../bench/shapes.ts";

const setups: [string, TuningOption][] = [
  ...Object.keys(PROFILES).map((p) => [`${p} profile`, p] as [string, TuningOption]),
  ["shared kernels", {
    matmul: SHARED_TILE,
    conv: { fwd: SHARED_TILE, dx: SHARED_TILE, dw: SHARED_TILE },
    budgets: { scalarMaxMacs: 8 },
  }],
];

for (const [label, tuning] of setups) {
  const e = await Engine.create({ seed: 0, tuning });
  try {
    for (const name of ["original", "robust"]) {
      const objective = stepObjective(name)(e);
      const spec = { id: name, batch: BATCH, ...DEMO_MODEL, filters: [...DEMO_MODEL.filters] };
      const setup = setupStep(e, { ...spec, objective: name }, objective);
      e.tidy(() => trainStep(setup));
      await e.sync();
      console.log(`step: ${name} objective, ${label}: ${e.kernels.size} kernels`);
    }
  } finally {
    e.destroy();
  }
}
