/**
 * Winograd F(4x4, 3x3) (the engine's default variant) against the implicit GEMM on the model's stride-1 3x3 layers (forward,
 * input gradient, weight gradient): two engines on the same adapter, one with every conv kernel
 * forced to kind "winograd", timed alternately (A B A B ...) so that load changes on a shared
 * machine hit both alike; medians of the samples.
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
  /** Median milliseconds of one run of the Winograd path. */
  winogradMs: number;
  /** gemmMs / winogradMs: above 1 where Winograd is faster. */
  speedup: number;
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
  const kind = { kind: "winograd" } as const;
  const gemmEngine = await Engine.create({ seed: 0 });
  const winoEngine = await Engine.create({
    seed: 0,
    tuning: { conv: { fwd: kind, dx: kind, dw: kind } },
  });
  const results: WinogradResult[] = [];
  try {
    for (const c of winogradConvs(plan)) {
      for (const dir of c.dirs as ConvDir[]) {
        const id = `conv ${c.id} ${dir}`;
        if (options.filter && !options.filter(id)) continue;
        const sides = [gemmEngine, winoEngine].map((e) => ({ e, r: convRunner(e, c, dir) }));
        try {
          // Warm-up (compiles), then runs per sample from the slower side's warm-up time.
          const warm = [];
          for (const s of sides) {
            await sample(s.e, s.r, 1);
            warm.push(await sample(s.e, s.r, 1));
          }
          const runs = Math.max(1, Math.min(20, Math.round(sampleMs / Math.max(...warm))));
          const times: number[][] = [[], []];
          for (let i = 0; i < rounds; i++) {
            for (const [k, s] of sides.entries()) times[k].push(await sample(s.e, s.r, runs));
          }
          const [gemmMs, winogradMs] = times.map(median);
          const res = {
            id,
            label: `${convLabel(c)} ${dir}`,
            gemmMs,
            winogradMs,
            speedup: gemmMs / winogradMs,
            samples: rounds,
          };
          results.push(res);
          options.log?.(
            `  ${id.padEnd(44)} gemm ${gemmMs.toFixed(2).padStart(9)} ms  winograd ${
              winogradMs.toFixed(2).padStart(9)
            } ms  ${res.speedup.toFixed(2)}x`,
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
    gemmEngine.destroy();
    winoEngine.destroy();
  }
  return results;
}
