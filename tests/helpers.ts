/** Shared test helpers: tolerant float comparison and a small seeded CPU random generator. */
import assert from "node:assert/strict";
import type { TuningOption } from "../engine/tuning.ts";

/** Tolerances for {@link assertClose}: element i passes when |a - e| <= atol + rtol * |e|. */
export interface CloseOptions {
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-3). */
  rtol?: number;
  /** Prefix of the failure message, e.g. "conv2d_k3 grad x". */
  label?: string;
  /** When given, mismatching indices are also printed as multi-dimensional indices. */
  shape?: readonly number[];
}

/** What {@link compareClose} found. */
export interface CloseReport {
  ok: boolean;
  /** Number of elements outside the tolerance (NaN counts as a mismatch unless both are NaN). */
  mismatches: number;
  /** First element outside the tolerance, or -1. */
  firstBad: number;
  /** Largest |actual - expected| and where it is (-1 when empty). */
  maxAbsErr: number;
  maxAbsAt: number;
  /** Largest |actual - expected| / |expected| over elements with expected != 0. */
  maxRelErr: number;
}

/** Compares two float arrays elementwise with `atol + rtol * |expected|`; never throws. */
export function compareClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-5, rtol = 1e-3 }: CloseOptions = {},
): CloseReport {
  const n = Math.min(actual.length, expected.length);
  let mismatches = 0;
  let firstBad = -1;
  let maxAbsErr = 0;
  let maxAbsAt = n > 0 ? 0 : -1;
  let maxRelErr = 0;
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    const e = expected[i];
    let bad: boolean;
    let err: number;
    if (Number.isNaN(a) || Number.isNaN(e)) {
      bad = !(Number.isNaN(a) && Number.isNaN(e));
      err = bad ? Infinity : 0;
    } else if (!Number.isFinite(a) || !Number.isFinite(e)) {
      bad = a !== e;
      err = bad ? Infinity : 0;
    } else {
      err = Math.abs(a - e);
      bad = err > atol + rtol * Math.abs(e);
      if (e !== 0) maxRelErr = Math.max(maxRelErr, err / Math.abs(e));
    }
    if (err > maxAbsErr || (Number.isNaN(maxAbsErr) && !Number.isNaN(err))) {
      maxAbsErr = err;
      maxAbsAt = i;
    }
    if (bad) {
      mismatches++;
      if (firstBad < 0) firstBad = i;
    }
  }
  const ok = mismatches === 0 && actual.length === expected.length;
  return { ok, mismatches, firstBad, maxAbsErr, maxAbsAt, maxRelErr };
}

/** Multi-dimensional index of flat index `i` in a contiguous tensor of `shape`. */
export function unravelIndex(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    const s = shape[d];
    if (s <= 0) continue;
    idx[d] = i % s;
    i = Math.floor(i / s);
  }
  return idx;
}

function fmtNum(v: number): string {
  return Number.isFinite(v) ? v.toPrecision(8) : String(v);
}

/**
 * Asserts that two float arrays agree within `atol + rtol * |expected|` elementwise. The failure
 * message gives the number of mismatches, the first mismatching index (with both values) and the
 * largest absolute error.
 */
export function assertClose(
  actual: Float32Array | ArrayLike<number>,
  expected: Float32Array | ArrayLike<number>,
  options: CloseOptions = {},
): void {
  const { atol = 1e-5, rtol = 1e-3, label = "values", shape } = options;
  if (actual.length !== expected.length) {
    assert.fail(`${label}: length ${actual.length}, expected ${expected.length}`);
  }
  const r = compareClose(actual, expected, { atol, rtol });
  if (r.ok) return;
  const at = (i: number) => (shape ? `${i} [${unravelIndex(i, shape).join(", ")}]` : `${i}`);
  const i = r.firstBad;
  assert.fail(
    `${label}: ${r.mismatches}/${expected.length} elements differ (atol ${atol}, rtol ${rtol}); ` +
      `first at index ${at(i)}: got ${fmtNum(actual[i])}, expected ${fmtNum(expected[i])}; ` +
      `max abs error ${fmtNum(r.maxAbsErr)} at index ${at(r.maxAbsAt)} ` +
      `(got ${fmtNum(actual[r.maxAbsAt])}, expected ${fmtNum(expected[r.maxAbsAt])})`,
  );
}

export { mulberry32 } from "../conditioner/batches.ts";
import { mulberry32 } from "../conditioner/batches.ts";

/** `n` standard normal float32 values (Box–Muller over {@link mulberry32}), times `scale`. */
export function randnArray(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = offset + scale * r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = offset + scale * r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** `n` uniform float32 values in [low, high). */
export function randArray(n: number, seed: number, low = 0, high = 1): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = low + (high - low) * rand();
  return out;
}

/** Number of elements of a shape. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * The tuning the op tests' engines use: `WEBGPU_CONDITIONER_TEST_TUNING` holds a profile name or
 * a JSON object of overrides (e.g. `{"matmul":{"kind":"shared","bm":4,"bn":4,"wgX":16,"wgY":16},
 * "budgets":{"scalarMaxMacs":8}}` runs every product on the workgroup-memory kernel); unset: auto.
 */
export function testTuning(): TuningOption {
  const v = Deno.env.get("WEBGPU_CONDITIONER_TEST_TUNING");
  if (!v) return "auto";
  return v.trim().startsWith("{") ? JSON.parse(v) as TuningOption : v as TuningOption;
}
