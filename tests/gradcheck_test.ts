/**
 * Finite-difference gradient checks of composite expressions: the analytic gradient from
 * `backward()` against central differences of the float32 GPU forward, on a sample of
 * coordinates of every input.
 */
import assert from "node:assert/strict";
import * as M from "../mod.ts";
import { Engine, type Tensor } from "../mod.ts";
import { assertClose, mulberry32, numel, randArray, randnArray } from "./helpers.ts";

/** Step of the central differences. */
const EPS = 1e-2;
/** Coordinates perturbed per input (each costs two forward passes and two reads). */
const SAMPLES = 10;
const TOL = { atol: 2e-2, rtol: 2e-2 };

interface Input {
  shape: number[];
  data: Float32Array;
  /** False for constants (targets, R): no gradient is checked. */
  grad?: boolean;
}

type Expr = (t: Record<string, Tensor>) => Tensor;

let enginePromise: Promise<Engine> | null = null;
function getEngine(): Promise<Engine> {
  return enginePromise ??= Engine.create();
}

const testOptions = { sanitizeResources: false, sanitizeOps: false };

function makeTensors(
  engine: Engine,
  inputs: Record<string, Input>,
  withGrad: boolean,
  override?: { name: string; data: Float32Array },
): Record<string, Tensor> {
  const ts: Record<string, Tensor> = {};
  for (const [name, s] of Object.entries(inputs)) {
    const data = override?.name === name ? override.data : s.data;
    ts[name] = engine.tensor(data, s.shape, { requiresGrad: withGrad && s.grad !== false });
  }
  return ts;
}

/** Evaluates the scalar expression without recording a graph. */
async function evaluate(
  engine: Engine,
  inputs: Record<string, Input>,
  f: Expr,
  override: { name: string; data: Float32Array },
): Promise<number> {
  const loss = engine.tidy(() =>
    engine.noGrad(() => f(makeTensors(engine, inputs, false, override)))
  );
  try {
    return (await loss.read())[0];
  } finally {
    loss.dispose();
  }
}

/** Picks up to `k` distinct coordinates of an input (all of them when it is small). */
function sampleIndices(n: number, k: number, seed: number): number[] {
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed);
  const picked = new Set<number>();
  while (picked.size < k) picked.add(Math.floor(rand() * n));
  return [...picked].sort((a, b) => a - b);
}

async function gradcheck(label: string, inputs: Record<string, Input>, f: Expr): Promise<void> {
  const engine = await getEngine();
  const names = Object.keys(inputs).filter((n) => inputs[n].grad !== false);

  const res = engine.tidy(() => {
    const ts = makeTensors(engine, inputs, true);
    const loss = f(ts);
    assert.equal(loss.size, 1, `${label}: the expression must be a scalar`);
    loss.backward();
    return { loss, grads: names.map((n) => ts[n].grad) };
  });
  const analytic: Record<string, Float32Array> = {};
  try {
    for (let i = 0; i < names.length; i++) {
      const g = res.grads[i];
      assert.ok(g, `${label}: input "${names[i]}" got no gradient`);
      assert.deepEqual([...g.shape], inputs[names[i]].shape, `${label}: shape of grad ${names[i]}`);
      analytic[names[i]] = await g.read();
    }
  } finally {
    res.loss.dispose();
    for (const g of res.grads) g?.dispose();
  }

  let seed = 17;
  for (const name of names) {
    const base = inputs[name].data;
    const idx = sampleIndices(base.length, SAMPLES, seed++);
    const numeric: number[] = [];
    const expected: number[] = [];
    for (const i of idx) {
      const plus = base.slice();
      plus[i] = base[i] + EPS;
      const minus = base.slice();
      minus[i] = base[i] - EPS;
      // Use the float32 steps actually taken.
      const h = plus[i] - minus[i];
      const fp = await evaluate(engine, inputs, f, { name, data: plus });
      const fm = await evaluate(engine, inputs, f, { name, data: minus });
      numeric.push((fp - fm) / h);
      expected.push(analytic[name][i]);
    }
    assertClose(expected, numeric, {
      ...TOL,
      label: `${label}: d/d${name} at sampled indices [${idx.join(", ")}] (analytic vs numeric)`,
    });
  }
}

function input(shape: number[], seed: number, scale = 1, offset = 0): Input {
  return { shape, data: randnArray(numel(shape), seed, scale, offset) };
}

function constant(shape: number[], seed: number, scale = 1): Input {
  return { shape, data: randnArray(numel(shape), seed, scale), grad: false };
}

Deno.test({
  name: "gradcheck: sum(tanh(matmul(x, w)) * silu(x2))",
  ...testOptions,
  fn: () =>
    gradcheck("tanh-matmul-silu", {
      x: input([3, 4], 1),
      w: input([4, 5], 2, 0.5),
      x2: input([3, 5], 3),
    }, (t) => M.sum(M.mul(M.tanh(M.matmul(t.x, t.w)), M.silu(t.x2)))),
});

Deno.test({
  name: "gradcheck: softmax over the last axis with broadcasting",
  ...testOptions,
  fn: () =>
    gradcheck("softmax", {
      x: input([2, 3, 4], 4),
      R: constant([2, 3, 4], 5),
    }, (t) => {
      const e = M.exp(t.x);
      return M.sum(M.mul(M.div(e, M.sum(e, -1, true)), t.R));
    }),
});

Deno.test({
  name: "gradcheck: log / sqrt / sub with broadcast inputs and mean over axes",
  ...testOptions,
  fn: () =>
    gradcheck("log-sqrt-broadcast", {
      a: input([2, 3, 4], 6),
      b: { shape: [1, 4], data: randArray(4, 7, 0.5, 1.5) },
      c: input([3, 1], 8),
    }, (t) => {
      const l = M.log(M.add(M.square(t.a), t.b));
      const s = M.sqrt(M.add(M.square(M.sub(t.a, t.c)), t.b));
      return M.sum(M.mean(M.mul(l, M.sigmoid(s)), [0, 2]));
    }),
});

Deno.test({
  name: "gradcheck: groupNorm(conv2d(x, w, {padding: 1}), 2) squared and weighted",
  ...testOptions,
  fn: () =>
    gradcheck("groupNorm-conv2d", {
      x: input([2, 3, 4, 4], 9),
      w: input([4, 3, 3, 3], 10, 0.4),
      gw: input([4], 11, 0.3, 1),
      gb: input([4], 12, 0.5),
      R: constant([2, 4, 4, 4], 13, 0.3),
    }, (t) => {
      const y = M.conv2d(t.x, t.w, { padding: 1 });
      const n = M.groupNorm(y, 2, { weight: t.gw, bias: t.gb });
      return M.add(M.mean(M.square(n)), M.sum(M.mul(n, t.R)));
    }),
});

Deno.test({
  name: "gradcheck: fused block chain addSilu(channelGate(groupNorm silu(x), s), x2)",
  ...testOptions,
  fn: () =>
    gradcheck("fused-gn-silu-gate-add-silu", {
      // 5 x 3 spatial (odd), 6 channels in 3 groups (not a multiple of 4: generic kernels).
      x: input([2, 6, 5, 3], 30, 1.5, 0.3),
      gw: input([6], 31, 0.3, 1),
      gb: input([6], 32, 0.5),
      s: input([2, 6], 33, 1.5),
      x2: input([2, 6, 5, 3], 34),
      R: constant([2, 6, 5, 3], 35),
    }, (t) => {
      const h = M.groupNorm(t.x, 3, { weight: t.gw, bias: t.gb, activation: "silu" });
      return M.sum(M.mul(M.addSilu(M.channelGate(h, t.s), t.x2), t.R));
    }),
});

Deno.test({
  name: "gradcheck: groupNorm silu on the one-thread-per-group path (groups of 2 x 4 x 4)",
  ...testOptions,
  fn: () =>
    gradcheck("fused-gn-silu-fast", {
      x: input([2, 64, 4, 4], 36, 1.5, 0.3),
      gw: input([64], 37, 0.3, 1),
      gb: input([64], 38, 0.5),
      R: constant([2, 64, 4, 4], 39),
    }, (t) => {
      const h = M.groupNorm(t.x, 32, { weight: t.gw, bias: t.gb, activation: "silu" });
      return M.sum(M.mul(h, t.R));
    }),
});

Deno.test({
  name: "gradcheck: smoothL1Loss(cosineSimilarity(a, b), target) + mean(cosine)",
  ...testOptions,
  fn: () =>
    gradcheck("cosine-smoothL1", {
      a: input([4, 6], 14),
      b: input([4, 6], 15),
      target: { shape: [4], data: Float32Array.from([0.9, -0.8, 0.1, 0.95]), grad: false },
    }, (t) => {
      const cos = M.cosineSimilarity(t.a, t.b, { dim: 1 });
      const cos2 = M.cosineSimilarity(t.a, t.b, { dim: -1 });
      return M.add(M.smoothL1Loss(cos, t.target, { beta: 0.5 }), M.scale(M.mean(cos2), 0.5));
    }),
});

Deno.test({
  name: "gradcheck: tiny conv net (conv-silu-conv-silu-adaptiveAvgPool-linear, mseLoss)",
  ...testOptions,
  fn: () =>
    gradcheck("conv-net", {
      x: input([2, 2, 6, 6], 16),
      w1: input([4, 2, 3, 3], 17, 0.4),
      b1: input([4], 18, 0.1),
      w2: input([3, 4, 3, 3], 19, 0.3),
      b2: input([3], 20, 0.1),
      w3: input([2, 3], 21, 0.5),
      b3: input([2], 22, 0.1),
      target: constant([2, 2], 23),
    }, (t) => {
      let h = M.silu(M.conv2d(t.x, t.w1, { bias: t.b1, padding: 1 }));
      h = M.silu(M.conv2d(h, t.w2, { bias: t.b2, stride: 2, padding: 1 }));
      h = M.flatten(M.adaptiveAvgPool2d(h, 1), 1);
      return M.mseLoss(M.linear(h, t.w3, t.b3), t.target);
    }),
});

Deno.test({
  name: "gradcheck: layerNorm(gelu(linear(x, w, b)))",
  ...testOptions,
  fn: () =>
    gradcheck("layerNorm-gelu-linear", {
      x: input([2, 3, 4], 24),
      w: input([5, 4], 25, 0.5),
      b: input([5], 26, 0.2),
      lw: input([5], 27, 0.3, 1),
      lb: input([5], 28, 0.3),
      R: constant([2, 3, 5], 29),
    }, (t) => {
      const y = M.gelu(M.linear(t.x, t.w, t.b));
      return M.sum(M.mul(M.layerNorm(y, [5], { weight: t.lw, bias: t.lb }), t.R));
    }),
});

Deno.test({
  name: "gradcheck: batchNorm2d (training) of avgPool2d(sigmoid(x))",
  ...testOptions,
  fn: () =>
    gradcheck("batchNorm-avgPool", {
      x: input([3, 2, 4, 4], 30, 2),
      bw: input([2], 31, 0.3, 1),
      bb: input([2], 32, 0.3),
      R: constant([3, 2, 2, 2], 33),
    }, (t) => {
      const p = M.avgPool2d(M.sigmoid(t.x), 2);
      const n = M.batchNorm2d(p, { weight: t.bw, bias: t.bb, training: true });
      return M.sum(M.mul(n, t.R));
    }),
});

Deno.test({
  name: "gradcheck: layout ops (permute, concat, slice, transpose, reshape)",
  ...testOptions,
  fn: () =>
    gradcheck("layout", {
      a: input([2, 4, 3], 34),
      b: input([2, 2, 4], 35),
      R: constant([4, 2, 2], 36),
    }, (t) => {
      const c = M.concat([M.permute(t.a, [0, 2, 1]), t.b], 1); // [2, 5, 4]
      const s = M.slice(c, 1, 1, 5); // [2, 4, 4]
      const r = M.reshape(M.transpose(s, 0, 2), [4, 2, 4]);
      return M.sum(M.mul(M.tanh(M.slice(r, -1, -2, 4)), t.R));
    }),
});

Deno.test({
  name: "gradcheck: destroy engine",
  ...testOptions,
  async fn() {
    if (!enginePromise) return;
    const engine = await enginePromise.catch(() => null);
    engine?.destroy();
  },
});
