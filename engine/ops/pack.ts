/**
 * Packing GEMM operands into texel buffers (shaders/pack.wgsl): one layout for matmul and conv2d
 * operands, [matrices][rows (+ 1 zero row)][ceil(cols / 4)] vec4s.
 */
import type { Tensor } from "../tensor.ts";
import type { TexelBuffer } from "../buffers.ts";

/** An index split in two levels: i = outer * inner + (i % inner), each level with its stride. */
export interface TwoLevel {
  /** Number of index values. */
  count: number;
  /** Values per outer step (divides count). Default: count (one outer step). */
  inner?: number;
  /** Source stride per inner step. */
  stride: number;
  /** Source stride per outer step. Default 0. */
  outerStride?: number;
}

/** Where element (matrix, row, column) of a strided source lives. */
export interface PackSource {
  t: Tensor;
  matrices: TwoLevel;
  rows: TwoLevel;
  cols: number;
  colStride: number;
  /** Append an all-zero row to every matrix (conv kernels read it for padding taps). */
  zeroRow?: boolean;
}

/**
 * Packs `s` into a texel buffer from the pool (release it with `engine.releaseTexels` once the
 * kernels reading it are recorded). Sources already in the packed layout are copied as they
 * are; sources with contiguous rows take the four-rows-per-thread kernel.
 */
export function packTexels(s: PackSource, what: string): TexelBuffer {
  const e = s.t.engine;
  const mat = levels(s.matrices);
  const row = levels(s.rows);
  const c4 = Math.ceil(s.cols / 4);
  const rowsOut = row.count + (s.zeroRow ? 1 : 0);
  const texels = mat.count * rowsOut * c4;
  const out = e.texels(texels, what);
  if (texels === 0) return out;
  if (isPackedAlready(s, c4)) {
    e.copyToTexels(s.t, texels, out);
    return out;
  }
  const quads = s.rows.stride === 1 && row.inner % 4 === 0 &&
    [mat.stride, mat.outerStride, row.outerStride, s.colStride].every((v) => v % 4 === 0);
  const quadsOut = row.count / 4 + (s.zeroRow ? 1 : 0);
  const threads = quads ? mat.count * quadsOut * c4 : texels;
  return runPack(
    s.t,
    quads ? "pack4" : "pack",
    {
      mat_inner: mat.inner,
      rows: row.count,
      row_inner: row.inner,
      rows_out: rowsOut,
      cols: s.cols,
      c4,
      s_mat_outer: mat.outerStride,
      s_mat_inner: mat.stride,
      s_row_outer: row.outerStride,
      s_row_inner: row.stride,
      s_col: s.colStride,
      total: threads,
      quads_out: quadsOut,
    },
    threads,
    out,
    texels,
  );
}

/**
 * @internal Runs entry `entry` of shaders/pack.wgsl on `src` with `threads` threads, which
 * writes `texels` vec4s to a staging buffer, then copies them into `out`; returns `out`.
 */
export function runPack(
  src: Tensor,
  entry: "pack" | "pack4" | "im2col",
  uniforms: Record<string, number>,
  threads: number,
  out: TexelBuffer,
  texels: number,
): TexelBuffer {
  const e = src.engine;
  const staging = e.empty([texels * 4]);
  e.run(
    { file: "pack", entry },
    entry === "pack4" ? { src4: src, dst: staging } : { src, dst: staging },
    uniforms,
    e.grid(threads),
  );
  e.copyToTexels(staging, texels, out);
  staging.dispose();
  return out;
}

function levels(l: TwoLevel): Required<TwoLevel> {
  const inner = Math.max(1, l.inner ?? l.count);
  if (l.count % inner !== 0) {
    throw new Error(`pack: inner count ${inner} does not divide ${l.count}`);
  }
  return { count: l.count, inner, stride: l.stride, outerStride: l.outerStride ?? 0 };
}

/** Whether the source's memory already is the packed layout (row-major, cols a multiple of 4). */
function isPackedAlready(s: PackSource, c4: number): boolean {
  const mat = levels(s.matrices);
  const row = levels(s.rows);
  const cols = c4 * 4;
  const rowsLinear = row.stride === cols &&
    (row.inner === row.count || row.outerStride === row.inner * cols);
  const matSize = row.count * cols;
  const matsLinear = mat.count === 1 ||
    (mat.stride === matSize &&
      (mat.inner === mat.count || mat.outerStride === mat.inner * matSize));
  return s.colStride === 1 && s.cols === cols && !s.zeroRow && rowsLinear && matsLinear;
}
