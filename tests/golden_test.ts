/**
 * Checks every op against PyTorch (tests/golden_cases.ts) on the engine's WebGPU: forward values
 * and gradients, one test per case.
 */
import assert from "node:assert/strict";
import { Engine } from "../mod.ts";
import { FAMILIES, type GoldenFile, OPS, runGoldenCase } from "./golden_cases.ts";
import { testTuning } from "./helpers.ts";

async function loadFamily(family: string): Promise<GoldenFile> {
  const url = new URL(`./golden/${family}.json`, import.meta.url);
  return JSON.parse(await Deno.readTextFile(url)) as GoldenFile;
}

const files = await Promise.all(FAMILIES.map(loadFamily));

let enginePromise: Promise<Engine> | null = null;
function getEngine(): Promise<Engine> {
  return enginePromise ??= Engine.create({ tuning: testTuning() });
}

const testOptions = { sanitizeResources: false, sanitizeOps: false };

for (const file of files) {
  for (const c of file.cases) {
    Deno.test({
      name: `golden ${file.family}/${c.name}`,
      ...testOptions,
      fn: async () => runGoldenCase(await getEngine(), c),
    });
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
