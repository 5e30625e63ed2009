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

Deno.test("bench targets: the full-step targets are checked for each variant that ran", () => {
  const step = (id: string, ms: number, peakMiB: number) => ({
    id,
    ms,
    samplesPerS: 16000 / ms,
    peakBytes: peakMiB * 2 ** 20,
  });
  const r = {
    ...reportWith(undefined),
    steps: [
      step("step full", 10000, 1100),
      step("step full robust", 15000, 1700),
      step("step full tuned", 8000, 1400),
      step("step full robust tuned", 10800, 2100),
    ],
    peers: { torch: { cases: { "step full": { ms: 2000, samplesPerS: 8 } } } },
  } as unknown as BenchReport;
  const t = new Map(targets(r).map((x) => [x.target, x]));
  const torch = "full training step >= 0.5x PyTorch CPU samples/s";
  assert.equal(t.get(torch)?.measured, "0.200x (ours 1.60, PyTorch 8.00 samples/s)");
  assert.equal(t.get(`${torch} [tuned]`)?.measured, "0.250x (ours 2.00, PyTorch 8.00 samples/s)");
  assert.equal(t.get(`${torch} [tuned]`)?.met, false);
  const robust = "enhanced robust step <= 1.45x the original step (full model)";
  assert.equal(t.get(robust)?.met, false);
  assert.equal(t.get(`${robust} [tuned]`)?.met, true);
  const peak = "peak GPU memory of the full step <= 2 GiB";
  assert.equal(t.get(peak)?.met, true);
  assert.equal(t.get(`${peak} [tuned]`)?.met, false, "the robust step's peak counts");
  assert.ok(!t.has(`${torch} [tuned F2]`), "a variant that did not run is not checked");
});
