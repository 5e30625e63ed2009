/** Shape helpers shared by ops. */
import type { Tensor } from "../tensor.ts";
import { fmtShape } from "../tensor.ts";
import { sum } from "./reduce.ts";
import { reshape } from "./layout.ts";

/** Row-major element strides. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** Normalises a dimension index (negative counts from the end); throws when out of range. */
export function normalizeDim(op: string, dim: number, rank: number): number {
  if (!Number.isInteger(dim) || dim < -rank || dim >= Math.max(rank, 1)) {
    throw new Error(`${op}: dimension ${dim} is out of range for a tensor of rank ${rank}`);
  }
  return dim < 0 ? dim + rank : dim;
}

/** Sums a broadcast gradient back to `shape` (the inverse of broadcasting). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const pad = g.shape.length - shape.length;
  if (pad < 0) throw new Error(`sumTo: cannot reduce ${fmtShape(g.shape)} to ${fmtShape(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.shape.length; i++) {
    if (i < pad || (shape[i - pad] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const summed = sum(g, axes, true);
  const out = reshape(summed, shape);
  summed.dispose();
  return out;
}
