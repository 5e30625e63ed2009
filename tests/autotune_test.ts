/**
 * The autotuner on tiny shapes: every candidate tile gives the fixed tile's results (1e-5
 * relative), tuning picks a timed candidate no slower than the fixed one, the cache round-trips
 * and damaged or foreign caches are ignored with a warning.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { conv2d, Engine, matmul } from "../mod.ts";
import { conv2dInputGrad, conv2dWeightGrad } from "../engine/ops/conv.ts";
import {
  CANDIDATES,
  candidatesFor,
  CPU_TIMED_POSITIONS,
  resolveClock,
  SHARED_TILE,
  type TuneCase,
} from "../engine/autotune.ts";
import {
  adapterKey,
  bucketKey,
  type Family,
  KERNELS_VERSION,
  resolveTuning,
} from "../engine/tuning.ts";
import { entryKey, loadTuningCache, saveTuningCache } from "../io/tuning_cache.ts";
import { conditionerTuneCases } from "../conditioner/tuning_cases.ts";
import { assertClose, randnArray } from "./helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const e = await Engine.create({ seed: 4 });

const CASES: TuneCase[] = [
  { op: "conv2d", x: [2, 8, 9, 9], w: [12, 8, 3, 3], stride: 2, padding: 1 },
  { op: "conv2d", x: [2, 1, 16, 16], w: [8, 1, 7, 7], stride: 2, padding: 3 },
  { op: "matmul", m: 40, k: 64, n: 36 },
];

/**
 * 1e-5 relative agreement: elementwise, or against the largest value for sums that cancel (a
 * different summation order moves a near-zero output by rounding of its largest terms).
 */
function rel(ref: Float32Array): { atol: number; rtol: number } {
  return { atol: 1e-5 * ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0), rtol: 1e-5 };
}

/** Results of every kernel of `CASES` on `e` with whatever tiles it has chosen. */
async function outputs(): Promise<Float32Array[]> {
  const ts = e.tidy(() =>
    CASES.flatMap((c, i) => {
      if (c.op === "matmul") {
        const a = e.tensor(randnArray(c.m * c.k, i), [c.m, c.k]);
        return [matmul(a, e.tensor(randnArray(c.k * c.n, i + 1), [c.k, c.n]))];
      }
      const o = { stride: c.stride, padding: c.padding };
      const x = e.tensor(randnArray(c.x.reduce((s, d) => s * d), i), c.x);
      const w = e.tensor(randnArray(c.w.reduce((s, d) => s * d), i + 1), c.w);
      const y = conv2d(x, w, o);
      const g = e.tensor(randnArray(y.size, i + 2), y.shape);
      return [y, conv2dInputGrad(g, w, c.x, o), conv2dWeightGrad(x, c.w, g, o)];
    })
  );
  const out = await e.readAll(ts);
  for (const t of ts) t.dispose();
  return out;
}

Deno.test("autotune: every candidate tile computes what the fixed tile does", opts, async () => {
  e.tuned.clear();
  const fixed = await outputs();
  const families: Family[] = ["matmul", "conv_fwd", "conv_dx", "conv_dw"];
  assert.deepEqual(await e.tune(CASES, { budgetS: 0 }), [], "a zero budget times nothing");
  assert.equal(e.tuned.size, 0);
  const tiles = [...CANDIDATES[e.tuning.profile], SHARED_TILE];
  for (const tile of tiles) {
    // Force the candidate for every bucket the cases touch.
    e.tuned.clear();
    for (const f of families) {
      for (let m = 1; m <= 1024; m *= 2) {
        for (let n = 1; n <= 1024; n *= 2) {
          for (let k = 1; k <= 1024; k *= 2) {
            e.tuned.set(bucketKey(f, m, n, k), { tile, ms: 0, fixedMs: 0, candidates: 0 });
          }
        }
      }
    }
    const got = await outputs();
    got.forEach((v, i) =>
      assertClose(v, fixed[i], {
        ...rel(fixed[i]),
        label: `output ${i} with tile ${JSON.stringify(tile)}`,
      })
    );
  }
  e.tuned.clear();
});

Deno.test("autotune: tune times the candidates, keeps the fastest, caches", opts, async () => {
  e.tuned.clear();
  const lines: string[] = [];
  const reports = await e.tune(CASES, {
    onResult: (r, i, n) => lines.push(`${i}/${n} ${r.key}`),
  });
  // Two convolutions (three kernels each) and one matmul, all in different buckets.
  assert.equal(reports.length, 7);
  assert.equal(lines.length, 7);
  assert.equal(e.tuned.size, 7);
  for (const r of reports) {
    assert.equal(r.cached, false);
    assert.equal(
      r.candidates,
      1 + candidatesFor(e.tuning, r.key.split(" ")[0] as Family, false).length,
    );
    assert.ok(r.ms > 0 && r.fixedMs > 0, JSON.stringify(r));
    assert.ok(r.ms <= r.fixedMs, `chosen ${r.ms} ms slower than fixed ${r.fixedMs} ms`);
    // On a CPU driver "auto" times by wall clock.
    assert.equal(r.clock, e.gpu.isSoftware ? "wall" : resolveClock(e));
  }
  // Tuned results equal the fixed ones.
  const tuned = await outputs();
  const saved = new Map(e.tuned);
  e.tuned.clear();
  const fixed = await outputs();
  tuned.forEach((v, i) => assertClose(v, fixed[i], rel(fixed[i])));
  // A second tune of the same cases times nothing.
  for (const [k, v] of saved) e.tuned.set(k, v);
  const again = await e.tune(CASES);
  assert.ok(again.every((r) => r.cached));

  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "sub", "tuning.json");
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    await saveTuningCache(e, path, warn);
    e.tuned.clear();
    assert.equal(await loadTuningCache(e, path, warn), 7);
    assert.deepEqual(new Map(e.tuned), saved);
    assert.deepEqual(warnings, []);

    // Another kernel version: ignored with a warning.
    const file = JSON.parse(await Deno.readTextFile(path));
    file.adapters[adapterKey(e.gpu)].kernels = -1;
    await Deno.writeTextFile(path, JSON.stringify(file));
    e.tuned.clear();
    assert.equal(await loadTuningCache(e, path, warn), 0);
    assert.match(warnings.pop()!, /kernels version -1/);
    // A tile no kernel can run: skipped with a warning, the others load.
    file.adapters[adapterKey(e.gpu)].kernels = KERNELS_VERSION;
    const choices = file.adapters[adapterKey(e.gpu)].choices;
    const bad = Object.keys(choices)[0];
    choices[bad].tile.bm = 9;
    await Deno.writeTextFile(path, JSON.stringify(file));
    assert.equal(await loadTuningCache(e, path, warn), 6);
    assert.match(warnings.pop()!, /malformed tuning cache entry/);
    assert.ok(!e.tuned.has(bad));
    e.tuned.clear();
    // Another adapter's entry is not used.
    file.adapters = { "other | adapter": file.adapters[adapterKey(e.gpu)] };
    await Deno.writeTextFile(path, JSON.stringify(file));
    assert.equal(await loadTuningCache(e, path, warn), 0);
    // A damaged file: a warning, nothing loaded, and the next save replaces it.
    await Deno.writeTextFile(path, "{ not json");
    assert.equal(await loadTuningCache(e, path, warn), 0);
    assert.match(warnings.pop()!, /ignoring the tuning cache/);
    for (const [k, v] of saved) e.tuned.set(k, v);
    await saveTuningCache(e, path, warn);
    e.tuned.clear();
    assert.equal(await loadTuningCache(e, path, warn), 7);
    assert.deepEqual(warnings, []);
    assert.deepEqual((await Array.fromAsync(Deno.readDir(join(dir, "sub")))).map((f) => f.name), [
      "tuning.json",
    ]);
  } finally {
    e.tuned.clear();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "autotune: Winograd variants are timed for stride-1 3x3 layers only, as the tuning allows, and cached apart",
  opts,
  async () => {
    const f2 = await Engine.create({ seed: 4, tuning: { winogradTiles: [2] } });
    const dir = await Deno.makeTempDir();
    try {
      const stride1: TuneCase = { op: "conv2d", x: [2, 8, 8, 8], w: [8, 8, 3, 3], padding: 1 };
      const others = CANDIDATES[e.tuning.profile].length + 1; // and the workgroup-memory kernel
      e.tuned.clear();
      const [def] = await e.tune([stride1], { budgetS: 1 });
      assert.equal(def.candidates, 1 + others + 2, "the profile's tile, the others, F2 and F4");
      const [only] = await f2.tune([stride1], { budgetS: 1 });
      assert.equal(only.candidates, 1 + others + 1, "F2 alone");
      e.tuned.clear();
      const [none] = await e.tune([CASES[0]], { budgetS: 1 });
      assert.equal(none.candidates, 1 + others, "a stride-2 layer times no Winograd tile");
      // A stride-2 and a stride-1 layer in one bucket: the stride-1 one is timed for both.
      e.tuned.clear();
      const stride2: TuneCase = { ...stride1, x: [2, 8, 16, 16], stride: 2 };
      const [shared] = await e.tune([stride2, stride1], { budgetS: 1 });
      assert.equal(shared.key, def.key);
      assert.equal(shared.label, "conv2d x[2,8,8,8] w[8,8,3,3] s1");
      assert.equal(shared.candidates, 1 + others + 2);
      assert.deepEqual(
        candidatesFor(e.tuning, "conv_fwd", true).filter((t) => t.kind === "winograd")
          .map((t) => t.winograd),
        [2, 4],
      );
      assert.deepEqual(candidatesFor(e.tuning, "matmul", true), [
        ...CANDIDATES[e.tuning.profile],
        SHARED_TILE,
      ]);

      // Choices made with F(2x2, 3x3) only live in their own cache entry.
      assert.equal(entryKey(e), adapterKey(e.gpu));
      assert.equal(entryKey(f2), `${adapterKey(f2.gpu)} | winograd F2`);
      const path = join(dir, "tuning.json");
      const warnings: string[] = [];
      const warn = (m: string) => warnings.push(m);
      const key = bucketKey("conv_fwd", 8, 128, 72);
      const tile = { bm: 4, bn: 4, wgX: 8, wgY: 8, kind: "winograd", winograd: 4 } as const;
      const choice = { tile, ms: 1, fixedMs: 2, candidates: 7 };
      e.tuned.clear();
      e.tuned.set(key, choice);
      await saveTuningCache(e, path, warn);
      f2.tuned.clear();
      await saveTuningCache(f2, path, warn);
      e.tuned.clear();
      assert.equal(await loadTuningCache(e, path, warn), 1);
      assert.deepEqual(e.tuned.get(key), choice);
      assert.equal(await loadTuningCache(f2, path, warn), 0);
      // An F4 choice in the F2-only entry (edited by hand) is not used.
      const file = JSON.parse(await Deno.readTextFile(path));
      file.adapters[entryKey(f2)].choices[key] = choice;
      await Deno.writeTextFile(path, JSON.stringify(file));
      assert.equal(await loadTuningCache(f2, path, warn), 0);
      assert.match(warnings.pop()!, /Winograd F4 is not allowed here/);
      assert.deepEqual(warnings, []);

      for (const bad of [[3], [2, 2], [4, 4, 2]]) {
        assert.throws(
          () => resolveTuning(e.gpu, { winogradTiles: bad as (2 | 4)[] }),
          /winogradTiles must list distinct variants among 2 and 4/,
        );
      }
      assert.deepEqual(resolveTuning(e.gpu, { winogradTiles: [] }).winogradTiles, []);
    } finally {
      e.tuned.clear();
      await f2.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("autotune: the conditioner's GEMM shapes", () => {
  const cases = conditionerTuneCases({ filters: [8, 16], imageSize: 32, batch: 4 });
  assert.deepEqual(cases, [
    { op: "conv2d", x: [4, 1, 32, 32], w: [8, 1, 7, 7], stride: 2, padding: 3, inputGrad: false },
    { op: "conv2d", x: [4, 8, 16, 16], w: [8, 8, 3, 3], stride: 2, padding: 1 },
    { op: "conv2d", x: [4, 8, 8, 8], w: [8, 8, 3, 3], stride: 1, padding: 1 },
    { op: "conv2d", x: [4, 8, 16, 16], w: [8, 8, 1, 1], stride: 2, padding: 0 },
    { op: "conv2d", x: [4, 8, 8, 8], w: [16, 8, 3, 3], stride: 1, padding: 1 },
    { op: "conv2d", x: [4, 16, 8, 8], w: [16, 16, 3, 3], stride: 1, padding: 1 },
    { op: "conv2d", x: [4, 8, 8, 8], w: [16, 8, 1, 1], stride: 1, padding: 0 },
    { op: "matmul", m: 4, k: 16, n: 8 },
    { op: "matmul", m: 4, k: 8, n: 32 },
    { op: "matmul", m: 4, k: 8, n: 24 },
  ]);
});

Deno.test(
  "autotune: the GPU clock sums timestamps, or falls back to the wall clock",
  opts,
  async () => {
    if (!e.gpu.hasTimestamps) {
      assert.throws(() => resolveClock(e, "gpu"), /needs the timestamp-query feature/);
      return;
    }
    assert.equal(resolveClock(e, "gpu"), "gpu");
    assert.equal(resolveClock(e, "auto"), e.gpu.isSoftware ? "wall" : "gpu");
    e.tuned.clear();
    const reports = await e.tune([CASES[2]], { clock: "gpu" });
    assert.equal(reports.length, 1);
    const [r] = reports;
    // GPU time is credible only when positive and within the wall time it was measured in; a
    // driver failing that is timed by wall clock (the report says which).
    assert.ok(r.clock === "gpu" || r.clock === "wall", JSON.stringify(r));
    assert.ok(r.ms > 0 && r.fixedMs > 0 && r.ms <= r.fixedMs, JSON.stringify(r));
    e.tuned.clear();
  },
);

Deno.test("autotune: on a CPU driver a large batch is timed at a smaller one", opts, async () => {
  e.tuned.clear();
  // 8 x 128 x 128 output positions: 4 images hold CPU_TIMED_POSITIONS and stand in.
  const c: TuneCase = { op: "conv2d", x: [8, 4, 128, 128], w: [8, 4, 3, 3], padding: 1 };
  const reports = await e.tune([c], { budgetS: 1 });
  assert.ok(reports.length >= 1, "the first bucket starts within the budget");
  const [r] = reports;
  assert.equal(r.key, bucketKey("conv_fwd", 8, 8 * 128 * 128, 36));
  const timed = e.gpu.isSoftware ? 4 : 8;
  assert.equal(4 * 128 * 128, CPU_TIMED_POSITIONS);
  assert.equal(r.label, `conv2d x[${timed},4,128,128] w[8,4,3,3] s1`);
  // Only the real buckets hold choices (the stand-ins' were restored: they had none).
  assert.deepEqual([...e.tuned.keys()], reports.map((x) => x.key));
  e.tuned.clear();
});

Deno.test("autotune: destroy engine", opts, () => e.destroy());
