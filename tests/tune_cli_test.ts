/**
 * `tune` and `train --tuning` as child processes with their own cache folder: `tune` prints a
 * line per shape and the table and writes the cache; `train` then takes every shape from it, a
 * `train` of another model times the shapes the cache lacks and a second start finds them all,
 * and `--tuning fixed` does no tuning.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { generateDemo, writeDemo } from "../conditioner/demo_data.ts";

const CLI = new URL("../cli/main.ts", import.meta.url).pathname;
const opts = { sanitizeResources: false, sanitizeOps: false };
const denoDir = Deno.env.get("DENO_DIR") ||
  join(Deno.env.get("XDG_CACHE_HOME") || join(Deno.env.get("HOME") ?? ".", ".cache"), "deno");

async function cli(cache: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    // DENO_DIR stays where it was (by default it follows XDG_CACHE_HOME).
    env: { XDG_CACHE_HOME: cache, DENO_DIR: denoDir, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  return text;
}

Deno.test(
  "tune writes the cache that train uses; a second train start times nothing",
  opts,
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const cache = join(dir, "cache");
      const data = join(dir, "data");
      await writeDemo(data, generateDemo({ count: 12, imageSize: 16, seed: 2 }));
      const model = ["--filters", "8", "--image-size", "16", "--batch-size", "4"];
      const tuned = await cli(cache, "tune", ...model);
      // The stem (forward, weight gradient) and a block's 3x3 and 1x1 convolutions, and the heads.
      assert.match(
        tuned,
        /\[1\/\d+\] conv_fwd m8 n256 k64 \(conv2d x\[4,1,16,16\] w\[8,1,7,7\] s2\)/,
      );
      assert.match(tuned, /^case +timed +chosen +ms +fixed ms +speedup$/m);
      // Conv families time 5 tiles: the profile's, 3 other register tiles and the
      // workgroup-memory kernel; stride-1 3x3 layers also Winograd F(2x2, 3x3) and F(4x4, 3x3).
      // The 7x7 stem does not qualify; the block's stride-2 and stride-1 3x3 layers share a
      // forward bucket, which the stride-1 layer stands for.
      const tile = String.raw`\d+x\d+\/\d+x\d+|shared 64x64`;
      const row = String.raw` +[\d.]+ +[\d.]+ +[\d.]+x$`;
      assert.match(tuned, new RegExp(String.raw`^conv_dw m8 n64 k256 +5 +(${tile})${row}`, "m"));
      assert.match(
        tuned,
        new RegExp(
          String.raw`^conv_fwd m8 n64 k128 +7 +(winograd F[24] ${tile}|${tile})${row}`,
          "m",
        ),
      );
      assert.match(tuned, /^10 of 10 shapes timed in [\d.]+ s \(wall clock\), 0 from the cache$/m);
      assert.match(tuned, /^Wrote .*tuning\.json$/m);
      const file = join(cache, "webgpu-conditioner", "tuning.json");
      const entries = Object.values(JSON.parse(await Deno.readTextFile(file)).adapters);
      assert.equal(entries.length, 1);

      const train = (...extra: string[]) =>
        cli(
          cache,
          "train",
          "--data",
          data,
          "--out",
          join(dir, "run"),
          "--overwrite",
          "--epochs",
          "1",
          "--no-progress",
          ...model,
          ...extra,
        );
      const first = await train();
      const line = /Kernel tuning: (\d+) of (\d+) shapes from the cache, 0 timed in/.exec(first);
      assert.ok(line, first);
      assert.equal(line[1], line[2]);
      // Another batch size: new shapes are timed, then a second start takes them from the cache.
      const other = await train("--batch-size", "2");
      assert.match(other, /Kernel tuning: \d+ of \d+ shapes from the cache, [1-9]\d* timed in/);
      const again = await train("--batch-size", "2");
      assert.match(again, /Kernel tuning: (\d+) of \1 shapes from the cache, 0 timed in/);
      // With no kept conv inputs the weight gradients pack their inputs again: same training.
      const fixed = await train("--tuning", "fixed", "--kept-inputs", "0");
      assert.doesNotMatch(fixed, /Kernel tuning/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
