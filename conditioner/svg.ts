/** What the SVG charts share: escaping, number formatting, colours and axes with round ticks. */

/** Tableau 10: distinct, colour-blind-friendlier colours; reused with dashes after 10. */
export const COLORS = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];

/** Escapes text for XML content and attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

/** Pixel coordinate with at most 2 decimals. */
export function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** Tick label without float noise (0.30000000000000004 -> "0.3"; 2e-7 -> "2e-7"). */
export function label(v: number): string {
  const clean = Number(v.toPrecision(10));
  const a = Math.abs(clean);
  if (a !== 0 && (a < 1e-4 || a >= 1e6)) return clean.toExponential().replace("e+", "e");
  return String(clean);
}

/** Smallest and largest of `values` (a loop: spreading huge arrays into Math.min overflows). */
export function extent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** An axis: mapping of data values to [0, 1] along it, and its ticks. */
export interface Axis {
  /** Data value -> fraction of the axis length, 0 at the domain start. */
  frac: (v: number) => number;
  /** Tick values and their labels, inside the domain. */
  ticks: { value: number; text: string }[];
}

/** A "nice" step (1, 2 or 5 times a power of ten) near `raw`. */
export function niceStep(raw: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/** Multiples of a nice step inside [lo, hi]: about `count`, and at least 4 (finer steps). */
function roundTicks(lo: number, hi: number, count: number): number[] {
  const inside = (step: number) => {
    const out: number[] = [];
    for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
      out.push(Number((k * step).toPrecision(12)));
    }
    return out;
  };
  let step = niceStep((hi - lo) / count);
  let ticks = inside(step);
  while (ticks.length < 4) {
    const m = Math.round(step / Math.pow(10, Math.floor(Math.log10(step) + 1e-9)));
    step /= m === 5 ? 2.5 : 2; // 1 -> 0.5 -> 0.2 -> 0.1 -> 0.05 ...
    ticks = inside(step);
  }
  return ticks;
}

/**
 * Linear axis over [min, max] extended to round ticks (about 6); `integer` keeps steps >= 1.
 * A single value gets a margin around it.
 */
export function linearAxis(min: number, max: number, integer: boolean): Axis {
  if (min === max) {
    const pad = integer ? 1 : (Math.abs(min) * 0.1 || 1);
    min -= pad;
    max += pad;
  }
  let step = niceStep((max - min) / 6);
  if (integer) step = Math.max(1, step);
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks: { value: number; text: string }[] = [];
  const n = Math.round((hi - lo) / step);
  for (let i = 0; i <= n; i++) {
    const value = lo + i * step;
    ticks.push({ value, text: label(value) });
  }
  return { frac: (v) => (v - lo) / (hi - lo), ticks };
}

/**
 * Linear axis over exactly [min, max] (the data fills it) with round ticks inside, about 6;
 * `integer` keeps steps >= 1. A single value gets a margin around it.
 */
export function fittedAxis(min: number, max: number, integer: boolean): Axis {
  if (min === max) {
    const pad = integer ? 1 : (Math.abs(min) * 0.1 || 1);
    min -= pad;
    max += pad;
  }
  let step = niceStep((max - min) / 6);
  if (integer) step = Math.max(1, step);
  const ticks: { value: number; text: string }[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) {
    ticks.push({ value: k * step, text: label(k * step) });
  }
  return { frac: (v) => (v - min) / (max - min), ticks };
}

/** Share of a log axis's data span added above and below the data (so no point sits on the frame). */
export const LOG_PAD = 0.04;

/**
 * Log10 axis fitted to [min, max] (both > 0): the data span plus {@link LOG_PAD} of it on each
 * side (a tenth of a decade around a single value), not rounded out to whole decades, so the
 * data fills the height. Ticks are the decades when they are enough, else 1-2-5 or 1..9 times
 * the decades, else round linear steps (a narrow range).
 */
export function logAxis(min: number, max: number): Axis {
  let lo = Math.log10(min);
  let hi = Math.log10(max);
  if (hi - lo < 1e-6) {
    lo -= 0.05;
    hi += 0.05;
  } else {
    const pad = (hi - lo) * LOG_PAD;
    lo -= pad;
    hi += pad;
  }
  const span = hi - lo;
  const inside = (v: number) => {
    const l = Math.log10(v);
    return l >= lo - 1e-9 && l <= hi + 1e-9;
  };
  let values: number[] = [];
  for (const mantissas of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    values = [];
    for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) {
      for (const m of mantissas) {
        const v = m * Math.pow(10, k);
        if (inside(v)) values.push(Number(v.toPrecision(12)));
      }
    }
    if (values.length >= 3) break;
  }
  if (values.length < 3) values = roundTicks(Math.pow(10, lo), Math.pow(10, hi), 5);
  const every = Math.ceil(values.length / 10);
  values = values.filter((_, i) => i % every === 0);
  return {
    frac: (v) => (Math.log10(v) - lo) / span,
    ticks: values.map((value) => ({ value, text: label(value) })),
  };
}
