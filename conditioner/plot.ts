/**
 * Standalone SVG line charts of training curves (loss or learning rate per epoch), written next
 * to checkpoints so a run can be inspected without TensorBoard.
 */
import { COLORS, extent, fittedAxis, linearAxis, logAxis, px, xmlEscape } from "./svg.ts";

/** One named curve: `[x, y]` points, e.g. `[epoch, loss]`. */
export interface PlotSeries {
  name: string;
  points: readonly (readonly [number, number])[];
}

/** A vertical mark on a chart: `<line class="marker" data-x="...">` with a label at its top. */
export interface PlotMarker {
  /** Where, in data units of the x axis. */
  x: number;
  /** Text next to the mark, e.g. "best: epoch 12". */
  label: string;
}

/** Options of {@link lossCurvesSvg}. */
export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /**
   * Logarithmic y axis (default true, as losses span decades), fitted to the data rather than
   * rounded out to whole decades; y <= 0 is then skipped.
   */
  yLog?: boolean;
  /** Vertical marks at x values (e.g. the best epoch), drawn dashed with their label. */
  markers?: PlotMarker[];
  /** Image width in pixels (default 800). */
  width?: number;
  /** Image height in pixels (default 480). */
  height?: number;
  /**
   * Width of the legend column right of the plot (default: fitted to the longest name); equal
   * values make the plot areas of charts stacked on a page line up.
   */
  legendWidth?: number;
}

const DASHES = ["", "6 3", "2 3", "8 3 2 3"];

/** Approximate width of one 12px sans-serif character, for sizing the legend column. */
const CHAR_WIDTH = 7;

/**
 * Renders line charts of `series` as a standalone SVG document: title, framed plot area, axes
 * with ticks, tick labels and axis labels, light grid, one coloured polyline per series (a dot
 * for a single point) and a legend. Points with a non-finite coordinate (or y <= 0 on a log
 * axis) are skipped; a series with no drawable point is listed in the legend as "(no data)".
 * The plot area is the `<rect class="plot-area">`; each series is a `<polyline>` (or `<circle>`)
 * with `data-series` set to its name.
 */
export function lossCurvesSvg(series: readonly PlotSeries[], options: PlotOptions): string {
  const yLog = options.yLog ?? true;
  const width = options.width ?? 800;
  const height = options.height ?? 480;
  const drawable = series.map((s) =>
    s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!yLog || y > 0))
  );
  const all = drawable.flat();
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const hasData = all.length > 0;
  const [xMin, xMax] = hasData ? extent(xs) : [0, 1];
  const [yMin, yMax] = hasData ? extent(ys) : yLog ? [0.1, 1] : [0, 1];
  const xAxis = fittedAxis(xMin, xMax, hasData && xs.every(Number.isInteger));
  const yAxis = yLog ? logAxis(yMin, yMax) : linearAxis(yMin, yMax, false);

  const legendNames = series.map((s, i) => drawable[i].length > 0 ? s.name : `${s.name} (no data)`);
  const longest = Math.max(0, ...legendNames.map((n) => n.length));
  const left = 76;
  const right = options.legendWidth ??
    (series.length > 0 ? Math.max(40, 48 + CHAR_WIDTH * longest) : 24);
  const top = 40;
  const bottom = 56;
  const plotW = Math.max(10, width - left - right);
  const plotH = Math.max(10, height - top - bottom);
  const X = (v: number): number => left + xAxis.frac(v) * plotW;
  const Y = (v: number): number => top + plotH - yAxis.frac(v) * plotH;

  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(
    `<text class="title" x="${px(left + plotW / 2)}" y="24" text-anchor="middle" ` +
      `font-size="16">${xmlEscape(options.title)}</text>`,
  );

  const grid: string[] = [];
  const axes: string[] = [];
  for (const t of xAxis.ticks) {
    const x = px(X(t.value));
    grid.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${px(top + plotH)}"/>`);
    axes.push(`<line x1="${x}" y1="${px(top + plotH)}" x2="${x}" y2="${px(top + plotH + 5)}"/>`);
    axes.push(
      `<text x="${x}" y="${px(top + plotH + 18)}" text-anchor="middle" stroke="none" ` +
        `fill="#333333">${xmlEscape(t.text)}</text>`,
    );
  }
  for (const t of yAxis.ticks) {
    const y = px(Y(t.value));
    grid.push(`<line x1="${left}" y1="${y}" x2="${px(left + plotW)}" y2="${y}"/>`);
    axes.push(`<line x1="${left - 5}" y1="${y}" x2="${left}" y2="${y}"/>`);
    axes.push(
      `<text x="${left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle" ` +
        `stroke="none" fill="#333333">${xmlEscape(t.text)}</text>`,
    );
  }
  out.push(`<g class="grid" stroke="#e6e6e6" stroke-width="1">${grid.join("")}</g>`);
  out.push(
    `<rect class="plot-area" x="${left}" y="${top}" width="${px(plotW)}" height="${px(plotH)}" ` +
      `fill="none" stroke="#333333"/>`,
  );
  out.push(`<g class="axes" stroke="#333333">${axes.join("")}</g>`);
  out.push(
    `<text class="x-label" x="${px(left + plotW / 2)}" y="${height - 12}" ` +
      `text-anchor="middle">${xmlEscape(options.xLabel)}</text>`,
  );
  out.push(
    `<text class="y-label" x="16" y="${px(top + plotH / 2)}" text-anchor="middle" ` +
      `transform="rotate(-90 16 ${px(top + plotH / 2)})">${xmlEscape(options.yLabel)}</text>`,
  );
  if (!hasData) {
    out.push(
      `<text x="${px(left + plotW / 2)}" y="${px(top + plotH / 2)}" text-anchor="middle" ` +
        `fill="#888888">no data</text>`,
    );
  }

  const lines: string[] = [];
  const legend: string[] = [];
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const dash = DASHES[Math.floor(i / COLORS.length) % DASHES.length];
    const dashAttr = dash ? ` stroke-dasharray="${dash}"` : "";
    const name = xmlEscape(s.name);
    const pts = drawable[i];
    if (pts.length === 1) {
      lines.push(
        `<circle data-series="${name}" cx="${px(X(pts[0][0]))}" cy="${px(Y(pts[0][1]))}" ` +
          `r="3" fill="${color}"/>`,
      );
    } else if (pts.length > 1) {
      const coords = pts.map(([x, y]) => `${px(X(x))},${px(Y(y))}`).join(" ");
      lines.push(
        `<polyline data-series="${name}" points="${coords}" fill="none" stroke="${color}" ` +
          `stroke-width="1.5" stroke-linejoin="round"${dashAttr}/>`,
      );
    }
    const ly = top + 10 + i * 18;
    const lx = left + plotW + 14;
    legend.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${color}" ` +
        `stroke-width="2"${dashAttr}/>`,
    );
    legend.push(
      `<text x="${lx + 28}" y="${ly}" dominant-baseline="middle">` +
        `${xmlEscape(legendNames[i])}</text>`,
    );
  });
  const marks = (options.markers ?? []).filter((m) => Number.isFinite(m.x)).map((m) => {
    const x = px(X(m.x));
    const right = X(m.x) > left + plotW * 0.7;
    return `<line class="marker" data-x="${m.x}" x1="${x}" y1="${top}" x2="${x}" ` +
      `y2="${px(top + plotH)}" stroke="#555555" stroke-dasharray="4 3"/>` +
      `<text x="${px(X(m.x) + (right ? -4 : 4))}" y="${top + 14}" ` +
      `text-anchor="${right ? "end" : "start"}" fill="#333333">${xmlEscape(m.label)}</text>`;
  });
  out.push(`<g class="markers">${marks.join("")}</g>`);
  out.push(`<g class="series">${lines.join("")}</g>`);
  out.push(`<g class="legend">${legend.join("")}</g>`);
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
