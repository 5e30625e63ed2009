/**
 * The conditioner's data pipeline: natural sort, image decoding and OpenCV-equivalent bicubic
 * resizing, targets and scaling, split and batching, error messages, the demo generator, and
 * gathering batches on the GPU.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
// @ts-types="npm:@types/pngjs@6.0.5"
import { PNG } from "npm:pngjs@7.0.0";
import jpeg from "npm:jpeg-js@0.4.4";
import { Engine } from "../engine/engine.ts";
import { gatherRows } from "../engine/ops/gather.ts";
import {
  decodeGray,
  listImageFiles,
  loadImages,
  naturalCompare,
  readImage,
  resizeBicubic,
} from "../conditioner/images.ts";
import { MinMaxScaler, replaceNonFinite } from "../conditioner/targets.ts";
import {
  ConditionerDataset,
  gatherBatch,
  loadDataset,
  splitIndices,
  trainBatches,
  uploadDataset,
  valBatches,
} from "../conditioner/data.ts";
import { generateDemo } from "../conditioner/demo_data.ts";
import { writeNpy } from "../conditioner/npy.ts";
import { assertClose } from "./helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const DEMO = new URL("../fixtures/demo/", import.meta.url).pathname;

let engine: Engine | null = null;
async function gpu(): Promise<Engine> {
  return engine ??= await Engine.create({ seed: 7 });
}

async function rejectsWith(fn: () => Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(fn, (err: Error) => {
    for (const p of parts) {
      assert.ok(err.message.includes(p), `"${err.message}" should mention "${p}"`);
    }
    return true;
  });
}

function throwsWith(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: Error) => {
    for (const p of parts) {
      assert.ok(err.message.includes(p), `"${err.message}" should mention "${p}"`);
    }
    return true;
  });
}

/** Encodes 8-bit samples as a PNG of the given colour type (0 gray, 2 RGB, 6 RGBA). */
function encodePng(width: number, height: number, samples: number[], colorType: 0 | 2 | 6) {
  const png = new PNG({ width, height, colorType, inputColorType: colorType });
  png.data = Buffer.from(samples);
  return new Uint8Array(PNG.sync.write(png, { colorType, inputColorType: colorType }));
}

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Inserts a chunk right after IHDR (signature 8 bytes + IHDR 25 bytes). */
function insertChunk(png: Uint8Array, type: string, data: number[]): Uint8Array {
  const body = new Uint8Array([...new TextEncoder().encode(type), ...data]);
  const chunk = new Uint8Array(12 + data.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  chunk.set(body, 4);
  view.setUint32(8 + data.length, crc32(body));
  return new Uint8Array([...png.subarray(0, 33), ...chunk, ...png.subarray(33)]);
}

/** A data folder with `images` gray PNGs and targets of the given row counts. */
async function makeDataDir(
  images: number,
  latentRows: number,
  xsRows: number,
  edit?: (latents: Float32Array) => void,
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "conditioner_data_" });
  await Deno.mkdir(join(dir, "images"));
  for (let i = 0; i < images; i++) {
    const px = Array.from({ length: 16 }, (_, k) => (i * 40 + k * 13) % 256);
    await Deno.writeFile(join(dir, "images", `img${i + 1}.png`), encodePng(4, 4, px, 0));
  }
  const latents = Float32Array.from({ length: latentRows * 32 }, (_, k) => Math.sin(k));
  edit?.(latents);
  const xs = Float32Array.from({ length: xsRows * 24 }, (_, k) => Math.cos(k));
  await Deno.writeFile(join(dir, "latent_vectors.npy"), writeNpy([latentRows, 32], latents));
  await Deno.writeFile(join(dir, "xs.npy"), writeNpy([xsRows, 3, 8], xs));
  return dir;
}

// ---------------------------------------------------------------------------- images

Deno.test("natural sort: numbers by value, text by code unit, ties by string", () => {
  const names = [
    "img10.png",
    "img2.png",
    "img1.png",
    "img01.png",
    "a.png",
    "img2b.png",
    "10x.png",
    "9x.png",
    "Img3.png",
    "s12345678901234567891",
    "s12345678901234567890",
  ];
  assert.deepEqual([...names].sort(naturalCompare), [
    "9x.png",
    "10x.png",
    "Img3.png",
    "a.png",
    "img01.png",
    "img1.png",
    "img2.png",
    "img2b.png",
    "img10.png",
    "s12345678901234567890",
    "s12345678901234567891",
  ]);
  assert.equal(naturalCompare("img2", "img2"), 0);
});

Deno.test("image listing: extension case-insensitive, natural order, folder errors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conditioner_list_" });
  try {
    const px = encodePng(1, 1, [0], 0);
    for (const name of ["img10.PNG", "img2.png", "img1.png", "notes.txt", "img3.jpg"]) {
      await Deno.writeFile(join(dir, name), px);
    }
    await Deno.mkdir(join(dir, "sub.png"));
    assert.deepEqual(await listImageFiles(dir, ".png"), ["img1.png", "img2.png", "img10.PNG"]);
    assert.deepEqual(await listImageFiles(dir, "*.JPG"), ["img3.jpg"]);
    await rejectsWith(() => listImageFiles(dir, ".jpeg"), dir, "*.jpeg");
    await rejectsWith(() => listImageFiles(dir, ".bmp"), "unsupported image extension", ".bmp");
    await rejectsWith(() => listImageFiles(join(dir, "missing"), ".png"), "missing", "not exist");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// A 6x5 RGB image whose gray levels and resizes were computed with OpenCV 4.6:
// g = cv2.imread(path, 0); cv2.resize(g, size, interpolation=cv2.INTER_CUBIC).
const RGB_W = 6;
const RGB_H = 5;
function rgbSamples(): number[] {
  const s: number[] = [];
  for (let y = 0; y < RGB_H; y++) {
    for (let x = 0; x < RGB_W; x++) {
      s.push((x * 37 + y * 11) % 256, (x * 5 + y * 53 + 17) % 256, (x * 91 + y * 29 + 3) % 256);
    }
  }
  return s;
}
const CV_GRAY = [
  10,
  34,
  59,
  54,
  78,
  103,
  48,
  72,
  96,
  91,
  116,
  140,
  85,
  110,
  134,
  129,
  154,
  149,
  123,
  147,
  142,
  167,
  191,
  186,
  161,
  185,
  180,
  205,
  229,
  224,
];
const CV_DOWN_4X3 = [24, 64, 68, 109, 90, 130, 134, 151, 157, 168, 204, 216];
const CV_UP_9X8 = [
  4,
  16,
  36,
  53,
  53,
  53,
  69,
  89,
  102,
  21,
  33,
  53,
  69,
  69,
  69,
  85,
  107,
  120,
  49,
  61,
  81,
  97,
  97,
  97,
  114,
  133,
  144,
  70,
  82,
  103,
  121,
  120,
  118,
  137,
  145,
  144,
  96,
  109,
  127,
  136,
  140,
  146,
  164,
  165,
  158,
  118,
  132,
  145,
  139,
  149,
  169,
  185,
  187,
  182,
  146,
  160,
  172,
  163,
  175,
  198,
  213,
  215,
  210,
  162,
  177,
  189,
  182,
  193,
  214,
  230,
  232,
  227,
];

Deno.test("grayscale: RGB PNG converts exactly like cv2.imread(path, 0)", () => {
  const img = decodeGray(encodePng(RGB_W, RGB_H, rgbSamples(), 2), "rgb.png");
  assert.equal(img.width, RGB_W);
  assert.equal(img.height, RGB_H);
  assert.equal(img.maxValue, 255);
  assert.deepEqual(Array.from(img.data), CV_GRAY);
});

Deno.test("grayscale: alpha and tRNS transparency are ignored", () => {
  const rgba = [200, 100, 50, 0, 10, 20, 30, 255];
  const img = decodeGray(encodePng(2, 1, rgba, 6), "rgba.png");
  // libpng's weights: floor((9797 R + 19234 G + 3737 B) / 32768).
  assert.deepEqual(Array.from(img.data), [
    Math.floor((9797 * 200 + 19234 * 100 + 3737 * 50) / 32768),
    Math.floor((9797 * 10 + 19234 * 20 + 3737 * 30) / 32768),
  ]);
  // A gray PNG whose level 255 is marked transparent keeps its 255s.
  const gray = insertChunk(encodePng(3, 1, [255, 7, 255], 0), "tRNS", [0, 255]);
  assert.deepEqual(Array.from(decodeGray(gray, "trns.png").data), [255, 7, 255]);
});

Deno.test("bicubic resize equals OpenCV INTER_CUBIC (down, up, hand-computed)", () => {
  const img = { width: RGB_W, height: RGB_H, data: Float64Array.from(CV_GRAY), maxValue: 255 };
  assert.deepEqual(Array.from(resizeBicubic(img, 4, 3)), CV_DOWN_4X3);
  assert.deepEqual(Array.from(resizeBicubic(img, 9, 8)), CV_UP_9X8);
  assert.deepEqual(Array.from(resizeBicubic(img, RGB_W, RGB_H)), CV_GRAY, "same size = copy");
  // [0, 255] -> 4 pixels: Keys a = -0.75 weights at t = 0.25 are (-0.0352, 0.2617, 0.8789,
  // -0.1055); pixel 1 = 255 * (0.2617 - 0.0352) = 57.8 -> 58, pixel 2 = 255 * 0.7734 -> 197,
  // and the outer pixels overshoot and are clamped.
  const tiny = { width: 2, height: 1, data: Float64Array.from([0, 255]), maxValue: 255 };
  assert.deepEqual(Array.from(resizeBicubic(tiny, 4, 1)), [0, 58, 197, 255]);
});

Deno.test("readImage: [0, 1] scaling for 8- and 16-bit PNGs, JPEG decoding", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conditioner_img_" });
  try {
    const p8 = join(dir, "a.png");
    await Deno.writeFile(p8, encodePng(RGB_W, RGB_H, rgbSamples(), 2));
    // cv2.resize(cv2.imread(p8, 0), (4, 4), interpolation=cv2.INTER_CUBIC) / 255
    const cv4x4 = [18, 58, 62, 102, 68, 109, 111, 143, 113, 136, 159, 172, 163, 175, 210, 222];
    assertClose(await readImage(p8, 4), cv4x4.map((v) => v / 255), { atol: 1e-7, rtol: 0 });

    const png16 = new PNG({ width: 2, height: 2, bitDepth: 16, colorType: 0, inputColorType: 0 });
    const levels = [0, 65535, 32768, 1000];
    const raw = new Uint16Array(levels);
    png16.data = Buffer.from(raw.buffer);
    const p16 = join(dir, "b.png");
    await Deno.writeFile(
      p16,
      PNG.sync.write(png16, { bitDepth: 16, colorType: 0, inputColorType: 0 }),
    );
    assertClose(await readImage(p16, 2), levels.map((v) => v / 65535), { atol: 1e-7 });

    const w = 16;
    const gray = Array.from({ length: w * w }, (_, i) => (i % w) * 16);
    const rgba = new Uint8Array(w * w * 4);
    gray.forEach((v, i) => rgba.set([v, v, v, 255], i * 4));
    const pj = join(dir, "c.jpg");
    await Deno.writeFile(pj, jpeg.encode({ data: rgba, width: w, height: w }, 95).data);
    assertClose(await readImage(pj, w), gray.map((v) => v / 255), {
      atol: 6 / 255,
      label: "jpeg",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("images: corrupt and unreadable files are named; progress is reported", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conditioner_bad_" });
  try {
    const good = encodePng(4, 4, Array.from({ length: 16 }, (_, i) => i * 10), 0);
    await Deno.writeFile(join(dir, "img1.png"), good);
    await Deno.writeFile(join(dir, "img2.png"), good);
    const calls: string[] = [];
    const loaded = await loadImages(dir, ".png", {
      imageSize: 8,
      onProgress: (d, t) => calls.push(`${d}/${t}`),
    });
    assert.deepEqual(calls, ["1/2", "2/2"]);
    assert.deepEqual(loaded.names, ["img1.png", "img2.png"]);
    assert.equal(loaded.data.length, 2 * 64);

    const truncated = good.slice(0, good.length - 20);
    await Deno.writeFile(join(dir, "img3.png"), truncated);
    await rejectsWith(() => loadImages(dir, ".png"), "img3.png", "cannot decode image");
    const flipped = good.slice();
    flipped[45] ^= 0xff; // inside IDAT: CRC mismatch
    await Deno.writeFile(join(dir, "img3.png"), flipped);
    await rejectsWith(() => loadImages(dir, ".png"), "img3.png", "cannot decode image");
    await Deno.writeFile(join(dir, "img3.png"), new TextEncoder().encode("not an image"));
    await rejectsWith(() => loadImages(dir, ".png"), "img3.png", "neither the PNG nor the JPEG");
    await rejectsWith(() => readImage(join(dir, "img9.png"), 8), "img9.png", "cannot read image");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------- targets

Deno.test("MinMaxScaler: sklearn's (-0.7, 0.7) scaling, constant columns, inverse, JSON", () => {
  const data = [1, 5, 3, 3, 5, -1, 2, 5, 1];
  const s = MinMaxScaler.fit(data, 3);
  assertClose(s.transform(data), [-0.7, -0.7, 0.7, 0.7, -0.7, -0.7, 0, -0.7, 0], {
    atol: 1e-7,
  });
  assertClose(s.scale, [0.7, 1.4, 0.35], { atol: 1e-12 });
  assertClose(s.min, [-1.4, -7.7, -0.35], { atol: 1e-12 });
  assertClose(s.inverseTransform(s.transform(data)), data, { atol: 1e-6 });
  const back = MinMaxScaler.fromJSON(JSON.parse(JSON.stringify(s)));
  assert.deepEqual(back.toJSON(), s.toJSON());
  assertClose(back.inverseTransform([0.7, 0.7, 0.7]), [3, 5.99999, 3], { atol: 1e-4 });
  throwsWith(() => MinMaxScaler.fromJSON({ type: "StandardScaler" }, "s.json"), "s.json");
  throwsWith(() => s.transform([1, 2]), "transform", "3 columns");
  throwsWith(() => MinMaxScaler.fit([1, NaN], 2), "NaN");
});

Deno.test("targets: NaN and Inf become 0 with a warning naming the file", () => {
  const d = Float32Array.from([1, NaN, 2, NaN, Infinity]);
  const warning = replaceNonFinite(d, "x/latent_vectors.npy");
  assert.deepEqual(Array.from(d), [1, 0, 2, 0, 0]);
  assert.ok(warning?.includes("x/latent_vectors.npy"), warning ?? "");
  assert.ok(warning?.includes("2 NaN") && warning.includes("1 infinite"), warning ?? "");
  assert.equal(replaceNonFinite(Float32Array.from([1, 2]), "f"), null);
});

Deno.test("loadDataset: counts must match unless truncating; NaN warning; shapes", async () => {
  const dir = await makeDataDir(5, 4, 5, (l) => {
    l[3] = NaN;
    l[40] = NaN;
  });
  try {
    await rejectsWith(
      () => loadDataset(dir, { imageSize: 4 }),
      "5 *.png images",
      "4 rows in",
      "latent_vectors.npy",
      "5 rows in",
      "xs.npy",
      "--truncate",
    );
    const { dataset, warnings } = await loadDataset(dir, { imageSize: 4, truncate: true });
    assert.equal(dataset.size, 4);
    assert.deepEqual(dataset.names, ["img1.png", "img2.png", "img3.png", "img4.png"]);
    assert.equal(dataset.images.length, 4 * 16);
    assert.equal(dataset.y2.length, 4 * 24);
    assert.ok(
      warnings.some((w) => w.includes("truncated") && w.includes("first 4")),
      `${warnings}`,
    );
    assert.ok(
      warnings.some((w) => w.includes("latent_vectors.npy") && w.includes("2 NaN")),
      `${warnings}`,
    );
    const raw = dataset.y1Scaler.inverseTransform(dataset.y1);
    assertClose([raw[3], raw[40], raw[4]], [0, 0, Math.fround(Math.sin(4))], { atol: 1e-6 });
    // Image pixels arrive unchanged (same size) in [0, 1].
    assertClose(
      dataset.images.slice(16, 32),
      Array.from({ length: 16 }, (_, k) => ((40 + k * 13) % 256) / 255),
      { atol: 1e-7 },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadDataset: npy count mismatch, wrong shapes, missing and empty folders", async () => {
  const dir = await makeDataDir(3, 3, 2);
  try {
    await rejectsWith(() => loadDataset(dir), "3 rows in", "2 rows in", "xs.npy", "--truncate");
    await Deno.writeFile(
      join(dir, "latent_vectors.npy"),
      writeNpy([3, 31], new Float32Array(93)),
    );
    await rejectsWith(() => loadDataset(dir), "latent_vectors.npy", "(N, 32)", "(3, 31)");
    await Deno.writeFile(join(dir, "latent_vectors.npy"), writeNpy([3, 32], new Float32Array(96)));
    await Deno.writeFile(join(dir, "xs.npy"), writeNpy([3, 24], new Float32Array(72)));
    await rejectsWith(() => loadDataset(dir), "xs.npy", "(N, 3, 8)", "(3, 24)");
    await Deno.writeFile(join(dir, "xs.npy"), writeNpy([3, 3, 8], new Float32Array(72)));
    await rejectsWith(() => loadDataset(dir, { paramDir: "pics" }), "pics", "does not exist");
    await Deno.mkdir(join(dir, "pics"));
    await rejectsWith(() => loadDataset(dir, { paramDir: "/pics" }), "pics", "no *.png files");
    await rejectsWith(() => loadDataset(dir, { ext: ".jpg" }), "images", "no *.jpg files");
    const { dataset } = await loadDataset(dir, { paramDir: "/images", imageSize: 2 });
    assert.equal(dataset.size, 3);
    // All-zero targets: constant columns map to the lower end of the range.
    assert.ok(dataset.y1.every((v) => Math.abs(v + 0.7) < 1e-7));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------- split, batches

Deno.test("splitIndices: seeded, reproducible, disjoint, int(0.8 N) training samples", () => {
  const a = splitIndices(484, 0.2, 42);
  assert.deepEqual(splitIndices(484, 0.2, 42), a);
  assert.equal(a.train.length, 387);
  assert.equal(a.val.length, 97);
  const all = [...a.train, ...a.val].sort((x, y) => x - y);
  assert.deepEqual(all, Array.from({ length: 484 }, (_, i) => i));
  assert.deepEqual(a.val, [...a.val].sort((x, y) => x - y));
  assert.notDeepEqual(splitIndices(484, 0.2, 43).val, a.val);
  assert.deepEqual(splitIndices(10, 0.2, 1).train.length, 8);
  assert.deepEqual(splitIndices(5, 0, 1).val, []);
  throwsWith(() => splitIndices(1, 0.2, 0), "no training sample");
  throwsWith(() => splitIndices(10, 1, 0), "[0, 1)");
});

Deno.test("batches: training shuffled per epoch seed with drop-last; validation in order", () => {
  const train = [3, 5, 8, 13, 21, 34, 55, 89, 144, 233];
  const b = trainBatches(train, 3, 11);
  assert.equal(b.length, 3);
  assert.ok(b.every((batch) => batch.length === 3));
  const seen = b.flat();
  assert.equal(new Set(seen).size, 9);
  assert.ok(seen.every((i) => train.includes(i)));
  assert.deepEqual(trainBatches(train, 3, 11), b);
  assert.notDeepEqual(trainBatches(train, 3, 12), b);
  assert.notDeepEqual(seen, train.slice(0, 9), "shuffled");
  throwsWith(() => trainBatches([1, 2], 3, 0), "2 training samples", "batch size 3");
  assert.deepEqual(valBatches([9, 4, 7, 1, 2, 6, 0], 3), [[9, 4, 7], [1, 2, 6], [0]]);
  throwsWith(() => valBatches([1], 0), "batch size");
});

// ---------------------------------------------------------------------------- demo data

Deno.test("demo data: committed fixture loads and matches the generator", async () => {
  const { dataset, warnings } = await loadDataset(DEMO, { imageSize: 32 });
  assert.deepEqual(warnings, []);
  assert.equal(dataset.size, 240);
  assert.deepEqual(dataset.names.slice(0, 3), ["img1.png", "img2.png", "img3.png"]);
  assert.equal(dataset.names[239], "img240.png");
  assert.ok(dataset.images.every((v) => v >= 0 && v <= 1));
  const maxPixel = dataset.images.reduce((m, v) => Math.max(m, v), 0);
  assert.ok(maxPixel > 0.9, `outlines are bright (max ${maxPixel})`);
  for (const [name, y, cols] of [["y1", dataset.y1, 32], ["y2", dataset.y2, 24]] as const) {
    for (let j = 0; j < cols; j++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = j; i < y.length; i += cols) {
        lo = Math.min(lo, y[i]);
        hi = Math.max(hi, y[i]);
      }
      assertClose([lo, hi], [-0.7, 0.7], { atol: 1e-6, label: `${name} column ${j}` });
    }
  }
  const raw = dataset.y1Scaler.inverseTransform(dataset.y1);
  const maxAbs = raw.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(maxAbs > 1.5 && maxAbs <= 2.5, `latent magnitude ${maxAbs}`);

  const gen = generateDemo({ count: 3 });
  for (let i = 0; i < 3; i++) {
    const onDisk = await Deno.readFile(join(DEMO, "images", `img${i + 1}.png`));
    assert.deepEqual(gen.images[i].png, onDisk, `img${i + 1}.png is reproducible`);
  }
  assertClose(gen.latents, raw.slice(0, 96), { atol: 2e-6, label: "latents" });
});

// ---------------------------------------------------------------------------- GPU

Deno.test("gatherRows: picks rows on the GPU; out-of-range rows are zero", opts, async () => {
  const e = await gpu();
  const src = e.tensor(Array.from({ length: 15 }, (_, i) => i), [5, 3]);
  const idx = e.tensor([4, 0, 4, 2, 7], [5], { dtype: "i32" });
  const out = gatherRows(src, idx);
  assert.deepEqual(out.shape, [5, 3]);
  assert.deepEqual(
    Array.from(await out.read()),
    [12, 13, 14, 0, 1, 2, 12, 13, 14, 6, 7, 8, 0, 0, 0],
  );
  const x = e.tensor(Array.from({ length: 2 * 2 * 3 }, (_, i) => -i), [2, 1, 2, 3]);
  const picked = gatherRows(x, e.tensor([1], [1], { dtype: "i32" }));
  assert.deepEqual(picked.shape, [1, 1, 2, 3]);
  assert.deepEqual(Array.from(await picked.read()), [-6, -7, -8, -9, -10, -11]);
  throwsWith(() => gatherRows(src, e.tensor([0], [1])), "gatherRows", "i32");
  for (const t of [src, idx, out, x, picked]) t.dispose();
});

Deno.test("gatherBatch: single- and multi-chunk uploads give the CPU rows", opts, async () => {
  const e = await gpu();
  const n = 7;
  const s = 4;
  const images = Float32Array.from({ length: n * s * s }, (_, i) => (i % 97) / 97);
  const latents = {
    shape: [n, 32],
    data: Float32Array.from({ length: n * 32 }, (_, k) => Math.sin(k)),
  };
  const xs = {
    shape: [n, 3, 8],
    data: Float32Array.from({ length: n * 24 }, (_, k) => Math.cos(k)),
  };
  const names = Array.from({ length: n }, (_, i) => `img${i}.png`);
  const ds = new ConditionerDataset(images, s, names, latents, xs);
  const batch = [6, 0, 3, 3, 5];
  const expect = (data: Float32Array, row: number) =>
    batch.flatMap((i) => Array.from(data.slice(i * row, (i + 1) * row)));
  for (const maxChunkBytes of [undefined, 3 * s * s * 4]) {
    const g = uploadDataset(e, ds, { maxChunkBytes });
    assert.equal(g.x.chunks.length, maxChunkBytes ? 3 : 1);
    const b = gatherBatch(e, g, batch);
    assert.deepEqual(b.x.shape, [5, 1, s, s]);
    assert.deepEqual(b.y1.shape, [5, 32]);
    assert.deepEqual(b.y2.shape, [5, 3, 8]);
    assertClose(await b.x.read(), expect(ds.images, s * s), { atol: 0, rtol: 0, label: "x" });
    assertClose(await b.y1.read(), expect(ds.y1, 32), { atol: 0, rtol: 0, label: "y1" });
    assertClose(await b.y2.read(), expect(ds.y2, 24), { atol: 0, rtol: 0, label: "y2" });
    throwsWith(() => gatherBatch(e, g, [0, 7]), "7", "[0, 7)");
    for (const t of [b.x, b.y1, b.y2]) t.dispose();
    g.dispose();
  }
});

// Engines left open at exit have crashed the OpenGL backend at teardown now and then.
Deno.test("data: close engine", opts, async () => {
  await engine?.close();
});
