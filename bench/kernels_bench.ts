/**
 * `deno task bench:cases` cases for the engine's hottest kernels (the `bench` command runs the full
 * suite with peers): matmul 512^3 and the reference conv 3x3 64->64 on [32, 64, 64, 64], forward
 * and both gradients. Each iteration records the kernel and waits for the GPU.
 */
import { Engine } from "../engine/engine.ts";
import { convRunner, matmulRunner } from "./kernels.ts";
import { MATMULS, REFERENCE_CONV } from "./shapes.ts";

const e = await Engine.create({ seed: 0 });
const mm = matmulRunner(e, MATMULS.find((m) => m.id === "matmul 512^3")!);
const convs = (["fwd", "dx", "dw"] as const).map((d) => convRunner(e, REFERENCE_CONV, d));

/** One run of a case including the wait for the GPU (~11 ms of sync on llvmpipe). */
async function once(run: () => void): Promise<void> {
  e.tidy(run);
  await e.sync();
}

Deno.bench({
  name: "matmul 512^3",
  group: "matmul",
  warmup: 2,
  n: 10,
  fn: () => once(mm.run),
});

for (const c of convs) {
  Deno.bench({
    name: `conv ${c.label}`,
    group: "conv",
    baseline: c.label.endsWith("fwd"),
    warmup: 1,
    n: 3,
    fn: () => once(c.run),
  });
}
