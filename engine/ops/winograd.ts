/**
 * Winograd convolution for stride-1 3x3 layers (groups 1, dilation 1, padding 0..2): forward,
 * input gradient and weight gradient, as F(4x4, 3x3) (36 multiplies per 4x4 output tile and
 * channel pair where the implicit GEMM does 144) or F(2x2, 3x3) (16 per 2x2 tile, against 36);
 * shaders/winograd.wgsl has the transforms.
 *
 * The work between the transforms is (m + 2)^2 independent GEMMs, one per transform point,
 * which run as conv2d.wgsl's register-blocked kernels on a 1x1 convolution with a group per
 * point and the tiles as its positions: the transforms write their results straight into those
 * kernels' packed texel layouts, so nothing is packed twice, and the K loops keep their
 * deterministic split (conv_dw over the tiles in chunks plus a second-pass sum).
 *
 *   forward:  V = B^T x B, U = G w G^T, M[p] = U[p] V[p]^T, y = A^T M A + bias
 *   input gradient: the forward of the output gradient with the flipped, in/out-transposed
 *             kernel and padding 2 - pad
 *   weight gradient: dU[p] = (A dy A^T)[p]^T V[p] summed over tiles, dw = G^T dU G
 *
 * On llvmpipe memory traffic decides: F(4x4, 3x3) holds 2.25 values in the Winograd domain per
 * value of x or y where F(2x2, 3x3) holds 4, and measured faster on every layer. Its larger
 * transforms cost float32 accuracy: with the interpolation points of shaders/winograd.wgsl its
 * golden cases stay within the tolerances the other kernels keep on every driver, but on a
 * 512-channel layer with O(1) outputs its largest error was 1.5e-5 where the implicit GEMM's was
 * 5.3e-6 and F(2x2, 3x3)'s 1.8e-6 (engine/tuning.ts `Tile.winograd` picks the variant). The
 * output transform is a separate pass: one invocation would need all points of its tiles in
 * registers to do it in the GEMM's epilogue.
 */
import type { Engine } from "../engine.ts";
import type { Tensor } from "../tensor.ts";
import type { TexelBuffer } from "../buffers.ts";
import type { Geometry } from "./conv.ts";
import type { WinogradVariant } from "../tuning.ts";

/** A variant's transform points ((m + 2)^2) and the entry-name prefix of its kernels. */
function variant(m: WinogradVariant): { points: number; prefix: "wino" | "wino4" } {
  return m === 2 ? { points: 16, prefix: "wino" } : { points: 36, prefix: "wino4" };
}

/**
 * The GEMM kernels of engine/ops/conv.ts the Winograd path runs its point products with (passed
 * in, so that conv.ts alone imports this module).
 */
export interface PointGemms {
  /** Output tile of the variant to run. */
  m: WinogradVariant;
  /** conv_gemm's forward over packed operands: `act` [groups][rows + 1][k4], `wt` [groups][m][k4]. */
  gemm(
    geo: Geometry,
    act: TexelBuffer,
    wt: TexelBuffer,
    shape: readonly number[],
    source: Tensor,
  ): Tensor;
  /** conv_dw over packed operands: `act` [groups][rows + 1][k4], `gp` [groups][rows + 1][m4]. */
  dw(
    geo: Geometry,
    act: TexelBuffer,
    gp: TexelBuffer,
    shape: readonly number[],
    source: Tensor,
  ): Tensor;
}

/** Whether a convolution can run as Winograd F(2x2, 3x3). */
export function winogradApplies(geo: Geometry): boolean {
  const ones = (p: readonly number[]) => p[0] === 1 && p[1] === 1;
  return geo.groups === 1 && geo.kH === 3 && geo.kW === 3 && ones(geo.stride) &&
    ones(geo.dilation) && geo.padding.every((p) => p >= 0 && p <= 2);
}

/**
 * Whether the largest buffers of `family`'s Winograd kernels (the transformed tiles, written
 * through one storage binding before their copy into a texel buffer, and the point products)
 * fit the device's storage-binding limit; the implicit GEMM runs where they do not.
 */
export function winogradFits(
  e: Engine,
  geo: Geometry,
  m: WinogradVariant,
  family: "conv_fwd" | "conv_dx" | "conv_dw",
): boolean {
  const { points } = variant(m);
  const vec4s = (c: number) => Math.ceil(c / 4) * 16;
  const out = tilesOf(m, geo.batch, geo.outH, geo.outW).pad;
  const inp = tilesOf(m, geo.batch, geo.height, geo.width).pad;
  const dwChunk = e.tuning.budgets.dwChunk;
  const bytes = family === "conv_fwd"
    ? [points * (out + 1) * vec4s(geo.cin), points * geo.cout * out * 4]
    : family === "conv_dx"
    ? [points * (inp + 1) * vec4s(geo.cout), points * geo.cin * inp * 4]
    : [
      points * (out + 1) * vec4s(Math.max(geo.cin, geo.cout)),
      points * geo.cout * geo.cin * 4 * Math.ceil(out / dwChunk),
    ];
  return bytes.every((b) => b <= e.device.limits.maxStorageBufferBindingSize);
}

/**
 * m x m output tiles of a [batch, *, outH, outW] output: per column and row, in all, and that
 * rounded up to a multiple of 4 (the point GEMMs' positions; the extra ones are zero).
 */
interface Tiles {
  h: number;
  w: number;
  count: number;
  pad: number;
}

function tilesOf(m: WinogradVariant, batch: number, outH: number, outW: number): Tiles {
  const h = Math.ceil(outH / m);
  const w = Math.ceil(outW / m);
  const count = batch * h * w;
  return { h, w, count, pad: Math.ceil(count / 4) * 4 };
}

/**
 * The point GEMMs as a 1x1 convolution with a group per point: `m` output rows per point,
 * K = `k`, one position per tile.
 */
function pointGeometry(points: number, m: number, k: number, tiles: Tiles): Geometry {
  return {
    batch: 1,
    cin: points * k,
    height: tiles.pad,
    width: 1,
    cout: points * m,
    outH: tiles.pad,
    outW: 1,
    kH: 1,
    kW: 1,
    groups: points,
    cpg: k,
    opg: m,
    stride: [1, 1],
    padding: [0, 0],
    dilation: [1, 1],
  };
}

/** Runs a transform writing `texels` vec4s and copies them into a pooled texel buffer. */
function toTexels(
  src: Tensor,
  entry: string,
  uniforms: Record<string, number>,
  texels: number,
): TexelBuffer {
  const e = src.engine;
  const out = e.texels(texels, "winograd");
  const staging = e.empty([texels * 4]);
  e.run({ file: "winograd", entry }, { src, dst4: staging }, uniforms, e.grid(uniforms.total));
  e.copyToTexels(staging, texels, out);
  staging.dispose();
  return out;
}

/**
 * The (m + 2)^2 tiles of `src` [batch, channels, height, width] in the Winograd domain as
 * [points][tiles + 1][c4] vec4s (a zero row after each point's tiles): B^T d B of the input
 * patches at (m ty - pad, m tx - pad) (`what` input), or A dy A^T of the gradient's m x m tiles
 * (`what` grad, `pad` unused).
 */
function transformTiles(
  m: WinogradVariant,
  src: Tensor,
  what: "input" | "grad",
  pad: readonly number[],
  tiles: Tiles,
): TexelBuffer {
  const { points, prefix } = variant(m);
  const [batch, channels, height, width] = src.shape;
  const c4 = Math.ceil(channels / 4);
  return toTexels(src, `${prefix}_${what}`, {
    batch,
    channels,
    height,
    width,
    pad_h: pad[0],
    pad_w: pad[1],
    tiles_h: tiles.h,
    tiles_w: tiles.w,
    tiles: tiles.count,
    tiles_pad: tiles.pad,
    c4,
    total: (tiles.pad + 1) * c4,
  }, points * (tiles.pad + 1) * c4);
}

/**
 * G w G^T as [points][rows][k4] vec4s: forward rows are output channels and K input channels
 * (`transposed` false); the input gradient's are input channels and K output channels, the
 * kernel flipped.
 */
function transformWeight(m: WinogradVariant, weight: Tensor, transposed: boolean): TexelBuffer {
  const { points, prefix } = variant(m);
  const [cout, cin] = weight.shape;
  const rows = transposed ? cin : cout;
  const k = transposed ? cout : cin;
  const c4 = Math.ceil(k / 4);
  return toTexels(weight, `${prefix}_weight`, {
    rows,
    k,
    s_row: transposed ? 9 : cin * 9,
    s_k: transposed ? cin * 9 : 9,
    flip: transposed ? 1 : 0,
    c4,
    total: rows * c4,
  }, points * rows * c4);
}

/**
 * A stride-1 3x3 convolution of `src` [batch, k, h, w] with the transformed kernel `u`
 * ([points][rows][k4]) and padding `pad`, giving [batch, rows, outH, outW] (plus `bias`).
 */
function convolve(
  gemms: PointGemms,
  m: WinogradVariant,
  src: Tensor,
  u: TexelBuffer,
  rows: number,
  pad: readonly number[],
  out: readonly [number, number],
  bias: Tensor | null,
): Tensor {
  const e = src.engine;
  const { points, prefix } = variant(m);
  const [batch, k] = src.shape;
  const tiles = tilesOf(m, batch, out[0], out[1]);
  const v = transformTiles(m, src, "input", pad, tiles);
  const geo = pointGeometry(points, rows, k, tiles);
  const prod = gemms.gemm(geo, v, u, [points * rows * tiles.pad], src);
  e.releaseTexels(v);
  const y = e.empty([batch, rows, out[0], out[1]]);
  // F(4x4, 3x3) does four tiles per thread.
  const total = rows * (m === 4 ? tiles.pad / 4 : tiles.count);
  e.run({ file: "winograd", entry: `${prefix}_output` }, {
    [m === 4 ? "src4" : "src"]: prod,
    bias_in: bias ?? prod,
    dst: y,
  }, {
    channels: rows,
    tiles_h: tiles.h,
    tiles_w: tiles.w,
    tiles: tiles.count,
    tiles_pad: tiles.pad,
    out_h: out[0],
    out_w: out[1],
    has_bias: bias ? 1 : 0,
    total,
  }, e.grid(total));
  prod.dispose();
  return y;
}

/** Forward of a convolution that {@link winogradApplies} to. */
export function winogradForward(
  gemms: PointGemms,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  geo: Geometry,
): Tensor {
  const m = gemms.m;
  const u = transformWeight(m, weight, false);
  const y = convolve(gemms, m, x, u, geo.cout, geo.padding, [geo.outH, geo.outW], bias);
  x.engine.releaseTexels(u);
  return y;
}

/** Input gradient: the forward of `g` with the flipped, transposed kernel, padding 2 - pad. */
export function winogradInputGrad(
  gemms: PointGemms,
  g: Tensor,
  weight: Tensor,
  geo: Geometry,
): Tensor {
  const m = gemms.m;
  const u = transformWeight(m, weight, true);
  const pad = geo.padding.map((p) => 2 - p);
  const dx = convolve(gemms, m, g, u, geo.cin, pad, [geo.height, geo.width], null);
  g.engine.releaseTexels(u);
  return dx;
}

/** Weight gradient [Cout, Cin, 3, 3] from `x` and the output gradient `g`. */
export function winogradWeightGrad(
  gemms: PointGemms,
  x: Tensor,
  g: Tensor,
  geo: Geometry,
): Tensor {
  const e = x.engine;
  const m = gemms.m;
  const { points, prefix } = variant(m);
  const tiles = tilesOf(m, geo.batch, geo.outH, geo.outW);
  const v = transformTiles(m, x, "input", geo.padding, tiles);
  const gt = transformTiles(m, g, "grad", [0, 0], tiles);
  const geoP = pointGeometry(points, geo.cout, geo.cin, tiles);
  const du = gemms.dw(geoP, v, gt, [points * geo.cout * geo.cin], x);
  e.releaseTexels(v);
  e.releaseTexels(gt);
  const dw = e.empty([geo.cout, geo.cin, 3, 3]);
  const total = geo.cout * geo.cin;
  e.run({ file: "winograd", entry: `${prefix}_dw` }, { src: du, dst: dw }, {
    rows: geo.cout,
    k: geo.cin,
    total,
  }, e.grid(total));
  du.dispose();
  return dw;
}
