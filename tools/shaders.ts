/**
 * Generates the TypeScript modules that carry the WGSL kernels (`deno task shaders`), so the
 * engine finds its shaders whether it is imported from a file, a URL or a bundle. Run it after
 * editing any `.wgsl` file; `tests/shaders_test.ts` fails while a generated module is stale.
 */

/** Each folder of WGSL files and the module generated from it (paths from the repository root). */
export const SHADER_MODULES = [
  { dir: "shaders", module: "engine/shaders.generated.ts" },
  { dir: "conditioner/shaders", module: "conditioner/shaders.generated.ts" },
] as const;

const ROOT = new URL("../", import.meta.url);

/** A template literal holding `text` verbatim. */
function templateLiteral(text: string): string {
  return "`" + text.replace(/[\\`]/g, (c) => "\\" + c).replace(/\$\{/g, "\\${") + "`";
}

/** The module's text for the `.wgsl` files of `dir`, in file-name order. */
export async function generateModule(dir: string): Promise<string> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(new URL(`${dir}/`, ROOT))) {
    if (!entry.isFile || !entry.name.endsWith(".wgsl")) continue;
    const name = entry.name.slice(0, -5);
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
      throw new Error(`${dir}/${entry.name}: name a shader in snake_case`);
    }
    names.push(name);
  }
  names.sort();
  const lines = [
    `// Generated from ${dir}/*.wgsl by \`deno task shaders\` (tools/shaders.ts). Do not edit.`,
    "",
    `/** The WGSL files of ${dir}/ by name (without extension): path and text. */`,
    "export const WGSL = {",
  ];
  for (const name of names) {
    const code = await Deno.readTextFile(new URL(`${dir}/${name}.wgsl`, ROOT));
    lines.push(`  ${name}: {`);
    lines.push(`    path: ${JSON.stringify(`${dir}/${name}.wgsl`)},`);
    lines.push(`    code: ${templateLiteral(code)},`);
    lines.push("  },");
  }
  lines.push("};", "");
  return lines.join("\n");
}

if (import.meta.main) {
  for (const { dir, module } of SHADER_MODULES) {
    const text = await generateModule(dir);
    const path = new URL(module, ROOT);
    const old = await Deno.readTextFile(path).catch(() => "");
    if (old !== text) await Deno.writeTextFile(path, text);
    console.log(`${module}: ${old === text ? "up to date" : "written"}`);
  }
}
