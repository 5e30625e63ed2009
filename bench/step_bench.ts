/**
 * `deno task bench:cases` case for a training step of the demo conditioner (filters 8 16 32 64, 64x64
 * images, batch 16, original objective), as conditioner/train.ts runs it.
 */
import { Engine } from "../engine/engine.ts";
import { setupStep, trainStep } from "./step.ts";
import { originalObjective } from "../conditioner/objective.ts";
import { BATCH, DEMO_MODEL } from "./shapes.ts";

const e = await Engine.create({ seed: 0 });
const setup = setupStep(e, {
  id: "step demo",
  batch: BATCH,
  imageSize: DEMO_MODEL.imageSize,
  filters: [...DEMO_MODEL.filters],
  objective: "original",
}, originalObjective);

Deno.bench({
  name: `training step demo (batch ${BATCH} @${DEMO_MODEL.imageSize}px)`,
  warmup: 1,
  n: 5,
  fn: async () => {
    e.tidy(() => trainStep(setup));
    await e.sync();
  },
});
