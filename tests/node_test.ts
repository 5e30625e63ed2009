/**
 * The bundle in Node: builds `dist/webgpu-conditioner.js`, installs `examples/node/` (Dawn's npm
 * `webgpu` package, pinned by its package-lock.json) and runs its tiny regression on SwiftShader's
 * Vulkan driver. Needs Node with npm and SwiftShader's ICD (Chromium's package ships it; the
 * SWIFTSHADER_ICD variable names another).
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const EXAMPLE = new URL("examples/node/", ROOT);
const ICD = Deno.env.get("SWIFTSHADER_ICD") ?? "/usr/lib/chromium/vk_swiftshader_icd.json";

/** Runs a command; throws with its output unless it succeeds. Returns stdout. */
async function run(command: string, args: string[], options: Deno.CommandOptions = {}) {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(command, { ...options, args }).output();
  } catch (e) {
    throw new Error(
      `cannot run ${command} (needed by tests/node_test.ts): ${(e as Error).message}`,
    );
  }
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")} failed:\n${text(out.stdout)}${text(out.stderr)}`);
  }
  return text(out.stdout);
}

Deno.test("the bundle trains in Node with the webgpu package (examples/node)", async () => {
  if (!await Deno.stat(ICD).then(() => true, () => false)) {
    throw new Error(
      `tests/node_test.ts needs SwiftShader's Vulkan driver: ${ICD} is missing ` +
        "(`apt-get install -y chromium` ships it, or set SWIFTSHADER_ICD)",
    );
  }
  await run(Deno.execPath(), ["task", "bundle"], { cwd: ROOT });
  await run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: EXAMPLE });
  const stdout = await run("node", ["tiny_regression.js"], {
    cwd: EXAMPLE,
    env: { VK_ICD_FILENAMES: ICD, VK_DRIVER_FILES: ICD },
  });
  assert.match(stdout, /^adapter: .*SwiftShader/im);
  const losses = [...stdout.matchAll(/^step (\d+): loss ([\d.]+)$/gm)].map((m) => Number(m[2]));
  assert.equal(losses.length, 6, stdout);
  assert.ok(losses[5] < 0.5 * losses[0], `loss ${losses[0]} -> ${losses[5]} did not halve`);
});
