/**
 * The golden cases as one module for another runtime: bundled by dawn_golden_test.ts and run by
 * Node with Dawn (npm `webgpu`), Chrome's WebGPU implementation and WGSL compiler.
 */
import { Engine } from "../../core.ts";
import { type GoldenFile, runGoldenCase } from "../golden_cases.ts";

/** What a run of all cases found. */
export interface GoldenReport {
  /** The adapter's description. */
  adapter: string;
  /** Cases that passed. */
  passed: number;
  /** "family/case: message" of each case that failed. */
  failures: string[];
}

/** Runs every case of `files` on an engine over `gpu` (files with tuning on their own engine). */
export async function runGolden(gpu: GPU, files: GoldenFile[]): Promise<GoldenReport> {
  const engine = await Engine.create({ gpu });
  const report: GoldenReport = { adapter: engine.gpu.description, passed: 0, failures: [] };
  try {
    for (const file of files) {
      const own = file.tuning ? await Engine.create({ gpu, tuning: file.tuning }) : null;
      try {
        await runFile(own ?? engine, file, report);
      } finally {
        own?.destroy();
      }
    }
  } finally {
    engine.destroy();
  }
  return report;
}

/** Runs the cases of one file on `engine`, counting passes and failures into `report`. */
async function runFile(engine: Engine, file: GoldenFile, report: GoldenReport): Promise<void> {
  for (const c of file.cases) {
    try {
      await runGoldenCase(engine, c);
      report.passed++;
    } catch (e) {
      report.failures.push(`${file.family}/${c.name}: ${(e as Error).message}`);
    }
  }
}
