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

/**
 * Merges neighbouring dims that both operands traverse contiguously (or both broadcast), so
 * e.g. [16, 64, 32, 32] * [16, 64, 1, 1] becomes [1024, 1024] * [1024, 1].
 */
function collapseDims(
  shape: readonly number[],
  a: readonly number[],
  b: readonly number[],
): { shape: number[]; a: number[]; b: number[] } {
  const out = { shape: [] as number[], a: [] as number[], b: [] as number[] };
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = out.shape.length - 1;
    if (
      last >= 0 && out.a[last] === a[i] * shape[i] && out.b[last] === b[i] * shape[i]
    ) {
      out.shape[last] *= shape[i];
      out.a[last] = a[i];
      out.b[last] = b[i];
    } else {
      out.shape.push(shape[i]);
      out.a.push(a[i]);
      out.b.push(b[i]);
    }
  }
  if (out.shape.length === 0) return { shape: [1], a: [0], b: [0] };
  return out;
}

/** A strided iteration folded onto a 3-D dispatch grid: one thread per element, no division. */
export interface Grid3 {
  /** [d0, d1, d2, 0]: the uniform `shape` (d2 innermost). */
  shape: number[];
  /** Element strides of both operands over (d0, d1, d2), padded to 4 for the uniform. */
  a: number[];
  b: number[];
  /** Workgroup counts for a kernel with workgroup size (wg, 1, 1). */
  groups: [number, number, number];
}

/**
 * Collapses `shape` (see {@link collapseDims}) and, when at most three dims remain and they fit
 * the grid limit `maxGroups`, lays them out for the `*_3d` kernels; otherwise null.
 */
export function grid3(
  shape: readonly number[],
  a: readonly number[],
  b: readonly number[],
  maxGroups: number,
  wg: number,
): Grid3 | null {
  const c = collapseDims(shape, a, b);
  if (c.shape.length > 3) return null;
  // An innermost dim too long for the x grid is split in two (e.g. a scalar broadcast to a
  // large tensor), else the caller falls back to the kernel that divides per dimension.
  const last = c.shape.length - 1;
  const split = 4096;
  if (
    c.shape.length < 3 && Math.ceil(c.shape[last] / wg) > maxGroups && c.shape[last] % split === 0
  ) {
    c.shape.splice(last, 1, c.shape[last] / split, split);
    c.a.splice(last, 1, c.a[last] * split, c.a[last]);
    c.b.splice(last, 1, c.b[last] * split, c.b[last]);
  }
  const pad = 3 - c.shape.length;
  const [d0, d1, d2] = [...new Array(pad).fill(1), ...c.shape];
  const x = Math.ceil(d2 / wg);
  if (d0 > maxGroups || d1 > maxGroups || x > maxGroups) return null;
  const padStrides = (s: number[]) => [...new Array(pad).fill(0), ...s, 0];
  return { shape: [d0, d1, d2, 0], a: padStrides(c.a), b: padStrides(c.b), groups: [x, d1, d0] };
}
