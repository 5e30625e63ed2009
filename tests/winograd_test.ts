/**
 * Winograd F(2x2, 3x3) convolutions (engine/ops/winograd.ts) against the plain CPU reference:
 * forward, input gradient and weight gradient on random stride-1 3x3 shapes (odd sizes, channel
 * counts that are not multiples of 4, batch 1, padding 0..2), a weight gradient whose reduction
 * over tiles must be split to stay under llvmpipe's loop limit, and the fallback of layers that
 * do not qualify.
 */
import fc from "npm:fast-check@4.10.2";
import assert from "node:assert/strict";
import { conv2d, Engine } from "../mod.ts";
import { conv2dInputGrad, conv2dWeightGrad } from "../engine/ops/conv.ts";
import { resolveTuning } from "../engine/tuning.ts";
import { assertClose, randnArray } from "./helpers.ts";
import { type ConvCase, cpuConv, cpuConvGrads } from "./cpu_reference.ts";

/** Every conv kernel as Winograd where the layer qualifies. */
const WINOGRAD = { kind: "winograd" } as const;
const opts = { sanitizeResources: false, sanitizeOps: false };

/** An engine running every conv kernel as Winograd F(m x m, 3x3) where the layer qualifies. */
function winogradEngine(m: 2 | 4): Promise<Engine> {
  const kind = { ...WINOGRAD, winograd: m };
  return Engine.create({ seed: 3, tuning: { conv: { fwd: kind, dx: kind, dw: kind } } });
}

let e: Engine;

/** Forward and both gradients of `c` on the GPU next to the CPU reference's. */
async function check(c: ConvCase, seed: number, atol = 1e-4): Promise<void> {
  const xv = randnArray(c.n * c.cin * c.h * c.w, seed);
  const wv = randnArray(c.cout * c.cin * 9, seed + 1, 0.5);
  const bv = randnArray(c.cout, seed + 2);
  const { out, oh, ow } = cpuConv(xv, wv, c);
  const gv = randnArray(c.n * c.cout * oh * ow, seed + 3);
  const ref = cpuConvGrads(xv, wv, gv, c);
  const xShape = [c.n, c.cin, c.h, c.w];
  const wShape = [c.cout, c.cin, 3, 3];
  const o = { padding: c.pad };
  const [y, dx, dw] = e.tidy(() => {
    const x = e.tensor(xv, xShape);
    const w = e.tensor(wv, wShape);
    const g = e.tensor(gv, [c.n, c.cout, oh, ow]);
    return [
      conv2d(x, w, { ...o, bias: e.tensor(bv, [c.cout]) }),
      conv2dInputGrad(g, w, xShape, o),
      conv2dWeightGrad(x, wShape, g, o),
    ];
  });
  const [yv, dxv, dwv] = await e.readAll([y, dx, dw]);
  const label = JSON.stringify(c);
  const plane = oh * ow;
  const withBias = out.map((v, i) => v + bv[Math.floor(i / plane) % c.cout]);
  assertClose(yv, withBias, { atol, rtol: 1e-3, label: `winograd forward ${label}` });
  assertClose(dxv, ref.dx, { atol, rtol: 1e-3, label: `winograd dx ${label}` });
  assertClose(dwv, ref.dw, { atol: atol * 10, rtol: 1e-3, label: `winograd dw ${label}` });
  y.dispose();
  dx.dispose();
  dw.dispose();
}

const stride1 = (n: number, cin: number, cout: number, h: number, w: number, pad: number) => ({
  n,
  cin,
  cout,
  h,
  w,
  k: 3,
  stride: 1,
  pad,
  dil: 1,
  groups: 1,
});

Deno.test("winograd: tuning accepts the kind for conv families only", () => {
  const t = resolveTuning({ isSoftware: true }, { conv: { fwd: WINOGRAD } });
  assert.equal(t.conv.fwd.kind, "winograd");
  assert.equal(t.conv.fwd.bm, 4);
  assert.throws(
    () => resolveTuning({ isSoftware: true }, { matmul: WINOGRAD }),
    /matmul has no winograd/,
  );
  assert.throws(
    () => resolveTuning({ isSoftware: true }, { conv: { dx: { ...WINOGRAD, winograd: 3 as 4 } } }),
    /winograd must be 2 or 4/,
  );
});

for (const m of [2, 4] as const) {
  Deno.test(`winograd F(${m}x${m}): engine`, opts, async () => {
    e = await winogradEngine(m);
  });

  Deno.test(
    `property: winograd F(${m}x${m}, 3x3) conv2d and its gradients equal the CPU reference`,
    opts,
    async () => {
      const cases = fc.record({
        n: fc.integer({ min: 1, max: 2 }),
        cin: fc.integer({ min: 1, max: 13 }),
        cout: fc.integer({ min: 1, max: 21 }),
        h: fc.integer({ min: 1, max: 11 }),
        w: fc.integer({ min: 1, max: 11 }),
        pad: fc.integer({ min: 0, max: 2 }),
        seed: fc.integer({ min: 0, max: 1000 }),
      });
      await fc.assert(
        fc.asyncProperty(cases, async (r) => {
          if (r.h + 2 * r.pad < 3 || r.w + 2 * r.pad < 3) return;
          await check(stride1(r.n, r.cin, r.cout, r.h, r.w, r.pad), r.seed);
        }),
        { numRuns: 25, seed: 11 },
      );
    },
  );

  Deno.test(`winograd F(${m}x${m}): batch 1, odd sizes, padding 0, 1, 2`, opts, async () => {
    for (const pad of [0, 1, 2]) await check(stride1(1, 5, 7, 9, 7, pad), 40 + pad);
    // The Winograd forward is 4 dispatches (weight and input transform, point GEMMs, output
    // transform), the implicit GEMM's 3 (two packs, GEMM): the kind really took effect.
    const before = e.dispatchCount;
    e.tidy(() => conv2d(e.rand([1, 5, 9, 7]), e.rand([7, 5, 3, 3]), { padding: 1 }));
    assert.equal(e.dispatchCount - before, 2 + 4);
  });

  Deno.test(`winograd F(${m}x${m}): a weight gradient split over tiles`, opts, async () => {
    // F(2x2, 3x3): 513 x 513 tiles; conv_dw visits 4 tiles per loop iteration, so one unsplit
    // loop would run 65,793 iterations, past llvmpipe's 65,535 (it would silently stop early).
    // F(4x4, 3x3) cannot get there: its 36 points of 262,140 tiles exceed WebGPU's default
    // 128 MiB storage binding (such layers fall back), so it checks a split into chunks.
    const c = m === 2 ? stride1(1, 1, 2, 1025, 1026, 1) : stride1(2, 3, 5, 250, 251, 1);
    const tiles = c.n * Math.ceil(c.h / m) * Math.ceil(c.w / m);
    if (m === 2) assert.ok(tiles / 4 > 65535, "one loop over the tiles would pass the limit");
    assert.ok(tiles > e.tuning.budgets.dwChunk, "the reduction is split");
    const xv = randnArray(c.n * c.cin * c.h * c.w, 71);
    const wv = randnArray(c.cout * c.cin * 9, 72);
    const { oh, ow } = cpuConv(xv, wv, c);
    const gv = randnArray(c.n * c.cout * oh * ow, 73);
    const ref = cpuConvGrads(xv, wv, gv, c);
    const dw = e.tidy(() =>
      conv2dWeightGrad(
        e.tensor(xv, [c.n, c.cin, c.h, c.w]),
        [c.cout, c.cin, 3, 3],
        e.tensor(gv, [c.n, c.cout, oh, ow]),
        { padding: 1 },
      )
    );
    // Sums of ~1M products: float rounding grows with the count.
    assertClose(await dw.read(), ref.dw, { atol: 2e-2, rtol: 1e-3, label: "large dw" });
    dw.dispose();
  });

  Deno.test(
    `winograd F(${m}x${m}): layers that do not qualify fall back to the implicit GEMM`,
    opts,
    async () => {
      const cases: ConvCase[] = [
        { ...stride1(2, 4, 6, 9, 8, 1), stride: 2 },
        { ...stride1(1, 4, 4, 9, 9, 2), dil: 2 },
        { ...stride1(1, 4, 6, 7, 7, 1), groups: 2 },
        { ...stride1(1, 3, 5, 8, 8, 2), k: 5 },
      ];
      for (const [i, c] of cases.entries()) {
        const xv = randnArray(c.n * c.cin * c.h * c.w, 80 + i);
        const wShape = [c.cout, c.cin / c.groups, c.k, c.k];
        const wv = randnArray(wShape.reduce((a, b) => a * b), 90 + i);
        const { out } = cpuConv(xv, wv, c);
        const y = e.tidy(() =>
          conv2d(e.tensor(xv, [c.n, c.cin, c.h, c.w]), e.tensor(wv, wShape), {
            stride: c.stride,
            padding: c.pad,
            dilation: c.dil,
            groups: c.groups,
          })
        );
        assertClose(await y.read(), out, { atol: 1e-4, label: `fallback ${JSON.stringify(c)}` });
        y.dispose();
      }
    },
  );

  Deno.test(`winograd F(${m}x${m}): destroy engine`, opts, () => e.destroy());
}
