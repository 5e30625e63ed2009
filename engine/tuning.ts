/**
 * Every performance knob of the engine in one place: register tiles and workgroup shapes of the
 * GEMM kernels, loop budgets and chunk sizes, the SIMD width and the 1-D workgroup size. Named
 * profiles hold measured defaults per kind of adapter; {@link resolveTuning} picks one from the
 * adapter and applies overrides. Nothing here changes results beyond float rounding: every value
 * only decides how work is split.
 */
import type { GpuContext } from "./device.ts";

/**
 * Register tile and workgroup shape of a GEMM kernel: each invocation computes (4 bm) x (4 bn)
 * outputs (bm, bn in 1..8); wgX invocations along N (a multiple of the SIMD width for the conv
 * kernels) by wgY along M.
 */
export interface Tile {
  /** 4x4 blocks per invocation along M. */
  bm: number;
  /** 4x4 blocks per invocation along N. */
  bn: number;
  /** Workgroup size along N. */
  wgX: number;
  /** Workgroup size along M. */
  wgY: number;
  /**
   * Kernel family: "texel" (default) reads operands packed into texel buffers with a register
   * tile per invocation; "shared" stages blocks in workgroup memory, a wgX x wgX
   * workgroup computing (4 wgX) x (4 wgX) outputs, 4x4 per invocation (bm = bn = 4, wgY = wgX);
   * "winograd" (conv only) runs a stride-1 3x3 convolution as Winograd F(2x2, 3x3) or F(4x4, 3x3)
   * (engine/ops/winograd.ts; see `winograd`), its point GEMMs with this register tile; other
   * layers fall back to the texel kernel with the same tile.
   */
  kind?: "texel" | "shared" | "winograd";
  /**
   * Output tile of kind "winograd": F(2x2, 3x3) (when unset) or F(4x4, 3x3) (faster on deep
   * layers, float32 errors about 3x the implicit GEMM's; see engine/ops/winograd.ts).
   */
  winograd?: WinogradVariant;
}

/** Tiles of the three convolution kernels. */
export interface ConvTiles {
  /** Forward (implicit GEMM over output positions). */
  fwd: Tile;
  /** Input gradient. */
  dx: Tile;
  /** Weight gradient. */
  dw: Tile;
}

/** Loop budgets and chunk sizes (llvmpipe stops any shader loop after 65535 iterations). */
export interface Budgets {
  /** K values one matmul invocation sums before the product is split. */
  matmulK: number;
  /** Products up to this many multiply-adds run the scalar matmul kernel (no packing). */
  scalarMaxMacs: number;
  /** Loop iterations one conv forward / input-gradient invocation may spend in its K loop. */
  convLoop: number;
  /** Output positions per chunk of the weight gradient's K loop (a multiple of 4). */
  dwChunk: number;
  /** Values one invocation of the row-sum kernel adds (the second pass of every split). */
  reduceChunk: number;
  /** Largest pooling window (kh * kw) done in one kernel; larger ones go along W, then H. */
  poolWindow: number;
  /**
   * MiB of packed convolution inputs the forward may keep for the weight gradient, which packs
   * the input again where none is kept (first come, first kept; 0 keeps none). Each kept input
   * stays in memory from its layer's forward until its backward.
   */
  keptInputsMiB: number;
}

/** Tuning of the normalisation kernels (engine/ops/norm.ts). */
export interface NormTuning {
  /** A group is split into several workgroups when a loop would exceed this many trips. */
  maxTrips: number;
  /** Groups below this count with at least `splitMin` elements are split to use more cores. */
  minGroups: number;
  /** Smallest group (elements) split for want of groups. */
  splitMin: number;
  /** Threads per workgroup for groups smaller than `largeFrom` elements. */
  threads: number;
  /** Threads per workgroup for groups of `largeFrom` elements or more. */
  threadsLarge: number;
  /** Group size (elements) from which `threadsLarge` applies. */
  largeFrom: number;
  /** Contiguous-group fast path: groups per workgroup (one thread each). */
  groupsPerWorkgroup: number;
  /** Contiguous-group fast path: the largest group (elements). */
  fastMax: number;
}

/** The resolved tuning of an engine ({@link Engine.tuning}). */
export interface Tuning {
  /** The profile the values started from. */
  profile: ProfileName;
  /** Lanes the adapter runs in lock step (workgroup x of the conv kernels is a multiple). */
  simdWidth: number;
  /** Workgroup size of every 1-D kernel (the WGSL constant `WG`). */
  wg: number;
  /** The scalar matmul kernel's workgroup (tiny products); each thread does 4x4 outputs. */
  matmulScalar: { wgX: number; wgY: number };
  /** Tile of the texel-buffer matmul kernel. */
  matmul: Tile;
  /** Tiles of the convolution kernels. */
  conv: ConvTiles;
  /** Loop budgets and chunk sizes. */
  budgets: Budgets;
  /** Normalisation kernels. */
  norm: NormTuning;
  /**
   * Winograd variants the autotuner may choose for stride-1 3x3 layers: `[2, 4]` (the default:
   * F(4x4, 3x3), faster on deep layers with float32 errors about 3x the implicit GEMM's, and
   * F(2x2, 3x3), whose errors are below the implicit GEMM's), `[2]` (F(2x2, 3x3) only) or `[]`
   * (none). Tiles set by hand are not limited by it.
   */
  winogradTiles: readonly WinogradVariant[];
}

/** Output tile of a Winograd variant: F(2x2, 3x3) or F(4x4, 3x3). */
export type WinogradVariant = 2 | 4;

/** The overrides that keep the autotuner to F(2x2, 3x3) (`--no-winograd-f4`). */
export const WINOGRAD_F2_ONLY: TuningOverrides = { winogradTiles: [2] };

/** Winograd variants as "F2,F4" ("none" for an empty list). */
export function fmtWinogradTiles(tiles: readonly WinogradVariant[]): string {
  return tiles.map((m) => `F${m}`).join(",") || "none";
}

/** Names of the built-in profiles. */
export type ProfileName = "software" | "gpu";

/** What {@link resolveTuning} accepts: a profile, overrides of the adapter's profile, or "auto". */
export type TuningOption = ProfileName | "auto" | TuningOverrides;

/** Partial values laid over a profile (`profile` names the base; default the adapter's). */
export type TuningOverrides = {
  profile?: ProfileName;
  simdWidth?: number;
  wg?: number;
  matmulScalar?: Partial<Tuning["matmulScalar"]>;
  matmul?: Partial<Tile>;
  conv?: { fwd?: Partial<Tile>; dx?: Partial<Tile>; dw?: Partial<Tile> };
  budgets?: Partial<Budgets>;
  norm?: Partial<NormTuning>;
  winogradTiles?: readonly WinogradVariant[];
};

const BUDGETS: Budgets = {
  matmulK: 8192,
  scalarMaxMacs: 1 << 16,
  convLoop: 16384,
  dwChunk: 4096,
  reduceChunk: 1024,
  poolWindow: 4096,
  keptInputsMiB: 64,
};

const NORM: NormTuning = {
  maxTrips: 8192,
  minGroups: 8,
  splitMin: 1 << 16,
  threads: 64,
  threadsLarge: 256,
  largeFrom: 4096,
  groupsPerWorkgroup: 16,
  fastMax: 1 << 16,
};

const tile = (bm: number, bn: number, wgX: number, wgY: number): Tile => ({ bm, bn, wgX, wgY });

/**
 * The built-in profiles. `software`: on llvmpipe 16x16 outputs per invocation (4x4 blocks) ran
 * fastest for matmul (1024^3: 51 GFLOP/s against 39 at 32x16, whose spilled accumulators cost
 * more than the gathers they save) and within 5% of 32x16 for conv (3x3 64->64 on 32x64x64:
 * 57 against 60 GFLOP/s) while compiling 3.5x faster. `gpu`: 8x8 outputs per invocation, since
 * on a GPU big register tiles cost occupancy.
 */
export const PROFILES: Readonly<Record<ProfileName, Tuning>> = {
  software: {
    profile: "software",
    simdWidth: 8,
    wg: 64,
    matmulScalar: { wgX: 8, wgY: 8 },
    matmul: tile(4, 4, 8, 8),
    conv: { fwd: tile(4, 4, 8, 8), dx: tile(4, 4, 8, 8), dw: tile(4, 4, 8, 8) },
    budgets: BUDGETS,
    norm: NORM,
    winogradTiles: [2, 4],
  },
  gpu: {
    profile: "gpu",
    simdWidth: 8,
    wg: 64,
    matmulScalar: { wgX: 8, wgY: 8 },
    matmul: tile(2, 2, 16, 8),
    conv: { fwd: tile(2, 2, 16, 8), dx: tile(2, 2, 16, 8), dw: tile(2, 2, 16, 8) },
    budgets: BUDGETS,
    norm: NORM,
    winogradTiles: [2, 4],
  },
};

/** The profile for an adapter: `software` for CPU drivers (llvmpipe, SwiftShader), else `gpu`. */
export function profileFor(gpu: Pick<GpuContext, "isSoftware">): ProfileName {
  return gpu.isSoftware ? "software" : "gpu";
}

/** Largest loop budget that stays clear of llvmpipe's 65535 iterations per invocation. */
const LOOP_LIMIT = 65535;

/** The tuning for `option` on `gpu` ("auto" resolves like the adapter's profile); validated. */
export function resolveTuning(
  gpu: Pick<GpuContext, "isSoftware">,
  option: TuningOption = "auto",
): Tuning {
  const over: TuningOverrides = typeof option === "string"
    ? (option === "auto" ? {} : { profile: option })
    : option;
  const name = over.profile ?? profileFor(gpu);
  const base = PROFILES[name];
  if (!base) {
    throw new Error(
      `tuning: unknown profile "${name}" (known: ${Object.keys(PROFILES).join(", ")}, auto)`,
    );
  }
  const t: Tuning = {
    profile: name,
    simdWidth: over.simdWidth ?? base.simdWidth,
    wg: over.wg ?? base.wg,
    matmulScalar: { ...base.matmulScalar, ...over.matmulScalar },
    matmul: { ...base.matmul, ...over.matmul },
    conv: {
      fwd: { ...base.conv.fwd, ...over.conv?.fwd },
      dx: { ...base.conv.dx, ...over.conv?.dx },
      dw: { ...base.conv.dw, ...over.conv?.dw },
    },
    budgets: { ...base.budgets, ...over.budgets },
    norm: { ...base.norm, ...over.norm },
    winogradTiles: [...(over.winogradTiles ?? base.winogradTiles)],
  };
  checkTuning(t);
  return t;
}

const isPos = (v: number) => Number.isInteger(v) && v >= 1;

/** Throws when a tile cannot run: bm, bn in 1..8, wgX a multiple of `simd` (0: any). */
export function checkTile(where: string, t: Tile, simd = 0): void {
  if (t.kind === "shared") {
    if (t.bm !== 4 || t.bn !== 4 || t.wgX !== t.wgY || ![4, 8, 16].includes(t.wgX)) {
      throw new Error(
        `tuning: invalid ${where} tile ${JSON.stringify(t)} (shared: bm = bn = 4, ` +
          `wgX = wgY in 4, 8, 16)`,
      );
    }
    return;
  }
  if (t.winograd !== undefined && t.winograd !== 2 && t.winograd !== 4) {
    throw new Error(`tuning: invalid ${where} tile ${JSON.stringify(t)} (winograd must be 2 or 4)`);
  }
  const ok = (v: number) => isPos(v) && v <= 8;
  if (
    !ok(t.bm) || !ok(t.bn) || !isPos(t.wgX) || !isPos(t.wgY) || (simd > 0 && t.wgX % simd !== 0)
  ) {
    throw new Error(
      `tuning: invalid ${where} tile ${JSON.stringify(t)} (bm, bn in 1..8${
        simd ? `, wgX a multiple of ${simd}` : ""
      })`,
    );
  }
}

function checkTuning(t: Tuning): void {
  if (!isPos(t.simdWidth) || !isPos(t.wg) || t.wg > 256) {
    throw new Error(`tuning: simdWidth and wg must be positive integers (wg <= 256)`);
  }
  if (t.matmul.kind === "winograd") throw new Error(`tuning: matmul has no winograd kernel`);
  checkTile("matmul", t.matmul);
  for (const k of ["fwd", "dx", "dw"] as const) {
    checkTile(`conv.${k}`, t.conv[k], t.simdWidth);
  }
  const b = t.budgets;
  for (const [k, v] of Object.entries(b)) {
    if (k === "keptInputsMiB" ? !(Number.isInteger(v) && v >= 0) : !isPos(v)) {
      throw new Error(
        `tuning: budgets.${k} must be a ${k === "keptInputsMiB" ? "non-negative" : "positive"} ` +
          `integer, got ${v}`,
      );
    }
  }
  for (const k of ["matmulK", "convLoop", "dwChunk", "reduceChunk", "poolWindow"] as const) {
    if (b[k] > LOOP_LIMIT) {
      throw new Error(
        `tuning: budgets.${k} ${b[k]} exceeds the ${LOOP_LIMIT}-iteration loop limit`,
      );
    }
  }
  if (b.dwChunk % 4 !== 0) throw new Error(`tuning: budgets.dwChunk must be a multiple of 4`);
  for (const [k, v] of Object.entries(t.norm)) {
    if (!isPos(v)) throw new Error(`tuning: norm.${k} must be a positive integer, got ${v}`);
  }
  const w = t.winogradTiles;
  if (!Array.isArray(w) || w.some((v) => v !== 2 && v !== 4) || new Set(w).size !== w.length) {
    throw new Error(
      `tuning: winogradTiles must list distinct variants among 2 and 4, got ${JSON.stringify(w)}`,
    );
  }
}

/** GEMM kernel families the tuner chooses tiles for. */
export type Family = "matmul" | "conv_fwd" | "conv_dx" | "conv_dw";

/** A tuned choice for one family and shape bucket. */
export interface TunedChoice {
  /** The chosen tile. */
  tile: Tile;
  /** Median milliseconds of one run with the chosen tile. */
  ms: number;
  /** Median milliseconds of one run with the profile's tile. */
  fixedMs: number;
  /** How many tiles were timed. */
  candidates: number;
}

/** Smallest power of two >= v (1 for v <= 1). */
function pow2(v: number): number {
  return v <= 1 ? 1 : 2 ** Math.ceil(Math.log2(v));
}

/** The bucket key of a GEMM: family and M, N, K rounded up to powers of two. */
export function bucketKey(family: Family, m: number, n: number, k: number): string {
  return `${family} m${pow2(m)} n${pow2(n)} k${pow2(k)}`;
}

/** The profile's tile for a family. */
export function fixedTile(tuning: Tuning, family: Family): Tile {
  const { matmul, conv } = tuning;
  if (family === "matmul") return matmul;
  return family === "conv_fwd" ? conv.fwd : family === "conv_dx" ? conv.dx : conv.dw;
}

/**
 * Version of the kernels' tiling code: tuning results stored with another version are ignored.
 * Raise it whenever a kernel or its tile handling changes.
 */
export const KERNELS_VERSION = 4;

/** Identifies the adapter and driver tuning results were measured on. */
export function adapterKey(gpu: Pick<GpuContext, "adapter" | "description" | "backend">): string {
  const info = gpu.adapter.info;
  const parts = [gpu.backend.backend, info.vendor, info.architecture, info.device, gpu.description];
  return parts.filter(Boolean).join(" | ");
}
