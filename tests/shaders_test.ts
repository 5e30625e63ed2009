/**
 * Shader plumbing: the generated modules match the `.wgsl` files, code outside the engine brings
 * its own kernels through the registry, and engine/ stays runtime-agnostic.
 */
import assert from "node:assert/strict";
import { Engine } from "../mod.ts";
import { registerShader } from "../engine/kernels.ts";
import { generateModule, SHADER_MODULES } from "../tools/shaders.ts";

const root = new URL("../", import.meta.url);
const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test("the generated shader modules match the .wgsl files", async () => {
  for (const { dir, module } of SHADER_MODULES) {
    const committed = await Deno.readTextFile(new URL(module, root));
    assert.ok(
      committed === await generateModule(dir),
      `${module} is stale: run \`deno task shaders\` after editing ${dir}/*.wgsl`,
    );
  }
});

const TRIPLE = {
  path: "tests/triple.wgsl",
  code: `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(WG)
fn triple(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst[i] = 3.0 * src[i];
}
`,
};

Deno.test("a registered shader runs with the common prelude", opts, async () => {
  const name = registerShader("test_triple", TRIPLE);
  assert.equal(registerShader("test_triple", TRIPLE), name, "the same code registers twice");
  assert.throws(
    () => registerShader("test_triple", { path: "other.wgsl", code: "" }),
    /shader "test_triple" is already registered \(from tests\/triple\.wgsl\)/,
  );
  const e = await Engine.create();
  try {
    const src = e.tensor([1, 2, 3, 4, 5], [5]);
    const dst = e.empty([5]);
    e.run({ file: name, entry: "triple" }, { src, dst }, { n: 5 }, e.grid(5));
    assert.deepEqual([...await dst.read()], [3, 6, 9, 12, 15]);
    assert.throws(
      () => e.run({ file: "no_such_shader", entry: "main" }, {}, {}, [1]),
      /no shader "no_such_shader" \(known: common, .*augment.*test_triple/,
    );
  } finally {
    e.destroy();
  }
});

/** Every .ts file under `dir` (recursively), as paths from the repository root. */
async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(new URL(`${dir}/`, root))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await sources(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

Deno.test("engine/ needs neither Deno, Node nor the conditioner (Deno only behind guards)", async () => {
  const problems: string[] = [];
  for (const path of await sources("engine")) {
    const text = await Deno.readTextFile(new URL(path, root));
    for (const [, spec] of text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
      const inside = spec.startsWith(".") &&
        new URL(spec, new URL(path, root)).href.startsWith(new URL("engine/", root).href);
      if (!inside && !spec.startsWith("npm:")) problems.push(`${path} imports ${spec}`);
    }
    // Deno's API only behind a guard: `(globalThis as ...).Deno?.env`, never a bare `Deno.env`.
    for (const m of text.matchAll(/(?<![.\w])Deno\.\w+/g)) problems.push(`${path} uses ${m[0]}`);
  }
  assert.deepEqual(problems, []);
});
