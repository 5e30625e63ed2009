/** Matrix products: matmul (2-D and batched) and linear layers. */
import type { Tensor } from "../tensor.ts";
import { fmtShape } from "../tensor.ts";
import type { TexelBuffer } from "../buffers.ts";
import { packTexels } from "./pack.ts";
import { sumRows } from "./reduce.ts";
import { sumTo } from "./shape_utils.ts";
import type { Tile } from "../tuning.ts";

/** A matrix operand: where element (row, col) of batch b lives. */
interface Operand {
  t: Tensor;
  strideRow: number;
  strideCol: number;
  strideBatch: number;
}

/**
 * Packs `rows` x `cols` of each of `batches` strided matrices into a texel buffer as
 * [batches][rows][ceil(cols / 4)] vec4s, element (r, c) of batch q from src[q * sb + r * sr +
 * c * sc], zero-padded past `cols`.
 */
function pack(
  t: Tensor,
  batches: number,
  rows: number,
  cols: number,
  sr: number,
  sc: number,
  sb: number,
): TexelBuffer {
  return packTexels({
    t,
    matrices: { count: batches, stride: sb },
    rows: { count: rows, stride: sr },
    cols,
    colStride: sc,
  }, "matmul");
}

/** Defines of shaders/matmul.wgsl that the scalar kernel does not use (each must be defined). */
const MATMUL_DEFINES = { BM: 1, BN: 1, A_MN_MAJOR: false, B_MN_MAJOR: false };

/**
 * Whether an operand with `rows` rows (M of A, N of B) and K columns is a plain row-major
 * [K, rows] matrix per batch, copied into a texel buffer as it is (shaders/matmul.wgsl
 * MN_MAJOR): rows contiguous, K and rows multiples of 4.
 */
function mnMajor(op: Operand, rows: number, k: number, batches: number, isB: boolean): boolean {
  const rowStride = isB ? op.strideCol : op.strideRow;
  const kStride = isB ? op.strideRow : op.strideCol;
  return rowStride === 1 && kStride === rows && rows % 4 === 0 && k % 4 === 0 &&
    (batches === 1 || op.strideBatch === rows * k);
}

/** @internal C[b] = A[b] @ B[b] (+ bias[n]) for strided operands; returns [batch, m, n]. */
export function gemm(
  a: Operand,
  b: Operand,
  batch: number,
  m: number,
  n: number,
  k: number,
  bias?: Tensor,
  tiling?: Tile,
): Tensor {
  const e = a.t.engine;
  const { matmulK, scalarMaxMacs } = e.tuning.budgets;
  const splits = Math.max(1, Math.ceil(k / matmulK));
  const out = e.empty([batch, m, n]);
  const target = splits === 1 ? out : e.empty([batch * m * n, splits]);
  const t = tiling ?? e.tileFor("matmul", m, n, k);
  if (batch * m * n === 0 || k === 0 || batch * m * n * k <= scalarMaxMacs) {
    gemmScalar(a, b, batch, m, n, k, splits, target, bias);
  } else if (t.kind === "shared") {
    gemmShared(a, b, batch, m, n, k, splits, target, t.wgX, bias);
  } else {
    const k4 = Math.ceil(k / 4);
    const aBatches = batch > 1 && a.strideBatch !== 0 ? batch : 1;
    const bBatches = batch > 1 && b.strideBatch !== 0 ? batch : 1;
    const aMn = mnMajor(a, m, k, aBatches, false);
    const bMn = mnMajor(b, n, k, bBatches, true);
    // Packed with K contiguous (A as rows of M, B transposed: rows of N), or MN-major: a
    // row-major operand with M (N) contiguous, copied as it is.
    const pa = aMn
      ? pack(a.t, aBatches, k, m, a.strideCol, 1, a.strideBatch)
      : pack(a.t, aBatches, m, k, a.strideRow, a.strideCol, a.strideBatch);
    const pb = bMn
      ? pack(b.t, bBatches, k, n, b.strideRow, 1, b.strideBatch)
      : pack(b.t, bBatches, n, k, b.strideCol, b.strideRow, b.strideBatch);
    const bm = Math.min(t.bm, Math.ceil(m / 4));
    const bn = Math.min(t.bn, Math.ceil(n / 4));
    const mBlocks = Math.ceil(m / (4 * bm));
    const nBlocks = Math.ceil(n / (4 * bn));
    const wgY = Math.max(1, Math.min(t.wgY, mBlocks));
    e.run(
      {
        file: "matmul",
        entry: "matmul",
        defines: {
          BM: bm,
          BN: bn,
          WG_X: t.wgX,
          WG_Y: wgY,
          HAS_BIAS: !!bias,
          A_MN_MAJOR: aMn,
          B_MN_MAJOR: bMn,
        },
      },
      { lhs_t: pa, rhs_t: pb, bias_in: bias ?? a.t, dst: target },
      {
        m,
        n,
        k,
        splits,
        k4,
        chunk: Math.ceil(k4 / splits),
        a_batch: aBatches > 1 ? m * k4 : 0,
        b_batch: bBatches > 1 ? n * k4 : 0,
      },
      [Math.ceil(nBlocks / t.wgX), Math.ceil(mBlocks / wgY), batch * splits],
    );
    e.releaseTexels(pa);
    e.releaseTexels(pb);
  }
  if (splits === 1) return out;
  out.dispose();
  const summed = sumRows(target, batch * m * n, splits);
  target.dispose();
  const shaped = e.view(summed, [batch, m, n]);
  summed.dispose();
  return shaped;
}

/** Depth of the K steps the workgroup-memory kernel stages (a multiple of its workgroup side). */
const SHARED_BK = 16;

/** Sizes and operand strides of the kernels that read operands in place (shared, scalar). */
function stridedUniforms(a: Operand, b: Operand, m: number, n: number, k: number, splits: number) {
  return {
    m,
    n,
    k,
    splits,
    k_chunk: Math.ceil(k / splits) || 1,
    a_stride_m: a.strideRow,
    a_stride_k: a.strideCol,
    a_stride_batch: a.strideBatch,
    b_stride_k: b.strideRow,
    b_stride_n: b.strideCol,
    b_stride_batch: b.strideBatch,
  };
}

/** The workgroup-memory kernel (shaders/matmul_shared.wgsl) on the strided operands. */
function gemmShared(
  a: Operand,
  b: Operand,
  batch: number,
  m: number,
  n: number,
  k: number,
  splits: number,
  target: Tensor,
  side: number,
  bias?: Tensor,
): void {
  const block = 4 * side;
  a.t.engine.run(
    {
      file: "matmul_shared",
      entry: "matmul_shared",
      defines: { SM_T: side, BK: Math.max(SHARED_BK, side), HAS_BIAS: !!bias },
    },
    { lhs: a.t, rhs: b.t, bias_in: bias ?? a.t, dst: target },
    stridedUniforms(a, b, m, n, k, splits),
    [Math.ceil(n / block), Math.ceil(m / block), batch * splits],
  );
}

/** The plain strided kernel (tiny products, no packing). */
function gemmScalar(
  a: Operand,
  b: Operand,
  batch: number,
  m: number,
  n: number,
  k: number,
  splits: number,
  target: Tensor,
  bias?: Tensor,
): void {
  const { wgX, wgY } = a.t.engine.tuning.matmulScalar;
  a.t.engine.run(
    {
      file: "matmul",
      entry: "matmul_scalar",
      defines: { ...MATMUL_DEFINES, WG_X: wgX, WG_Y: wgY, HAS_BIAS: !!bias },
    },
    { lhs: a.t, rhs: b.t, bias_in: bias ?? a.t, dst: target },
    stridedUniforms(a, b, m, n, k, splits),
    [Math.ceil(n / (4 * wgX)), Math.ceil(m / (4 * wgY)), batch * splits],
  );
}

/** Row-major operand view of a [.., rows, cols] tensor, optionally transposed. */
function operand(
  t: Tensor,
  rows: number,
  cols: number,
  batched: boolean,
  transposed: boolean,
): Operand {
  const strideBatch = batched ? rows * cols : 0;
  return transposed
    ? { t, strideRow: 1, strideCol: cols, strideBatch }
    : { t, strideRow: cols, strideCol: 1, strideBatch };
}

/**
 * Matrix product like torch.matmul for 2-D and batched operands: [M, K] @ [K, N], or
 * [..., M, K] @ [..., K, N] with equal batch dims, or a batched side times a 2-D side.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  a.storage("matmul");
  b.storage("matmul");
  const bad = () =>
    new Error(`matmul: cannot multiply ${fmtShape(a.shape)} by ${fmtShape(b.shape)}`);
  if (a.rank < 2 || b.rank < 2) throw bad();
  const [m, k] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (k !== k2) throw bad();
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  if (aBatch.length && bBatch.length && fmtShape(aBatch) !== fmtShape(bBatch)) throw bad();
  const batchShape = aBatch.length ? aBatch : bBatch;
  const batch = batchShape.reduce((s, d) => s * d, 1);
  const aB = aBatch.length > 0;
  const bB = bBatch.length > 0;
  const e = a.engine;
  const flat = gemm(operand(a, m, k, aB, false), operand(b, k, n, bB, false), batch, m, n, k);
  const out = e.view(flat, [...batchShape, m, n]);
  flat.dispose();
  return e.record(out, "matmul", [a, b], (g) => {
    const gOp = (tr: boolean) => operand(g, m, n, true, tr);
    // dA = G @ B^T, dB = A^T @ G; a 2-D operand's gradient sums over the batch.
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) {
      const full = gemm(gOp(false), operand(b, k, n, bB, true), batch, m, k, n);
      ga = aB ? reshapeOwned(full, a.shape) : sumBatch(full, [m, k]);
    }
    if (b.requiresGrad) {
      const full = gemm(operand(a, m, k, aB, true), gOp(false), batch, k, n, m);
      gb = bB ? reshapeOwned(full, b.shape) : sumBatch(full, [k, n]);
    }
    return [ga, gb];
  });
}

/** y = x @ weightᵀ + bias, like torch.nn.functional.linear; x is [..., in], weight [out, in]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  x.storage("linear");
  weight.storage("linear");
  if (weight.rank !== 2 || x.rank < 1 || x.shape[x.rank - 1] !== weight.shape[1]) {
    throw new Error(
      `linear: input ${fmtShape(x.shape)} does not match weight ${
        fmtShape(weight.shape)
      } ([out, in])`,
    );
  }
  const [outF, inF] = weight.shape;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outF)) {
    throw new Error(
      `linear: bias ${fmtShape(bias.shape)} does not match weight ${fmtShape(weight.shape)}`,
    );
  }
  const rows = x.size / inF;
  const e = x.engine;
  const xs = { t: x, strideRow: inF, strideCol: 1, strideBatch: 0 };
  const flat = gemm(
    xs,
    { t: weight, strideRow: 1, strideCol: inF, strideBatch: 0 },
    1,
    rows,
    outF,
    inF,
    bias,
  );
  const out = e.view(flat, [...x.shape.slice(0, -1), outF]);
  flat.dispose();
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return e.record(out, "linear", inputs, (g) => {
    const gs = { t: g, strideRow: outF, strideCol: 1, strideBatch: 0 };
    const gx = x.requiresGrad
      ? reshapeOwned(
        gemm(gs, { t: weight, strideRow: inF, strideCol: 1, strideBatch: 0 }, 1, rows, inF, outF),
        x.shape,
      )
      : null;
    const gw = weight.requiresGrad
      ? reshapeOwned(
        gemm({ t: g, strideRow: 1, strideCol: outF, strideBatch: 0 }, xs, 1, outF, inF, rows),
        weight.shape,
      )
      : null;
    const grads: (Tensor | null)[] = [gx, gw];
    if (bias) grads.push(bias.requiresGrad ? sumRowsOf(g, rows, outF) : null);
    return grads;
  });
}

/** Sums a [batch, rows, cols] gradient over the batch and frees it. */
function sumBatch(full: Tensor, shape: readonly number[]): Tensor {
  const out = sumTo(full, shape);
  if (out !== full) full.dispose();
  return out;
}

function reshapeOwned(t: Tensor, shape: readonly number[]): Tensor {
  const v = t.engine.view(t, shape);
  t.dispose();
  return v;
}

/** Column sums of a [rows, cols] tensor (the bias gradient), as a [cols] tensor. */
function sumRowsOf(g: Tensor, rows: number, cols: number): Tensor {
  // Sum over rows = row-sum of the transpose; a gemm with a ones vector would also do.
  const e = g.engine;
  const ones = e.ones([rows, 1]);
  const col = gemm(
    { t: g, strideRow: 1, strideCol: cols, strideBatch: 0 },
    { t: ones, strideRow: 1, strideCol: 1, strideBatch: 0 },
    1,
    cols,
    1,
    rows,
  );
  ones.dispose();
  return reshapeOwned(col, [cols]);
}
