/** Model weight files: safetensors whose tensors must all be stored as floating point. */
import { type HostTensor, parseSafetensors } from "../engine/nn/safetensors.ts";

/** The safetensors dtypes model weights may be stored as. */
export const FLOAT_DTYPES: readonly string[] = ["F32", "F64", "F16", "BF16"];

/**
 * Refuses tensors a safetensors file stored as integers (I32, I64): read as weights they would
 * be used as floats without a word.
 * @param source Names the file in the message.
 */
export function checkFloatTensors(tensors: ReadonlyMap<string, HostTensor>, source: string): void {
  for (const [name, t] of tensors) {
    if (t.dtype !== undefined && !FLOAT_DTYPES.includes(t.dtype)) {
      throw new Error(
        `${source}: tensor "${name}" is stored as ${t.dtype}; model weights must be floating ` +
          `point (${FLOAT_DTYPES.join(", ")})`,
      );
    }
  }
}

/** Reads a model's weights from a safetensors file, checking that every tensor is floating point. */
export async function loadModelTensors(path: string): Promise<Map<string, HostTensor>> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  const { tensors } = parseSafetensors(bytes, path);
  checkFloatTensors(tensors, path);
  return tensors;
}
