/** Row gathering by an index tensor (selecting a batch of samples on the GPU). */
import type { Tensor } from "../tensor.ts";
import { fmtShape } from "../tensor.ts";

function rowLength(src: Tensor): number {
  return src.shape.slice(1).reduce((a, b) => a * b, 1);
}

function checkIndices(op: string, indices: Tensor): void {
  indices.storage(op);
  if (indices.dtype !== "i32" || indices.rank !== 1) {
    throw new Error(
      `${op}: indices must be a rank-1 i32 tensor, got ${indices.dtype} of shape ` +
        fmtShape(indices.shape),
    );
  }
}

function dispatch(
  src: Tensor,
  dst: Tensor,
  indices: Tensor,
  dstRows: Tensor | null,
): void {
  const e = src.engine;
  const rowLen = rowLength(src);
  const n = indices.size * rowLen;
  if (n === 0) return;
  e.run(
    { file: "gather", entry: "gather_rows" },
    { src, idx: indices, dst_idx: dstRows ?? indices, dst },
    { rows: indices.size, row_len: rowLen, src_rows: src.shape[0], scatter: dstRows ? 1 : 0 },
    e.grid(n),
  );
}

/**
 * Rows of `src` picked by `indices`: `out[r, ...] = src[indices[r], ...]`, shape
 * [B, ...src.shape[1:]] for B indices. `indices` is a rank-1 i32 tensor
 * (`engine.tensor(list, [B], { dtype: "i32" })`); an index outside [0, src.shape[0]) yields a
 * row of zeros. Works for any dtype (words are copied as they are).
 *
 * Not differentiable: the result is never connected to the autograd graph, even when `src`
 * requires a gradient (it is meant for selecting input data, whose gradient nobody needs).
 */
export function gatherRows(src: Tensor, indices: Tensor): Tensor {
  src.storage("gatherRows");
  if (src.rank < 1) throw new Error(`gatherRows: src must have rank >= 1, got a scalar`);
  checkIndices("gatherRows", indices);
  const out = src.engine.empty([indices.size, ...src.shape.slice(1)], src.dtype);
  dispatch(src, out, indices, null);
  return out;
}

/**
 * @internal Copies rows of `src` into existing rows of `dst`: `dst[dstRows[k], ...] =
 * src[srcRows[k], ...]`; other rows of `dst` are left unchanged. Rows of `src` and `dst` must
 * have the same length; `srcRows` and `dstRows` are rank-1 i32 tensors of equal length, and
 * every `dstRows` entry must lie in [0, dst.shape[0]) (not checked on the GPU). Not
 * differentiable. Used to gather from data split across several GPU buffers.
 */
export function gatherRowsInto(
  dst: Tensor,
  src: Tensor,
  srcRows: Tensor,
  dstRows: Tensor,
): void {
  src.storage("gatherRowsInto");
  dst.storage("gatherRowsInto");
  checkIndices("gatherRowsInto", srcRows);
  checkIndices("gatherRowsInto", dstRows);
  if (src.rank < 1 || dst.rank < 1 || rowLength(src) !== rowLength(dst)) {
    throw new Error(
      `gatherRowsInto: rows of src ${fmtShape(src.shape)} and dst ${
        fmtShape(dst.shape)
      } differ in length`,
    );
  }
  if (srcRows.size !== dstRows.size) {
    throw new Error(
      `gatherRowsInto: ${srcRows.size} source rows but ${dstRows.size} destination rows`,
    );
  }
  if (src.dtype !== dst.dtype) {
    throw new Error(`gatherRowsInto: src is ${src.dtype} but dst is ${dst.dtype}`);
  }
  dispatch(src, dst, srcRows, dstRows);
}
