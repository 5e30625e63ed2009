/** SVG loss curves: well-formed XML, exact polyline coordinates, legend, edge cases. */
import assert from "node:assert/strict";
import { lossCurvesSvg, type PlotOptions } from "../conditioner/plot.ts";
import { LOG_PAD } from "../conditioner/svg.ts";

/** One element found by {@link parseXml}: its name, attributes and directly contained text. */
interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  text: string;
}

const NAME = String.raw`[A-Za-z_][\w:.-]*`;
const ATTR = new RegExp(String.raw`\s+(${NAME})\s*=\s*("[^"<]*"|'[^'<]*')`, "y");
const BAD_ENTITY = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;

/**
 * A small XML well-formedness checker (Deno has no DOMParser): one root element, balanced and
 * properly nested tags, quoted and unique attributes, valid entity references, no stray '<'.
 * Returns the elements in document order; throws describing the first problem.
 */
function parseXml(doc: string): XmlElement[] {
  let i = 0;
  const elements: XmlElement[] = [];
  const stack: XmlElement[] = [];
  let roots = 0;
  const fail = (msg: string): never => {
    throw new Error(`malformed XML at ${i}: ${msg}`);
  };
  const decl = /^<\?xml[^?]*\?>/.exec(doc);
  if (decl) i = decl[0].length;
  while (i < doc.length) {
    const lt = doc.indexOf("<", i);
    const text = doc.slice(i, lt < 0 ? doc.length : lt);
    if (BAD_ENTITY.test(text)) fail(`bad entity in text ${JSON.stringify(text)}`);
    if (stack.length === 0 && text.trim() !== "") fail(`text outside the root element`);
    if (stack.length > 0) stack[stack.length - 1].text += text;
    if (lt < 0) break;
    i = lt;
    if (doc.startsWith("<!--", i)) {
      const end = doc.indexOf("-->", i);
      if (end < 0) fail("unterminated comment");
      i = end + 3;
      continue;
    }
    const close = new RegExp(String.raw`</(${NAME})\s*>`, "y");
    close.lastIndex = i;
    const c = close.exec(doc);
    if (c) {
      const open = stack.pop();
      if (!open || open.name !== c[1]) fail(`</${c[1]}> closes <${open?.name ?? "nothing"}>`);
      i = close.lastIndex;
      continue;
    }
    const start = new RegExp(`<(${NAME})`, "y");
    start.lastIndex = i;
    const s = start.exec(doc);
    if (!s) fail(`stray '<'`);
    const el: XmlElement = { name: s![1], attrs: {}, text: "" };
    i = start.lastIndex;
    for (;;) {
      ATTR.lastIndex = i;
      const a = ATTR.exec(doc);
      if (!a) break;
      if (a[1] in el.attrs) fail(`duplicate attribute ${a[1]} on <${el.name}>`);
      const value = a[2].slice(1, -1);
      if (BAD_ENTITY.test(value)) fail(`bad entity in attribute ${a[1]}`);
      el.attrs[a[1]] = value;
      i = ATTR.lastIndex;
    }
    const end = /\s*(\/?)>/y;
    end.lastIndex = i;
    const e = end.exec(doc);
    if (!e) fail(`unterminated or malformed tag <${el.name}>`);
    i = end.lastIndex;
    if (stack.length === 0) roots++;
    if (roots > 1) fail("more than one root element");
    elements.push(el);
    if (e![1] !== "/") stack.push(el);
  }
  if (stack.length > 0) fail(`unclosed <${stack[stack.length - 1].name}>`);
  if (roots !== 1) fail("no root element");
  return elements;
}

const OPTS: PlotOptions = { title: "Loss", xLabel: "epoch", yLabel: "loss" };

/** The plot area rectangle's pixel bounds. */
function plotArea(els: XmlElement[]): { x: number; y: number; w: number; h: number } {
  const r = els.find((e) => e.name === "rect" && e.attrs.class === "plot-area");
  assert.ok(r, "plot-area rect present");
  return { x: +r.attrs.x, y: +r.attrs.y, w: +r.attrs.width, h: +r.attrs.height };
}

/** Parses a polyline's points attribute into numbers. */
function polylinePoints(el: XmlElement): [number, number][] {
  return el.attrs.points.split(" ").map((p) => p.split(",").map(Number) as [number, number]);
}

/** The texts of all <text> elements. */
const texts = (els: XmlElement[]): string[] =>
  els.filter((e) => e.name === "text").map((e) => e.text);

Deno.test("parseXml (test helper) rejects malformed documents", () => {
  assert.equal(parseXml(`<a x="1"><b/>t &amp; u</a>`).length, 2);
  assert.throws(() => parseXml(`<a><b></a>`), /closes <b>/);
  assert.throws(() => parseXml(`<a>`), /unclosed <a>/);
  assert.throws(() => parseXml(`<a x=1/>`), /malformed tag/);
  assert.throws(() => parseXml(`<a>R&D</a>`), /bad entity/);
  assert.throws(() => parseXml(`<a/><b/>`), /more than one root/);
  assert.throws(() => parseXml(`<a x="1" x="2"/>`), /duplicate attribute/);
  assert.throws(() => parseXml(`<a>1 < 2</a>`), /stray '<'/);
});

/** Where a value sits on a fitted log axis over [lo, hi]: LOG_PAD of the span above and below. */
function logFrac(v: number, lo: number, hi: number): number {
  const a = Math.log10(lo);
  const b = Math.log10(hi);
  const pad = (b - a) * LOG_PAD;
  return (Math.log10(v) - a + pad) / (b - a + 2 * pad);
}

Deno.test("lossCurvesSvg: log-scale polyline coordinates for known values", () => {
  // x 0..10 is the x domain (ticks 0, 2, .., 10); y 0.01..100 spans 4 decades plus LOG_PAD of
  // them above and below.
  const svg = lossCurvesSvg(
    [{ name: "train", points: [[0, 100], [5, 1], [10, 0.01], [2.5, 10]] }],
    OPTS,
  );
  const els = parseXml(svg);
  assert.equal(els[0].name, "svg");
  assert.equal(els[0].attrs.xmlns, "http://www.w3.org/2000/svg");
  const a = plotArea(els);
  const line = els.find((e) => e.name === "polyline" && e.attrs["data-series"] === "train");
  assert.ok(line);
  const y = (v: number) => a.y + a.h - logFrac(v, 0.01, 100) * a.h;
  const expected = [
    [a.x, y(100)],
    [a.x + a.w / 2, a.y + a.h / 2],
    [a.x + a.w, y(0.01)],
    [a.x + a.w / 4, y(10)],
  ];
  const got = polylinePoints(line);
  assert.equal(got.length, 4);
  got.forEach(([x, y], i) => {
    assert.ok(Math.abs(x - expected[i][0]) <= 0.01, `x${i}: ${x} vs ${expected[i][0]}`);
    assert.ok(Math.abs(y - expected[i][1]) <= 0.01, `y${i}: ${y} vs ${expected[i][1]}`);
  });
  assert.ok(expected[0][1] > a.y && expected[2][1] < a.y + a.h, "no point on the frame");
  const labels = texts(els);
  for (const t of ["0.01", "0.1", "1", "10", "100", "0", "2", "10", "Loss", "epoch", "loss"]) {
    assert.ok(labels.includes(t), `label ${t} in ${labels.join("|")}`);
  }
});

Deno.test("lossCurvesSvg: the log axis fits the data instead of whole decades", () => {
  // A loss from 1.6 to 1.9 used to get the axis 1..10 (all points in a sixth of the height).
  const els = parseXml(
    lossCurvesSvg([{ name: "v", points: [[1, 1.9], [2, 1.7], [3, 1.6]] }], OPTS),
  );
  const a = plotArea(els);
  const ys = polylinePoints(els.find((e) => e.name === "polyline")!).map(([, y]) => y);
  const spread = (Math.max(...ys) - Math.min(...ys)) / a.h;
  assert.ok(Math.abs(spread - 1 / (1 + 2 * LOG_PAD)) < 1e-3, `data fills ${spread} of the height`);
  const ticks = els.filter((e) => e.name === "text" && e.attrs["dominant-baseline"] === "middle")
    .map((e) => Number(e.text)).filter((v) => !Number.isNaN(v));
  assert.ok(ticks.length >= 3, `round ticks inside a narrow range: ${ticks}`);
  for (const t of ticks) assert.ok(t >= 1.58 && t <= 1.92, `tick ${t} inside the data range`);
  // Spanning decades, ticks are 1-2-5 or decades and every point stays inside the frame.
  const wide = parseXml(lossCurvesSvg([{ name: "lr", points: [[1, 2e-7], [2, 3e-3]] }], OPTS));
  const wideTicks = texts(wide);
  for (const t of ["1e-6", "0.0001", "0.001"]) assert.ok(wideTicks.includes(t), `tick ${t}`);
  assert.ok(!wideTicks.includes("1e-8") && !wideTicks.includes("0.01"), "no decade padding");
});

Deno.test("lossCurvesSvg: markers are dashed vertical lines with their label", () => {
  const els = parseXml(lossCurvesSvg(
    [{ name: "val", points: [[1, 3], [5, 1], [9, 2]] }],
    { ...OPTS, markers: [{ x: 5, label: "best: epoch 5" }] },
  ));
  const a = plotArea(els);
  const mark = els.find((e) => e.name === "line" && e.attrs.class === "marker");
  assert.ok(mark);
  assert.equal(mark.attrs["data-x"], "5");
  assert.ok(Math.abs(+mark.attrs.x1 - (a.x + a.w / 2)) <= 0.01);
  assert.equal(+mark.attrs.y1, a.y);
  assert.equal(+mark.attrs.y2, a.y + a.h);
  assert.ok(texts(els).includes("best: epoch 5"));
});

Deno.test("lossCurvesSvg: legend names, distinct colours, escaping", () => {
  const names = ["train", "val", "train_y1", "a <b> & 'c'"];
  const svg = lossCurvesSvg(
    names.map((name, k) => ({ name, points: [[1, k + 1], [2, k + 2]] as [number, number][] })),
    OPTS,
  );
  const els = parseXml(svg);
  const labels = texts(els);
  assert.ok(labels.includes("a &lt;b&gt; &amp; &apos;c&apos;"));
  for (const n of names.slice(0, 3)) assert.ok(labels.includes(n), `legend ${n}`);
  const colours = els.filter((e) => e.name === "polyline").map((e) => e.attrs.stroke);
  assert.equal(colours.length, 4);
  assert.equal(new Set(colours).size, 4);
});

Deno.test("lossCurvesSvg: NaN, Infinity and (on log scale) y <= 0 are skipped", () => {
  const svg = lossCurvesSvg([{
    name: "s",
    points: [[0, 1], [1, NaN], [2, Infinity], [3, -1], [4, 0], [NaN, 3], [10, 10]],
  }], OPTS);
  const els = parseXml(svg);
  const line = els.find((e) => e.name === "polyline")!;
  const a = plotArea(els);
  const got = polylinePoints(line);
  // Only (0, 1) and (10, 10) are drawn: x spans the width, y 1..10 the height less the padding.
  assert.deepEqual(got.map(([x]) => Math.round(x - a.x)), [0, Math.round(a.w)]);
  const pad = (LOG_PAD / (1 + 2 * LOG_PAD)) * a.h;
  assert.deepEqual(got.map(([, y]) => Math.round(y - a.y)), [
    Math.round(a.h - pad),
    Math.round(pad),
  ]);
  assert.ok(!svg.includes("NaN") && !svg.includes("Infinity"));
});

Deno.test("lossCurvesSvg: linear y axis keeps negatives and labels round ticks", () => {
  const svg = lossCurvesSvg(
    [{ name: "lr", points: [[0, -1], [1, 0], [2, 1]] }],
    { ...OPTS, yLog: false },
  );
  const els = parseXml(svg);
  const labels = texts(els);
  for (const t of ["-1", "-0.5", "0", "0.5", "1"]) assert.ok(labels.includes(t), `tick ${t}`);
  const a = plotArea(els);
  const got = polylinePoints(els.find((e) => e.name === "polyline")!);
  assert.ok(Math.abs(got[1][1] - (a.y + a.h / 2)) <= 0.01, "y = 0 is mid-height");
});

Deno.test("lossCurvesSvg: a single point is a centred dot", () => {
  const els = parseXml(lossCurvesSvg([{ name: "only", points: [[3, 1]] }], OPTS));
  assert.equal(els.filter((e) => e.name === "polyline").length, 0);
  const dot = els.find((e) => e.name === "circle");
  assert.ok(dot);
  assert.equal(dot.attrs["data-series"], "only");
  const a = plotArea(els);
  assert.ok(Math.abs(+dot.attrs.cx - (a.x + a.w / 2)) <= 0.01);
  assert.ok(Math.abs(+dot.attrs.cy - (a.y + a.h / 2)) <= 0.01);
});

Deno.test("lossCurvesSvg: empty series and no series still render", () => {
  const one = parseXml(lossCurvesSvg([
    { name: "empty", points: [] },
    { name: "val", points: [[0, 2], [10, 1]] },
  ], OPTS));
  assert.ok(texts(one).includes("empty (no data)"));
  assert.equal(one.filter((e) => e.name === "polyline").length, 1);
  const none = parseXml(lossCurvesSvg([], OPTS));
  assert.ok(texts(none).includes("no data"));
  assert.equal(none.filter((e) => e.name === "polyline" || e.name === "circle").length, 0);
  const nan = parseXml(lossCurvesSvg([{ name: "bad", points: [[0, NaN]] }], OPTS));
  assert.ok(texts(nan).includes("bad (no data)"));
});
