/** The markup of `report.html`: one self-contained page (inline CSS and SVG, no scripts). */
import { barChartSvg, paritySvg } from "./charts.ts";
import { CONDITIONER_KEYS, configPath, readPath } from "./config.ts";
import { lossHistorySvg, lrHistorySvg } from "./history_view.ts";
import type { OutputFit, ReportData, ValidationFit } from "./report.ts";
import { xmlEscape } from "./svg.ts";

/** Width of the page's content (and of the wide charts) in CSS pixels. */
const CONTENT_WIDTH = 1100;

const CSS = `
body { margin: 0; background: #f4f5f7; color: #222; font: 14px/1.45 sans-serif; }
main { width: ${CONTENT_WIDTH}px; margin: 0 auto; padding: 24px 16px 40px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 10px; }
.meta { color: #555; margin: 0 0 18px; }
section { background: #fff; border: 1px solid #dde; border-radius: 6px; padding: 16px;
  margin: 0 0 16px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { box-sizing: border-box; flex: 1 1 150px; background: #f7f8fb; border: 1px solid #e3e5ec; border-radius: 6px;
  padding: 10px 12px; }
.card .value { font-size: 22px; font-weight: bold; }
.card .what { color: #555; font-size: 12px; }
.grid { display: flex; flex-wrap: wrap; gap: 8px; }
.note { color: #555; margin: 4px 0 10px; }
.warning { background: #fff4e5; border: 1px solid #f0b45b; padding: 8px 10px; border-radius: 4px; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border-bottom: 1px solid #e6e6ec; padding: 3px 10px; text-align: left; }
td:nth-child(3) { color: #666; font-size: 12px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.columns { display: flex; gap: 32px; align-items: flex-start; flex-wrap: wrap; }
svg { display: block; }
`;

/** A number with 4 significant digits ("–" for NaN or a missing value). */
function num(v: number | undefined, digits = 4): string {
  if (v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(digits - 1) : v.toPrecision(digits);
}

/** Seconds as "1h02m", "3m05s" or "12.3 s". */
function duration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(s % 60).padStart(2, "0")}s`;
}

const esc = xmlEscape;

/** An SVG document as inline markup (without its XML declaration). */
function inline(svg: string): string {
  return svg.replace(/^<\?xml[^>]*>\s*/, "");
}

function mean(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite);
  return finite.reduce((a, b) => a + b, 0) / finite.length;
}

function card(value: string, what: string, id: string): string {
  return `<div class="card" id="${id}"><div class="value">${esc(value)}</div>` +
    `<div class="what">${esc(what)}</div></div>`;
}

function summary(d: ReportData): string {
  const last = d.history.at(-1);
  const seconds = d.history.reduce((a, h) => a + h.seconds, 0);
  const v = "unavailable" in d.validation ? null : d.validation;
  return `<section id="summary"><div class="cards">` +
    card(
      d.best ? `${d.best.epoch}` : "–",
      d.best
        ? `best epoch (validation metric ${num(d.best.valMetric)})`
        : "best epoch (never validated)",
      "best-epoch",
    ) +
    card(num(last?.trainLoss), `training loss, last epoch (${last?.epoch ?? "–"})`, "last-train") +
    card(
      v ? num(mean(v.y1.map((f) => f.r2)), 3) : "–",
      "mean R² of y1 (validation)",
      "mean-r2-y1",
    ) +
    card(
      v ? num(mean(v.y2.map((f) => f.r2)), 3) : "–",
      "mean R² of y2 (validation)",
      "mean-r2-y2",
    ) +
    card(`${d.history.length} / ${d.config.nEpoch}`, "epochs done / planned", "epochs") +
    card(duration(seconds), "training time (sum of epochs)", "total-time") +
    `</div></section>`;
}

function lossSection(d: ReportData): string {
  const title = `Loss (${d.history.at(-1)?.objective ?? "no epochs"})`;
  return `<section id="loss-curves"><h2>Loss curves</h2>` +
    `<p class="note">Training loss is the mean over each epoch's batches (augmented inputs); ` +
    `validation loss is measured every ${d.config.valEvery} epoch(s) and at the end. The dashed ` +
    `line marks the best validation epoch, whose weights are model_best.safetensors.</p>` +
    inline(lossHistorySvg(d.history, title, { width: CONTENT_WIDTH - 34, height: 380 })) +
    inline(lrHistorySvg(d.history, { width: CONTENT_WIDTH - 34, height: 220 })) +
    `</section>`;
}

function bars(v: ValidationFit, pick: (f: OutputFit) => number) {
  return [
    {
      name: "y1 (latent_vectors.npy)",
      bars: v.y1.map((f, j) => ({ label: `${j}`, value: pick(f) })),
    },
    {
      name: "y2 (xs.npy, level,position)",
      bars: v.y2.map((f) => ({ label: f.name.slice(3, -1), value: pick(f) })),
    },
  ];
}

function fitTable(v: ValidationFit): string {
  const rows = [...v.y1, ...v.y2].map((f) =>
    `<tr data-output="${esc(f.name)}" data-r2="${f.r2}" data-rmse="${f.rmse}">` +
    `<td>${esc(f.name)}</td><td class="num">${num(f.r2)}</td>` +
    `<td class="num">${num(f.rmse)}</td></tr>`
  );
  return `<details><summary>Values per output</summary><table id="fit-table">` +
    `<tr><th>output</th><th>R²</th><th>RMSE</th></tr>${rows.join("")}</table></details>`;
}

function validationSections(d: ReportData): string {
  if ("unavailable" in d.validation) {
    return `<section id="per-output"><h2>Validation fit per output</h2>` +
      `<p class="warning">Not available: ${esc(d.validation.unavailable)}</p></section>`;
  }
  const v = d.validation;
  const changed = v.dataChanged ? `<p class="warning">${esc(v.dataChanged)}</p>` : "";
  const width = CONTENT_WIDTH - 34;
  const perOutput = `<section id="per-output"><h2>Validation fit per output</h2>${changed}` +
    `<p class="note">${esc(v.modelPath)} on the ${v.samples} validation samples of the run's ` +
    `split (seed ${d.config.seed}, validation fraction ${d.config.valFraction}), in raw latent ` +
    `units. R² = 1 − SS<sub>res</sub>/SS<sub>tot</sub> per output (1 is perfect, 0 is no ` +
    `better than predicting the mean; bars below −1 are cut, marked ▼).</p>` +
    inline(barChartSvg(bars(v, (f) => f.r2), {
      title: "R² per output (validation)",
      yLabel: "R²",
      width,
      floor: -1,
      include: 1,
    })) +
    inline(barChartSvg(bars(v, (f) => f.rmse), {
      title: "RMSE per output (validation, raw units)",
      yLabel: "RMSE",
      width,
    })) + fitTable(v) + `</section>`;
  const panels = v.parity.map((p) =>
    inline(paritySvg(p.points, {
      title: `${p.name}: R² ${num(p.fit.r2, 3)}, RMSE ${num(p.fit.rmse, 3)}`,
      size: Math.floor((width - 24) / 4),
    }))
  );
  const parity = `<section id="parity"><h2>Parity: predicted against true</h2>` +
    `<p class="note">Validation samples, raw units, for the best and the worst fitted output ` +
    `of y1 and of y2; points on the dashed line are exact.</p>` +
    `<div class="grid">${panels.join("")}</div></section>`;
  return perOutput + parity;
}

function table(id: string, caption: string, rows: readonly (readonly string[])[]): string {
  return `<table id="${id}"><tr><th colspan="${rows[0]?.length ?? 1}">${esc(caption)}</th></tr>` +
    rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("") +
    `</table>`;
}

function configSection(d: ReportData): string {
  const shown = CONDITIONER_KEYS.filter((spec) =>
    d.config.enhanced.enabled || !configPath(spec.field).startsWith("enhanced.loss.")
  );
  const rows = shown.map((spec) => {
    const value = readPath(d.config, spec.field);
    return [spec.key, Array.isArray(value) ? value.join(" ") : String(value), spec.doc];
  });
  const half = Math.ceil(rows.length / 2);
  const note = d.config.enhanced.enabled
    ? ""
    : `<p class="note">Enhanced training is off, so its loss settings are left out.</p>`;
  return `<section id="configuration"><h2>Configuration (config.json)</h2>${note}` +
    `<div class="columns">${
      table("config-table", "condition.txt key, value", rows.slice(0, half))
    }` +
    `${table("config-table-2", "condition.txt key, value", rows.slice(half))}</div></section>`;
}

function runSection(d: ReportData): string {
  const secs = d.history.map((h) => h.seconds);
  const later = secs.slice(1);
  const timing = [
    ["epochs", String(secs.length)],
    ["training time (sum of epochs)", duration(secs.reduce((a, b) => a + b, 0))],
    ["first epoch (compiles the GPU kernels)", secs.length ? duration(secs[0]) : "–"],
    [
      "mean epoch after the first",
      later.length ? duration(later.reduce((a, b) => a + b, 0) / later.length) : "–",
    ],
    [
      "slowest / fastest epoch",
      secs.length ? `${duration(Math.max(...secs))} / ${duration(Math.min(...secs))}` : "–",
    ],
  ];
  const info = d.info
    ? [
      ["data folder", d.info.data],
      ["condition file", d.info.condition ?? "(none)"],
      ["samples", String(d.info.samples)],
      ["data fingerprint", `${d.info.fingerprint.slice(0, 16)}…`],
      ["started", d.info.created],
      ...d.info.resumes.map((r, i) => [
        `resume ${i + 1}`,
        `${r.when}: epochs ${r.nEpoch}, lr ${r.lr}`,
      ]),
    ]
    : [["run.json", "missing"]];
  return `<section id="timing"><h2>Timing and data</h2><div class="columns">` +
    `${table("timing-table", "timing (history.json)", timing)}` +
    `${table("run-table", "data (run.json)", info)}</div></section>`;
}

/** The report page for {@link ReportData}. */
export function reportHtml(d: ReportData): string {
  const name = d.runDir.replace(/[/\\]+$/, "").split(/[/\\]/).pop() || d.runDir;
  const meta = [
    d.runDir,
    d.info ? `data ${d.info.data} (${d.info.samples} samples)` : null,
    `${d.config.filters.join("-")} filters, ${d.config.imageSize}px`,
    `report made ${d.created}`,
  ].filter((x) => x !== null).join(" · ");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Training report: ${esc(name)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>Training report: ${esc(name)}</h1>
<p class="meta">${esc(meta)}</p>
${summary(d)}
${lossSection(d)}
${validationSections(d)}
${runSection(d)}
${configSection(d)}
</main>
</body>
</html>
`;
}
