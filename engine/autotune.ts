/**
 * The autotuner: for each GEMM kernel family and shape bucket it times a few register tiles on
 * the adapter (wall clock around a sync, several runs per sync, median of a few samples) and
 * keeps the fastest, which ops then use for every shape in that bucket. The profile's tile is
 * always a candidate and another is chosen only when it is at least {@link MIN_GAIN} faster, in
 * the first round and again when the two are timed alternately, so a tuned engine is not slower
 * than the fixed choice by more than the timing noise. Tuning runs
 * outside training steps ({@link Engine.tune}), since timing needs syncs.
 */
import type { Engine } from "./engine.ts";
import type { Tensor } from "./tensor.ts";
import {
  bucketKey,
  type Family,
  fixedTile,
  type ProfileName,
  PROFILES,
  type Tile,
  type TunedChoice,
  type Tuning,
  type WinogradVariant,
} from "./tuning.ts";
import { conv2d, conv2dInputGrad, conv2dWeightGrad, convGemmDims } from "./ops/conv.ts";
import { matmul } from "./ops/matmul.ts";

/** A product to tune for: a convolution (all three kernels) or a matmul. */
export type TuneCase =
  | {
    op: "conv2d";
    /** Input shape [N, C, H, W]. */
    x: readonly number[];
    /** Weight shape [Cout, Cin / groups, KH, KW]. */
    w: readonly number[];
    stride?: number;
    padding?: number;
    groups?: number;
    /** Whether the input gradient is needed (false for a first layer). Default true. */
    inputGrad?: boolean;
  }
  | { op: "matmul"; m: number; k: number; n: number };

/** One line of a tuning report. */
export interface TuneReport extends TunedChoice {
  /** Family and bucket, e.g. "conv_fwd m64 n4096 k576". */
  key: string;
  /** The case that was timed, e.g. "conv2d x[16,32,128,128] w[64,32,3,3] s2". */
  label: string;
  /** True when the choice came from earlier tuning (loaded or tuned before), not timed now. */
  cached: boolean;
  /** The clock the candidates were timed with (absent when cached). */
  clock?: "gpu" | "wall";
}

/**
 * How the tuner times a candidate: "gpu" sums the GPU timestamps of its dispatches (each in its
 * own timestamped pass), "wall" measures the wall clock around a sync; "auto" (default) uses
 * "gpu" on a hardware adapter with the `timestamp-query` feature and "wall" otherwise (on a CPU
 * driver the "GPU" is the CPU, and its wall clock includes the driver's own work).
 */
export type TuneClock = "auto" | "gpu" | "wall";

/** Options of {@link Engine.tune}. */
export interface TuneOptions {
  /** Stop timing new buckets after this many seconds (buckets left keep the profile's tile). */
  budgetS?: number;
  /** The clock candidates are timed with. Default "auto". */
  clock?: TuneClock;
  /** Called before a bucket's candidates are timed (`index` counts from 1, like onResult's). */
  onStart?: (key: string, label: string, index: number, total: number) => void;
  /** Called after each bucket is decided. */
  onResult?: (r: TuneReport, index: number, total: number) => void;
}

/** A candidate must beat the profile's tile by this fraction to be chosen. */
export const MIN_GAIN = 0.05;
/** Wall milliseconds of GPU work one timing sample aims for (runs per sync are chosen by it). */
const SAMPLE_MS = 60;
/** Most runs per sync, and samples per candidate (the median is kept). */
const MAX_RUNS = 16;
const SAMPLES = 3;

const t = (bm: number, bn: number, wgX: number, wgY: number): Tile => ({ bm, bn, wgX, wgY });

/**
 * Tiles timed per profile besides the profile's own (every conv tile's wgX is a multiple of the
 * SIMD width 8; the workgroup shape is a uniform of the conv kernels, so 8x8 and 16x4 workgroups
 * of one register tile share a pipeline).
 */
export const CANDIDATES: Readonly<Record<ProfileName, readonly Tile[]>> = {
  software: [t(2, 2, 16, 8), t(4, 2, 8, 8), t(2, 4, 16, 4)],
  gpu: [t(4, 4, 8, 8), t(2, 2, 8, 8), t(4, 2, 16, 4)],
};

function sameTile(a: Tile, b: Tile): boolean {
  return a.bm === b.bm && a.bn === b.bn && a.wgX === b.wgX && a.wgY === b.wgY &&
    (a.kind ?? "texel") === (b.kind ?? "texel") && (a.winograd ?? 2) === (b.winograd ?? 2);
}

/**
 * The workgroup-memory kernels (shaders/matmul_shared.wgsl, the `_shared` entries of
 * shaders/conv2d.wgsl): 64 x 64 blocks, a candidate of every family.
 */
export const SHARED_TILE: Tile = { kind: "shared", bm: 4, bn: 4, wgX: 16, wgY: 16 };

/**
 * Winograd F(m x m, 3x3) with the profile's conv register tile for its point GEMMs: faster on
 * stride-1 3x3 layers with many channels, slower on narrow ones (engine/ops/winograd.ts).
 */
export function winogradCandidate(profile: ProfileName, m: WinogradVariant = 2): Tile {
  return { ...PROFILES[profile].conv.fwd, kind: "winograd", winograd: m };
}

/**
 * The tiles timed for `family` besides the profile's own: the profile's candidates, the
 * workgroup-memory kernel, and for a layer that can run as Winograd (`winograd`) each variant in
 * `tuning.winogradTiles` (both by default). Elsewhere a Winograd tile would run the texel kernel with the
 * same register tile, so it is not timed.
 */
export function candidatesFor(tuning: Tuning, family: Family, winograd: boolean): Tile[] {
  const extra = family === "matmul" || !winograd
    ? []
    : tuning.winogradTiles.map((m) => winogradCandidate(tuning.profile, m));
  return [...CANDIDATES[tuning.profile], SHARED_TILE, ...extra];
}

interface Job {
  family: Family;
  /** Whether the timed layer can run as Winograd (a stride-1 3x3 convolution). */
  winograd: boolean;
  /** The bucket the choice is for. */
  key: string;
  /** The bucket of the shape that is timed (another one when a smaller batch stands in). */
  timedKey: string;
  label: string;
  /** Records one run of the kernel (its tensors are freed by the caller's tidy). */
  run: () => unknown;
  dispose: () => void;
}

function fmt(s: readonly number[]): string {
  return `[${s.join(",")}]`;
}

/**
 * Output positions a convolution is timed at on a CPU driver (when its batch has more): there, a
 * batch's columns are spread over a few cores, so the cost per column is flat far below this,
 * and the full model's first layers (262144 positions at batch 16) time 4x faster at a quarter
 * of the batch.
 */
export const CPU_TIMED_POSITIONS = 1 << 16;

/**
 * The batch a convolution of `batch` images with output `outShape` is timed at: on a CPU driver
 * the smallest with at least {@link CPU_TIMED_POSITIONS} output positions (the whole batch when it
 * has fewer); on a GPU the batch itself, which its parallelism needs.
 */
function timedBatch(e: Engine, batch: number, outShape: readonly number[]): number {
  if (!e.gpu.isSoftware) return batch;
  const plane = outShape[2] * outShape[3];
  return Math.min(batch, Math.max(1, Math.ceil(CPU_TIMED_POSITIONS / plane)));
}

/**
 * The kernels a case runs, with inputs made once (random values; results are not read); on a
 * CPU driver at a smaller batch ({@link timedBatch}).
 */
function jobsOf(e: Engine, c: TuneCase): Job[] {
  if (c.op === "matmul") {
    const a = e.rand([c.m, c.k]);
    const b = e.rand([c.k, c.n]);
    const key = bucketKey("matmul", c.m, c.n, c.k);
    return [{
      family: "matmul",
      winograd: false,
      key,
      timedKey: key,
      label: `matmul ${c.m}x${c.k}x${c.n}`,
      run: () => matmul(a, b),
      dispose: () => (a.dispose(), b.dispose()),
    }];
  }
  const o = { stride: c.stride ?? 1, padding: c.padding ?? 0, groups: c.groups ?? 1 };
  const dims = convGemmDims(c.x, c.w, o);
  const xShape = [timedBatch(e, c.x[0], dims.outShape), ...c.x.slice(1)];
  const timed = convGemmDims(xShape, c.w, o);
  const x = e.rand(xShape);
  const w = e.rand(c.w);
  const g = e.rand(timed.outShape);
  const label = `conv2d x${fmt(xShape)} w${fmt(c.w)} s${o.stride}`;
  const tensors: Tensor[] = [x, w, g];
  const dispose = () => tensors.forEach((t) => t.dispose());
  const job = (family: "conv_fwd" | "conv_dx" | "conv_dw", run: () => unknown): Job => {
    const [d, t] = [dims[family], timed[family]];
    return {
      family,
      winograd: dims.winograd,
      key: bucketKey(family, d.m, d.n, d.k),
      timedKey: bucketKey(family, t.m, t.n, t.k),
      label,
      run,
      dispose: () => {},
    };
  };
  const jobs = [
    job("conv_fwd", () => conv2d(x, w, o)),
    ...(c.inputGrad === false ? [] : [job("conv_dx", () => conv2dInputGrad(g, w, xShape, o))]),
    job("conv_dw", () => conv2dWeightGrad(x, c.w, g, o)),
  ];
  jobs[jobs.length - 1].dispose = dispose;
  return jobs;
}

/** The distinct buckets (family and shape) the kernels of `cases` fall into. */
export function bucketsOf(cases: readonly TuneCase[]): string[] {
  const keys = cases.flatMap((c) => {
    if (c.op === "matmul") return [bucketKey("matmul", c.m, c.n, c.k)];
    const o = { stride: c.stride ?? 1, padding: c.padding ?? 0, groups: c.groups ?? 1 };
    const d = convGemmDims(c.x, c.w, o);
    const families = c.inputGrad === false
      ? (["conv_fwd", "conv_dw"] as const)
      : (["conv_fwd", "conv_dx", "conv_dw"] as const);
    return families.map((f) => bucketKey(f, d[f].m, d[f].n, d[f].k));
  });
  return [...new Set(keys)];
}

/** The clock `option` resolves to on `e`'s adapter; "gpu" needs timestamp queries. */
export function resolveClock(e: Engine, option: TuneClock = "auto"): "gpu" | "wall" {
  const { hasTimestamps, isSoftware } = e.gpu;
  if (option === "gpu" && !hasTimestamps) {
    throw new Error(
      `tune: clock "gpu" needs the timestamp-query feature, which this adapter lacks`,
    );
  }
  if (option === "auto") return hasTimestamps && !isSoftware ? "gpu" : "wall";
  return option;
}

/**
 * Milliseconds of `n` runs of `job`: wall clock around a sync, or the summed GPU time of their
 * dispatches. GPU time is only believed when it is positive and not above the wall time it was
 * measured in (a driver whose timestamps fail that gets the wall clock instead).
 */
async function timeRuns(e: Engine, job: Job, n: number, clock: Clock): Promise<number> {
  const profiler = clock.use === "gpu" ? e.startProfiling() : null;
  profiler?.reset();
  const t0 = performance.now();
  try {
    e.noGrad(() =>
      e.tidy(() => {
        for (let i = 0; i < n; i++) job.run();
      })
    );
    await e.sync();
  } finally {
    if (profiler) e.stopProfiling();
  }
  const wall = performance.now() - t0;
  if (!profiler) return wall;
  const gpu = (await profiler.report()).reduce((s, k) => s + k.totalMs, 0);
  if (gpu > 0 && gpu <= wall * 1.05) return gpu;
  clock.use = "wall";
  return wall;
}

/** The clock of one tuning run ("gpu" falls back to "wall" for good when it is not credible). */
interface Clock {
  use: "gpu" | "wall";
}

/**
 * Median milliseconds of one run of `job` with `tile` (set for the bucket of the shape that is
 * timed while it runs; whatever that bucket held before is restored).
 */
async function timeJob(e: Engine, job: Job, tile: Tile, clock: Clock): Promise<number> {
  const before = e.tuned.get(job.timedKey);
  e.tuned.set(job.timedKey, { tile, ms: 0, fixedMs: 0, candidates: 0 });
  try {
    return await timeTile(e, job, clock);
  } finally {
    if (before) e.tuned.set(job.timedKey, before);
    else e.tuned.delete(job.timedKey);
  }
}

async function timeTile(e: Engine, job: Job, clock: Clock): Promise<number> {
  const runs = (n: number) => timeRuns(e, job, n, clock);
  await runs(1); // compiles the kernels
  const once = await runs(1);
  const n = Math.max(1, Math.min(MAX_RUNS, Math.round(SAMPLE_MS / Math.max(once, 1e-3))));
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) samples.push((await runs(n)) / n);
  return median(samples);
}

/** Medians of {@link SAMPLES} alternate timings of `best` and `fixed` (fixed first). */
async function confirm(
  e: Engine,
  job: Job,
  best: Tile,
  fixed: Tile,
  clock: Clock,
): Promise<{ best: number; fixed: number }> {
  const t: { best: number[]; fixed: number[] } = { best: [], fixed: [] };
  for (let i = 0; i < SAMPLES; i++) {
    t.fixed.push(await timeJob(e, job, fixed, clock));
    t.best.push(await timeJob(e, job, best, clock));
  }
  return { best: median(t.best), fixed: median(t.fixed) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/**
 * Times the profile's tile and the candidates for `job`'s bucket and returns the choice: the
 * fastest when it is at least {@link MIN_GAIN} faster than the profile's tile twice, else that.
 */
async function decide(e: Engine, job: Job, clock: Clock): Promise<TunedChoice> {
  const fixed = fixedTile(e.tuning, job.family);
  const others = candidatesFor(e.tuning, job.family, job.winograd);
  const tiles = [fixed, ...others.filter((c) => !sameTile(c, fixed))];
  const times: number[] = [];
  for (const tile of tiles) times.push(await timeJob(e, job, tile, clock));
  let best = 0;
  times.forEach((ms, i) => {
    if (ms < times[best]) best = i;
  });
  let fixedMs = times[0];
  if (best !== 0 && times[best] <= fixedMs * (1 - MIN_GAIN)) {
    // Confirm against noise: the winner and the fixed tile timed again, alternately.
    const again = await confirm(e, job, tiles[best], fixed, clock);
    times[best] = again.best;
    fixedMs = again.fixed;
  }
  if (times[best] > fixedMs * (1 - MIN_GAIN)) best = 0;
  return {
    tile: tiles[best],
    ms: best === 0 ? fixedMs : times[best],
    fixedMs,
    candidates: tiles.length,
  };
}

/** Times the candidates of each bucket of `cases` not tuned yet; see {@link Engine.tune}. */
export async function tune(
  e: Engine,
  cases: readonly TuneCase[],
  options: TuneOptions = {},
): Promise<TuneReport[]> {
  const started = performance.now();
  const budgetMs = (options.budgetS ?? Infinity) * 1000;
  const clock: Clock = { use: resolveClock(e, options.clock) };
  const jobs = cases.flatMap((c) => jobsOf(e, c));
  const reports: TuneReport[] = [];
  // One job per bucket, in order of first appearance: a layer that can run as Winograd stands
  // for its bucket when there is one (a stride-2 and a stride-1 3x3 layer can share a bucket),
  // so that Winograd is timed; the others run the texel kernel with its register tile.
  const byKey = new Map<string, Job>();
  for (const j of jobs) {
    const first = byKey.get(j.key);
    if (!first || (j.winograd && !first.winograd)) byKey.set(j.key, j);
  }
  const unique = [...byKey.values()];
  try {
    for (const job of unique) {
      const known = e.tuned.get(job.key);
      if (known) {
        reports.push({ key: job.key, label: job.label, ...known, cached: true });
      } else if (performance.now() - started < budgetMs) {
        options.onStart?.(job.key, job.label, reports.length + 1, unique.length);
        const before = clock.use;
        let choice = await decide(e, job, clock);
        // Timestamps found not credible mid-bucket: time the whole bucket again by wall clock.
        if (clock.use !== before) choice = await decide(e, job, clock);
        e.tuned.set(job.key, choice);
        reports.push({
          key: job.key,
          label: job.label,
          ...choice,
          cached: false,
          clock: clock.use,
        });
      } else {
        continue;
      }
      options.onResult?.(reports[reports.length - 1], reports.length, unique.length);
    }
  } finally {
    for (const j of jobs) j.dispose();
  }
  return reports;
}

/** Outputs per invocation M x N / workgroup X x Y, or the workgroup-memory kernel's block. */
export function fmtTile(t: Tile): string {
  if (t.kind === "shared") return `shared ${4 * t.wgY}x${4 * t.wgX}`;
  if (t.kind === "winograd") {
    return `winograd F${t.winograd ?? 2} ${4 * t.bm}x${4 * t.bn}/${t.wgX}x${t.wgY}`;
  }
  return `${4 * t.bm}x${4 * t.bn}/${t.wgX}x${t.wgY}`;
}

/**
 * The table of choices: bucket, candidates timed, chosen tile (outputs per invocation M x N /
 * workgroup X x Y, or "shared" and the block of the workgroup-memory kernel), its time and the
 * speedup over the profile's tile.
 */
export function formatTuneTable(reports: readonly TuneReport[]): string {
  const head = ["case", "timed", "chosen", "ms", "fixed ms", "speedup"];
  const rows = reports.map((r) => [
    r.key,
    String(r.candidates),
    fmtTile(r.tile),
    r.ms.toFixed(2),
    r.fixedMs.toFixed(2),
    `${(r.fixedMs / r.ms).toFixed(2)}x`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(head), ...rows.map(line)].join("\n");
}
