/** Property tests: matmul and conv2d against a plain CPU reference on random shapes. */
import fc from "npm:fast-check@4.10.2";
import { conv2d, Engine, linear, matmul, mul, sum } from "../mod.ts";
import { conv2dInputGrad, conv2dWeightGrad } from "../engine/ops/conv.ts";
import { assertClose, randnArray, testTuning } from "./helpers.ts";
import { type ConvCase, cpuConv, cpuConvGrads, cpuMatmul } from "./cpu_reference.ts";

const e = await Engine.create({ seed: 2, tuning: testTuning() });
const opts = { sanitizeResources: false, sanitizeOps: false };

/** Ranges of the random convolutions a property test draws. */
interface ConvLimits {
  /** Most channels per group (input and output). */
  channels: number;
  minSize: number;
  maxSize: number;
  kernels: number[];
  maxStride: number;
}

/** Random convolutions with a seed; null where the (dilated) kernel overhangs the padded input. */
function convCases(l: ConvLimits) {
  return fc.record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.constantFrom(1, 2),
    cinPerGroup: fc.integer({ min: 1, max: l.channels }),
    coutPerGroup: fc.integer({ min: 1, max: l.channels }),
    h: fc.integer({ min: l.minSize, max: l.maxSize }),
    w: fc.integer({ min: l.minSize, max: l.maxSize }),
    k: fc.constantFrom(...l.kernels),
    stride: fc.integer({ min: 1, max: l.maxStride }),
    pad: fc.integer({ min: 0, max: 2 }),
    dil: fc.integer({ min: 1, max: 2 }),
    seed: fc.integer({ min: 0, max: 1000 }),
  }).map((r) => {
    const c: ConvCase = {
      n: r.n,
      cin: r.cinPerGroup * r.groups,
      cout: r.coutPerGroup * r.groups,
      h: r.h,
      w: r.w,
      k: r.k,
      stride: r.stride,
      pad: r.pad,
      dil: r.dil,
      groups: r.groups,
    };
    const span = c.dil * (c.k - 1) + 1;
    if (c.h + 2 * c.pad < span || c.w + 2 * c.pad < span) return null;
    return { c, cinPerGroup: r.cinPerGroup, seed: r.seed };
  });
}

Deno.test("property: conv2d input and weight gradients equal the CPU adjoint", opts, async () => {
  // Strides up to 3 exercise the phase-decomposed input gradient (phases a tap never reaches
  // must come out zero); up to 40 channels exercise several register tiles along M.
  const cases = convCases({
    channels: 20,
    minSize: 3,
    maxSize: 10,
    kernels: [1, 2, 3, 5],
    maxStride: 3,
  });
  await fc.assert(
    fc.asyncProperty(cases, async (r) => {
      if (!r) return;
      const { c } = r;
      const xv = randnArray(c.n * c.cin * c.h * c.w, r.seed);
      const wv = randnArray(c.cout * r.cinPerGroup * c.k * c.k, r.seed + 1);
      const { oh, ow } = cpuConv(xv, wv, c);
      const gv = randnArray(c.n * c.cout * oh * ow, r.seed + 2);
      const ref = cpuConvGrads(xv, wv, gv, c);
      const xShape = [c.n, c.cin, c.h, c.w];
      const wShape = [c.cout, r.cinPerGroup, c.k, c.k];
      const o = { stride: c.stride, padding: c.pad, dilation: c.dil, groups: c.groups };
      const [dx, dw] = e.tidy(() => {
        const g = e.tensor(gv, [c.n, c.cout, oh, ow]);
        return [
          conv2dInputGrad(g, e.tensor(wv, wShape), xShape, o),
          conv2dWeightGrad(e.tensor(xv, xShape), wShape, g, o),
        ];
      });
      const [dxv, dwv] = await e.readAll([dx, dw]);
      assertClose(dxv, ref.dx, { atol: 1e-4, label: `conv2d dx ${JSON.stringify(c)}` });
      assertClose(dwv, ref.dw, { atol: 1e-4, label: `conv2d dw ${JSON.stringify(c)}` });
      dx.dispose();
      dw.dispose();
    }),
    { numRuns: 20, seed: 5 },
  );
});

Deno.test("conv2d with one input channel (im2col path): 7x7 stride-2 stem", opts, async () => {
  const c: ConvCase = {
    n: 2,
    cin: 1,
    cout: 12,
    h: 19,
    w: 22,
    k: 7,
    stride: 2,
    pad: 3,
    dil: 1,
    groups: 1,
  };
  const xv = randnArray(c.n * c.h * c.w, 21);
  const wv = randnArray(c.cout * 49, 22);
  const { out, oh, ow } = cpuConv(xv, wv, c);
  const gv = randnArray(c.n * c.cout * oh * ow, 23);
  const ref = cpuConvGrads(xv, wv, gv, c);
  const xShape = [c.n, 1, c.h, c.w];
  const wShape = [c.cout, 1, 7, 7];
  const o = { stride: 2, padding: 3 };
  const [y, dw] = e.tidy(() => {
    const x = e.tensor(xv, xShape);
    const w = e.tensor(wv, wShape);
    return [conv2d(x, w, o), conv2dWeightGrad(x, wShape, e.tensor(gv, [c.n, c.cout, oh, ow]), o)];
  });
  const [yv, dwv] = await e.readAll([y, dw]);
  assertClose(yv, out, { atol: 1e-4, label: "stem forward" });
  assertClose(dwv, ref.dw, { atol: 1e-3, label: "stem weight gradient" });
  y.dispose();
  dw.dispose();
});

Deno.test("property: matmul equals the CPU product on random shapes", opts, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 0, max: 1000 }),
      async (m, k, n, seed) => {
        const av = randnArray(m * k, seed);
        const bv = randnArray(k * n, seed + 1);
        const out = e.tidy(() => matmul(e.tensor(av, [m, k]), e.tensor(bv, [k, n])));
        assertClose(await out.read(), cpuMatmul(av, bv, m, k, n), {
          atol: 1e-4,
          label: `matmul ${m}x${k}x${n}`,
        });
        out.dispose();
      },
    ),
    { numRuns: 25, seed: 7 },
  );
});

Deno.test(
  "matmul through packed operands: copied, four-row and general packs, batched, gradients, linear",
  opts,
  async () => {
    // Above the scalar kernel's size: [100, 400] fills two texel rows and part of a third and
    // is copied as is; B^T of [400, 36] takes the four-row pack; K = 41 the general one.
    const cases: [number, number, number, number][] = [
      [1, 100, 400, 36],
      [1, 45, 41, 61],
      [3, 20, 64, 44],
    ];
    for (const [batch, m, k, n] of cases) {
      const av = randnArray(batch * m * k, m);
      const bv = randnArray(batch * k * n, n);
      const lead = batch > 1 ? [batch] : [];
      const out = e.tidy(() =>
        matmul(e.tensor(av, [...lead, m, k]), e.tensor(bv, [...lead, k, n]))
      );
      const got = await out.read();
      out.dispose();
      for (let q = 0; q < batch; q++) {
        assertClose(
          got.subarray(q * m * n, (q + 1) * m * n),
          cpuMatmul(
            av.subarray(q * m * k, (q + 1) * m * k),
            bv.subarray(q * k * n, (q + 1) * k * n),
            m,
            k,
            n,
          ),
          { atol: 1e-3, label: `matmul ${batch}x${m}x${k}x${n} batch ${q}` },
        );
      }
    }
    // Gradients: dA = G B^T reads B^T (K-major copy), dB = A^T G reads A^T and G row-major.
    {
      const [m, k, n] = [100, 400, 36];
      const av = randnArray(m * k, 11);
      const bv = randnArray(k * n, 12);
      const gv = randnArray(m * n, 13);
      const a = e.tensor(av, [m, k], { requiresGrad: true });
      const b = e.tensor(bv, [k, n], { requiresGrad: true });
      e.tidy(() => sum(mul(matmul(a, b), e.tensor(gv, [m, n]))).backward());
      const at = new Float32Array(k * m);
      for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) at[p * m + i] = av[i * k + p];
      const bt = new Float32Array(n * k);
      for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bt[j * k + p] = bv[p * n + j];
      assertClose(await a.grad!.read(), cpuMatmul(gv, bt, m, n, k), { atol: 1e-3, label: "dA" });
      assertClose(await b.grad!.read(), cpuMatmul(at, gv, k, m, n), { atol: 1e-3, label: "dB" });
      a.dispose();
      b.dispose();
    }
    // linear: the weight [out, in] is already B^T's packed layout.
    const xv = randnArray(50 * 64, 3);
    const wv = randnArray(72 * 64, 4);
    const y = e.tidy(() => linear(e.tensor(xv, [50, 64]), e.tensor(wv, [72, 64])));
    const wt = new Float32Array(64 * 72);
    for (let o = 0; o < 72; o++) for (let i = 0; i < 64; i++) wt[i * 72 + o] = wv[o * 64 + i];
    assertClose(await y.read(), cpuMatmul(xv, wt, 50, 64, 72), { atol: 1e-3, label: "linear" });
    y.dispose();
  },
);

Deno.test("property: conv2d equals the CPU convolution on random shapes", opts, async () => {
  const cases = convCases({
    channels: 3,
    minSize: 5,
    maxSize: 11,
    kernels: [1, 3, 5],
    maxStride: 2,
  });
  await fc.assert(
    fc.asyncProperty(cases, async (r) => {
      if (!r) return;
      const { c } = r;
      const xv = randnArray(c.n * c.cin * c.h * c.w, r.seed);
      const wv = randnArray(c.cout * r.cinPerGroup * c.k * c.k, r.seed + 1);
      const ref = cpuConv(xv, wv, c);
      const out = e.tidy(() =>
        conv2d(
          e.tensor(xv, [c.n, c.cin, c.h, c.w]),
          e.tensor(wv, [c.cout, r.cinPerGroup, c.k, c.k]),
          {
            stride: c.stride,
            padding: c.pad,
            dilation: c.dil,
            groups: c.groups,
          },
        )
      );
      assertClose(await out.read(), ref.out, { atol: 1e-4, label: `conv2d ${JSON.stringify(c)}` });
      out.dispose();
    }),
    { numRuns: 25, seed: 11 },
  );
});

// Engines left open at exit have crashed the OpenGL backend at teardown now and then.
Deno.test("property: close engine", opts, () => e.close());
