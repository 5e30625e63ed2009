/**
 * 2-D convolution (torch.nn.functional.conv2d) as implicit GEMMs, with gradients: register-blocked
 * kernels (the texel family) or workgroup-memory tiled ones (the shared family), chosen per GEMM
 * by the tile the tuner or the profile gives (engine/tuning.ts).
 */
import type { Engine } from "../engine.ts";
import type { Tensor } from "../tensor.ts";
import type { TexelBuffer } from "../buffers.ts";
import { fmtShape } from "../tensor.ts";
import { packTexels, runPack } from "./pack.ts";
import { sum, sumRows } from "./reduce.ts";
import { checkF32, pair } from "./checks.ts";
import { checkTile, type Family, type Tile } from "../tuning.ts";
import {
  type PointGemms,
  winogradApplies,
  winogradFits,
  winogradForward,
  winogradInputGrad,
  winogradWeightGrad,
} from "./winograd.ts";

/** Options of {@link conv2d}; stride, padding and dilation take a number or [h, w]. */
export interface Conv2dOptions {
  /** [Cout] added to every output position. */
  bias?: Tensor | null;
  /** Step of the kernel over the input. Default 1. */
  stride?: number | readonly [number, number];
  /** Zero padding added on each side. Default 0. */
  padding?: number | readonly [number, number];
  /** Spacing between kernel taps. Default 1. */
  dilation?: number | readonly [number, number];
  /** Channel groups; Cin and Cout must be divisible by it. Default 1. */
  groups?: number;
}

/** @internal Fully resolved convolution geometry. */
export interface Geometry {
  batch: number;
  cin: number;
  height: number;
  width: number;
  cout: number;
  outH: number;
  outW: number;
  kH: number;
  kW: number;
  groups: number;
  cpg: number;
  opg: number;
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
}

function geometry(
  xShape: readonly number[],
  wShape: readonly number[],
  biasShape: readonly number[] | null,
  options: Conv2dOptions,
): Geometry {
  const stride = pair("conv2d", "stride", options.stride ?? 1, 1);
  const padding = pair("conv2d", "padding", options.padding ?? 0, 0);
  const dilation = pair("conv2d", "dilation", options.dilation ?? 1, 1);
  const groups = options.groups ?? 1;
  if (xShape.length !== 4) {
    throw new Error(`conv2d: x must be 4-D [N, C, H, W], got ${fmtShape(xShape)}`);
  }
  if (wShape.length !== 4) {
    throw new Error(
      `conv2d: weight must be 4-D [Cout, Cin/groups, KH, KW], got ${fmtShape(wShape)}`,
    );
  }
  if (!Number.isInteger(groups) || groups < 1) {
    throw new Error(`conv2d: groups must be a positive integer, got ${groups}`);
  }
  const [batch, cin, height, width] = xShape;
  const [cout, wcin, kH, kW] = wShape;
  if (cin === 0) throw new Error(`conv2d: x ${fmtShape(xShape)} has no channels`);
  if (cin % groups !== 0) {
    throw new Error(
      `conv2d: input channels ${cin} of x ${
        fmtShape(xShape)
      } are not divisible by groups ${groups}`,
    );
  }
  if (wcin !== cin / groups) {
    throw new Error(
      `conv2d: weight ${fmtShape(wShape)} expects ${wcin} input channels per group, but x ${
        fmtShape(xShape)
      } has ${cin} channels in ${groups} group(s) (${cin / groups} per group)`,
    );
  }
  if (cout % groups !== 0 || cout === 0) {
    throw new Error(
      `conv2d: output channels ${cout} of weight ${
        fmtShape(wShape)
      } must be a positive multiple of groups ${groups}`,
    );
  }
  if (kH === 0 || kW === 0) {
    throw new Error(`conv2d: weight ${fmtShape(wShape)} has an empty kernel`);
  }
  if (biasShape && (biasShape.length !== 1 || biasShape[0] !== cout)) {
    throw new Error(
      `conv2d: bias must have shape [${cout}] for weight ${fmtShape(wShape)}, got ${
        fmtShape(biasShape)
      }`,
    );
  }
  const outH = Math.floor((height + 2 * padding[0] - dilation[0] * (kH - 1) - 1) / stride[0]) + 1;
  const outW = Math.floor((width + 2 * padding[1] - dilation[1] * (kW - 1) - 1) / stride[1]) + 1;
  if (outH < 1 || outW < 1) {
    throw new Error(
      `conv2d: output size ${outH}x${outW} is too small for x ${fmtShape(xShape)} and weight ${
        fmtShape(wShape)
      } (padding [${padding}], dilation [${dilation}], stride [${stride}])`,
    );
  }
  return {
    batch,
    cin,
    height,
    width,
    cout,
    outH,
    outW,
    kH,
    kW,
    groups,
    cpg: cin / groups,
    opg: cout / groups,
    stride,
    padding,
    dilation,
  };
}

/** Output positions of `geo` (the weight gradient's K). */
function positionsOf(geo: Geometry): number {
  return geo.batch * geo.outH * geo.outW;
}

/**
 * The tile actually used for a GEMM with `m` rows and `n` columns, where `lanes(bn)` is the
 * number of invocations along N at column tile `bn`: the configured tile, shrunk where a
 * dimension is smaller; bn narrowed while the columns would not fill one SIMD row; no more
 * workgroup rows than M needs and no more columns than N needs (the workgroup keeps its size:
 * surplus rows exit at once, while idle lanes in a SIMD row would cost as much as busy ones).
 */
function fitTile(
  tile: Tile,
  simd: number,
  m: number,
  n: number,
  lanes: (bn: number) => number = (bn) => Math.ceil(n / (4 * bn)),
): Tile {
  checkTile("conv2d", tile, simd);
  const bm = Math.min(tile.bm, Math.ceil(m / 4));
  let bn = Math.min(tile.bn, Math.ceil(n / 4));
  while (bn > 1 && lanes(bn) < simd) bn = Math.ceil(bn / 2);
  const size = tile.wgX * tile.wgY;
  // Workgroup widths that keep whole SIMD rows and the workgroup's size.
  const widths = Array.from({ length: size / simd }, (_, i) => (i + 1) * simd)
    .filter((w) => size % w === 0);
  let wgY = Math.max(1, Math.min(tile.wgY, Math.ceil(m / (4 * bm))));
  while (!widths.includes(size / wgY)) wgY--;
  const need = Math.ceil(lanes(bn) / simd) * simd;
  const wgX = Math.min(size / wgY, widths.find((w) => w >= need) ?? size);
  return { bm, bn, wgX, wgY: size / wgX };
}

/**
 * Defines shared by every entry of shaders/conv2d.wgsl (each must be defined for all: the
 * workgroup-memory entries' declarations are parsed with the others, so a register-blocked
 * kernel gets a harmless SM_T, and a workgroup-memory one BM = BN = 1).
 */
function defines(tile: Tile, dx: boolean): Record<string, number> {
  const side = tile.kind === "shared" ? tile.wgX : 4;
  const blocked = tile.kind === "shared" ? { BM: 1, BN: 1 } : { BM: tile.bm, BN: tile.bn };
  return {
    ...blocked,
    WG_SIZE: tile.wgX * tile.wgY,
    DX: dx ? 1 : 0,
    SM_T: side,
    SM_LOADS: SHARED_STAGE / side,
  };
}

/**
 * Per K step the workgroup-memory kernels stage 16 texels per row or column of their block:
 * SHARED_STAGE / side loads per invocation (conv2d.wgsl SM_BK4 * 4 and SM_POS).
 */
const SHARED_STAGE = 16;
/** K texels per step of the workgroup-memory forward / input-gradient kernel (SM_BK4). */
const SHARED_K4_STEP = 4;
/** Output positions per step of the workgroup-memory weight-gradient kernel (SM_POS). */
const SHARED_POS_STEP = 16;

/**
 * Packs an NCHW tensor [batch, channels, ...spatial] as [groups][batch*spatial + 1][k4] vec4s:
 * per group, one row per position with that group's channels contiguous (zero-padded to a
 * multiple of 4), plus an all-zero row.
 */
function packAct(t: Tensor, channels: number, groups: number, spatial: number): TexelBuffer {
  const cpg = channels / groups;
  return packTexels({
    t,
    matrices: { count: groups, stride: cpg * spatial },
    rows: {
      count: t.shape[0] * spatial,
      inner: spatial,
      stride: 1,
      outerStride: channels * spatial,
    },
    cols: cpg,
    colStride: spatial,
    zeroRow: true,
  }, "conv2d");
}

/**
 * Packs the weight per group and tap as rows of output channels with input channels contiguous
 * (`transposed` false, the forward's A operand) or rows of input channels with output channels
 * contiguous (`transposed` true, the input gradient's A operand), zero-padded to vec4s.
 */
function packWt(weight: Tensor, geo: Geometry, transposed: boolean): TexelBuffer {
  const kk = geo.kH * geo.kW;
  const outC = { count: geo.opg, stride: geo.cpg * kk };
  const inC = { count: geo.cpg, stride: kk };
  const byRows = transposed ? inC : outC;
  const byCols = transposed ? outC : inC;
  return packTexels({
    t: weight,
    matrices: { count: geo.groups * kk, inner: kk, stride: 1, outerStride: geo.opg * geo.cpg * kk },
    rows: byRows,
    cols: byCols.count,
    colStride: byCols.stride,
  }, "conv2d");
}

/**
 * Whether the forward and weight gradient run as a 1x1 convolution over an im2col copy of x:
 * for fewer than 4 input channels (the 1-channel stem) a packed row would hold 1-3 useful
 * values of 4 per tap, im2col puts all cin * kh * kw values of a position in one row.
 */
function usesIm2col(geo: Geometry): boolean {
  return geo.groups === 1 && geo.cin < 4 && geo.kH * geo.kW > 1;
}

/** The 1x1 convolution over im2col rows that stands for `geo` (see {@link usesIm2col}). */
function im2colGeometry(geo: Geometry): Geometry {
  const k = geo.cin * geo.kH * geo.kW;
  return {
    ...geo,
    cin: k,
    cpg: k,
    height: geo.outH,
    width: geo.outW,
    kH: 1,
    kW: 1,
    stride: [1, 1],
    padding: [0, 0],
    dilation: [1, 1],
  };
}

/**
 * x as [batch * OH * OW + 1][ceil(K / 4)] vec4s, K = cin * KH * KW: per output position the
 * input values under the kernel (zero in padding), then an all-zero row.
 */
function packIm2col(x: Tensor, geo: Geometry): TexelBuffer {
  const rows = geo.batch * geo.outH * geo.outW;
  const c4 = Math.ceil((geo.cin * geo.kH * geo.kW) / 4);
  const texels = (rows + 1) * c4;
  const out = x.engine.texels(texels, "conv2d");
  return runPack(
    x,
    "im2col",
    {
      rows,
      c4,
      ...spatialUniforms(geo),
    },
    rows + 1,
    out,
    texels,
  );
}

/** Uniform values of the spatial geometry (conv2d.wgsl and pack.wgsl's im2col share names). */
function spatialUniforms(geo: Geometry): Record<string, number> {
  return {
    cin: geo.cin,
    height: geo.height,
    width: geo.width,
    out_h: geo.outH,
    out_w: geo.outW,
    k_h: geo.kH,
    k_w: geo.kW,
    stride_h: geo.stride[0],
    stride_w: geo.stride[1],
    pad_h: geo.padding[0],
    pad_w: geo.padding[1],
    dil_h: geo.dilation[0],
    dil_w: geo.dilation[1],
  };
}

/** Uniform values describing the convolution (shared by all conv kernels). */
function geoUniforms(geo: Geometry): Record<string, number> {
  return {
    ...spatialUniforms(geo),
    batch: geo.batch,
    cout: geo.cout,
    cpg: geo.cpg,
    opg: geo.opg,
    phases: 1,
  };
}

/** GEMM rows and columns one workgroup computes with `tile`. */
function workgroupBlock(tile: Tile): { rows: number; cols: number } {
  if (tile.kind === "shared") return { rows: 4 * tile.wgY, cols: 4 * tile.wgX };
  return { rows: 4 * tile.bm * tile.wgY, cols: 4 * tile.bn * tile.wgX };
}

/**
 * Grid for `gx` workgroups along N (folded into z beyond the per-dimension limit) and `gy` along
 * M, with `zPerFold` (groups * splits * phases) slices along z.
 */
function grid(
  e: Engine,
  gx: number,
  gy: number,
  zPerFold: number,
): { fold: number; groups: number[] } {
  const max = e.device.limits.maxComputeWorkgroupsPerDimension;
  const fold = Math.ceil(gx / max);
  const gz = zPerFold * fold;
  if (gy > max || gz > max) {
    throw new Error(`conv2d: problem too large for one dispatch (grid ${gx}x${gy}x${gz})`);
  }
  return { fold, groups: [Math.ceil(gx / fold), gy, gz] };
}

/** Sums `splits` partial results laid out [size, splits] into a tensor of `shape`. */
function finish(dst: Tensor, shape: readonly number[], splits: number): Tensor {
  if (splits === 1) return dst;
  const e = dst.engine;
  const size = shape.reduce((s, d) => s * d, 1);
  const summed = sumRows(dst, size, splits);
  dst.dispose();
  const out = e.view(summed, shape);
  summed.dispose();
  return out;
}

/**
 * Forward or input-gradient GEMM over packed operands. The input gradient's columns are grouped
 * by stride phase (see shaders/conv2d.wgsl): `phaseH` x `phaseW` positions per image and phase.
 */
function gemm(
  dx: boolean,
  geo: Geometry,
  act: TexelBuffer,
  wt: TexelBuffer,
  bias: Tensor | null,
  shape: readonly number[],
  source: Tensor,
  requested?: Tile,
): Tensor {
  const e = source.engine;
  const m = dx ? geo.cpg : geo.opg;
  const phases = dx ? geo.stride[0] * geo.stride[1] : 1;
  const phaseH = Math.ceil(geo.height / geo.stride[0]);
  const phaseW = Math.ceil(geo.width / geo.stride[1]);
  const n = dx ? geo.batch * phaseH * phaseW : geo.batch * geo.outH * geo.outW;
  if (n === 0) return e.empty(shape);
  const { simdWidth, budgets } = e.tuning;
  const kk = geo.kH * geo.kW;
  const family = dx ? "conv_dx" : "conv_fwd";
  const chosen = requested ?? e.tileFor(family, m, n, (dx ? geo.opg : geo.cpg) * kk);
  const shared = chosen.kind === "shared";
  const tile = shared ? chosen : fitTile(chosen, simdWidth, m, n);
  const k4 = Math.ceil((dx ? geo.opg : geo.cpg) / 4);
  // K loop trips per tap: one per texel, or one per staged step of the workgroup-memory kernel.
  const steps = Math.max(1, Math.floor(budgets.convLoop / kk));
  const chunk = Math.min(k4, shared ? steps * SHARED_K4_STEP : steps);
  const splits = Math.ceil(k4 / chunk);
  const defs = defines(tile, dx);
  const block = workgroupBlock(tile);
  const { fold, groups } = grid(
    e,
    Math.ceil(n / block.cols),
    Math.ceil(m / block.rows),
    geo.groups * splits * phases,
  );
  const size = shape.reduce((s, d) => s * d, 1);
  const dst = e.empty(splits === 1 ? shape : [size, splits]);
  const actRows = (dx ? geo.batch * geo.outH * geo.outW : geo.batch * geo.height * geo.width) + 1;
  const entry = shared ? "conv_gemm_shared" : "conv_gemm";
  e.run({ file: "conv2d", entry, defines: defs }, {
    act_t: act,
    wt_t: wt,
    // Without bias any read-only buffer fills the binding (it is not read).
    bias_in: bias ?? source,
    dst,
  }, {
    ...geoUniforms(geo),
    wg_x: tile.wgX,
    splits,
    chunk,
    has_bias: bias ? 1 : 0,
    n_total: n,
    fold,
    m_total: m,
    k4,
    act_rows: actRows,
    a_rows: m,
    phases,
    phase_h: phaseH,
    phase_w: phaseW,
  }, groups);
  return finish(dst, shape, splits);
}

/**
 * The forward's output, and its packed input when `keepInput` asks for it and the engine's
 * kept-input budget allows (the weight gradient reads the same packing; see
 * `budgets.keptInputsMiB` in engine/tuning.ts).
 */
function forward(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  geo: Geometry,
  keepInput: boolean,
): { out: Tensor; kept: TexelBuffer | null } {
  const e = x.engine;
  const wino = winogradTile(e, "conv_fwd", geo);
  if (wino) return { out: winogradForward(pointGemms(wino), x, weight, bias, geo), kept: null };
  const act = packInput(x, geo);
  // The weight [Cout, Cin, KH, KW] is [Cout, K] for the im2col GEMM as it is.
  const g = usesIm2col(geo) ? im2colGeometry(geo) : geo;
  const wt = packWt(weight, g, false);
  const out = gemm(false, g, act, wt, bias, [geo.batch, geo.cout, geo.outH, geo.outW], x);
  e.releaseTexels(wt);
  if (keepInput && e.keepTexels(act)) return { out, kept: act };
  e.releaseTexels(act);
  return { out, kept: null };
}

/**
 * @internal x packed as the forward and the implicit-GEMM weight gradient of a convolution with
 * a `wShape` weight read it: the work a kept input saves the weight gradient (the bench times
 * it). Give it back with {@link Engine.releaseTexels}.
 */
export function packConvInput(
  x: Tensor,
  wShape: readonly number[],
  options: Conv2dOptions = {},
): TexelBuffer {
  return packInput(x, geometry(x.shape, wShape, null, options));
}

/** x packed as the forward and weight-gradient GEMMs read it: im2col rows or packed channels. */
function packInput(x: Tensor, geo: Geometry): TexelBuffer {
  return usesIm2col(geo)
    ? packIm2col(x, geo)
    : packAct(x, geo.cin, geo.groups, geo.height * geo.width);
}

/** Input gradient from the packed output gradient `gp` (see {@link withPackedGrad}). */
function inputGrad(gp: () => TexelBuffer, g: Tensor, weight: Tensor, geo: Geometry): Tensor {
  const e = g.engine;
  const wino = winogradTile(e, "conv_dx", geo);
  if (wino) return winogradInputGrad(pointGemms(wino), g, weight, geo);
  const wt = packWt(weight, geo, true);
  const out = gemm(true, geo, gp(), wt, null, [geo.batch, geo.cin, geo.height, geo.width], g);
  e.releaseTexels(wt);
  return out;
}

/**
 * Weight gradient from `x` and the packed output gradient `gp` (see {@link withPackedGrad}),
 * reading the forward's packed input `kept` where there is one (the caller releases it).
 */
function weightGrad(
  gp: () => TexelBuffer,
  g: Tensor,
  x: Tensor,
  convGeo: Geometry,
  kept: TexelBuffer | null = null,
): Tensor {
  const e = x.engine;
  const shape = [convGeo.cout, convGeo.cpg, convGeo.kH, convGeo.kW];
  const positions = positionsOf(convGeo);
  if (positions === 0) return e.zeros(shape);
  const wino = winogradTile(e, "conv_dw", convGeo);
  if (wino) return winogradWeightGrad(pointGemms(wino), x, g, convGeo);
  // With im2col the gradient of the 1x1 GEMM's [Cout, K] weight is dw's memory as it is.
  const geo = usesIm2col(convGeo) ? im2colGeometry(convGeo) : convGeo;
  const xp = kept ?? packInput(x, convGeo);
  const tile = e.tileFor("conv_dw", geo.opg, geo.cpg * geo.kH * geo.kW, positions);
  const dw = dwGemm(geo, xp, gp(), shape, x, tile);
  if (!kept) e.releaseTexels(xp);
  return dw;
}

/** conv_dw over packed x `xp` and packed output gradient `gp`, giving `shape`. */
function dwGemm(
  geo: Geometry,
  xp: TexelBuffer,
  gp: TexelBuffer,
  shape: readonly number[],
  source: Tensor,
  requested: Tile,
): Tensor {
  const e = source.engine;
  const positions = positionsOf(geo);
  const kk = geo.kH * geo.kW;
  const shared = requested.kind === "shared";
  const tile = shared ? requested : fitTile(
    requested,
    e.tuning.simdWidth,
    geo.opg,
    geo.cpg,
    (bn) => Math.ceil(geo.cpg / (4 * bn)) * kk,
  );
  // Positions per split: a multiple of the kernel's step (4 positions, or SHARED_POS_STEP).
  const step = shared ? SHARED_POS_STEP : 4;
  const budget = Math.max(step, Math.floor(e.tuning.budgets.dwChunk / step) * step);
  const chunk = Math.min(Math.ceil(positions / step) * step, budget);
  const splits = Math.ceil(positions / chunk);
  // Blocks of input channels per tap: a block of the workgroup (shared) or of one invocation.
  const colBlocks = Math.ceil(geo.cpg / (shared ? 4 * tile.wgX : tile.bn * 4));
  const defs = defines(tile, false);
  // Column blocks are per invocation in the register-blocked kernel, per workgroup in the other.
  const gx = Math.ceil((colBlocks * kk) / (shared ? 1 : tile.wgX));
  const gy = Math.ceil(geo.opg / workgroupBlock(tile).rows);
  const { fold, groups } = grid(e, gx, gy, geo.groups * splits);
  const size = shape.reduce((s, d) => s * d, 1);
  const dst = e.empty(splits === 1 ? shape : [size, splits]);
  const entry = shared ? "conv_dw_shared" : "conv_dw";
  e.run({ file: "conv2d", entry, defines: defs }, { act_t: xp, gp_t: gp, dst }, {
    ...geoUniforms(geo),
    wg_x: tile.wgX,
    splits,
    chunk,
    n_total: positions,
    fold,
    k4: Math.ceil(geo.cpg / 4),
    act_rows: geo.batch * geo.height * geo.width + 1,
    g4: Math.ceil(geo.opg / 4),
    g_rows: positions + 1,
    col_blocks: colBlocks,
  }, groups);
  return finish(dst, shape, splits);
}

/** M, N, K of one GEMM kernel. */
export interface GemmDims {
  m: number;
  n: number;
  k: number;
}

/**
 * @internal The output shape of a convolution, the M, N, K its three kernels see (as the tuner
 * buckets them; forward and weight gradient on the im2col geometry where that is used) and
 * whether it can run as Winograd.
 */
export function convGemmDims(
  xShape: readonly number[],
  wShape: readonly number[],
  options: Conv2dOptions,
): {
  outShape: number[];
  winograd: boolean;
  conv_fwd: GemmDims;
  conv_dx: GemmDims;
  conv_dw: GemmDims;
} {
  const geo = geometry(xShape, wShape, null, options);
  return {
    outShape: [geo.batch, geo.cout, geo.outH, geo.outW],
    winograd: winogradApplies(geo),
    ...gemmDims(geo),
  };
}

/** M, N, K of the three kernels of `geo` (see {@link convGemmDims}). */
function gemmDims(geo: Geometry): Record<Family & `conv_${string}`, GemmDims> {
  const g = usesIm2col(geo) ? im2colGeometry(geo) : geo;
  const kk = geo.kH * geo.kW;
  const gkk = g.kH * g.kW;
  const positions = positionsOf(geo);
  const phases = Math.ceil(geo.height / geo.stride[0]) * Math.ceil(geo.width / geo.stride[1]);
  return {
    conv_fwd: { m: g.opg, n: positions, k: g.cpg * gkk },
    conv_dx: { m: geo.cpg, n: geo.batch * phases, k: geo.opg * kk },
    conv_dw: { m: g.opg, n: g.cpg * gkk, k: positions },
  };
}

/**
 * Runs `fn` with a getter of the output gradient `g` packed for the GEMM kernels: packed once,
 * on first use, for both gradient kernels (the Winograd ones do not need it).
 */
function withPackedGrad<T>(g: Tensor, geo: Geometry, fn: (gp: () => TexelBuffer) => T): T {
  let gp: TexelBuffer | null = null;
  try {
    return fn(() => gp ??= packAct(g, geo.cout, geo.groups, geo.outH * geo.outW));
  } finally {
    if (gp) g.engine.releaseTexels(gp);
  }
}

/**
 * The tile of `family`'s kernel when that kernel runs as Winograd: the layer qualifies, the
 * tile chosen for its GEMM (tuned or fixed) has kind "winograd" and the buffers fit the device;
 * otherwise null.
 */
function winogradTile(e: Engine, family: Family & `conv_${string}`, geo: Geometry): Tile | null {
  if (!winogradApplies(geo)) return null;
  const d = gemmDims(geo)[family];
  const tile = e.tileFor(family, d.m, d.n, d.k);
  if (tile.kind !== "winograd") return null;
  return winogradFits(e, geo, tile.winograd ?? 2, family) ? tile : null;
}

/** The point GEMMs of the Winograd path, with the register tile of `tile`. */
function pointGemms(tile: Tile): PointGemms {
  const m = tile.winograd ?? 2;
  const texel: Tile = { bm: tile.bm, bn: tile.bn, wgX: tile.wgX, wgY: tile.wgY };
  return {
    m,
    gemm: (geo, act, wt, shape, source) => gemm(false, geo, act, wt, null, shape, source, texel),
    dw: (geo, act, gp, shape, source) => dwGemm(geo, act, gp, shape, source, texel),
  };
}

function geometryOfShapes(
  xShape: readonly number[],
  wShape: readonly number[],
  g: Tensor,
  options: Conv2dOptions,
): Geometry {
  const geo = geometry(xShape, wShape, null, options);
  const want = [geo.batch, geo.cout, geo.outH, geo.outW];
  if (g.rank !== 4 || g.shape.some((d, i) => d !== want[i])) {
    throw new Error(
      `conv2d: gradient ${fmtShape(g.shape)} does not match the output shape ${fmtShape(want)}`,
    );
  }
  return geo;
}

/**
 * Gradient of conv2d with respect to its input (torch.nn.grad.conv2d_input): a transposed
 * convolution of `g` [N, Cout, OH, OW] with `weight`, giving `xShape`.
 */
export function conv2dInputGrad(
  g: Tensor,
  weight: Tensor,
  xShape: readonly number[],
  options: Conv2dOptions = {},
): Tensor {
  checkF32("conv2d", g, weight);
  const geo = geometryOfShapes(xShape, weight.shape, g, options);
  return g.engine.noGrad(() => withPackedGrad(g, geo, (gp) => inputGrad(gp, g, weight, geo)));
}

/**
 * Gradient of conv2d with respect to its weight (torch.nn.grad.conv2d_weight): correlates `x`
 * with `g` [N, Cout, OH, OW], giving `weightShape`.
 */
export function conv2dWeightGrad(
  x: Tensor,
  weightShape: readonly number[],
  g: Tensor,
  options: Conv2dOptions = {},
): Tensor {
  checkF32("conv2d", g, x);
  const geo = geometryOfShapes(x.shape, weightShape, g, options);
  return g.engine.noGrad(() => withPackedGrad(g, geo, (gp) => weightGrad(gp, g, x, geo)));
}

/**
 * 2-D convolution over NCHW `x` with `weight` [Cout, Cin/groups, KH, KW], like
 * torch.nn.functional.conv2d; differentiable in x, weight and bias.
 */
export function conv2d(x: Tensor, weight: Tensor, options: Conv2dOptions = {}): Tensor {
  const bias = options.bias ?? null;
  const geo = geometry(x.shape, weight.shape, bias?.shape ?? null, options);
  checkF32("conv2d", ...(bias ? [x, weight, bias] : [x, weight]));
  const e = x.engine;
  // The implicit-GEMM weight gradient packs x as the forward did: keep that packing.
  const keepInput = e.gradEnabled && weight.requiresGrad && positionsOf(geo) > 0 &&
    !winogradTile(e, "conv_dw", geo);
  const fwd = forward(x, weight, bias, geo, keepInput);
  let kept = fwd.kept;
  const release = () => {
    if (kept) e.releaseKeptTexels(kept);
    kept = null;
  };
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return e.record(fwd.out, "conv2d", inputs, (g) => {
    const [gx, gw] = withPackedGrad(g, geo, (gp) => [
      x.requiresGrad ? inputGrad(gp, g, weight, geo) : null,
      weight.requiresGrad ? weightGrad(gp, g, x, geo, kept) : null,
    ]);
    release();
    if (!bias) return [gx, gw];
    return [gx, gw, bias.requiresGrad ? sum(g, [0, 2, 3]) : null];
  }, release);
}
