/** Reductions: sum and mean over all elements or chosen axes. */
import type { Tensor } from "../tensor.ts";
import { normalizeDim } from "./shape_utils.ts";
import { scale } from "./elementwise.ts";
import { expand, permute, reshape } from "./layout.ts";

/** @internal Sums each row of a [rows, len] tensor into [rows], times `factor`. */
export function sumRows(x: Tensor, rows: number, len: number, factor = 1): Tensor {
  const e = x.engine;
  let src = x;
  let cur = len;
  // Elements each thread sums per pass (well under llvmpipe's per-invocation loop budget).
  const CHUNK = e.tuning.budgets.reduceChunk;
  for (;;) {
    const chunks = Math.ceil(cur / CHUNK) || 1;
    const dst = e.empty(chunks === 1 ? [rows] : [rows, chunks]);
    e.run({ file: "reduce", entry: "sum_rows", defines: { CHUNK } }, { src, dst }, {
      rows,
      len: cur,
      chunks,
      scale: chunks === 1 ? factor : 1,
    }, e.grid(rows * chunks));
    if (src !== x) src.dispose();
    if (chunks === 1) return dst;
    src = dst;
    cur = chunks;
  }
}

function reduceAxes(op: string, x: Tensor, axes: number | readonly number[] | undefined): number[] {
  const list = axes === undefined
    ? x.shape.map((_, i) => i)
    : typeof axes === "number"
    ? [axes]
    : [...axes];
  const norm = list.map((a) => normalizeDim(op, a, x.rank));
  if (new Set(norm).size !== norm.length) {
    throw new Error(`${op}: repeated axis in [${list.join(", ")}]`);
  }
  return norm.sort((a, b) => a - b);
}

function reduce(
  op: "sum" | "mean",
  x: Tensor,
  axes: number | readonly number[] | undefined,
  keepdim: boolean,
): Tensor {
  x.storage(op);
  const e = x.engine;
  const red = reduceAxes(op, x, axes);
  const kept = x.shape.map((_, i) => i).filter((i) => !red.includes(i));
  const rows = kept.reduce((s, i) => s * x.shape[i], 1);
  const len = red.reduce((s, i) => s * x.shape[i], 1);
  const factor = op === "mean" ? 1 / len : 1;
  const keepShape = x.shape.map((d, i) => (red.includes(i) ? 1 : d));
  const outShape = keepdim ? keepShape : kept.map((i) => x.shape[i]);

  const trailing = red.every((a, i) => a === x.rank - red.length + i);
  const src = trailing ? x : permute(x, [...kept, ...red]);
  const flat = e.noGrad(() => sumRows(src, rows, len, factor));
  if (src !== x) src.dispose();
  const out = e.view(flat, outShape);
  flat.dispose();
  return e.record(out, op, [x], (g) => {
    // The mean's 1/len is applied before broadcasting: one pass over the small gradient.
    const view = reshape(g, keepShape);
    const g2 = factor === 1 ? view : scale(view, factor);
    if (g2 !== view) view.dispose();
    const gx = expand(g2, x.shape);
    g2.dispose();
    return [gx];
  });
}

/** Sum over `axes` (all when omitted); `keepdim` keeps reduced dims as size 1. */
export function sum(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  return reduce("sum", x, axes, keepdim);
}

/** Mean over `axes` (all when omitted); `keepdim` keeps reduced dims as size 1. */
export function mean(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  return reduce("mean", x, axes, keepdim);
}
