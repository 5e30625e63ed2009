/** WEBGPU_CONDITIONER_WGSL_DUMP: the specialised kernel sources an engine compiles, once each. */
import assert from "node:assert/strict";

const script = `
import { add, Engine, mul } from "${new URL("../mod.ts", import.meta.url).href}";
const e = await Engine.create();
const a = e.ones([5]);
await e.read(add(a, a));
await e.read(mul(a, a));
await e.read(add(a, a));
e.destroy();
`;

async function runWithDump(dir: string): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    env: { WEBGPU_CONDITIONER_WGSL_DUMP: dir },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

Deno.test("the WGSL dump writes each compiled source once, named by shader and content", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await runWithDump(dir);
    const names = [...Deno.readDirSync(dir)].map((f) => f.name).sort();
    // add and mul are one entry point of shaders/elementwise.wgsl with two op codes (defines).
    assert.equal(names.length, 2, names.join(", "));
    for (const n of names) assert.match(n, /^elementwise-[0-9a-f]{16}\.wgsl$/);
    const sources = names.map((n) => Deno.readTextFileSync(`${dir}/${n}`));
    for (const s of sources) assert.ok(s.includes("fn binary_same"));
    // Defines come first, then the prelude (shaders/common.wgsl), then the file.
    for (const s of sources) assert.match(s, /^const \w+: /);
    await runWithDump(dir);
    assert.deepEqual([...Deno.readDirSync(dir)].map((f) => f.name).sort(), names);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
