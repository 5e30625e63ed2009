/**
 * Compute kernels: WGSL files (the engine's `shaders/` and any registered), specialised by
 * prepended constants, reflected with wgsl_reflect (so bindings and uniform layouts are read from
 * the shader, never written by hand), compiled once and cached.
 */
import { compilePipeline } from "./compile.ts";
import { dumpWgsl } from "./wgsl_dump.ts";
// The package's CommonJS main does not load in Deno; its ES module build carries no types entry.
// @ts-types="npm:wgsl_reflect@1.6.0/types/index.d.ts"
import { WgslReflect } from "npm:wgsl_reflect@1.6.0/wgsl_reflect.module.js";
import { WGSL } from "./shaders.generated.ts";

/** A WGSL source file: where it comes from (named in errors) and its text. */
export interface ShaderSource {
  /** Path from the repository root, e.g. "shaders/matmul.wgsl". */
  path: string;
  /** The WGSL text. */
  code: string;
}

/**
 * Shaders a {@link KernelSpec} can name: the engine's own (`shaders/`, carried by the generated
 * module) and those registered with {@link registerShader}. `common` is a prelude (thread
 * indexing, Philox RNG) prepended to every other file.
 */
const shaders = new Map<string, ShaderSource>(Object.entries(WGSL));

/**
 * Makes a shader nameable by {@link KernelSpec.file}: how code outside the engine (the
 * conditioner's augmentation and fused loss) brings its own kernels. Returns `name`. Registering
 * a name again with different code is an error.
 */
export function registerShader(name: string, source: ShaderSource): string {
  const known = shaders.get(name);
  if (known && known.code !== source.code) {
    throw new Error(`shader "${name}" is already registered (from ${known.path})`);
  }
  shaders.set(name, source);
  return name;
}

/** Which kernel to run: file, entry point and compile-time constants. */
export interface KernelSpec {
  /** A shader name: a file of `shaders/` without extension, or a registered name. */
  file: string;
  entry: string;
  /** Prepended as `const NAME: u32 = v;` (or `f32`/`bool`); kernels are cached per set. */
  defines?: Record<string, number | boolean>;
}

/** Scalar kinds a uniform member can have. */
type ScalarKind = "u32" | "i32" | "f32";

interface UniformMember {
  offset: number;
  kind: ScalarKind;
  /** Number of scalars (vectors and arrays are flattened). */
  count: number;
}

/** A compiled kernel and what reflection told us about it. */
export interface Kernel {
  /** `file:entry{defines}` — used in error messages. */
  name: string;
  file: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** Storage buffers and storage textures used by the entry point, by variable name. */
  storage: Map<string, { binding: number; readOnly: boolean }>;
  /** The uniform binding, if the entry point uses one. */
  uniform?: { binding: number; size: number; members: Map<string, UniformMember> };
  workgroupSize: [number, number, number];
}

function scalarKind(typeName: string): ScalarKind {
  if (typeName === "u32" || typeName === "i32" || typeName === "f32") return typeName;
  throw new Error(`unsupported uniform scalar type ${typeName}`);
}

// deno-lint-ignore no-explicit-any
function flattenMember(type: any): { kind: ScalarKind; count: number } {
  const name: string = type.name;
  if (name === "array") {
    const inner = flattenMember(type.format);
    return { kind: inner.kind, count: inner.count * type.count };
  }
  const vec = /^vec([234])(<(\w+)>)?$/.exec(name) ?? /^vec([234])([uif])$/.exec(name);
  if (vec) {
    const inner = type.format?.name ??
      ({ u: "u32", i: "i32", f: "f32" } as Record<string, string>)[vec[2]];
    return { kind: scalarKind(inner), count: Number(vec[1]) };
  }
  return { kind: scalarKind(name), count: 1 };
}

/**
 * Expands repeat blocks, which keep register-blocked kernels free of loops over their register
 * tiles (llvmpipe keeps such loops' arrays in memory, several times slower than named values):
 *
 *     // #for i < BM, j < BN
 *     acc$i_$j += a$i * b$j;
 *     // #end
 *
 * copies the lines between the markers once per (i, j), replacing `$i` and `$j` by the values;
 * a bound is an integer or a define. Variables are single lowercase letters; blocks may nest.
 */
export function expandRepeats(text: string, defines: Record<string, number | boolean>): string {
  const lines = text.split("\n");
  const out: string[] = [];
  let i = 0;
  const expand = (body: string[], vars: Record<string, number>): string[] =>
    body.map((l) => l.replace(/\$([a-z])/g, (m, v) => (v in vars ? String(vars[v]) : m)));
  while (i < lines.length) {
    const head = /^\s*\/\/ #for (.+)$/.exec(lines[i]);
    if (!head) {
      if (/^\s*\/\/ #end\s*$/.test(lines[i])) throw new Error(`line ${i + 1}: #end without #for`);
      out.push(lines[i++]);
      continue;
    }
    const start = i;
    let depth = 1;
    const body: string[] = [];
    for (i++; i < lines.length; i++) {
      if (/^\s*\/\/ #for /.test(lines[i])) depth++;
      if (/^\s*\/\/ #end\s*$/.test(lines[i]) && --depth === 0) break;
      body.push(lines[i]);
    }
    if (depth !== 0) throw new Error(`line ${start + 1}: #for without #end`);
    i++;
    const loops = head[1].split(",").map((part) => {
      const m = /^\s*([a-z])\s*<\s*(\w+)\s*$/.exec(part);
      if (!m) throw new Error(`line ${start + 1}: bad repeat "${part.trim()}" (want "i < N")`);
      const bound = /^\d+$/.test(m[2]) ? Number(m[2]) : defines[m[2]];
      if (typeof bound !== "number") {
        throw new Error(`line ${start + 1}: repeat bound ${m[2]} is not a numeric define`);
      }
      return { name: m[1], bound };
    });
    let combos: Record<string, number>[] = [{}];
    for (const { name, bound } of loops) {
      combos = combos.flatMap((c) =>
        Array.from({ length: bound }, (_, v) => ({ ...c, [name]: v }))
      );
    }
    // Nested blocks see the outer values substituted first, then expand themselves.
    const inner = expandRepeats(body.join("\n"), defines);
    for (const vars of combos) out.push(...expand(inner.split("\n"), vars));
  }
  return out.join("\n");
}

function defineLines(defines: Record<string, number | boolean> = {}): string {
  return Object.entries(defines).map(([k, v]) => {
    if (typeof v === "boolean") return `const ${k}: bool = ${v};`;
    if (Number.isInteger(v) && v >= 0) return `const ${k}: u32 = ${v}u;`;
    return `const ${k}: f32 = ${v};`;
  }).join("\n");
}

/** Builds and caches pipelines; validation and compile errors name the kernel and file. */
export class KernelCache {
  #device: GPUDevice;
  #cache = new Map<string, Kernel>();
  /** Compile results of new pipelines (an Error or null), checked at the next sync point. */
  pendingErrors: Promise<Error | null>[] = [];
  /** Where kernels run and what to do when one does not compile there (named in that error). */
  target: { name: string; advice: string } = { name: "this device", advice: "" };
  /** Kernels whose compilation failed, by name: asking for one again throws at once. */
  #failed = new Map<string, Error>();

  /** Constants every kernel gets (the prelude's `WG`), from the engine's tuning. */
  readonly prelude: Record<string, number>;

  constructor(device: GPUDevice, prelude: Record<string, number> = { WG: 64 }) {
    this.#device = device;
    this.prelude = prelude;
  }

  get size(): number {
    return this.#cache.size;
  }

  get(spec: KernelSpec): Kernel {
    const defs = spec.defines ?? {};
    const key = `${spec.file}:${spec.entry}${JSON.stringify(defs)}`;
    const failure = this.#failed.get(key);
    if (failure) throw failure;
    const hit = this.#cache.get(key);
    if (hit) return hit;
    const kernel = this.#build(spec, key);
    this.#cache.set(key, kernel);
    return kernel;
  }

  #build(spec: KernelSpec, name: string): Kernel {
    const source = shaders.get(spec.file);
    if (!source) {
      throw new Error(
        `kernel ${name}: no shader "${spec.file}" (known: ${[...shaders.keys()].join(", ")})`,
      );
    }
    const file = source.path;
    const prefix = defineLines(spec.defines) + "\n" + defineLines(this.prelude) + "\n" +
      WGSL.common.code + "\n";
    const prefixLines = prefix.split("\n").length - 1;
    let code: string;
    try {
      code = prefix + expandRepeats(source.code, spec.defines ?? {});
    } catch (e) {
      throw new Error(`kernel ${name}: ${file}: ${(e as Error).message}`);
    }
    let reflect: WgslReflect;
    try {
      reflect = new WgslReflect(code);
    } catch (e) {
      throw new Error(`kernel ${name}: ${file} does not parse: ${(e as Error).message}`);
    }
    const entry = reflect.entry.compute.find((e) => e.name === spec.entry);
    if (!entry) {
      throw new Error(`kernel ${name}: ${file} has no compute entry point "${spec.entry}"`);
    }
    const used = new Set(entry.resources.map((r) => r.name));

    const storage = new Map<string, { binding: number; readOnly: boolean }>();
    for (const s of reflect.storage) {
      if (!used.has(s.name)) continue;
      if (s.group !== 0) throw new Error(`kernel ${name}: ${file}: only @group(0) is supported`);
      storage.set(s.name, { binding: s.binding, readOnly: String(s.access) !== "read_write" });
    }
    let uniform: Kernel["uniform"];
    for (const u of reflect.uniforms) {
      if (!used.has(u.name)) continue;
      const members = new Map<string, UniformMember>();
      // deno-lint-ignore no-explicit-any
      for (const m of (u.type as any).members ?? []) {
        members.set(m.name, { offset: m.offset, ...flattenMember(m.type) });
      }
      uniform = { binding: u.binding, size: u.size, members };
    }

    const device = this.#device;
    const { pipeline, outcome } = compilePipeline(device, code, spec.entry, name, prefixLines);
    this.pendingErrors.push(outcome.then((message) => {
      if (message === null) {
        dumpWgsl(code, file);
        return null;
      }
      const { advice: fix } = this.target;
      const advice = fix ? `\nOther backends may compile it: ${fix}.` : "";
      const error = new Error(
        `kernel ${name} (${file}) does not compile on ${this.target.name}:\n${message}${advice}`,
      );
      this.#failed.set(name, error);
      return error;
    }));
    const wg = entry.workgroupSize;
    return {
      name,
      file,
      pipeline,
      layout: pipeline.getBindGroupLayout(0),
      storage,
      uniform,
      workgroupSize: [wg?.[0] ?? 1, wg?.[1] ?? 1, wg?.[2] ?? 1],
    };
  }

  /** Awaits compile results of every pipeline built so far; throws the first failure. */
  async check(): Promise<void> {
    const pending = this.pendingErrors;
    this.pendingErrors = [];
    const failed = (await Promise.all(pending)).find((e) => e !== null);
    if (failed) throw failed;
  }
}

/** Writes named uniform values into `view` at `base` using the reflected layout. */
export function writeUniforms(
  kernel: Kernel,
  view: DataView,
  base: number,
  values: Record<string, number | readonly number[]>,
): void {
  const u = kernel.uniform!;
  for (const [key, value] of Object.entries(values)) {
    const m = u.members.get(key);
    if (!m) throw new Error(`kernel ${kernel.name}: uniform struct has no member "${key}"`);
    const arr = typeof value === "number" ? [value] : value;
    if (arr.length > m.count) {
      throw new Error(
        `kernel ${kernel.name}: uniform "${key}" holds ${m.count} values, got ${arr.length}`,
      );
    }
    // vec4 arrays are 16-byte strided, which equals tight packing of 4-wide vectors.
    for (let i = 0; i < arr.length; i++) {
      const at = base + m.offset + i * 4;
      if (m.kind === "f32") view.setFloat32(at, arr[i], true);
      else if (m.kind === "i32") view.setInt32(at, arr[i], true);
      else view.setUint32(at, arr[i], true);
    }
  }
}
