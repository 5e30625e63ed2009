/**
 * Deno's file layer over the engine's byte-level formats: safetensors files by path, and atomic
 * writes. Everything here needs Deno (read/write permissions); the engine itself only turns
 * bytes into tensors and back ({@link parseSafetensors}, {@link serializeStateDict}).
 */
import type { Module } from "../engine/nn/module.ts";
import {
  parseSafetensors,
  type SafetensorsFile,
  serializeStateDict,
} from "../engine/nn/safetensors.ts";

/** Reads and parses a safetensors file; errors name the path. */
export async function loadSafetensors(path: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  return parseSafetensors(bytes, path);
}

/** Writes a file atomically: to a temporary name in the same folder, then renamed over `path`. */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}-${Date.now()}`;
  try {
    await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Saves a module's state dict (parameters and buffers) as a safetensors file, atomically. */
export async function saveSafetensors(
  path: string,
  module: Module,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, await serializeStateDict(module, metadata));
}
