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
}

/** Options of {@link Engine.tune}. */
export interface TuneOptions {
  /** Stop timing new buckets after this many seconds (buckets left keep the profile's tile). */
  budgetS?: number;
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

/** The workgroup-memory matmul kernel (shaders/matmul_shared.wgsl): 64 x 64 blocks. */
export const SHARED_MATMUL: Tile = { kind: "shared", bm: 4, bn: 4, wgX: 16, wgY: 16 };

/**
 * Winograd F(2x2, 3x3) with the profile's conv register tile for its point GEMMs: faster on
 * stride-1 3x3 layers with many channels, slower on narrow ones (engine/ops/winograd.ts). Only
 * the variant that keeps the golden tolerances is timed; F(4x4, 3x3), faster still, is opt-in
 * (`winograd: 4` in the tuning). A layer that does not qualify runs the texel kernel with the
 * same tile: it never wins there but by noise, and then costs nothing.
 */
export function winogradCandidate(profile: ProfileName): Tile {
  return { ...PROFILES[profile].conv.fwd, kind: "winograd", winograd: 2 };
}

/** The tiles timed for `family` on a `profile` adapter besides the profile's own. */
export function candidatesFor(profile: ProfileName, family: Family): Tile[] {
  const extra = family === "matmul" ? SHARED_MATMUL : winogradCandidate(profile);
  return [...CANDIDATES[profile], extra];
}

interface Job {
  family: Family;
  key: string;
  label: string;
  /** Records one run of the kernel (its tensors are freed by the caller's tidy). */
  run: () => unknown;
  dispose: () => void;
}

function fmt(s: readonly number[]): string {
  return `[${s.join(",")}]`;
}

/** The kernels a case runs, with inputs made once (random values; results are not read). */
function jobsOf(e: Engine, c: TuneCase): Job[] {
  if (c.op === "matmul") {
    const a = e.rand([c.m, c.k]);
    const b = e.rand([c.k, c.n]);
    return [{
      family: "matmul",
      key: bucketKey("matmul", c.m, c.n, c.k),
      label: `matmul ${c.m}x${c.k}x${c.n}`,
      run: () => matmul(a, b),
      dispose: () => (a.dispose(), b.dispose()),
    }];
  }
  const o = { stride: c.stride ?? 1, padding: c.padding ?? 0, groups: c.groups ?? 1 };
  const dims = convGemmDims(c.x, c.w, o);
  const x = e.rand(c.x);
  const w = e.rand(c.w);
  const g = e.rand(dims.outShape);
  const label = `conv2d x${fmt(c.x)} w${fmt(c.w)} s${o.stride}`;
  const tensors: Tensor[] = [x, w, g];
  const dispose = () => tensors.forEach((t) => t.dispose());
  const job = (family: Family, run: () => unknown): Job => {
    const d = dims[family as "conv_fwd"];
    return { family, key: bucketKey(family, d.m, d.n, d.k), label, run, dispose: () => {} };
  };
  const jobs = [
    job("conv_fwd", () => conv2d(x, w, o)),
    ...(c.inputGrad === false ? [] : [job("conv_dx", () => conv2dInputGrad(g, w, c.x, o))]),
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

/** Median wall milliseconds of one run of `job` with the tile currently chosen for its bucket. */
async function timeJob(e: Engine, job: Job): Promise<number> {
  const runs = async (n: number) => {
    const t0 = performance.now();
    e.noGrad(() =>
      e.tidy(() => {
        for (let i = 0; i < n; i++) job.run();
      })
    );
    await e.sync();
    return performance.now() - t0;
  };
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
): Promise<{ best: number; fixed: number }> {
  const t: { best: number[]; fixed: number[] } = { best: [], fixed: [] };
  for (let i = 0; i < SAMPLES; i++) {
    for (const which of ["fixed", "best"] as const) {
      e.tuned.set(job.key, {
        tile: which === "best" ? best : fixed,
        ms: 0,
        fixedMs: 0,
        candidates: 0,
      });
      t[which].push(await timeJob(e, job));
    }
  }
  return { best: median(t.best), fixed: median(t.fixed) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Times the candidates of each bucket of `cases` not tuned yet; see {@link Engine.tune}. */
export async function tune(
  e: Engine,
  cases: readonly TuneCase[],
  options: TuneOptions = {},
): Promise<TuneReport[]> {
  const started = performance.now();
  const budgetMs = (options.budgetS ?? Infinity) * 1000;
  const jobs = cases.flatMap((c) => jobsOf(e, c));
  const reports: TuneReport[] = [];
  const seen = new Set<string>();
  const unique = jobs.filter((j) => !seen.has(j.key) && seen.add(j.key));
  try {
    for (const job of unique) {
      const known = e.tuned.get(job.key);
      if (known) {
        reports.push({ key: job.key, label: job.label, ...known, cached: true });
      } else if (performance.now() - started < budgetMs) {
        const fixed = fixedTile(e.tuning, job.family);
        const others = candidatesFor(e.tuning.profile, job.family);
        const tiles = [fixed, ...others.filter((c) => !sameTile(c, fixed))];
        const times: number[] = [];
        try {
          for (const tile of tiles) {
            e.tuned.set(job.key, { tile, ms: 0, fixedMs: 0, candidates: 0 });
            times.push(await timeJob(e, job));
          }
        } catch (err) {
          e.tuned.delete(job.key);
          throw err;
        }
        let best = 0;
        times.forEach((ms, i) => {
          if (ms < times[best]) best = i;
        });
        let fixedMs = times[0];
        if (best !== 0 && times[best] <= fixedMs * (1 - MIN_GAIN)) {
          // Confirm against noise: the winner and the fixed tile timed again, alternately.
          const again = await confirm(e, job, tiles[best], fixed);
          times[best] = again.best;
          fixedMs = again.fixed;
        }
        if (times[best] > fixedMs * (1 - MIN_GAIN)) best = 0;
        const choice = {
          tile: tiles[best],
          ms: best === 0 ? fixedMs : times[best],
          fixedMs,
          candidates: tiles.length,
        };
        e.tuned.set(job.key, choice);
        reports.push({ key: job.key, label: job.label, ...choice, cached: false });
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
