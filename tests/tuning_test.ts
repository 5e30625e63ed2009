/**
 * Every tuning profile computes the same results: the matmul, conv2d and norm golden cases and
 * CPU-checked matmuls and convolutions (strides, groups, the im2col stem) run under each profile
 * and under deliberately odd overrides (narrow tiles, tiny loop budgets that force every split).
 */
import assert from "node:assert/strict";
import { conv2d, Engine, matmul, PROFILES, resolveTuning, type TuningOption } from "../mod.ts";
import { conv2dInputGrad, conv2dWeightGrad } from "../engine/ops/conv.ts";
import { isSoftwareAdapter } from "../engine/device.ts";
import { assertClose, randnArray } from "./helpers.ts";
import { type ConvCase, cpuConv, cpuConvGrads, cpuMatmul } from "./cpu_reference.ts";
import { type GoldenFile, runGoldenCase } from "./golden_cases.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** Tiles and budgets no profile uses: uneven tiles and splits of every long loop. */
const ODD: TuningOption = {
  profile: "gpu",
  matmul: { bm: 3, bn: 1, wgX: 4, wgY: 2 },
  conv: {
    fwd: { bm: 1, bn: 3, wgX: 8, wgY: 2 },
    dx: { bm: 2, bn: 1, wgX: 16, wgY: 1 },
    dw: { bm: 3, bn: 2, wgX: 8, wgY: 4 },
  },
  budgets: { matmulK: 8, scalarMaxMacs: 64, convLoop: 18, dwChunk: 8, reduceChunk: 4 },
  norm: { maxTrips: 4, minGroups: 2, splitMin: 64, threads: 32, largeFrom: 256 },
};

/**
 * The workgroup-memory kernels for every product but the tiniest and every convolution, in all
 * three workgroup sizes, with budgets that split every long K loop (matmul at 40, conv forward
 * and input gradient at one staged step per tap, the weight gradient at 32 positions).
 */
const SHARED: TuningOption = {
  profile: "software",
  matmul: { kind: "shared", bm: 4, bn: 4, wgX: 8, wgY: 8 },
  conv: {
    fwd: { kind: "shared", bm: 4, bn: 4, wgX: 8, wgY: 8 },
    dx: { kind: "shared", bm: 4, bn: 4, wgX: 4, wgY: 4 },
    dw: { kind: "shared", bm: 4, bn: 4, wgX: 16, wgY: 16 },
  },
  budgets: { scalarMaxMacs: 8, matmulK: 40, convLoop: 9, dwChunk: 40 },
};

const SETUPS: [string, TuningOption][] = [
  ...Object.keys(PROFILES).map((p) => [p, p] as [string, TuningOption]),
  ["odd", ODD],
  ["shared", SHARED],
];

async function loadFamily(family: string): Promise<GoldenFile> {
  const url = new URL(`./golden/${family}.json`, import.meta.url);
  return JSON.parse(await Deno.readTextFile(url)) as GoldenFile;
}

const families = await Promise.all(["matmul", "conv2d", "norm"].map(loadFamily));

const CONVS: ConvCase[] = [
  { n: 2, cin: 6, cout: 10, h: 9, w: 7, k: 3, stride: 1, pad: 1, dil: 1, groups: 1 },
  { n: 1, cin: 8, cout: 12, h: 11, w: 10, k: 3, stride: 2, pad: 1, dil: 1, groups: 2 },
  { n: 2, cin: 5, cout: 7, h: 10, w: 9, k: 5, stride: 3, pad: 2, dil: 1, groups: 1 },
  { n: 1, cin: 4, cout: 9, h: 8, w: 8, k: 2, stride: 1, pad: 0, dil: 2, groups: 1 },
  // Channels that the small budgets of ODD and SHARED split along K.
  { n: 2, cin: 40, cout: 21, h: 6, w: 5, k: 3, stride: 1, pad: 1, dil: 1, groups: 1 },
  // One input channel: the forward and weight gradient run on an im2col copy (the stem).
  { n: 2, cin: 1, cout: 12, h: 19, w: 22, k: 7, stride: 2, pad: 3, dil: 1, groups: 1 },
];

const MATMULS: [number, number, number][] = [[1, 5, 3], [17, 33, 9], [40, 64, 36], [8, 300, 12]];

for (const [name, option] of SETUPS) {
  Deno.test(`tuning ${name}: matmul, conv2d and norm match PyTorch and the CPU`, opts, async () => {
    const e = await Engine.create({ seed: 3, tuning: option });
    try {
      assert.equal(e.tuning.profile, typeof option === "string" ? option : option.profile);
      for (const f of families) for (const c of f.cases) await runGoldenCase(e, c);
      for (const [m, k, n] of MATMULS) {
        const av = randnArray(m * k, m + k);
        const bv = randnArray(k * n, n);
        const out = e.tidy(() => matmul(e.tensor(av, [m, k]), e.tensor(bv, [k, n])));
        assertClose(await out.read(), cpuMatmul(av, bv, m, k, n), {
          atol: 1e-4,
          label: `${name}: matmul ${m}x${k}x${n}`,
        });
        out.dispose();
      }
      for (const c of CONVS) await checkConv(e, c, name);
    } finally {
      e.destroy();
    }
  });
}

async function checkConv(e: Engine, c: ConvCase, name: string): Promise<void> {
  const cpg = c.cin / c.groups;
  const xv = randnArray(c.n * c.cin * c.h * c.w, c.cin);
  const wv = randnArray(c.cout * cpg * c.k * c.k, c.cout);
  const { out, oh, ow } = cpuConv(xv, wv, c);
  const gv = randnArray(c.n * c.cout * oh * ow, c.h);
  const ref = cpuConvGrads(xv, wv, gv, c);
  const xShape = [c.n, c.cin, c.h, c.w];
  const wShape = [c.cout, cpg, c.k, c.k];
  const o = { stride: c.stride, padding: c.pad, dilation: c.dil, groups: c.groups };
  const ts = e.tidy(() => {
    const x = e.tensor(xv, xShape);
    const w = e.tensor(wv, wShape);
    const g = e.tensor(gv, [c.n, c.cout, oh, ow]);
    return [conv2d(x, w, o), conv2dInputGrad(g, w, xShape, o), conv2dWeightGrad(x, wShape, g, o)];
  });
  const [y, dx, dw] = await e.readAll(ts);
  const label = `${name}: conv2d ${JSON.stringify(c)}`;
  assertClose(y, out, { atol: 1e-4, label: `${label} forward` });
  assertClose(dx, ref.dx, { atol: 1e-4, label: `${label} dx` });
  assertClose(dw, ref.dw, { atol: 1e-3, label: `${label} dw` });
  for (const t of ts) t.dispose();
}

Deno.test("tuning: CPU drivers are recognised from what each runtime reports", () => {
  const info = (o: Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean }) =>
    ({ vendor: "", architecture: "", device: "", description: "", ...o }) as GPUAdapterInfo;
  // As reported (fallback flag aside) by Deno on lavapipe and SwiftShader, and Dawn on SwiftShader.
  assert.ok(isSoftwareAdapter(info({ vendor: "65541", description: "llvmpipe (LLVM 15.0.6)" })));
  assert.ok(isSoftwareAdapter(info({ vendor: "65541" })));
  assert.ok(isSoftwareAdapter(info({ vendor: "6880", description: "SwiftShader Device" })));
  assert.ok(isSoftwareAdapter(info({ vendor: "google", architecture: "swiftshader" })));
  assert.ok(isSoftwareAdapter(info({ description: "Microsoft Basic Render Driver" })));
  assert.ok(isSoftwareAdapter(info({ vendor: "nvidia", isFallbackAdapter: true })));
  // GPUs.
  assert.ok(!isSoftwareAdapter(info({ vendor: "4318", description: "NVIDIA H200" })));
  assert.ok(!isSoftwareAdapter(info({ vendor: "nvidia", architecture: "hopper" })));
  assert.ok(!isSoftwareAdapter(info({ vendor: "apple", architecture: "metal-3" })));
  assert.ok(!isSoftwareAdapter(info({ vendor: "intel", architecture: "gen-12lp" })));
});

Deno.test("tuning: profiles by adapter, overrides, and invalid values rejected", () => {
  assert.equal(resolveTuning({ isSoftware: true }).profile, "software");
  assert.equal(resolveTuning({ isSoftware: false }).profile, "gpu");
  assert.equal(resolveTuning({ isSoftware: true }, "auto").profile, "software");
  const t = resolveTuning({ isSoftware: true }, { matmul: { bm: 2 }, budgets: { convLoop: 99 } });
  assert.deepEqual(t.matmul, { ...PROFILES.software.matmul, bm: 2 });
  assert.equal(t.budgets.convLoop, 99);
  assert.equal(t.budgets.dwChunk, PROFILES.software.budgets.dwChunk);
  assert.throws(() => resolveTuning({ isSoftware: true }, { matmul: { bm: 9 } }), /bm, bn in 1..8/);
  assert.throws(
    () => resolveTuning({ isSoftware: true }, { conv: { fwd: { wgX: 12 } } }),
    /wgX a multiple of 8/,
  );
  assert.throws(
    () => resolveTuning({ isSoftware: true }, { budgets: { convLoop: 70000 } }),
    /65535-iteration loop limit/,
  );
  assert.throws(
    () => resolveTuning({ isSoftware: true }, { matmul: { kind: "shared", wgX: 12 } }),
    /shared: bm = bn = 4/,
  );
  assert.throws(
    () => resolveTuning({ isSoftware: true }, { conv: { dw: { kind: "shared", wgY: 16 } } }),
    /invalid conv.dw tile .*shared: bm = bn = 4, wgX = wgY in 4, 8, 16/,
  );
  assert.throws(
    () => resolveTuning({ isSoftware: true }, "fast" as TuningOption),
    /unknown profile "fast"/,
  );
});

Deno.test("tuning shared: a K beyond llvmpipe's loop limit is split and summed", opts, async () => {
  const e = await Engine.create({
    tuning: {
      matmul: { kind: "shared", bm: 4, bn: 4, wgX: 16, wgY: 16 },
      budgets: { scalarMaxMacs: 8 },
    },
  });
  try {
    const [m, k, n] = [5, 70001, 6];
    const av = randnArray(m * k, 1);
    const bv = randnArray(k * n, 2);
    const out = e.tidy(() => matmul(e.tensor(av, [m, k]), e.tensor(bv, [k, n])));
    assertClose(await out.read(), cpuMatmul(av, bv, m, k, n), { atol: 2e-3, rtol: 1e-4 });
  } finally {
    e.destroy();
  }
});

Deno.test("tuning: Engine.create rejects an invalid tuning", async () => {
  await assert.rejects(() => Engine.create({ tuning: { matmul: { bm: 9 } } }), /bm, bn in 1..8/);
  await assert.rejects(
    () => Engine.create({ tuning: { winogradTiles: [3 as 2] } }),
    /winogradTiles must list distinct variants among 2 and 4, got \[3\]/,
  );
});
