/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}}` with optional
 * `__metadata__` (string values), then the raw little-endian data. F32 is written; F32, F64, F16,
 * BF16, I64 and I32 are read (converted to f32). Bytes in, bytes out: reading and writing files
 * is the caller's (io/files.ts under Deno).
 */
import type { Module } from "./module.ts";
import type { Tensor } from "../tensor.ts";
import { fmtShape } from "../tensor.ts";

/** A CPU tensor from a safetensors file. */
export interface HostTensor {
  /** Dimensions, outermost first. */
  shape: number[];
  /** The values in C (row-major) order, converted to f32. */
  data: Float32Array;
  /** The dtype the file stored the values as (F32, F64, ...); set by {@link parseSafetensors}. */
  dtype?: string;
}

/** Parsed file: tensors by name, plus the string metadata. */
export interface SafetensorsFile {
  /** Tensors by name, in the file's header order. */
  tensors: Map<string, HostTensor>;
  /** The header's `__metadata__` strings ({} when absent). */
  metadata: Record<string, string>;
}

const BYTES: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4 };

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Parses safetensors bytes; every inconsistency is an error naming `source` and the tensor. */
export function parseSafetensors(bytes: Uint8Array, source = "safetensors data"): SafetensorsFile {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (bytes.length < 8) fail(`truncated: ${bytes.length} bytes, no header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.length - 8) {
    fail(`header length ${headerLen} exceeds the file (${bytes.length} bytes)`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== "object" || Array.isArray(header)) {
    fail("header is not a JSON object");
  }
  const body = bytes.subarray(8 + headerLen);
  const tensors = new Map<string, HostTensor>();
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const info = raw as { dtype?: string; shape?: number[]; data_offsets?: number[] };
    const dtype = info?.dtype ?? "";
    const width = BYTES[dtype];
    if (!width) {
      fail(
        `tensor "${name}" has unsupported dtype "${dtype}" (supported: ${
          Object.keys(BYTES).join(", ")
        })`,
      );
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      fail(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    }
    const offs = info.data_offsets;
    if (
      !Array.isArray(offs) || offs.length !== 2 || !Number.isInteger(offs[0]) ||
      !Number.isInteger(offs[1])
    ) {
      fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs!;
    const count = shape!.reduce((s, d) => s * d, 1);
    if (end - begin !== count * width) {
      fail(
        `tensor "${name}": data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} ${
          fmtShape(shape!)
        } needs ${count * width}`,
      );
    }
    if (begin < 0 || end > body.length) {
      fail(
        `tensor "${name}": data_offsets [${begin}, ${end}] lie outside the ${body.length}-byte body (truncated file?)`,
      );
    }
    ranges.push([begin, end, name]);
    const dv = new DataView(body.buffer, body.byteOffset + begin, end - begin);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      switch (dtype) {
        case "F32":
          data[i] = dv.getFloat32(i * 4, true);
          break;
        case "F64":
          data[i] = dv.getFloat64(i * 8, true);
          break;
        case "F16":
          data[i] = f16ToF32(dv.getUint16(i * 2, true));
          break;
        case "BF16":
          data[i] = new Float32Array(new Uint32Array([dv.getUint16(i * 2, true) << 16]).buffer)[0];
          break;
        case "I64":
          data[i] = Number(dv.getBigInt64(i * 8, true));
          break;
        case "I32":
          data[i] = dv.getInt32(i * 4, true);
          break;
      }
    }
    tensors.set(name, { shape: shape!, data, dtype });
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1]) {
      fail(`tensors "${ranges[i - 1][2]}" and "${ranges[i][2]}" overlap`);
    }
  }
  return { tensors, metadata };
}

/** Serialises f32 tensors (in the given order) with optional string metadata. */
export function serializeSafetensors(
  tensors: Map<string, HostTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const count = t.shape.reduce((s, d) => s * d, 1);
    if (count !== t.data.length) {
      throw new Error(
        `safetensors: "${name}" has ${t.data.length} values for ${fmtShape(t.shape)}`,
      );
    }
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + count * 4] };
    offset += count * 4;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + json.length) % 8)) % 8); // align the body to 8 bytes
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Copies tensors from the GPU into a host map (one GPU wait for all of them). */
export async function readTensors(tensors: Map<string, Tensor>): Promise<Map<string, HostTensor>> {
  const list = [...tensors.values()];
  if (list.length === 0) return new Map();
  const data = await list[0].engine.readAll(list);
  return new Map(
    [...tensors.keys()].map((name, i) => [name, { shape: [...list[i].shape], data: data[i] }]),
  );
}

/** A module's state dict (parameters and buffers) as safetensors bytes. */
export async function serializeStateDict(
  module: Module,
  metadata: Record<string, string> = {},
): Promise<Uint8Array> {
  return serializeSafetensors(await readTensors(module.stateDict()), metadata);
}

/**
 * Checks host tensors against a module's state dict without loading them: missing keys,
 * unexpected keys (when strict) and shape mismatches are all reported together in one error.
 */
export function checkStateDict(
  module: Module,
  tensors: Map<string, HostTensor>,
  options: { strict?: boolean; source?: string } = {},
): void {
  const strict = options.strict ?? true;
  const source = options.source ?? "state dict";
  const own = module.stateDict();
  const missing = [...own.keys()].filter((k) => !tensors.has(k));
  const unexpected = [...tensors.keys()].filter((k) => !own.has(k));
  const mismatched: string[] = [];
  for (const [k, t] of own) {
    const src = tensors.get(k);
    if (src && (src.data.length !== t.size || fmtShape(src.shape) !== fmtShape(t.shape))) {
      mismatched.push(`${k}: file ${fmtShape(src.shape)}, model ${fmtShape(t.shape)}`);
    }
  }
  const problems: string[] = [];
  if (missing.length) problems.push(`missing keys: ${missing.join(", ")}`);
  if (strict && unexpected.length) problems.push(`unexpected keys: ${unexpected.join(", ")}`);
  if (mismatched.length) problems.push(`shape mismatches: ${mismatched.join("; ")}`);
  if (problems.length) {
    throw new Error(`${source} does not match the model:\n  ${problems.join("\n  ")}`);
  }
}

/**
 * Loads host tensors into a module's state dict; nothing is written unless everything matches
 * ({@link checkStateDict}).
 */
export function loadStateDict(
  module: Module,
  tensors: Map<string, HostTensor>,
  options: { strict?: boolean; source?: string } = {},
): void {
  checkStateDict(module, tensors, options);
  for (const [k, t] of module.stateDict()) t.engine.write(t, tensors.get(k)!.data);
}
