/**
 * Compiles the kernels of a training step of the demo model (one step with the original
 * objective, one with the `robust` preset) under every tuning profile (engine/tuning.ts) and with
 * the Winograd conv kernels, which a software adapter never compiles otherwise, so that
 * `WEBGPU_CONDITIONER_WGSL_DUMP=<dir>` collects all of them for tools/tint/validate.mjs:
 *
 *     WEBGPU_CONDITIONER_WGSL_DUMP=/tmp/wgsl deno run -A tools/tint_step.ts
 */
import { Engine } from "../engine/engine.ts";
import { type ProfileName, PROFILES, type TuningOption } from "../engine/tuning.ts";
import { setupStep, stepObjective, trainStep } from "../bench/step.ts";
import { BATCH, DEMO_MODEL } from "../bench/shapes.ts";

const winograd = { kind: "winograd" } as const;
/** Every profile, and the software one with each conv kernel as Winograd (shaders/winograd.wgsl). */
const tunings: [string, TuningOption][] = [
  ...(Object.keys(PROFILES) as ProfileName[]).map((p): [string, TuningOption] => [p, p]),
  ["winograd", { profile: "software", conv: { fwd: winograd, dx: winograd, dw: winograd } }],
];

for (const [profile, tuning] of tunings) {
  const e = await Engine.create({ seed: 0, tuning });
  try {
    for (const name of ["original", "robust"]) {
      const objective = stepObjective(name)(e);
      const spec = { id: name, batch: BATCH, ...DEMO_MODEL, filters: [...DEMO_MODEL.filters] };
      const setup = setupStep(e, { ...spec, objective: name }, objective);
      e.tidy(() => trainStep(setup));
      await e.sync();
      console.log(`step: ${name} objective, ${profile} profile: ${e.kernels.size} kernels`);
    }
  } finally {
    e.destroy();
  }
}
