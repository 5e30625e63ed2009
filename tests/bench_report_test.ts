/** The speed-target checks of the bench report. */
import assert from "node:assert/strict";
import { targets } from "../bench/report.ts";
import type { BenchReport } from "../bench/run.ts";
import type { WinogradResult } from "../bench/winograd.ts";

/** A report with no measured cases except the given Winograd comparisons. */
function reportWith(winograd: WinogradResult[] | undefined): BenchReport {
  return {
    kernels: [],
    plan: { conv: [] },
    stacks: [],
    steps: [],
    peers: {},
    winograd,
  } as unknown as BenchReport;
}

function wino(id: string, f2Speedup: number, f4Speedup: number): WinogradResult {
  return { id, label: id, gemmMs: 1, f2Ms: 1, f4Ms: 1, f2Speedup, f4Speedup, samples: 3 };
}

const WINOGRAD_TARGET = "Winograd on each stride-1 3x3 layer direction >= 1.6x its implicit GEMM";

Deno.test("bench targets: the Winograd target takes the better variant and names the slow layers", () => {
  const find = (r: BenchReport) => targets(r).find((t) => t.target === WINOGRAD_TARGET)!;
  const missed = find(reportWith([
    wino("conv full b3.conv2 fwd", 1.2, 2.4),
    wino("conv full b1.conv1 dw", 0.9, 0.6),
  ]));
  assert.equal(missed.met, false);
  assert.ok(missed.measured.includes("1/2 meet it"), missed.measured);
  assert.ok(missed.measured.includes("below: full b1.conv1 dw 0.90x"), missed.measured);
  const met = find(reportWith([wino("conv full b3.conv2 dx", 1.7, 1.1)]));
  assert.equal(met.met, true);
  assert.equal(met.measured, "1/1 meet it");
  const none = find(reportWith(undefined));
  assert.equal(none.met, null);
  assert.equal(none.measured, "not run");
});
