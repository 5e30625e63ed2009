/** SVG bar charts (a value per output) and parity scatter plots for run reports. */
import { COLORS, extent, linearAxis, px, xmlEscape } from "./svg.ts";

/** A set of bars drawn in one colour under a common caption (e.g. the 32 y1 outputs). */
export interface BarGroup {
  /** Caption under the group, e.g. "y1 (latent_vectors.npy)". */
  name: string;
  /** The bars: a short label under each and its value (NaN draws no bar and shows "n/a"). */
  bars: { label: string; value: number }[];
}

/** Options of {@link barChartSvg}. */
export interface BarChartOptions {
  /** Title above the chart. */
  title: string;
  /** Label of the value axis. */
  yLabel: string;
  /** Image size in pixels (default 1100 x 300). */
  width?: number;
  height?: number;
  /**
   * Lowest value the axis shows (default: the data's, or 0); bars below it are cut at the axis
   * and marked with a triangle, so one very bad value does not flatten the rest.
   */
  floor?: number;
  /** Value the axis must include besides the data (default 0), e.g. 1 for R^2. */
  include?: number;
}

/**
 * Bars for each output of each group, groups side by side with a gap and their own colour.
 * Each bar is a `<rect class="bar">` with `data-label` and `data-value` and a tooltip.
 */
export function barChartSvg(groups: readonly BarGroup[], options: BarChartOptions): string {
  const width = options.width ?? 1100;
  const height = options.height ?? 300;
  const values = groups.flatMap((g) => g.bars.map((b) => b.value)).filter(Number.isFinite);
  let [lo, hi] = values.length ? extent(values) : [0, 1];
  lo = Math.min(lo, 0, options.include ?? 0);
  hi = Math.max(hi, 0, options.include ?? 0);
  if (options.floor !== undefined) lo = Math.max(lo, options.floor);
  const axis = linearAxis(lo, hi, false);
  const left = 64;
  const right = 16;
  const top = 36;
  const bottom = 52;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const Y = (v: number) => top + plotH - axis.frac(v) * plotH;
  const count = groups.reduce((n, g) => n + g.bars.length, 0);
  const gap = 1.5; // slots between groups
  const slot = plotW / Math.max(1, count + gap * (groups.length - 1));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text class="title" x="${px(left + plotW / 2)}" y="22" text-anchor="middle" ` +
    `font-size="15">${xmlEscape(options.title)}</text>`,
  ];
  for (const t of axis.ticks) {
    const y = px(Y(t.value));
    out.push(
      `<line x1="${left}" y1="${y}" x2="${left + plotW}" y2="${y}" ` +
        `stroke="${t.value === 0 ? "#888888" : "#e6e6e6"}"/>`,
      `<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" ` +
        `fill="#333333">${xmlEscape(t.text)}</text>`,
    );
  }
  const axisLo = axis.ticks[0].value;
  const zero = Y(Math.min(Math.max(0, axisLo), axis.ticks.at(-1)!.value));
  const bottomY = top + plotH;
  let at = 0;
  groups.forEach((g, gi) => {
    const color = COLORS[gi % COLORS.length];
    const start = at;
    for (const b of g.bars) {
      const x = left + (at + 0.15) * slot;
      const w = slot * 0.7;
      const cx = px(x + w / 2);
      const tip = `${g.name} ${b.label}: ${
        Number.isFinite(b.value) ? b.value.toPrecision(4) : "n/a"
      }`;
      if (Number.isFinite(b.value)) {
        const clipped = b.value < axisLo;
        const y = Y(Math.max(b.value, axisLo));
        const [y0, y1] = y < zero ? [y, zero] : [zero, y];
        out.push(
          `<rect class="bar" data-label="${xmlEscape(`${g.name} ${b.label}`)}" ` +
            `data-value="${b.value}" x="${px(x)}" y="${px(y0)}" width="${px(w)}" ` +
            `height="${px(Math.max(0.5, y1 - y0))}" fill="${color}">` +
            `<title>${xmlEscape(tip)}</title></rect>`,
        );
        if (clipped) {
          out.push(
            `<path d="M${px(x)} ${px(bottomY - 7)} L${px(x + w)} ${px(bottomY - 7)} L${cx} ` +
              `${px(bottomY)} Z" fill="#222222"><title>${xmlEscape(tip)}</title></path>`,
          );
        }
      } else {
        out.push(
          `<text x="${cx}" y="${px(zero - 4)}" text-anchor="middle" font-size="8" ` +
            `fill="#888888">n/a</text>`,
        );
      }
      out.push(
        `<text x="${cx}" y="${px(bottomY + 12)}" text-anchor="middle" font-size="9" ` +
          `fill="#555555">${xmlEscape(b.label)}</text>`,
      );
      at++;
    }
    out.push(
      `<text x="${px(left + ((start + at) / 2) * slot)}" y="${px(bottomY + 30)}" ` +
        `text-anchor="middle" fill="${color}" font-weight="bold">${xmlEscape(g.name)}</text>`,
    );
    at += gap;
  });
  out.push(
    `<rect x="${left}" y="${top}" width="${px(plotW)}" height="${px(plotH)}" fill="none" ` +
      `stroke="#333333"/>`,
    `<text x="16" y="${px(top + plotH / 2)}" text-anchor="middle" ` +
      `transform="rotate(-90 16 ${px(top + plotH / 2)})">${xmlEscape(options.yLabel)}</text>`,
    `</svg>`,
  );
  return out.join("\n") + "\n";
}

/** Options of {@link paritySvg}. */
export interface ParityOptions {
  /** Title above the plot. */
  title: string;
  /** Image size in pixels (default 360 x 360). */
  size?: number;
}

/**
 * Predicted against true values (`[true, predicted]` points) on equal axes with the y = x line:
 * points on the line are perfect predictions. Each point is a `<circle class="point">`.
 */
export function paritySvg(
  points: readonly (readonly [number, number])[],
  o: ParityOptions,
): string {
  const size = o.size ?? 360;
  const finite = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  let [lo, hi] = finite.length ? extent(finite.flat()) : [0, 1];
  const pad = (hi - lo) * 0.05 || Math.abs(lo) * 0.1 || 1;
  lo -= pad;
  hi += pad;
  const axis = linearAxis(lo, hi, false);
  const left = 56;
  const top = 34;
  const plot = Math.min(size - left - 16, size - top - 40);
  const X = (v: number) => left + axis.frac(v) * plot;
  const Y = (v: number) => top + plot - axis.frac(v) * plot;
  const first = axis.ticks[0].value;
  const last = axis.ticks.at(-1)!.value;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" ` +
    `viewBox="0 0 ${size} ${size}" font-family="sans-serif" font-size="11">`,
    `<rect width="${size}" height="${size}" fill="#ffffff"/>`,
    `<text class="title" x="${px(left + plot / 2)}" y="20" text-anchor="middle" ` +
    `font-size="13">${xmlEscape(o.title)}</text>`,
  ];
  for (const t of axis.ticks) {
    out.push(
      `<line x1="${px(X(t.value))}" y1="${top}" x2="${px(X(t.value))}" y2="${px(top + plot)}" ` +
        `stroke="#eeeeee"/>`,
      `<line x1="${left}" y1="${px(Y(t.value))}" x2="${px(left + plot)}" y2="${px(Y(t.value))}" ` +
        `stroke="#eeeeee"/>`,
      `<text x="${px(X(t.value))}" y="${px(top + plot + 14)}" text-anchor="middle" ` +
        `fill="#333333">${xmlEscape(t.text)}</text>`,
      `<text x="${left - 5}" y="${px(Y(t.value))}" text-anchor="end" ` +
        `dominant-baseline="middle" fill="#333333">${xmlEscape(t.text)}</text>`,
    );
  }
  out.push(
    `<line class="diagonal" x1="${px(X(first))}" y1="${px(Y(first))}" x2="${px(X(last))}" ` +
      `y2="${px(Y(last))}" stroke="#888888" stroke-dasharray="5 4"/>`,
  );
  for (const [x, y] of finite) {
    out.push(
      `<circle class="point" cx="${px(X(x))}" cy="${px(Y(y))}" r="3" fill="${COLORS[0]}" ` +
        `fill-opacity="0.65"/>`,
    );
  }
  out.push(
    `<rect x="${left}" y="${top}" width="${px(plot)}" height="${px(plot)}" fill="none" ` +
      `stroke="#333333"/>`,
    `<text x="${px(left + plot / 2)}" y="${px(top + plot + 32)}" text-anchor="middle">true</text>`,
    `<text x="14" y="${px(top + plot / 2)}" text-anchor="middle" ` +
      `transform="rotate(-90 14 ${px(top + plot / 2)})">predicted</text>`,
    `</svg>`,
  );
  return out.join("\n") + "\n";
}
