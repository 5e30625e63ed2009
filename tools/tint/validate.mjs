// Validates WGSL kernels with Dawn's shader compiler (Tint), the one Chrome and Node's `webgpu`
// package use, which checks some rules more strictly than wgpu's naga (Deno).
//
//   node tools/tint/validate.mjs DIR...
//
// DIR holds kernel sources dumped by the engine (WEBGPU_CONDITIONER_WGSL_DUMP=DIR, see
// engine/wgsl_dump.ts). Every file is compiled into a shader module and a compute pipeline for
// each of its `@compute` entry points on Dawn's null backend (full validation, no execution) with
// WebGPU's default limits, which every adapter offers (8 storage buffers and 4 storage textures
// per stage, 256 invocations and 16 KiB of workgroup memory per workgroup, ...). Prints each
// failure as `file: entry: message` and exits with 1 if there was one (or no file at all).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { create, globals } from "webgpu";

Object.assign(globalThis, globals);

const dirs = process.argv.slice(2);
if (!dirs.length) {
  console.error("usage: node tools/tint/validate.mjs DIR...");
  process.exit(2);
}

const gpu = create(["backend=null"]);
const adapter = await gpu.requestAdapter();
if (!adapter) throw new Error("Dawn's null backend gave no adapter");
const device = await adapter.requestDevice();
device.addEventListener("uncapturederror", (e) => failures.push(`uncaptured: ${e.error.message}`));

/** Entry points of a module: `@compute` functions (attributes may span lines). */
function computeEntries(code) {
  return [...code.matchAll(/@compute\b[^{;]*?\bfn\s+(\w+)/g)].map((m) => m[1]);
}

function formatMessages(messages) {
  return messages.map((m) => `line ${m.lineNum}:${m.linePos}: ${m.message}`).join("\n  ");
}

const failures = [];
const warnings = new Map();
let files = 0;
let entries = 0;
for (const dir of dirs) {
  for (const name of readdirSync(dir).filter((f) => f.endsWith(".wgsl")).sort()) {
    const path = join(dir, name);
    const code = readFileSync(path, "utf8");
    files++;
    device.pushErrorScope("validation");
    const module = device.createShaderModule({ code, label: name });
    const info = await module.getCompilationInfo();
    const moduleError = await device.popErrorScope();
    const errors = info.messages.filter((m) => m.type === "error");
    for (const m of info.messages.filter((m) => m.type !== "error")) {
      const key = `${m.type}: ${name.replace(/-[0-9a-f]{16}\.wgsl$/, ".wgsl")}: ${m.message}`;
      warnings.set(key, (warnings.get(key) ?? 0) + 1);
    }
    if (errors.length || moduleError) {
      failures.push(`${path}: ${formatMessages(errors) || moduleError.message}`);
      continue;
    }
    for (const entry of computeEntries(code)) {
      entries++;
      try {
        await device.createComputePipelineAsync({
          label: `${name}:${entry}`,
          layout: "auto",
          compute: { module, entryPoint: entry },
        });
      } catch (e) {
        failures.push(`${path}: ${entry}: ${e.message}`);
      }
    }
  }
}
device.destroy();

for (const [w, n] of warnings) console.log(`tint ${w} (${n} files)`);
if (!files) failures.push(`no .wgsl files in ${dirs.join(", ")}`);
for (const f of failures) console.error(`tint: ${f}`);
console.log(
  `tint: ${files} kernel sources, ${entries} entry points, ${failures.length} failures`,
);
process.exit(failures.length ? 1 : 0);
