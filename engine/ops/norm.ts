/**
 * Normalisation ops: groupNorm, batchNorm2d and layerNorm. All three run on the same kernels
 * (shaders/norm.wgsl), which normalise "groups" of elements described by a small layout record.
 */
import type { Tensor } from "../tensor.ts";
import { fmtShape, sizeOf } from "../tensor.ts";
import { add, mul, neg, sub } from "./elementwise.ts";
import { reshape, stridedCopy } from "./layout.ts";
import type { NormTuning } from "../tuning.ts";

/**
 * Which elements form group k and which affine parameter / statistics each element uses
 * (see the header of shaders/norm.wgsl): element (k, o, i) = k * baseStride + o * outerStride + i.
 */
interface NormLayout {
  groups: number;
  outer: number;
  inner: number;
  outerStride: number;
  baseStride: number;
  /** Affine index: (k % affMod) * affK + o * affO + i * affI. */
  affMod: number;
  affK: number;
  affO: number;
  affI: number;
  /**
   * Statistics group (affine-gradient layouts, whose groups are the affine indices: there
   * affMod = groups, affK = 1): floor(k / statDiv) * statK + o * statO + i * statI.
   */
  statDiv?: number;
  statK?: number;
  statO?: number;
  statI?: number;
}

interface Plan {
  /** Threads per workgroup. */
  nt: number;
  /** Consecutive elements per cursor step (1 or 4). */
  vec: number;
  parts: number;
  /** Length of a part, in units of `vec` elements. */
  partLen: number;
}

function plan(l: NormLayout, t: NormTuning): Plan {
  const m = l.outer * l.inner;
  const vec =
    l.inner % 4 === 0 && l.baseStride % 4 === 0 && (l.outer === 1 || l.outerStride % 4 === 0)
      ? 4
      : 1;
  const mv = m / vec;
  const nt = m >= t.largeFrom ? t.threadsLarge : t.threads;
  let parts = Math.max(1, Math.ceil(mv / (nt * t.maxTrips)));
  if (parts === 1 && l.groups < t.minGroups && m >= t.splitMin) {
    parts = Math.min(Math.ceil(t.minGroups / l.groups), Math.ceil(m / (t.splitMin / 4)));
  }
  const partLen = Math.max(1, Math.ceil(mv / parts));
  return { nt, vec, parts: Math.max(1, Math.ceil(mv / partLen)), partLen };
}

function uniforms(
  l: NormLayout,
  p: Plan,
  extra: Record<string, number> = {},
): Record<string, number> {
  const m = l.outer * l.inner;
  const v = p.vec;
  return {
    groups: l.groups,
    parts: p.parts,
    part_len: p.partLen,
    m: m / v,
    outer: l.outer,
    inner: Math.max(1, l.inner / v),
    outer_stride: l.outer === 1 ? l.inner / v : l.outerStride / v,
    base_stride: l.baseStride / v,
    aff_mod: Math.max(1, l.affMod),
    aff_k: l.affK,
    aff_o: l.affO,
    aff_i: l.affI,
    stat_div: Math.max(1, l.statDiv ?? 1),
    stat_k: l.statK ?? 0,
    stat_o: l.statO ?? 0,
    stat_i: l.statI ?? 0,
    inv_m: m > 0 ? 1 / m : 0,
    ...extra,
  };
}

type Bindings = Record<string, Tensor>;

/** An activation applied to the normalised output in the same kernel. */
export type NormActivation = "none" | "silu";

/** The activations by their shader code (ACT in shaders/norm.wgsl). */
const ACTIVATIONS: Record<NormActivation, number> = { none: 0, silu: 1 };

/** Dispatches a norm kernel; read-only bindings the entry does not need get `x` as a stand-in. */
function runNorm(
  x: Tensor,
  entry: string,
  p: Plan,
  defines: { MODE?: number; HAS_W?: boolean; HAS_B?: boolean; ACT?: number; AFFINE?: boolean },
  bindings: Bindings,
  values: Record<string, number>,
  groups: number[],
): void {
  const e = x.engine;
  const all: Bindings = {
    src: x,
    grad: x,
    weight: x,
    bias_in: x,
    stats: x,
    part_in: x,
    bstats: x,
    src4: x,
    grad4: x,
    ...bindings,
  };
  e.run(
    {
      file: "norm",
      entry,
      defines: {
        NT: p.nt,
        VEC: p.vec,
        GT: e.tuning.norm.groupsPerWorkgroup,
        GC: 64,
        MODE: defines.MODE ?? 0,
        HAS_W: defines.HAS_W ?? false,
        HAS_B: defines.HAS_B ?? false,
        ACT: defines.ACT ?? 0,
        AFFINE: defines.AFFINE ?? false,
      },
    },
    all,
    values,
    groups,
  );
}

/**
 * Whether `l` takes the contiguous-group fast path (gn_fwd / gn_bwd: one thread per group):
 * group k is the flat range [k m, (k + 1) m) of whole channels of a multiple of 4 elements with
 * per-channel affine parameters, small enough for one thread (an upper bound of its loop trips
 * stays under llvmpipe's 65535-iteration budget), and there are enough groups (or they are small
 * enough) to keep the cores busy.
 */
function fastPath(l: NormLayout, t: NormTuning): boolean {
  const m = l.outer * l.inner;
  return m > 0 && l.inner % 4 === 0 &&
    (l.outer === 1 || l.outerStride === l.inner) && l.baseStride === m && l.affI === 0 &&
    m <= t.fastMax && 3 * m / 4 + m / 64 + 3 * l.outer + 8 <= 60000 &&
    (l.groups >= 32 || m <= 4096);
}

/** Uniforms of the fast path (inner and base_stride in vec4 units). */
function fastUniforms(l: NormLayout, extra: Record<string, number> = {}): Record<string, number> {
  const m = l.outer * l.inner;
  return {
    groups: l.groups,
    outer: l.outer,
    inner: l.inner / 4,
    base_stride: m / 4,
    aff_mod: Math.max(1, l.affMod),
    aff_k: l.affK,
    aff_o: l.affO,
    inv_m: 1 / m,
    ...extra,
  };
}

/** Fast-path grid: one thread per group, `groupsPerWorkgroup` per workgroup. */
function fastGrid(x: Tensor, l: NormLayout): number[] {
  return x.engine.grid(Math.ceil(l.groups / x.engine.tuning.norm.groupsPerWorkgroup), 1);
}

/** Workgroup grid with one workgroup per (group, part). */
function groupGrid(x: Tensor, l: NormLayout, p: Plan): number[] {
  return x.engine.grid(l.groups * p.parts, 1);
}

/** The affine parameters and fused activation of a norm, as kernel bindings and defines. */
interface Affine {
  bindings: Bindings;
  defines: { HAS_W: boolean; HAS_B: boolean; ACT: number };
}

function affineOf(
  weight: Tensor | undefined,
  bias: Tensor | undefined,
  activation: NormActivation,
): Affine {
  const bindings: Bindings = {};
  if (weight) bindings.weight = weight;
  if (bias) bindings.bias_in = bias;
  return {
    bindings,
    defines: { HAS_W: !!weight, HAS_B: !!bias, ACT: ACTIVATIONS[activation] },
  };
}

/** Normalises x over the groups of `l`: returns the output and stats [groups, 3] (mean, rstd, var). */
function normForward(
  x: Tensor,
  l: NormLayout,
  affine: Affine,
  eps: number,
): { y: Tensor; stats: Tensor } {
  const e = x.engine;
  const p = plan(l, e.tuning.norm);
  const y = e.empty(x.shape);
  const stats = e.empty([l.groups, 3]);
  const u = uniforms(l, p, { eps });
  const defs = affine.defines;
  if (fastPath(l, e.tuning.norm)) {
    runNorm(
      x,
      "gn_fwd",
      p,
      defs,
      { ...affine.bindings, src4: x, stats_out: stats, dst4: y },
      fastUniforms(l, { eps }),
      fastGrid(x, l),
    );
    return { y, stats };
  }
  if (p.parts === 1) {
    runNorm(
      x,
      "fwd_fused",
      p,
      defs,
      { ...affine.bindings, stats_out: stats, dst: y },
      u,
      groupGrid(x, l, p),
    );
    return { y, stats };
  }
  const part = e.empty([l.groups * p.parts, 2]);
  const fin = e.grid(l.groups);
  runNorm(x, "reduce_part", p, { MODE: 0 }, { part }, u, groupGrid(x, l, p));
  runNorm(x, "finalize_stats", p, { MODE: 0 }, { part_in: part, stats_out: stats }, u, fin);
  runNorm(x, "reduce_part", p, { MODE: 1 }, { stats, part }, u, groupGrid(x, l, p));
  runNorm(x, "finalize_stats", p, { MODE: 1 }, { part_in: part, stats_out: stats }, u, fin);
  runNorm(x, "apply", p, defs, { ...affine.bindings, stats, dst: y }, u, groupGrid(x, l, p));
  part.dispose();
  return { y, stats };
}

/** dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) per group, dxhat = g * w. */
function normBackwardInput(
  x: Tensor,
  g: Tensor,
  stats: Tensor,
  l: NormLayout,
  affine: Affine,
): Tensor {
  const e = x.engine;
  const m = l.outer * l.inner;
  const p = plan(l, e.tuning.norm);
  const dx = e.empty(x.shape);
  const u = uniforms(l, p);
  const defs = affine.defines;
  const w = affine.bindings;
  if (fastPath(l, e.tuning.norm)) {
    gnBackward(x, g, stats, l, affine, dx, null);
    return dx;
  }
  if (p.parts === 1) {
    runNorm(x, "bwd_fused", p, defs, { ...w, grad: g, stats, dst: dx }, u, groupGrid(x, l, p));
    return dx;
  }
  const part = e.empty([l.groups * p.parts, 2]);
  const bstats = e.empty([l.groups, 2]);
  runNorm(
    x,
    "reduce_part",
    p,
    { ...defs, MODE: 2 },
    { ...w, grad: g, stats, part },
    u,
    groupGrid(x, l, p),
  );
  runNorm(
    x,
    "finalize_sum",
    p,
    {},
    { part_in: part, dst: bstats },
    { ...u, scale: 1 / m },
    e.grid(l.groups),
  );
  runNorm(
    x,
    "bwd_apply",
    p,
    defs,
    { ...w, grad: g, stats, bstats, dst: dx },
    u,
    groupGrid(x, l, p),
  );
  part.dispose();
  bstats.dispose();
  return dx;
}

/** The gn_bwd dispatch: dx, and with `part` (AFFINE) the weight / bias gradient partials. */
function gnBackward(
  x: Tensor,
  g: Tensor,
  stats: Tensor,
  l: NormLayout,
  affine: Affine,
  dx: Tensor,
  part: Tensor | null,
): void {
  // Without AFFINE gn_bwd still binds `part` (WGSL has no optional bindings): a placeholder.
  const bound = part ?? x.engine.empty([2]);
  runNorm(
    x,
    "gn_bwd",
    plan(l, x.engine.tuning.norm),
    { ...affine.defines, AFFINE: !!part },
    { ...affine.bindings, src4: x, grad4: g, stats, dst4: dx, part: bound },
    fastUniforms(l),
    fastGrid(x, l),
  );
  if (!part) bound.dispose();
}

/**
 * Input, weight and bias gradients from one kernel (the contiguous-group fast path of group
 * norm: `la` enumerates each channel's N samples as outer): gn_bwd's first pass over x and g,
 * which the input gradient needs anyway, also writes per-(channel, sample) partial sums, and
 * finalize_sum adds them in the order gn_affine's would be; no third pass over x and g.
 */
function fastBackwardAll(
  x: Tensor,
  g: Tensor,
  stats: Tensor,
  l: NormLayout,
  la: NormLayout,
  affine: Affine,
  paramShape: readonly number[],
): [Tensor, Tensor, Tensor] {
  const e = x.engine;
  const p = plan(l, e.tuning.norm);
  const dx = e.empty(x.shape);
  const part = e.empty([la.groups * la.outer, 2]);
  gnBackward(x, g, stats, l, affine, dx, part);
  const sums = e.empty([la.groups, 2]);
  runNorm(
    x,
    "finalize_sum",
    p,
    {},
    { part_in: part, dst: sums },
    { groups: la.groups, parts: la.outer, scale: 1 },
    e.grid(la.groups),
  );
  part.dispose();
  return [dx, ...splitSums(sums, paramShape)];
}

/** [dw, db] of the [groups, 2] sums (grad * xhat, grad) per affine index; frees the sums. */
function splitSums(sums: Tensor, paramShape: readonly number[]): [Tensor, Tensor] {
  const e = sums.engine;
  const groups = sums.shape[0];
  const dw = e.empty(paramShape);
  const db = e.empty(paramShape);
  stridedCopy(sums, dw, [groups], [2], [1], 0, 0);
  stridedCopy(sums, db, [groups], [2], [1], 1, 0);
  sums.dispose();
  return [dw, db];
}

/**
 * Weight and bias gradients: sum of g * xhat and of g per affine index (`la` enumerates the
 * elements of each affine index and maps them to their statistics group).
 */
function affineBackward(
  x: Tensor,
  g: Tensor,
  stats: Tensor,
  la: NormLayout,
  affine: Affine,
  paramShape: readonly number[],
): [Tensor, Tensor] {
  const e = x.engine;
  const p = plan(la, e.tuning.norm);
  const u = uniforms(la, p);
  let sums: Tensor;
  if (fastAffine(la, e.tuning.norm)) {
    const threads = la.groups * la.outer;
    const fu = {
      groups: la.groups,
      outer: la.outer,
      inner: la.inner / 4,
      base_stride: la.baseStride / 4,
      outer_stride: la.outerStride / 4,
      stat_div: Math.max(1, la.statDiv ?? 1),
      stat_k: la.statK ?? 0,
      stat_o: la.statO ?? 0,
    };
    const part = e.empty([threads, 2]);
    runNorm(
      x,
      "gn_affine",
      p,
      affine.defines,
      { ...affine.bindings, src4: x, grad4: g, stats, part },
      fu,
      e.grid(Math.ceil(threads / e.tuning.norm.groupsPerWorkgroup), 1),
    );
    sums = e.empty([la.groups, 2]);
    runNorm(
      x,
      "finalize_sum",
      p,
      {},
      { part_in: part, dst: sums },
      { groups: la.groups, parts: la.outer, scale: 1 },
      e.grid(la.groups),
    );
    part.dispose();
  } else {
    sums = affineSums(x, g, stats, la, affine, p, u);
  }
  return splitSums(sums, paramShape);
}

/** Whether the affine-gradient layout `la` takes the gn_affine fast path (contiguous inner rows). */
function fastAffine(la: NormLayout, t: NormTuning): boolean {
  return la.inner % 4 === 0 && la.inner > 0 &&
    la.baseStride % 4 === 0 && la.outerStride % 4 === 0 && (la.statI ?? 0) === 0 &&
    la.inner <= t.fastMax && la.groups * la.outer >= 32;
}

/** [groups, 2] sums (grad * xhat, grad) per affine index through the generic kernels. */
function affineSums(
  x: Tensor,
  g: Tensor,
  stats: Tensor,
  la: NormLayout,
  affine: Affine,
  p: Plan,
  u: Record<string, number>,
): Tensor {
  const e = x.engine;
  let sums = e.empty([la.groups * p.parts, 2]);
  runNorm(
    x,
    "reduce_part",
    p,
    { ...affine.defines, MODE: 3 },
    { ...affine.bindings, grad: g, stats, part: sums },
    u,
    groupGrid(x, la, p),
  );
  if (p.parts > 1) {
    const total = e.empty([la.groups, 2]);
    runNorm(
      x,
      "finalize_sum",
      p,
      {},
      { part_in: sums, dst: total },
      { ...u, scale: 1 },
      e.grid(la.groups),
    );
    sums.dispose();
    sums = total;
  }
  return sums;
}

/** Runs the norm forward and records its gradient for x, weight and bias. */
function normOp(
  op: string,
  x: Tensor,
  l: NormLayout,
  la: NormLayout,
  weight: Tensor | undefined,
  bias: Tensor | undefined,
  eps: number,
  activation: NormActivation = "none",
): { y: Tensor; stats: Tensor } {
  const affine = affineOf(weight, bias, activation);
  const { y, stats } = normForward(x, l, affine, eps);
  const inputs = [x];
  if (weight) inputs.push(weight);
  if (bias) inputs.push(bias);
  const out = x.engine.record(y, op, inputs, (g) => {
    const needW = !!weight?.requiresGrad;
    const needB = !!bias?.requiresGrad;
    // Group norm's fast path (outer runs over the channels of a group) computes all gradients
    // in one kernel.
    const oneScan = x.requiresGrad && (needW || needB) && l.affO === 1 &&
      fastPath(l, x.engine.tuning.norm);
    let all: [Tensor, Tensor, Tensor] | null = null;
    if (oneScan) all = fastBackwardAll(x, g, stats, l, la, affine, (weight ?? bias)!.shape);
    const grads: (Tensor | null)[] = [
      all ? all[0] : x.requiresGrad ? normBackwardInput(x, g, stats, l, affine) : null,
    ];
    if (weight || bias) {
      let dw: Tensor | null = null;
      let db: Tensor | null = null;
      if (needW || needB) {
        [dw, db] = all
          ? [all[1], all[2]]
          : affineBackward(x, g, stats, la, affine, (weight ?? bias)!.shape);
        if (!needW || !weight) {
          dw.dispose();
          dw = null;
        }
        if (!needB || !bias) {
          db.dispose();
          db = null;
        }
      }
      if (weight) grads.push(dw);
      if (bias) grads.push(db);
    }
    return grads;
  });
  return { y: out, stats };
}

function checkF32(op: string, name: string, t: Tensor | undefined): void {
  if (!t) return;
  t.storage(op);
  if (t.dtype !== "f32") throw new Error(`${op}: ${name} must be a f32 tensor, got ${t.dtype}`);
}

function checkParam(
  op: string,
  name: string,
  t: Tensor | undefined,
  shape: readonly number[],
  x: Tensor,
): void {
  if (!t) return;
  checkF32(op, name, t);
  if (t.engine !== x.engine) {
    throw new Error(`${op}: ${name} belongs to a different engine than the input`);
  }
  if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new Error(
      `${op}: ${name} has shape ${fmtShape(t.shape)} but input ${fmtShape(x.shape)} needs ${
        fmtShape(shape)
      }`,
    );
  }
}

function checkEps(op: string, eps: number): void {
  if (!Number.isFinite(eps) || eps < 0) {
    throw new Error(`${op}: eps must be a finite number >= 0, got ${eps}`);
  }
}

/** Options of {@link groupNorm}. */
export interface GroupNormOptions {
  /** Per-channel scale [C]. */
  weight?: Tensor;
  /** Per-channel shift [C]. */
  bias?: Tensor;
  /** Added to the variance for numerical stability. Default 1e-5. */
  eps?: number;
  /**
   * Activation applied to the output in the same kernels (forward and backward): "silu" gives
   * silu(groupNorm(x)) without a separate pass over the output. Default "none".
   */
  activation?: NormActivation;
}

/** Group normalisation of x [N, C, ...] over `groups` groups of channels (torch.nn.functional.group_norm). */
export function groupNorm(x: Tensor, groups: number, options: GroupNormOptions = {}): Tensor {
  const op = "groupNorm";
  const { weight, bias, eps = 1e-5, activation = "none" } = options;
  if (!Object.hasOwn(ACTIVATIONS, activation)) {
    throw new Error(
      `${op}: unknown activation "${activation}" (known: ${Object.keys(ACTIVATIONS).join(", ")})`,
    );
  }
  checkF32(op, "input", x);
  if (x.rank < 2) {
    throw new Error(`${op}: input must have shape [N, C, ...], got ${fmtShape(x.shape)}`);
  }
  const [n, c] = x.shape;
  if (!Number.isInteger(groups) || groups <= 0 || c % groups !== 0) {
    throw new Error(
      `${op}: ${c} channels of input ${fmtShape(x.shape)} cannot be split into ${groups} groups`,
    );
  }
  checkParam(op, "weight", weight, [c], x);
  checkParam(op, "bias", bias, [c], x);
  checkEps(op, eps);
  const s = sizeOf(x.shape.slice(2));
  const cg = c / groups;
  const l: NormLayout = {
    groups: n * groups,
    outer: cg,
    inner: s,
    outerStride: s,
    baseStride: cg * s,
    affMod: groups,
    affK: cg,
    affO: 1,
    affI: 0,
  };
  const la: NormLayout = {
    groups: c,
    outer: n,
    inner: s,
    outerStride: c * s,
    baseStride: s,
    affMod: c,
    affK: 1,
    affO: 0,
    affI: 0,
    statDiv: cg,
    statK: 1,
    statO: groups,
    statI: 0,
  };
  const { y, stats } = normOp(op, x, l, la, weight, bias, eps, activation);
  if (!y.requiresGrad) stats.dispose();
  return y;
}

/** Options of {@link layerNorm}. */
export interface LayerNormOptions {
  /** Elementwise scale of the normalised shape. */
  weight?: Tensor;
  /** Elementwise shift of the normalised shape. */
  bias?: Tensor;
  /** Added to the variance for numerical stability. Default 1e-5. */
  eps?: number;
}

/** Layer normalisation over the trailing dims `normalizedShape` (torch.nn.functional.layer_norm). */
export function layerNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  options: LayerNormOptions = {},
): Tensor {
  const op = "layerNorm";
  const { weight, bias, eps = 1e-5 } = options;
  checkF32(op, "input", x);
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.rank - k);
  if (
    k === 0 || k > x.rank || normalizedShape.some((d, i) => !Number.isInteger(d) || d !== tail[i])
  ) {
    throw new Error(
      `${op}: normalizedShape ${
        fmtShape(normalizedShape)
      } must be the non-empty trailing dims of input ${fmtShape(x.shape)}`,
    );
  }
  checkParam(op, "weight", weight, normalizedShape, x);
  checkParam(op, "bias", bias, normalizedShape, x);
  checkEps(op, eps);
  const len = sizeOf(normalizedShape);
  const rows = sizeOf(x.shape.slice(0, x.rank - k));
  const l: NormLayout = {
    groups: rows,
    outer: 1,
    inner: len,
    outerStride: len,
    baseStride: len,
    affMod: 1,
    affK: 0,
    affO: 0,
    affI: 1,
  };
  const la: NormLayout = {
    groups: len,
    outer: rows,
    inner: 1,
    outerStride: len,
    baseStride: 1,
    affMod: len,
    affK: 1,
    affO: 0,
    affI: 0,
    statDiv: 1,
    statK: 0,
    statO: 1,
    statI: 0,
  };
  const { y, stats } = normOp(op, x, l, la, weight, bias, eps);
  if (!y.requiresGrad) stats.dispose();
  return y;
}

/** Options of {@link batchNorm2d}. */
export interface BatchNormOptions {
  /** Running mean [C]; updated in place when training. */
  runningMean?: Tensor;
  /** Running variance [C]; updated in place (with the unbiased batch variance) when training. */
  runningVar?: Tensor;
  /** Per-channel scale [C]. */
  weight?: Tensor;
  /** Per-channel shift [C]. */
  bias?: Tensor;
  /** Use batch statistics (true, the default) or the running ones (false; both needed then). */
  training?: boolean;
  /** Weight of the batch statistics in the running-statistics update. Default 0.1. */
  momentum?: number;
  /** Added to the variance for numerical stability. Default 1e-5. */
  eps?: number;
}

/**
 * Batch normalisation of x [N, C, ...] per channel (torch.nn.functional.batch_norm). Training:
 * batch statistics, and the running statistics (if given) are updated in place; eval: running ones.
 */
export function batchNorm2d(x: Tensor, options: BatchNormOptions = {}): Tensor {
  const op = "batchNorm2d";
  const { runningMean, runningVar, weight, bias, training = true, momentum = 0.1, eps = 1e-5 } =
    options;
  checkF32(op, "input", x);
  if (x.rank < 2) {
    throw new Error(`${op}: input must have shape [N, C, H, W], got ${fmtShape(x.shape)}`);
  }
  const [n, c] = x.shape;
  const s = sizeOf(x.shape.slice(2));
  checkParam(op, "weight", weight, [c], x);
  checkParam(op, "bias", bias, [c], x);
  checkParam(op, "runningMean", runningMean, [c], x);
  checkParam(op, "runningVar", runningVar, [c], x);
  checkEps(op, eps);
  if (!Number.isFinite(momentum)) {
    throw new Error(`${op}: momentum must be a finite number, got ${momentum}`);
  }
  if (!!runningMean !== !!runningVar) {
    throw new Error(`${op}: runningMean and runningVar must be given together`);
  }
  const e = x.engine;
  if (!training) {
    if (!runningMean || !runningVar) {
      throw new Error(`${op}: evaluation mode (training: false) needs runningMean and runningVar`);
    }
    return batchNormEval(x, runningMean, runningVar, weight, bias, eps);
  }
  const m = n * s;
  if (m <= 1) {
    throw new Error(
      `${op}: expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`,
    );
  }
  const l: NormLayout = {
    groups: c,
    outer: n,
    inner: s,
    outerStride: c * s,
    baseStride: s,
    affMod: c,
    affK: 1,
    affO: 0,
    affI: 0,
  };
  const la: NormLayout = { ...l, statDiv: 1, statK: 1, statO: 0, statI: 0 };
  const { y, stats } = normOp(op, x, l, la, weight, bias, eps);
  if (runningMean && runningVar) {
    const p = plan(l, e.tuning.norm);
    runNorm(
      x,
      "running_update",
      p,
      {},
      { stats, run_mean: runningMean, run_var: runningVar },
      uniforms(l, p, { momentum, unbias: m / (m - 1) }),
      e.grid(c),
    );
  }
  if (!y.requiresGrad) stats.dispose();
  return y;
}

/** y = x * (w / sqrt(rv + eps)) + (b - rm * w / sqrt(rv + eps)), composed so gradients flow. */
function batchNormEval(
  x: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  weight: Tensor | undefined,
  bias: Tensor | undefined,
  eps: number,
): Tensor {
  const e = x.engine;
  const c = x.shape[1];
  const bshape = [c, ...x.shape.slice(2).map(() => 1)];
  // Running statistics are buffers: constants for autograd.
  const invStd = e.noGrad(() => {
    const data = e.empty([c]);
    const p = { nt: 64, vec: 1, parts: 1, partLen: 1 };
    runNorm(x, "inv_std", p, {}, { stats: runningVar, dst: data }, { groups: c, eps }, e.grid(c));
    return data;
  });
  const scaleC = weight ? mul(weight, invStd) : invStd;
  const meanScaled = mul(runningMean.detach(), scaleC);
  const shiftC = bias ? sub(bias, meanScaled) : neg(meanScaled);
  const scaleB = reshape(scaleC, bshape);
  const shiftB = reshape(shiftC, bshape);
  return add(mul(x, scaleB), shiftB);
}
