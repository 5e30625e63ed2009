/** Shape and layout ops: reshape, flatten, permute/transpose, slice, concat, expand. */
import type { Tensor } from "../tensor.ts";
import { checkShape, fmtShape, sizeOf } from "../tensor.ts";
import { contiguousStrides, grid3, normalizeDim, sumTo } from "./shape_utils.ts";

const MAX_RANK = 8;

/** @internal Strided copy of `shape`-indexed elements from `src` into `dst` (see layout.wgsl). */
export function stridedCopy(
  src: Tensor,
  dst: Tensor,
  shape: readonly number[],
  inStrides: readonly number[],
  outStrides: readonly number[],
  inOffset = 0,
  outOffset = 0,
): void {
  if (shape.length > MAX_RANK) throw new Error(`copy: rank ${shape.length} exceeds ${MAX_RANK}`);
  const e = src.engine;
  const n = sizeOf(shape);
  if (n === 0) return;
  const g = grid3(
    shape,
    inStrides,
    outStrides,
    e.device.limits.maxComputeWorkgroupsPerDimension,
    e.tuning.wg,
  );
  if (g) {
    const [d0, d1, d2] = g.shape;
    const vec4 = d2 % 4 === 0 && g.b[2] === 1 && (g.a[2] === 0 || g.a[2] === 1) &&
      [outOffset, g.b[0], g.b[1]].every((v) => v % 4 === 0);
    e.run(
      { file: "layout", entry: vec4 ? "strided_copy_3d4" : "strided_copy_3d" },
      vec4 ? { src, dst4: dst } : { src, dst },
      {
        n,
        rank: 3,
        in_offset: inOffset,
        out_offset: outOffset,
        shape: g.shape,
        in_strides: g.a,
        out_strides: g.b,
      },
      vec4 ? [Math.ceil(d2 / 4 / e.tuning.wg), d1, d0] : g.groups,
    );
    return;
  }
  e.run({ file: "layout", entry: "strided_copy" }, { src, dst }, {
    n,
    rank: shape.length,
    in_offset: inOffset,
    out_offset: outOffset,
    shape,
    in_strides: inStrides,
    out_strides: outStrides,
  }, e.grid(n));
}

/** Same data, new shape (one dimension may be -1). Shares memory with `x`. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  x.storage("reshape");
  const free = shape.filter((d) => d === -1).length;
  if (free > 1) throw new Error(`reshape: at most one -1 allowed, got ${fmtShape(shape)}`);
  let resolved = [...shape];
  if (free === 1) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) {
      throw new Error(
        `reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`,
      );
    }
    resolved = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  checkShape("reshape", resolved);
  if (sizeOf(resolved) !== x.size) {
    throw new Error(
      `reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`,
    );
  }
  const out = x.engine.view(x, resolved);
  return x.engine.record(out, "reshape", [x], (g) => [x.engine.view(g, x.shape)]);
}

/** Merges dimensions startDim..endDim into one (torch.flatten). */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const s = normalizeDim("flatten", startDim, x.rank);
  const e = normalizeDim("flatten", endDim, x.rank);
  if (s > e) throw new Error(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const shape = [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

/** Reorders dimensions (torch.permute); the result is a contiguous copy. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  x.storage("permute");
  if (dims.length !== x.rank) {
    throw new Error(
      `permute: ${dims.length} dims given for a tensor of shape ${fmtShape(x.shape)}`,
    );
  }
  const perm = dims.map((d) => normalizeDim("permute", d, x.rank));
  if (new Set(perm).size !== perm.length) {
    throw new Error(`permute: repeated dims in [${dims.join(", ")}]`);
  }
  const shape = perm.map((d) => x.shape[d]);
  const inStrides = contiguousStrides(x.shape);
  const out = x.engine.empty(shape, x.dtype);
  stridedCopy(x, out, shape, perm.map((d) => inStrides[d]), contiguousStrides(shape));
  const inverse = new Array<number>(perm.length);
  perm.forEach((d, i) => (inverse[d] = i));
  return x.engine.record(out, "permute", [x], (g) => [permute(g, inverse)]);
}

/** Swaps two dimensions. */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normalizeDim("transpose", dim0, x.rank);
  const b = normalizeDim("transpose", dim1, x.rank);
  const dims = x.shape.map((_, i) => i);
  dims[a] = b;
  dims[b] = a;
  return permute(x, dims);
}

/** Elements start..end-1 along `dim` (negative indices count from the end), like torch.narrow. */
export function slice(x: Tensor, dim: number, start: number, end?: number): Tensor {
  x.storage("slice");
  const d = normalizeDim("slice", dim, x.rank);
  const size = x.shape[d];
  const s = start < 0 ? start + size : start;
  const e = end === undefined ? size : end < 0 ? end + size : end;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > size || s > e) {
    throw new Error(
      `slice: range [${start}, ${end}) is invalid for dim ${dim} of shape ${fmtShape(x.shape)}`,
    );
  }
  const shape = [...x.shape];
  shape[d] = e - s;
  const strides = contiguousStrides(x.shape);
  const out = x.engine.empty(shape, x.dtype);
  stridedCopy(x, out, shape, strides, contiguousStrides(shape), s * strides[d]);
  return x.engine.record(out, "slice", [x], (g) => {
    const gx = x.engine.zeros(x.shape);
    stridedCopy(g, gx, shape, contiguousStrides(shape), strides, 0, s * strides[d]);
    return [gx];
  });
}

/** Joins tensors along `dim`; all other dimensions must match. */
export function concat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error("concat: needs at least one tensor");
  const first = tensors[0];
  const d = normalizeDim("concat", dim, first.rank);
  for (const t of tensors) {
    t.storage("concat");
    if (t.rank !== first.rank || t.shape.some((s, i) => i !== d && s !== first.shape[i])) {
      throw new Error(
        `concat: shapes ${
          tensors.map((t) => fmtShape(t.shape)).join(", ")
        } differ outside dim ${dim}`,
      );
    }
  }
  const shape = [...first.shape];
  shape[d] = tensors.reduce((s, t) => s + t.shape[d], 0);
  const e = first.engine;
  const out = e.empty(shape);
  const outStrides = contiguousStrides(shape);
  const offsets: number[] = [];
  let at = 0;
  for (const t of tensors) {
    offsets.push(at);
    stridedCopy(t, out, t.shape, contiguousStrides(t.shape), outStrides, 0, at * outStrides[d]);
    at += t.shape[d];
  }
  return e.record(out, "concat", [...tensors], (g) =>
    tensors.map((t, i) => {
      const gi = e.empty(t.shape);
      stridedCopy(
        g,
        gi,
        t.shape,
        outStrides,
        contiguousStrides(t.shape),
        offsets[i] * outStrides[d],
      );
      return gi;
    }));
}

/** Broadcasts `x` to `shape` (a copy); the gradient sums back. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  x.storage("expand");
  const pad = shape.length - x.rank;
  if (pad < 0 || x.shape.some((s, i) => s !== 1 && s !== shape[i + pad])) {
    throw new Error(`expand: cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  }
  const strides = contiguousStrides(x.shape);
  const inStrides = shape.map((_, i) => (i < pad || x.shape[i - pad] === 1 ? 0 : strides[i - pad]));
  const out = x.engine.empty(shape, x.dtype);
  stridedCopy(x, out, shape, inStrides, contiguousStrides(shape));
  return x.engine.record(out, "expand", [x], (g) => [sumTo(g, x.shape)]);
}

/** A contiguous copy of `x` (cut from the graph unless grads are recorded through it). */
export function clone(x: Tensor): Tensor {
  x.storage("clone");
  const out = x.engine.empty(x.shape, x.dtype);
  stridedCopy(x, out, x.shape, contiguousStrides(x.shape), contiguousStrides(x.shape));
  return x.engine.record(out, "clone", [x], (g) => [g]);
}

/** Copies `src` into `dst` in place (same number of elements); not differentiable. */
export function copyInto(dst: Tensor, src: Tensor): void {
  if (dst.size !== src.size) {
    throw new Error(`copyInto: ${fmtShape(src.shape)} does not fit ${fmtShape(dst.shape)}`);
  }
  stridedCopy(src, dst, [src.size], [1], [1]);
}
