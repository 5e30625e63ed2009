/**
 * Checks every op against PyTorch: forward values and the gradients of sum(output * R) for a
 * random R (the cases and runner are in tests/golden_runner.ts).
 */
import assert from "node:assert/strict";
import { Engine } from "../mod.ts";
import { FAMILIES, loadFamily, OPS, runGoldenCase } from "./golden_runner.ts";
import { testTuning } from "./helpers.ts";

const files = await Promise.all(FAMILIES.map(loadFamily));

let enginePromise: Promise<Engine> | null = null;
function getEngine(): Promise<Engine> {
  return enginePromise ??= Engine.create({ tuning: testTuning() });
}

const testOptions = { sanitizeResources: false, sanitizeOps: false };

async function runCase(c: Parameters<typeof runGoldenCase>[1]): Promise<void> {
  await runGoldenCase(await getEngine(), c);
}

for (const file of files) {
  for (const c of file.cases) {
    Deno.test({ name: `golden ${file.family}/${c.name}`, ...testOptions, fn: () => runCase(c) });
  }
}

Deno.test({
  name: "golden: fixtures cover every op of the dispatch table",
  fn() {
    const seen = new Set(files.flatMap((f) => f.cases.map((c) => c.op)));
    const missing = Object.keys(OPS).filter((op) => !seen.has(op));
    assert.deepEqual(missing, [], `ops without golden cases: ${missing.join(", ")}`);
    const names = files.flatMap((f) => f.cases.map((c) => c.name));
    assert.equal(new Set(names).size, names.length, "case names are unique");
  },
});

Deno.test({
  name: "golden: destroy engine",
  ...testOptions,
  async fn() {
    if (!enginePromise) return;
    const engine = await enginePromise.catch(() => null);
    engine?.destroy();
  },
});
