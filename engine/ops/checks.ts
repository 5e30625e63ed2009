/** Argument checks shared by the ops: f32 tensors of one engine, and [h, w] pairs. */
import type { Tensor } from "../tensor.ts";
import { fmtShape } from "../tensor.ts";

/** Throws unless every tensor is alive, f32 and of the first tensor's engine. */
export function checkF32(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    t.storage(op);
    if (t.dtype !== "f32") {
      throw new Error(`${op}: expected a f32 tensor, got ${t.dtype} ${fmtShape(t.shape)}`);
    }
    if (t.engine !== ts[0].engine) throw new Error(`${op}: tensors belong to different engines`);
  }
}

/** A number or [h, w] pair as a pair of integers >= `min`; throws naming `op` and `name`. */
export function pair(
  op: string,
  name: string,
  v: number | readonly [number, number],
  min: number,
): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : [v[0], v[1]];
  if (
    (typeof v !== "number" && (!Array.isArray(v) || v.length !== 2)) ||
    !p.every((d) => Number.isInteger(d) && d >= min)
  ) {
    throw new Error(
      `${op}: ${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`,
    );
  }
  return p;
}
