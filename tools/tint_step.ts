/**
 * Compiles the kernels of a training step of the demo model (one step with the original
 * objective, one with the `robust` preset) under every tuning profile (engine/tuning.ts), with
 * the workgroup-memory kernels for every GEMM and with the Winograd conv kernels (F2 and F4), which
 * a software adapter never compiles otherwise, so that `WEBGPU_CONDITIONER_WGSL_DUMP=<dir>`
 * collects all of them for tools/tint/validate.mjs:
 *
 *     WEBGPU_CONDITIONER_WGSL_DUMP=/tmp/wgsl deno run -A tools/tint_step.ts
 */
import { Engine } from "../engine/engine.ts";
import { type ProfileName, PROFILES, type TuningOption } from "../engine/tuning.ts";
import { SHARED_TILE } from "../engine/autotune.ts";
import { setupStep, stepObjective, trainStep } from "../bench/step.ts";
import { BATCH, DEMO_MODEL } from "../bench/shapes.ts";

const f2 = { kind: "winograd", winograd: 2 } as const;
const f4 = { kind: "winograd", winograd: 4 } as const;
const setups: [string, TuningOption][] = [
  ...(Object.keys(PROFILES) as ProfileName[]).map((
    p,
  ): [string, TuningOption] => [`${p} profile`, p]),
  ["shared kernels", {
    matmul: SHARED_TILE,
    conv: { fwd: SHARED_TILE, dx: SHARED_TILE, dw: SHARED_TILE },
    budgets: { scalarMaxMacs: 8 },
  }],
  ["winograd F2", { profile: "software", conv: { fwd: f2, dx: f2, dw: f2 } }],
  ["winograd F4", { profile: "software", conv: { fwd: f4, dx: f4, dw: f4 } }],
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
