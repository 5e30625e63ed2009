/**
 * Timing helpers: medians of repeated runs, bounded in time, measured with GPU timestamp queries
 * when the adapter has trustworthy ones (the engine's KernelProfiler) and by wall clock around
 * `engine.sync()` otherwise.
 */
import type { Engine } from "../engine/engine.ts";
import type { KernelTiming } from "../engine/profiler.ts";

/** How a time was measured. */
export type TimingMethod = "gpu-timestamps" | "wall";

/** The result of timing one case. */
export interface Timing {
  /** Median milliseconds of one run. */
  ms: number;
  /** How {@link ms} was measured. */
  method: TimingMethod;
  /** Every timed run, in milliseconds (same method). */
  samples: number[];
  /** Median wall milliseconds of one run, each including one sync (>= 11 ms on llvmpipe). */
  wallMs: number;
  /** Wall milliseconds of the warm-up run (includes compiling the kernels). */
  warmupMs: number;
}

/** How many runs a case gets. */
export interface RepPolicy {
  /** Seconds the timed runs may take together (estimated from the warm-up). */
  budgetS: number;
  /** At most this many timed runs. */
  maxReps: number;
  /** At least this many timed runs (default 1). */
  minReps?: number;
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs shorter than this get up to {@link SHORT_CASE_FACTOR} x maxReps (noise is larger). */
export const SHORT_CASE_MS = 100;
/** See {@link SHORT_CASE_MS}. */
export const SHORT_CASE_FACTOR = 5;

/** Number of timed runs for a case whose warm-up took `warmupMs`. */
export function repsFor(warmupMs: number, policy: RepPolicy): number {
  const fit = Math.floor((policy.budgetS * 1000) / Math.max(warmupMs, 1e-3));
  const max = policy.maxReps * (warmupMs < SHORT_CASE_MS ? SHORT_CASE_FACTOR : 1);
  return Math.max(policy.minReps ?? 1, Math.min(max, fit));
}

/**
 * Whether per-dispatch GPU timestamps measure kernels on this adapter. Mesa's llvmpipe reports
 * them, but they have missed work (a pack kernel writing a texture with textureStore, 40 ms wall,
 * read as 0.01 ms; AdamW and GroupNorm near zero), so software adapters are timed by wall clock.
 */
export function timestampsTrusted(e: Engine): boolean {
  return e.gpu.hasTimestamps && !e.gpu.isSoftware;
}

/** Wall-clock kernel timing: runs per sync are chosen so that one sample holds this much work. */
export const AMORTISE_MS = 250;
/** See {@link AMORTISE_MS}. */
export const MAX_RUNS_PER_SYNC = 20;

/** Sum of the kernel times of a profiler report, optionally only the kernels `keep` accepts. */
export function totalKernelMs(
  report: readonly KernelTiming[],
  keep?: (kernel: string) => boolean,
): number {
  return report.filter((k) => !keep || keep(k.kernel)).reduce((s, k) => s + k.totalMs, 0);
}

/**
 * Times `fn`, which records GPU work on `e` (its tensors are freed by a tidy around each run):
 * one warm-up run, then runs chosen by `policy`. With timestamp queries a run's time is the sum
 * of its kernels' GPU times (each dispatch in its own pass, so submission and sync costs are
 * excluded); without, the wall time of several runs per sync (see {@link AMORTISE_MS}).
 */
export async function timeKernel(e: Engine, fn: () => void, policy: RepPolicy): Promise<Timing> {
  const run = () => e.tidy(() => void fn());
  let t0 = performance.now();
  run();
  await e.sync();
  const warmupMs = performance.now() - t0;
  const reps = repsFor(warmupMs, policy);
  const samples: number[] = [];
  const walls: number[] = [];
  if (timestampsTrusted(e)) {
    const profiler = e.startProfiling();
    try {
      for (let i = 0; i < reps; i++) {
        profiler.reset();
        t0 = performance.now();
        run();
        await e.sync();
        walls.push(performance.now() - t0);
        samples.push(totalKernelMs(await profiler.report()));
      }
    } finally {
      profiler.reset();
      e.stopProfiling();
    }
    return {
      ms: median(samples),
      method: "gpu-timestamps",
      samples,
      wallMs: median(walls),
      warmupMs,
    };
  }
  // Wall clock. A sync costs ~11 ms in Deno whatever the work, so a kernel's time is taken over
  // several runs per sync (at least AMORTISE_MS of work each); the single-run wall time, sync
  // included, is kept beside it (the peers' ratios use that one).
  for (let i = 0; i < Math.min(reps, 3); i++) {
    t0 = performance.now();
    run();
    await e.sync();
    walls.push(performance.now() - t0);
  }
  const wallMs = median(walls);
  const inner = Math.min(MAX_RUNS_PER_SYNC, Math.max(1, Math.ceil(AMORTISE_MS / wallMs)));
  for (let i = 0; i < reps; i++) {
    t0 = performance.now();
    for (let j = 0; j < inner; j++) run();
    await e.sync();
    samples.push((performance.now() - t0) / inner);
  }
  return { ms: median(samples), method: "wall", samples, wallMs, warmupMs };
}

/**
 * Wall time of a whole unit of work (a training step, a forward+backward pass) including its
 * submission and one sync: `warmups` untimed runs, then runs chosen by `policy`.
 */
export async function timeWall(
  e: Engine,
  fn: () => void,
  policy: RepPolicy,
  warmups = 1,
): Promise<Timing> {
  let warmupMs = 0;
  for (let i = 0; i < warmups; i++) {
    const t0 = performance.now();
    e.tidy(() => void fn());
    await e.sync();
    warmupMs = performance.now() - t0;
  }
  const reps = repsFor(warmupMs, policy);
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    e.tidy(() => void fn());
    await e.sync();
    samples.push(performance.now() - t0);
  }
  return { ms: median(samples), method: "wall", samples, wallMs: median(samples), warmupMs };
}

/** A number with 3 significant digits (integers as is). */
export function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "-";
  if (Math.abs(v) >= 10 ** digits) return v.toFixed(0);
  return v.toPrecision(digits);
}
