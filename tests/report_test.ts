/**
 * report.html: written for a tiny trained run, it holds every section, the validation R^2 and
 * RMSE of each output match a direct CPU computation from `predict`'s outputs, it references
 * nothing outside itself, and headless Chromium renders it (a screenshot of the expected size
 * with charts in it). Needs Chromium (`apt-get install -y chromium`, or CHROMIUM naming it).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
// @ts-types="npm:@types/pngjs@6.0.5"
import { PNG } from "npm:pngjs@7.0.0";
import { Engine } from "../engine/engine.ts";
import { RUN_FILES } from "../conditioner/checkpoint.ts";
import { type ConditionerConfig, defaultConfig } from "../conditioner/config.ts";
import { loadDataset, splitIndices } from "../conditioner/data.ts";
import { generateDemo, writeDemo } from "../conditioner/demo_data.ts";
import { readNpy } from "../conditioner/npy.ts";
import { predictFolder } from "../conditioner/predict.ts";
import { REPORT_FILE, writeReport } from "../conditioner/report.ts";
import { runTraining } from "../conditioner/run.ts";
import { findChromium } from "./chromium.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const engine = await Engine.create({ seed: 4 });
const root = await Deno.makeTempDir({ prefix: "report-" });
const dataDir = join(root, "data");
await writeDemo(dataDir, generateDemo({ count: 60, imageSize: 32, seed: 3 }));
const { dataset } = await loadDataset(dataDir, { imageSize: 32 });
const config: ConditionerConfig = {
  ...defaultConfig(),
  filters: [8, 16],
  imageSize: 32,
  nEpoch: 3,
  lr: 1e-2,
  batchSize: 8,
  warmupEpochs: 1,
  valEvery: 1,
  seed: 11,
};
const runDir = join(root, "run");
await runTraining({
  engine,
  config,
  dataset,
  runDir,
  source: { data: dataDir, condition: null },
  log: () => {},
});

/** R^2 and RMSE per column in float64, straight from the definitions. */
function fits(pred: Float32Array, truth: Float32Array, cols: number, rows: number[]) {
  return Array.from({ length: cols }, (_, j) => {
    const t = rows.map((r) => truth[r * cols + j]);
    const p = rows.map((r) => pred[r * cols + j]);
    const mean = t.reduce((a, b) => a + b, 0) / t.length;
    const ssRes = t.reduce((a, v, i) => a + (v - p[i]) ** 2, 0);
    const ssTot = t.reduce((a, v) => a + (v - mean) ** 2, 0);
    return { r2: 1 - ssRes / ssTot, rmse: Math.sqrt(ssRes / t.length) };
  });
}

/** The per-output rows of the report's value table. */
function tableRows(html: string): Map<string, { r2: number; rmse: number }> {
  const rows = new Map<string, { r2: number; rmse: number }>();
  for (const m of html.matchAll(/data-output="([^"]+)" data-r2="([^"]+)" data-rmse="([^"]+)"/g)) {
    rows.set(m[1], { r2: Number(m[2]), rmse: Number(m[3]) });
  }
  return rows;
}

Deno.test("report.html: sections, numbers that match a direct computation", opts, async () => {
  const path = await writeReport(engine, runDir);
  assert.equal(path, join(runDir, REPORT_FILE));
  const html = await Deno.readTextFile(path);
  for (
    const id of ["summary", "loss-curves", "per-output", "parity", "timing", "configuration"]
  ) {
    assert.ok(html.includes(`<section id="${id}">`), `section ${id}`);
  }
  // Self-contained: no scripts, stylesheets, images or fonts from elsewhere.
  assert.ok(!/<script|<link|<img|<iframe|@import|url\(/i.test(html), "no external resources");
  const urls = [...html.matchAll(/https?:\/\/[^"' <)]+/g)].map((m) => m[0]);
  assert.deepEqual([...new Set(urls)], ["http://www.w3.org/2000/svg"]);

  // Validation fit: the best model's predictions of every image (predict), the run's split,
  // and the raw targets from the .npy files.
  const pred = await predictFolder(engine, {
    runDir,
    imageDir: join(dataDir, "images"),
    outDir: join(root, "pred"),
  });
  const val = splitIndices(60, config.valFraction, config.seed).val;
  const y1 = fits(pred.y1, (await readNpy(join(dataDir, "latent_vectors.npy"))).data, 32, val);
  const y2 = fits(pred.y2, (await readNpy(join(dataDir, "xs.npy"))).data, 24, val);
  const rows = tableRows(html);
  assert.equal(rows.size, 56);
  const close = (a: number, b: number, what: string) =>
    assert.ok(Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
  y1.forEach((f, j) => {
    close(rows.get(`y1[${j}]`)!.r2, f.r2, `R² y1[${j}]`);
    close(rows.get(`y1[${j}]`)!.rmse, f.rmse, `RMSE y1[${j}]`);
  });
  y2.forEach((f, j) => {
    const name = `y2[${Math.floor(j / 8)},${j % 8}]`;
    close(rows.get(name)!.r2, f.r2, `R² ${name}`);
    close(rows.get(name)!.rmse, f.rmse, `RMSE ${name}`);
  });
  assert.ok(html.includes(`on the ${val.length} validation samples`));
  // At the end of a training run the dataset in memory is passed instead of reloaded: same fit.
  await writeReport(engine, runDir, { dataset });
  assert.deepEqual(tableRows(await Deno.readTextFile(path)), rows);
  // Bars: one per output with its value.
  assert.equal([...html.matchAll(/<rect class="bar"/g)].length, 2 * 56);
  // Parity: the best and worst of y1 and y2, one point per validation sample each.
  assert.equal([...html.matchAll(/<circle class="point"/g)].length, 4 * val.length);
  const best = [...y1.entries()].sort((a, b) => b[1].r2 - a[1].r2)[0];
  assert.ok(html.includes(`y1[${best[0]}]: R² ${best[1].r2.toPrecision(3)}`), "best y1 panel");

  // Curves and summary from history.json: the best epoch is marked, the time is summed.
  const history = JSON.parse(await Deno.readTextFile(join(runDir, RUN_FILES.history)));
  assert.equal(history.length, 3);
  // The best epoch is the one with the lowest validation metric (epochs count from 1).
  const metrics = history.map((h: { valMetric: number }) => h.valMetric);
  const bestEpoch = history[metrics.indexOf(Math.min(...metrics))].epoch;
  assert.ok(html.includes(`<line class="marker" data-x="${bestEpoch}"`), "best epoch marked");
  assert.ok(html.includes(`best: epoch ${bestEpoch}`));
  assert.ok(html.includes(`data-series="learning rate"`), "learning-rate panel");
  const seconds = history.reduce((a: number, h: { seconds: number }) => a + h.seconds, 0);
  const shown = seconds < 60
    ? `${seconds.toFixed(1)} s`
    : `${Math.floor(Math.round(seconds) / 60)}m${
      String(Math.round(seconds) % 60).padStart(2, "0")
    }s`;
  assert.ok(html.includes(`<td>${shown}</td>`), `training time ${seconds} shown as ${shown}`);
  // Configuration and data source.
  assert.ok(html.includes("<td>latent_conditioner_filter</td><td>8 16</td>"));
  assert.ok(html.includes(`<td>data folder</td><td>${dataDir}</td>`));
});

Deno.test(
  "report.html: a run without its data folder still reports, saying why",
  opts,
  async () => {
    const moved = join(root, "moved-run");
    await Deno.mkdir(moved);
    for await (const e of Deno.readDir(runDir)) {
      if (e.isFile) await Deno.copyFile(join(runDir, e.name), join(moved, e.name));
    }
    const info = JSON.parse(await Deno.readTextFile(join(moved, "run.json")));
    await Deno.writeTextFile(
      join(moved, "run.json"),
      JSON.stringify({ ...info, data: join(root, "gone") }),
    );
    const html = await Deno.readTextFile(await writeReport(engine, moved));
    assert.ok(html.includes(`Not available: `) && html.includes(join(root, "gone")));
    assert.ok(html.includes(`<section id="loss-curves">`));
    assert.equal(tableRows(html).size, 0);
  },
);

Deno.test("report.html renders in headless Chromium", opts, async () => {
  const chromium = await findChromium("tests/report_test.ts");
  const png = join(root, "report.png");
  const profile = await Deno.makeTempDir({ prefix: "report-chromium-" });
  const [width, height] = [1200, 1600];
  const out = await new Deno.Command(chromium, {
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      `--screenshot=${png}`,
      `--window-size=${width},${height}`,
      `file://${join(runDir, REPORT_FILE)}`,
    ],
    stdin: "null",
  }).output();
  await Deno.remove(profile, { recursive: true });
  assert.equal(out.code, 0, `chromium failed: ${new TextDecoder().decode(out.stderr)}`);
  const image = PNG.sync.read(Buffer.from(await Deno.readFile(png)));
  assert.equal(image.width, width);
  assert.equal(image.height, height);
  let ink = 0;
  let chart = 0; // pixels of the first series colour (#4e79a7): curves and y1 bars
  for (let i = 0; i < image.data.length; i += 4) {
    const [r, g, b] = [image.data[i], image.data[i + 1], image.data[i + 2]];
    if (r < 235 || g < 235 || b < 235) ink++;
    if (Math.abs(r - 0x4e) < 12 && Math.abs(g - 0x79) < 12 && Math.abs(b - 0xa7) < 12) chart++;
  }
  const pixels = width * height;
  assert.ok(ink > 0.03 * pixels, `only ${ink} of ${pixels} pixels are not white`);
  assert.ok(chart > 2000, `only ${chart} pixels of chart colour: the charts did not render`);
});

// Engines left open at exit have crashed the OpenGL backend at teardown now and then.
Deno.test("report: close engine", opts, () => engine.close());
