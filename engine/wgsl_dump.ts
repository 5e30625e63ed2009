/**
 * Opt-in dump of the specialised kernel sources (defines prepended, `// #for` blocks expanded),
 * so that other WGSL compilers can check exactly what the engine compiles
 * (tools/tint/validate.mjs runs Dawn's Tint over them). With `WEBGPU_CONDITIONER_WGSL_DUMP=<dir>`
 * set, each distinct source that compiled is written once to `<dir>/<shader>-<content hash>.wgsl`.
 * Does nothing when the variable is unset, unreadable or the runtime is not Deno.
 */

/** The environment variable naming the dump folder. */
export const WGSL_DUMP_VAR = "WEBGPU_CONDITIONER_WGSL_DUMP";

const written = new Set<string>();
let folder: string | null | undefined;

function dumpFolder(): string | null {
  if (folder !== undefined) return folder;
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  try {
    folder = deno?.env.get(WGSL_DUMP_VAR) || null;
  } catch {
    folder = null; // no env permission
  }
  if (folder) deno!.mkdirSync(folder, { recursive: true });
  return folder;
}

/** Two 32-bit FNV-1a hashes (different offset bases) as 16 hex digits; names files only. */
function contentHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  const hex = (x: number) => (x >>> 0).toString(16).padStart(8, "0");
  return hex(a) + hex(b);
}

/** Writes `code`, the compiled source of shader file `file`, to the dump folder if one is set. */
export function dumpWgsl(code: string, file: string): void {
  const dir = dumpFolder();
  if (!dir) return;
  const stem = file.replace(/^.*\//, "").replace(/\.wgsl$/, "");
  const name = `${stem}-${contentHash(code)}.wgsl`;
  if (written.has(name)) return;
  written.add(name);
  (globalThis as unknown as { Deno: typeof Deno }).Deno.writeTextFileSync(`${dir}/${name}`, code);
}
