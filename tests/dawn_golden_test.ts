/**
 * The golden op cases on Dawn, Chrome's WebGPU implementation (its own WGSL compiler, Tint):
 * tests/dawn/golden_entry.ts is bundled and run by Node with npm `webgpu` (installed from
 * examples/node's lockfile) on SwiftShader's Vulkan driver. Needs Node with npm and SwiftShader's
 * ICD (Chromium's package ships it; the SWIFTSHADER_ICD variable names another).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FAMILIES } from "./golden_cases.ts";

const ROOT = new URL("../", import.meta.url);
const NODE_EXAMPLE = new URL("examples/node/", ROOT).pathname;
const ICD = Deno.env.get("SWIFTSHADER_ICD") ?? "/usr/lib/chromium/vk_swiftshader_icd.json";

/** Node's side: loads Dawn, the bundled cases and the fixtures, prints the report as JSON. */
const RUNNER = `
import { readFileSync } from "node:fs";
import { create, globals } from "webgpu";
Object.assign(globalThis, globals); // GPUBufferUsage and the other WebGPU constants
const { runGolden } = await import("./golden.js");
const files = JSON.parse(readFileSync(process.argv[2], "utf8"));
const report = await runGolden(create([]), files);
console.log(JSON.stringify(report));
process.exit(0);
`;

/** Runs a command; throws with its output unless it succeeds. Returns stdout. */
async function run(command: string, args: string[], options: Deno.CommandOptions = {}) {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(command, { ...options, args }).output();
  } catch (e) {
    throw new Error(`cannot run ${command} (needed by tests/dawn_golden_test.ts): ${e}`);
  }
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")} failed:\n${text(out.stdout)}${text(out.stderr)}`);
  }
  return text(out.stdout);
}

Deno.test("golden op cases pass on Dawn (Node, npm webgpu, SwiftShader)", async () => {
  if (!await Deno.stat(ICD).then(() => true, () => false)) {
    throw new Error(
      `tests/dawn_golden_test.ts needs SwiftShader's Vulkan driver: ${ICD} is missing ` +
        "(`apt-get install -y chromium` ships it, or set SWIFTSHADER_ICD)",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "dawn-golden-" });
  try {
    await run(Deno.execPath(), [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "-o",
      join(dir, "golden.js"),
      new URL("dawn/golden_entry.ts", import.meta.url).pathname,
    ]);
    await run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: NODE_EXAMPLE });
    await Deno.symlink(join(NODE_EXAMPLE, "node_modules"), join(dir, "node_modules"));
    await Deno.writeTextFile(join(dir, "runner.mjs"), RUNNER);
    const files = await Promise.all(
      FAMILIES.map(async (f) =>
        JSON.parse(await Deno.readTextFile(new URL(`golden/${f}.json`, import.meta.url)))
      ),
    );
    await Deno.writeTextFile(join(dir, "golden.json"), JSON.stringify(files));
    const stdout = await run("node", ["runner.mjs", "golden.json"], {
      cwd: dir,
      env: { VK_ICD_FILENAMES: ICD, VK_DRIVER_FILES: ICD },
    });
    const report = JSON.parse(stdout.trim().split("\n").at(-1)!);
    assert.match(report.adapter, /SwiftShader/);
    assert.deepEqual(report.failures, []);
    const cases = files.reduce((n: number, f: { cases: unknown[] }) => n + f.cases.length, 0);
    assert.equal(report.passed, cases);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
