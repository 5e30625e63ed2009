/**
 * Inputs that used to be accepted silently or crash: oversized and short images, condition files
 * that are not UTF-8 text, out-of-range image sizes, and prediction flags and run files that do not
 * fit the model. Each must be a clear error naming the file, key or flag.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { zlibSync } from "npm:fflate@0.8.3";
import jpeg from "npm:jpeg-js@0.4.4";
import { Engine } from "../engine/engine.ts";
import { parseSafetensors } from "../engine/nn/safetensors.ts";
import { checkImageSize, decodeGray, readImage } from "../conditioner/images.ts";
import { ConfigError, configFromJson, resolveConfig } from "../conditioner/config.ts";
import {
  decodeConditionText,
  readConditionText,
  readConditionTextIfPresent,
} from "../conditioner/condition_file.ts";
import { LIMITS } from "../conditioner/limits.ts";
import { predictFolder } from "../conditioner/predict.ts";
import { RUN_FILES } from "../conditioner/checkpoint.ts";
import { predictCommand, predictOptions } from "../cli/predict_command.ts";
import { writeTinyRun } from "./tiny_run.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

function throwsWith(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: Error) => {
    for (const p of parts) {
      assert.ok(err.message.includes(p), `"${err.message}" should mention "${p}"`);
    }
    return true;
  });
}

async function rejectsWith(fn: () => Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(fn, (err: Error) => {
    for (const p of parts) {
      assert.ok(err.message.includes(p), `"${err.message}" should mention "${p}"`);
    }
    return true;
  });
}

// ---------------------------------------------------------------------------- crafted PNGs

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One PNG chunk: length, type, data, CRC over type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

interface CraftedPng {
  width: number;
  height: number;
  /** Filtered scanlines (filter byte + samples per row), compressed into one IDAT. */
  scanlines: Uint8Array;
  depth?: number;
  colorType?: number;
  interlaced?: boolean;
  /** Replaces the zlib stream (e.g. a cut one). */
  idat?: Uint8Array;
}

/** A PNG written byte by byte, with correct CRCs, whatever its header claims. */
function craftPng(p: CraftedPng): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, p.width);
  view.setUint32(4, p.height);
  ihdr.set([p.depth ?? 8, p.colorType ?? 0, 0, 0, p.interlaced ? 1 : 0], 8);
  return concat([
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", p.idat ?? zlibSync(p.scanlines)),
    chunk("IEND", new Uint8Array()),
  ]);
}

/** Rows of 8-bit gray samples as filter-0 scanlines. */
function grayScanlines(width: number, rows: number, value: (x: number, y: number) => number) {
  const out = new Uint8Array(rows * (width + 1));
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < width; x++) out[y * (width + 1) + 1 + x] = value(x, y);
  }
  return out;
}

const level = (x: number, y: number) => (x * 37 + y * 11) % 256;

// ---------------------------------------------------------------------------- images

Deno.test("images: headers over the size limits are refused before any pixel is decoded", () => {
  // 4 rows of data behind a header claiming more: the old decoder allocated the full size.
  const wide = craftPng({ width: 20000, height: 1, scanlines: grayScanlines(20000, 1, level) });
  throwsWith(
    () => decodeGray(wide, "wide.png"),
    "wide.png: cannot decode image",
    "20000x1",
    `${LIMITS.maxImageSide} pixels per side`,
  );
  for (const side of [12000, 50000]) {
    const huge = craftPng({ width: side, height: side, scanlines: grayScanlines(side, 4, level) });
    const started = performance.now();
    throwsWith(
      () => decodeGray(huge, "huge.png"),
      "huge.png",
      `${side}x${side}`,
      `${LIMITS.maxImagePixels} pixels in total`,
    );
    assert.ok(performance.now() - started < 1000, "refused from the header, without decoding");
  }
  // Under the side limit but over the pixel limit.
  const big = craftPng({ width: 9000, height: 9000, scanlines: grayScanlines(9000, 2, level) });
  throwsWith(() => decodeGray(big, "big.png"), "9000x9000 = 81000000 pixels");

  // A JPEG whose frame header (SOF0) claims 20000 x 64: patched into a real file.
  const w = 64;
  const rgba = new Uint8Array(w * w * 4).fill(128);
  const jpg = new Uint8Array(jpeg.encode({ data: rgba, width: w, height: w }, 90).data);
  let sof = 2;
  while (!(jpg[sof] === 0xff && jpg[sof + 1] === 0xc0)) {
    sof += 2 + ((jpg[sof + 2] << 8) | jpg[sof + 3]);
  }
  new DataView(jpg.buffer).setUint16(sof + 7, 20000);
  throwsWith(() => decodeGray(jpg, "wide.jpg"), "wide.jpg", "20000x64 = 1280000 pixels");
});

Deno.test("images: PNG data shorter than its header is refused naming the file", async () => {
  const short = craftPng({ width: 16, height: 64, scanlines: grayScanlines(16, 32, level) });
  const dir = await Deno.makeTempDir({ prefix: "conditioner_short_" });
  try {
    const path = join(dir, "short.png");
    await Deno.writeFile(path, short);
    await rejectsWith(
      () => readImage(path, 16),
      `${path}: cannot decode image: its image data ends after 32 of the 64 rows its 16x64 ` +
        "header declares (544 of 1088 bytes)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // A zlib stream cut in the middle (the chunk itself is intact).
  const stream = zlibSync(grayScanlines(16, 64, level));
  const cut = craftPng({
    width: 16,
    height: 64,
    scanlines: new Uint8Array(),
    idat: stream.subarray(0, stream.length >> 1),
  });
  throwsWith(() => decodeGray(cut, "cut.png"), "cut.png: cannot decode image", "inflate");
  // 1-bit gray: 10 pixels pack into 2 bytes per row.
  const bits = (rows: number) => {
    const out = new Uint8Array(rows * 3);
    for (let y = 0; y < rows; y++) out.set([0, 0b10110011, 0b01000000], y * 3);
    return out;
  };
  const oneBit = decodeGray(
    craftPng({ width: 10, height: 3, depth: 1, scanlines: bits(3) }),
    "bits.png",
  );
  assert.deepEqual(
    [...oneBit.data.subarray(0, 10)],
    [1, 0, 1, 1, 0, 0, 1, 1, 0, 1].map((b) => b * 255),
  );
  throwsWith(
    () => decodeGray(craftPng({ width: 10, height: 3, depth: 1, scanlines: bits(2) }), "b.png"),
    "2 of the 3 rows",
  );
});

Deno.test("images: interlaced (Adam7) PNGs decode exactly; short ones are refused", () => {
  const [width, height] = [13, 7];
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [
    1,
    0,
    2,
    2,
  ], [0, 1, 1, 2]];
  const bytes: number[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    const xs = [];
    for (let x = x0; x < width; x += dx) xs.push(x);
    if (xs.length === 0) continue;
    for (let y = y0; y < height; y += dy) bytes.push(0, ...xs.map((x) => level(x, y)));
  }
  const scanlines = new Uint8Array(bytes);
  const img = decodeGray(craftPng({ width, height, interlaced: true, scanlines }), "i.png");
  const expected = Array.from(
    { length: width * height },
    (_, i) => level(i % width, (i / width) | 0),
  );
  assert.deepEqual([...img.data], expected);
  throwsWith(
    () =>
      decodeGray(
        craftPng({ width, height, interlaced: true, scanlines: scanlines.subarray(0, 50) }),
        "interlaced.png",
      ),
    "interlaced.png",
    `50 of ${scanlines.length} bytes`,
  );
});

Deno.test("images: a truncated JPEG is refused naming the file and the cause", () => {
  const w = 32;
  const rgba = new Uint8Array(w * w * 4).map((_, i) => (i * 13) % 256);
  const full = new Uint8Array(jpeg.encode({ data: rgba, width: w, height: w }, 90).data);
  assert.equal(decodeGray(full, "ok.jpg").width, w);
  for (const keep of [full.length - 2, Math.floor(full.length * 0.6)]) {
    throwsWith(
      () => decodeGray(full.subarray(0, keep), "cut.jpg"),
      "cut.jpg: cannot decode image",
      "truncated",
    );
  }
});

Deno.test("image size: limits are checked where the setting is read, naming key or flag", () => {
  const max = LIMITS.maxImageSize;
  assert.throws(
    () => resolveConfig({ overrides: { imageSize: "20000" } }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(
        err.message,
        `command line: option '--image-size': must be between 16 and ${max} (got '20000')`,
      );
      return true;
    },
  );
  throwsWith(
    () => resolveConfig({ file: { text: "image_size 4096\n", path: "c.txt" } }),
    "c.txt:1: key 'image_size': must be between 16 and 2048 (got '4096')",
  );
  throwsWith(
    () => configFromJson({ imageSize: 20000 }, "run/config.json"),
    "run/config.json: field 'imageSize': must be between",
  );
  assert.equal(resolveConfig({ overrides: { imageSize: String(max) } }).config.imageSize, max);
  assert.equal(resolveConfig({ overrides: { imageSize: "16" } }).config.imageSize, 16);
  throwsWith(() => checkImageSize(max + 1), `from 1 to ${max}`);
});

// ---------------------------------------------------------------------------- condition files

const CONDITION = "%LatentConditioner\nn_epoch 7\nlatent_conditioner_batch 4\n'\n";

function utf16(text: string, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(2 + text.length * 2);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0xfeff, littleEndian);
  for (let i = 0; i < text.length; i++) view.setUint16(2 + i * 2, text.charCodeAt(i), littleEndian);
  return out;
}

Deno.test("condition files: UTF-16 with a byte-order mark and UTF-8 with one are read", async () => {
  const utf8 = new TextEncoder().encode(CONDITION);
  const variants: [string, Uint8Array][] = [
    ["utf16le.txt", utf16(CONDITION, true)],
    ["utf16be.txt", utf16(CONDITION, false)],
    ["utf8bom.txt", concat([new Uint8Array([0xef, 0xbb, 0xbf]), utf8])],
    ["utf8.txt", utf8],
  ];
  const dir = await Deno.makeTempDir({ prefix: "conditioner_text_" });
  try {
    for (const [name, bytes] of variants) {
      const path = join(dir, name);
      await Deno.writeFile(path, bytes);
      const text = await readConditionText(path);
      assert.equal(text, CONDITION, name);
      const { config, warnings } = resolveConfig({ file: { text, path } });
      assert.deepEqual([config.nEpoch, config.batchSize, warnings.length], [7, 4, 0], name);
    }
    assert.equal(await readConditionTextIfPresent(join(dir, "absent.txt")), undefined);
    await rejectsWith(
      () => readConditionText(join(dir, "absent.txt")),
      `condition file ${join(dir, "absent.txt")} does not exist`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("condition files: bytes that are not text are an error naming file and line", () => {
  // UTF-16 without a byte-order mark: every other byte is NUL.
  const noBom = utf16(CONDITION, true).subarray(2);
  throwsWith(() => decodeConditionText(noBom, "c.txt"), "c.txt:1: not a text file", "NUL");
  const latin1 = new Uint8Array([...new TextEncoder().encode("n_epoch 7\n# caf"), 0xe9, 0x0a]);
  assert.throws(() => decodeConditionText(latin1, "l.txt"), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message, "l.txt:2: not a text file: invalid UTF-8 (save it as UTF-8 text)");
    assert.deepEqual([err.path, err.line], ["l.txt", 2]);
    return true;
  });
  const binary = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
  throwsWith(() => decodeConditionText(binary, "image.png"), "image.png:", "not a text file");
  // An odd byte count cannot be UTF-16.
  throwsWith(
    () =>
      decodeConditionText(concat([utf16("n_epoch 7\n", true), new Uint8Array([0x41])]), "odd.txt"),
    "odd.txt:2: not a text file: invalid UTF-16LE",
  );
});

// ---------------------------------------------------------------------------- predict

let engine: Engine | null = null;
async function gpu(): Promise<Engine> {
  return engine ??= await Engine.create({ seed: 5 });
}

async function tinyRun(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "conditioner_run_" });
  await writeTinyRun(await gpu(), dir);
  return dir;
}

/** Safetensors bytes from tensors given with their dtype and raw little-endian bytes. */
function safetensors(
  entries: { name: string; dtype: string; shape: number[]; data: Uint8Array }[],
) {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const e of entries) {
    header[e.name] = {
      dtype: e.dtype,
      shape: e.shape,
      data_offsets: [offset, offset + e.data.length],
    };
    offset += e.data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigUint64(0, BigInt(json.length), true);
  return concat([length, json, ...entries.map((e) => e.data)]);
}

Deno.test("predict flags: --model and --batch-size are checked, naming the flag", () => {
  const base = { run: "r", images: "i", model: "best", batchSize: "16" };
  assert.deepEqual(predictOptions({ ...base, model: "last", batchSize: "3" }), {
    runDir: "r",
    imageDir: "i",
    outDir: join("r", "predictions"),
    which: "last",
    batchSize: 3,
    extensions: [".png", ".jpg", ".jpeg"],
  });
  throwsWith(
    () => predictOptions({ ...base, model: "latest" }),
    "option '--model' must be best or last (got 'latest')",
  );
  for (const bad of ["abc", "0", "-2", "1.5", "", "1e3"]) {
    throwsWith(
      () => predictOptions({ ...base, batchSize: bad }),
      `option '--batch-size' must be a positive integer (got '${bad}')`,
    );
  }
});

Deno.test(
  "predict: wrong flags and run files fail before a GPU engine is created",
  opts,
  async () => {
    const run = await tinyRun();
    const create = Engine.create;
    let created = 0;
    Engine.create = () => {
      created++;
      return Promise.reject(new Error("an engine was created"));
    };
    const predict = (...flags: string[]) =>
      predictCommand().parseAsync(
        ["--run", run, "--images", join(run, "images"), "--out", join(run, "p"), ...flags],
        { from: "user" },
      );
    try {
      await rejectsWith(() => predict("--model", "latest"), "'--model'");
      await rejectsWith(() => predict("--batch-size", "abc"), "'--batch-size'");
      await rejectsWith(() => predict("--images", "/nonexistent"), "/nonexistent does not exist");
      assert.equal(created, 0);
      await rejectsWith(() => predict(), "an engine was created");
      assert.equal(created, 1);
    } finally {
      Engine.create = create;
      await Deno.remove(run, { recursive: true });
    }
  },
);

Deno.test(
  "predict: scalers with the wrong column count are refused naming the file",
  opts,
  async () => {
    const run = await tinyRun();
    try {
      const e = await gpu();
      const options = { runDir: run, imageDir: join(run, "images"), outDir: join(run, "p") };
      assert.equal((await predictFolder(e, options)).count, 3);
      const path = join(run, RUN_FILES.scalers);
      const scalers = JSON.parse(await Deno.readTextFile(path));
      const y2 = scalers.y2;
      for (const key of ["dataMin", "dataMax", "scale", "min"]) scalers.y1[key].length = 16;
      await Deno.writeTextFile(path, JSON.stringify(scalers));
      await rejectsWith(
        () => predictFolder(e, options),
        `${path}: the y1 scaler has 16 columns but the model predicts 32 y1 values`,
      );
      scalers.y1 = y2;
      await Deno.writeTextFile(path, JSON.stringify(scalers));
      await rejectsWith(() => predictFolder(e, options), "y1 scaler has 24 columns", "32");
    } finally {
      await Deno.remove(run, { recursive: true });
    }
  },
);

Deno.test(
  "predict: integer weights in a model file are refused naming file and tensor",
  opts,
  async () => {
    const run = await tinyRun();
    try {
      const e = await gpu();
      const path = join(run, RUN_FILES.best);
      const file = parseSafetensors(await Deno.readFile(path), path);
      for (const dtype of ["I32", "I64"]) {
        const entries = [...file.tensors].map(([name, t]) => {
          if (name !== "conv1.weight") {
            return {
              name,
              dtype: "F32",
              shape: t.shape,
              data: new Uint8Array(t.data.buffer.slice(0)),
            };
          }
          const ints = dtype === "I32"
            ? new Uint8Array(Int32Array.from(t.data, Math.round).buffer)
            : new Uint8Array(BigInt64Array.from(t.data, (v) => BigInt(Math.round(v))).buffer);
          return { name, dtype, shape: t.shape, data: ints };
        });
        await Deno.writeFile(path, safetensors(entries));
        await rejectsWith(
          () =>
            predictFolder(e, {
              runDir: run,
              imageDir: join(run, "images"),
              outDir: join(run, "p"),
            }),
          `${path}: tensor "conv1.weight" is stored as ${dtype}`,
          "floating point",
        );
      }
      await rejectsWith(
        () =>
          predictFolder(e, {
            runDir: run,
            imageDir: join(run, "images"),
            outDir: join(run, "p"),
            which: "latest" as "best",
          }),
        'which must be best or last, got "latest"',
      );
    } finally {
      await Deno.remove(run, { recursive: true });
    }
  },
);

// Engines left open at exit have crashed the OpenGL backend at teardown now and then.
Deno.test("inputs: close engine", opts, async () => {
  await engine?.close();
});
