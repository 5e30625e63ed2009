/**
 * The command line's shape: list flags in every spelling, `predict` reading every image type
 * unless `--ext` restricts it, and `demo-data` never mixing an old dataset with a new one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import jpeg from "npm:jpeg-js@0.4.4";
import { Command } from "npm:@commander-js/extra-typings@15.1.0";
import { Engine } from "../engine/engine.ts";
import { resolveConfig } from "../conditioner/config.ts";
import { loadDataset } from "../conditioner/data.ts";
import { predictFolder } from "../conditioner/predict.ts";
import { addSettingOptions, settingOverrides } from "../cli/settings_options.ts";
import { predictOptions } from "../cli/predict_command.ts";
import { DEMO_DATA_OUT, demoDataCommand } from "../cli/demo_data_command.ts";
import { grayPng, TINY, writeTinyRun } from "./tiny_run.ts";
import { engineTuning, parseKeptInputs } from "../cli/tune_command.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
let engine: Engine | undefined;
const getEngine = async () => engine ??= await Engine.create({ seed: 5 });

/** The configuration a command line with the setting flags resolves to. */
function configOf(...args: string[]) {
  const cmd = new Command("t").exitOverride().action(() => {});
  addSettingOptions(cmd);
  cmd.parse(args, { from: "user" });
  return resolveConfig({ overrides: settingOverrides(cmd) }).config;
}

async function rejectsWith(fn: () => Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(fn, (err: Error) => {
    for (const p of parts) {
      assert.ok(err.message.includes(p), `"${err.message}" should mention "${p}"`);
    }
    return true;
  });
}

Deno.test("list flags: unquoted words, one quoted word and commas give the same list", () => {
  for (
    const args of [
      ["--filters", "8", "16", "32"],
      ["--filters", "8 16 32"],
      ["--filters", "8,16,32"],
      ["--filters", "8,", "16", "32"],
      ["--filters", "[8, 16, 32]"],
    ]
  ) {
    assert.deepEqual(configOf(...args).filters, [8, 16, 32], args.join(" "));
  }
  // A list ends at the next flag; other settings are unaffected.
  const c = configOf("--filters", "8", "16", "--epochs", "3", "--perceptual-layers", "4", "2");
  assert.deepEqual(c.filters, [8, 16]);
  assert.equal(c.nEpoch, 3);
  assert.deepEqual(c.enhanced.loss.perceptualLayers, [4, 2]);
  assert.throws(() => configOf("--filters", "8", "x"), /option '--filters'/);
});

/** A gray JPEG of `size` x `size` pixels. */
function grayJpeg(size: number): Uint8Array {
  const data = new Uint8Array(size * size * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 5) % 256));
  return new Uint8Array(jpeg.encode({ data, width: size, height: size }, 90).data);
}

Deno.test("predict: every image type by default, --ext restricts", opts, async () => {
  const engine = await getEngine();
  const run = await Deno.makeTempDir({ prefix: "cli-predict-" });
  try {
    await writeTinyRun(engine, run, 2); // images/img1.png, img2.png
    const images = join(run, "images");
    await Deno.writeFile(join(images, "img3.jpg"), grayJpeg(TINY.imageSize));
    await Deno.writeFile(join(images, "img4.JPEG"), grayJpeg(TINY.imageSize));
    await Deno.writeFile(join(images, "notes.txt"), new TextEncoder().encode("not an image"));
    const base = { run, images, model: "best", batchSize: "16" };
    const predict = async (ext?: string[]) => {
      const out = join(run, `out-${ext?.join("-") ?? "all"}`);
      await predictFolder(engine, { ...predictOptions({ ...base, ext }), outDir: out });
      return (await Deno.readTextFile(join(out, "names.txt"))).trim().split("\n");
    };
    assert.deepEqual(await predict(), ["img1.png", "img2.png", "img3.jpg", "img4.JPEG"]);
    assert.deepEqual(await predict(["png"]), ["img1.png", "img2.png"]);
    assert.deepEqual(await predict(["jpg", "jpeg"]), ["img3.jpg", "img4.JPEG"]);
    assert.deepEqual(await predict([".jpg,.png"]), ["img1.png", "img2.png", "img3.jpg"]);
    assert.throws(
      () => predictOptions({ ...base, ext: ["bmp"] }),
      /option '--ext': unsupported image extension "bmp"/,
    );
    await Deno.remove(join(images, "img3.jpg"));
    await Deno.remove(join(images, "img4.JPEG"));
    await rejectsWith(() => predict(["jpg", "jpeg"]), images, "*.jpg or *.jpeg");
    // A single wrong image type is still named with its file.
    await Deno.writeFile(join(images, "img5.jpg"), grayPng(TINY.imageSize, 1).slice(0, 20));
    await rejectsWith(() => predict(), "img5.jpg");
  } finally {
    await Deno.remove(run, { recursive: true });
  }
});

Deno.test("demo-data: a folder of its own; a non-empty one needs --overwrite", async () => {
  const parent = await Deno.makeTempDir({ prefix: "cli-demo-" });
  const demo = (...args: string[]) =>
    demoDataCommand().parseAsync([...args, "--image-size", "16"], { from: "user" });
  const log = console.log;
  console.log = () => {};
  try {
    const dir = join(parent, "data");
    await demo(dir, "--count", "12");
    assert.equal((await loadDataset(dir, { imageSize: 16 })).dataset.size, 12);
    // Writing 10 samples over 12 would leave img11/img12 behind: refused, nothing changes.
    await rejectsWith(() => demo(dir, "--count", "10"), dir, "not empty", "--overwrite");
    assert.equal((await loadDataset(dir, { imageSize: 16 })).dataset.size, 12);
    await Deno.writeTextFile(join(dir, "condition.txt"), "n_epoch 3\n");
    await demo(dir, "--count", "10", "--overwrite");
    const { dataset } = await loadDataset(dir, { imageSize: 16 });
    assert.equal(dataset.size, 10);
    assert.equal(dataset.names.at(-1), "img10.png");
    assert.equal(await Deno.readTextFile(join(dir, "condition.txt")), "n_epoch 3\n");
    // Without a folder it writes under runs/ of the working directory, never into fixtures/.
    assert.equal(DEMO_DATA_OUT, join("runs", "demo-data"));
    const cwd = Deno.cwd();
    Deno.chdir(parent);
    try {
      await demo("--count", "3");
    } finally {
      Deno.chdir(cwd);
    }
    const written = await loadDataset(join(parent, DEMO_DATA_OUT), { imageSize: 16 });
    assert.equal(written.dataset.size, 3);
    await rejectsWith(() => demo(dir, "--count", "1"), "'--count'", ">= 2");
  } finally {
    console.log = log;
    await Deno.remove(parent, { recursive: true });
  }
});

// Engines left open at exit have crashed the OpenGL backend at teardown now and then.
Deno.test("cli: close engine", opts, async () => {
  await engine?.close();
});

Deno.test("--kept-inputs sets the engine's kept-input budget; a bad value names the flag", () => {
  assert.deepEqual(engineTuning({ keptInputs: "128" }), { budgets: { keptInputsMiB: 128 } });
  assert.deepEqual(engineTuning({ winogradF4: false, keptInputs: "0" }), {
    winogradTiles: [2],
    budgets: { keptInputsMiB: 0 },
  });
  assert.equal(engineTuning({}), undefined);
  assert.equal(engineTuning({ winogradF4: true }), undefined, "F(4x4, 3x3) is the profile's");
  for (const bad of ["-1", "1.5", "", "lots"]) {
    assert.throws(
      () => parseKeptInputs(bad),
      new RegExp(`--kept-inputs must be a whole number of MiB \\(0 or more\\), got "${bad}"`),
    );
  }
});
