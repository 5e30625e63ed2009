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

/** One engine for the files without tuning of their own, one per file with it. */
const engines = new Map<GoldenFile, Promise<Engine>>();
let shared: Promise<Engine> | null = null;
function getEngine(file: GoldenFile): Promise<Engine> {
  if (!file.tuning) return shared ??= Engine.create({ tuning: testTuning() });
  let e = engines.get(file);
  if (!e) engines.set(file, e = Engine.create({ tuning: file.tuning }));
  return e;
}

const testOptions = { sanitizeResources: false, sanitizeOps: false };

for (const file of files) {
  for (const c of file.cases) {
    Deno.test({
      name: `golden ${file.family}/${c.name}`,
      ...testOptions,
      fn: async () => runGoldenCase(await getEngine(file), c),
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
    for (const p of [shared, ...engines.values()]) {
      const engine = await p?.catch(() => null);
      engine?.destroy();
    }
  },
});
