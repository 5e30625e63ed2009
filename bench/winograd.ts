/**
 * Winograd F(2x2, 3x3) and F(4x4, 3x3) against the implicit GEMM on the model's stride-1 3x3
 * layers (forward, input gradient, weight gradient): three engines on the same adapter, two
 * with every conv kernel forced to kind "winograd", timed alternately (A B C A B C ...) so that
 * load changes on a shared machine hit all alike; medians of the samples.
 */
import { Engine } from "../engine/engine.ts";
import { convRunner, type Runner } from "./kernels.ts";
import { type BenchPlan, type ConvDir, convLabel, type ConvShape } from "./shapes.ts";
import { median } from "./timing.ts";

/** One layer and direction timed both ways. */
export interface WinogradResult {
  /** Case id, e.g. "conv full b1.conv2 fwd". */
  id: string;
  label: string;
  /** Median milliseconds of one run of the implicit GEMM. */
  gemmMs: number;
  /** Median milliseconds of one run of Winograd F(2x2, 3x3). */
  f2Ms: number;
  /** Median milliseconds of one run of Winograd F(4x4, 3x3). */
  f4Ms: number;
  /** gemmMs / f2Ms: above 1 where F(2x2, 3x3) is faster. */
  f2Speedup: number;
  /** gemmMs / f4Ms. */
  f4Speedup: number;
  /** Alternate samples per side. */
  samples: number;
}

/** Options of {@link benchWinograd}. */
export interface WinogradBenchOptions {
  /** Alternate samples per side (the median is kept). Default 3. */
  rounds?: number;
  /** Wall milliseconds one sample aims for (runs per sync chosen from the warm-up). */
  sampleMs?: number;
  /** Only cases whose id this accepts. */
  filter?: (id: string) => boolean;
  log?: (line: string) => void;
}

/** The conv cases of a plan that Winograd applies to: groups 1 (always), 3x3, stride 1. */
export function winogradConvs(plan: BenchPlan): ConvShape[] {
  return plan.conv.filter((c) => c.k === 3 && c.stride === 1);
}

/** Milliseconds of one run of `r`, from `runs` runs between two syncs. */
async function sample(e: Engine, r: Runner, runs: number): Promise<number> {
  await e.sync();
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) e.tidy(() => r.run());
  await e.sync();
  return (performance.now() - t0) / runs;
}

/** Times every direction of the plan's Winograd-eligible layers both ways. */
export async function benchWinograd(
  plan: BenchPlan,
  options: WinogradBenchOptions = {},
): Promise<WinogradResult[]> {
  const rounds = options.rounds ?? 3;
  const sampleMs = options.sampleMs ?? 300;
  const winograd = (m: 2 | 4) => {
    const kind = { kind: "winograd", winograd: m } as const;
    return Engine.create({ seed: 0, tuning: { conv: { fwd: kind, dx: kind, dw: kind } } });
  };
  const engines = [await Engine.create({ seed: 0 }), await winograd(2), await winograd(4)];
  const results: WinogradResult[] = [];
  try {
    for (const c of winogradConvs(plan)) {
      for (const dir of c.dirs as ConvDir[]) {
        const id = `conv ${c.id} ${dir}`;
        if (options.filter && !options.filter(id)) continue;
        const sides = engines.map((e) => ({ e, r: convRunner(e, c, dir) }));
        try {
          // Warm-up (compiles), then runs per sample from the slower side's warm-up time.
          const warm = [];
          for (const s of sides) {
            await sample(s.e, s.r, 1);
            warm.push(await sample(s.e, s.r, 1));
          }
          const runs = Math.max(1, Math.min(20, Math.round(sampleMs / Math.max(...warm))));
          const times: number[][] = sides.map(() => []);
          for (let i = 0; i < rounds; i++) {
            for (const [k, s] of sides.entries()) times[k].push(await sample(s.e, s.r, runs));
          }
          const [gemmMs, f2Ms, f4Ms] = times.map(median);
          const res = {
            id,
            label: `${convLabel(c)} ${dir}`,
            gemmMs,
            f2Ms,
            f4Ms,
            f2Speedup: gemmMs / f2Ms,
            f4Speedup: gemmMs / f4Ms,
            samples: rounds,
          };
          results.push(res);
          const ms = (v: number) => v.toFixed(1).padStart(8);
          options.log?.(
            `  ${id.padEnd(30)} gemm ${ms(gemmMs)} ms  F2 ${ms(f2Ms)} ms ${
              res.f2Speedup.toFixed(2)
            }x  F4 ${ms(f4Ms)} ms ${res.f4Speedup.toFixed(2)}x`,
          );
        } finally {
          for (const s of sides) {
            s.r.dispose();
            s.e.pool.trim();
          }
        }
      }
    }
  } finally {
    for (const e of engines) e.destroy();
  }
  return results;
}
