/**
 * The fused ops (groupNorm with activation "silu", addSilu, channelGate) against a float64 CPU
 * reference of the unfused chain, forward and the gradients of sum(y * R): random shapes (odd
 * spatial sizes, channels not divisible by 4), a tuning that splits every group and row into
 * tiny parts, and groups and rows longer than llvmpipe's 65535-iteration loop budget.
 */
import fc from "npm:fast-check@4.10.2";
import { addSilu, channelGate, Engine, groupNorm, mul, sum, type Tensor } from "../mod.ts";
import { assertClose, numel, randnArray, testTuning } from "./helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const e = await Engine.create({ seed: 4, tuning: testTuning() });
/** Every norm group split into parts of a few elements, every gate row into chunks of 4. */
const split = await Engine.create({
  seed: 4,
  tuning: {
    norm: { maxTrips: 4, minGroups: 2, splitMin: 64, threads: 32, largeFrom: 256 },
    budgets: { reduceChunk: 4 },
  },
});

const sig = (z: number) => 1 / (1 + Math.exp(-z));
const silu = (z: number) => z * sig(z);
const dsilu = (z: number) => sig(z) * (1 + z * (1 - sig(z)));

interface Ref {
  y: number[];
  grads: Record<string, number[]>;
}

/** silu(groupNorm(x)) (or groupNorm(x)) and its gradients for sum(y * r), in float64. */
function groupNormSiluRef(
  x: Float32Array,
  shape: number[],
  groups: number,
  w: Float32Array,
  b: Float32Array,
  r: Float32Array,
  act = true,
  eps = 1e-5,
): Ref {
  const [n, c] = shape;
  const s = numel(shape.slice(2));
  const cg = c / groups;
  const m = cg * s;
  const y = new Array<number>(x.length);
  const dx = new Array<number>(x.length);
  const dw = new Array<number>(c).fill(0);
  const db = new Array<number>(c).fill(0);
  for (let k = 0; k < n * groups; k++) {
    const base = k * m;
    let mean = 0;
    for (let i = 0; i < m; i++) mean += x[base + i];
    mean /= m;
    let v = 0;
    for (let i = 0; i < m; i++) v += (x[base + i] - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / m + eps);
    const xhat = (i: number) => (x[base + i] - mean) * rstd;
    const ch = (i: number) => (k % groups) * cg + Math.floor(i / s);
    const dxhat = new Array<number>(m);
    let m1 = 0;
    let m2 = 0;
    for (let i = 0; i < m; i++) {
      const z = xhat(i) * w[ch(i)] + b[ch(i)];
      y[base + i] = act ? silu(z) : z;
      const gz = act ? r[base + i] * dsilu(z) : r[base + i];
      dw[ch(i)] += gz * xhat(i);
      db[ch(i)] += gz;
      dxhat[i] = gz * w[ch(i)];
      m1 += dxhat[i];
      m2 += dxhat[i] * xhat(i);
    }
    for (let i = 0; i < m; i++) dx[base + i] = rstd * (dxhat[i] - m1 / m - xhat(i) * m2 / m);
  }
  return { y, grads: { x: dx, weight: dw, bias: db } };
}

/** silu(a + b) and its gradient (both inputs') for sum(y * r). */
function addSiluRef(a: Float32Array, b: Float32Array, r: Float32Array): Ref {
  const z = Array.from(a, (v, i) => v + b[i]);
  const g = z.map((v, i) => r[i] * dsilu(v));
  return { y: z.map(silu), grads: { a: g, b: g } };
}

/** x * (0.5 + 0.5 sigmoid(s)) per (n, c) and its gradients for sum(y * r). */
function channelGateRef(x: Float32Array, s: Float32Array, r: Float32Array): Ref {
  const inner = x.length / s.length;
  const y = new Array<number>(x.length);
  const dx = new Array<number>(x.length);
  const ds = new Array<number>(s.length).fill(0);
  for (let row = 0; row < s.length; row++) {
    const f = 0.5 + 0.5 * sig(s[row]);
    let acc = 0;
    for (let i = row * inner; i < (row + 1) * inner; i++) {
      y[i] = x[i] * f;
      dx[i] = r[i] * f;
      acc += r[i] * x[i];
    }
    ds[row] = acc * 0.5 * sig(s[row]) * (1 - sig(s[row]));
  }
  return { y, grads: { x: dx, s: ds } };
}

/** Runs `f` on the inputs (all with requiresGrad) and checks output and gradients against `ref`. */
async function check(
  eng: Engine,
  label: string,
  inputs: Record<string, { data: Float32Array; shape: number[] }>,
  f: (t: Record<string, Tensor>) => Tensor,
  r: Float32Array,
  ref: Ref,
): Promise<void> {
  const names = Object.keys(ref.grads);
  const res = eng.tidy(() => {
    const ts: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) {
      ts[k] = eng.tensor(v.data, v.shape, { requiresGrad: true });
    }
    const y = f(ts);
    sum(mul(y, eng.tensor(r, y.shape))).backward();
    return [y, ...names.map((k) => ts[k].grad!)];
  });
  const [y, ...grads] = await eng.readAll(res);
  assertClose(y, ref.y, { atol: 1e-5, rtol: 1e-4, label: `${label} output` });
  names.forEach((k, i) => {
    assertClose(grads[i], ref.grads[k], { atol: 1e-4, rtol: 1e-3, label: `${label} grad ${k}` });
  });
  for (const t of res) t.dispose();
}

function groupNormCase(
  eng: Engine,
  label: string,
  shape: number[],
  groups: number,
  seed: number,
  act = true,
) {
  const c = shape[1];
  const x = randnArray(numel(shape), seed, 2, 0.5);
  const w = randnArray(c, seed + 1, 0.5, 1);
  const b = randnArray(c, seed + 2);
  const r = randnArray(numel(shape), seed + 3);
  return check(
    eng,
    `${label} groupNorm${act ? " silu" : ""} ${shape.join("x")} G${groups}`,
    { x: { data: x, shape }, weight: { data: w, shape: [c] }, bias: { data: b, shape: [c] } },
    (t) =>
      groupNorm(t.x, groups, {
        weight: t.weight,
        bias: t.bias,
        activation: act ? "silu" : "none",
      }),
    r,
    groupNormSiluRef(x, shape, groups, w, b, r, act),
  );
}

function addSiluCase(eng: Engine, label: string, shape: number[], seed: number) {
  const a = randnArray(numel(shape), seed, 1.5);
  const b = randnArray(numel(shape), seed + 1, 1.5);
  const r = randnArray(numel(shape), seed + 2);
  return check(
    eng,
    `${label} addSilu ${shape.join("x")}`,
    { a: { data: a, shape }, b: { data: b, shape } },
    (t) => addSilu(t.a, t.b),
    r,
    addSiluRef(a, b, r),
  );
}

function gateCase(eng: Engine, label: string, shape: number[], seed: number) {
  const x = randnArray(numel(shape), seed);
  const s = randnArray(shape[0] * shape[1], seed + 1, 2);
  const r = randnArray(numel(shape), seed + 2);
  return check(
    eng,
    `${label} channelGate ${shape.join("x")}`,
    { x: { data: x, shape }, s: { data: s, shape: shape.slice(0, 2) } },
    (t) => channelGate(t.x, t.s),
    r,
    channelGateRef(x, s, r),
  );
}

/** Random [N, C, H, W] with odd and even sizes, C often not a multiple of 4, and a group count. */
const shapeArb = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  c: fc.constantFrom(1, 3, 4, 5, 6, 8, 12, 20),
  h: fc.integer({ min: 1, max: 9 }),
  w: fc.integer({ min: 1, max: 9 }),
  g: fc.integer({ min: 1, max: 20 }),
  seed: fc.integer({ min: 0, max: 1000 }),
});

for (const [label, eng] of [["default", e], ["split", split]] as const) {
  Deno.test(
    `property (${label} tuning): fused ops equal the unfused chain on random shapes`,
    opts,
    async () => {
      await fc.assert(
        fc.asyncProperty(shapeArb, async ({ n, c, h, w, g, seed }) => {
          const shape = [n, c, h, w];
          // The largest divisor of c that is <= g.
          let groups = Math.min(g, c);
          while (c % groups) groups--;
          await groupNormCase(eng, label, shape, groups, seed);
          await addSiluCase(eng, label, shape, seed);
          await gateCase(eng, label, shape, seed);
        }),
        { numRuns: label === "default" ? 12 : 6, seed: 11 },
      );
    },
  );
}

Deno.test("fused ops: fast-path group norm shapes and rank-3 inputs", opts, async () => {
  // Contiguous groups of whole channels of a multiple of 4 elements, enough of them for the
  // one-thread-per-group kernels; then a [N, C, L] input.
  // All three gradients come from one pass there; also without the activation.
  await groupNormCase(e, "fast", [2, 64, 4, 8], 32, 1);
  await groupNormCase(e, "fast", [3, 40, 2, 6], 20, 10, false);
  await groupNormCase(e, "rank3", [2, 6, 7], 3, 2);
  await gateCase(e, "rank3", [2, 3, 7], 3);
  await addSiluCase(e, "rank1", [7], 4);
});

Deno.test(
  "fused ops: groups and rows longer than llvmpipe's 65535-iteration loop budget",
  opts,
  async () => {
    // One group of 2 * 301 * 301 = 181202 elements (odd: scalar path), one of 4 * 128 * 128 =
    // 65536 (vec4 path), and gate rows of 90601 and 81920 elements.
    await groupNormCase(e, "large", [1, 2, 301, 301], 1, 5);
    await groupNormCase(e, "large", [1, 4, 128, 128], 1, 6);
    await gateCase(e, "large", [1, 2, 301, 301], 7);
    await gateCase(e, "large", [1, 1, 256, 320], 8);
    await addSiluCase(e, "large", [1, 2, 301, 301], 9);
  },
);

// Engines left open at exit have crashed the OpenGL backend at teardown now and then.
Deno.test("fused: close engines", opts, async () => {
  await e.close();
  await split.close();
});
