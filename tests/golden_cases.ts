/**
 * The golden cases: every op against PyTorch, forward values and the gradients of
 * sum(output * R) for a random R (fixtures from tests/golden/generate.py; see its docstring for
 * the format). Runtime-agnostic, so the same cases run under Deno (golden_test.ts) and, bundled,
 * under Node with Dawn (dawn_golden_test.ts).
 */
import assert from "node:assert/strict";
import * as M from "../core.ts";
import type { Engine, Tensor, TuningOverrides } from "../core.ts";
import { assertClose } from "./helpers.ts";

interface TensorSpec {
  shape: number[];
  data: number[];
}

type Args = Record<string, unknown>;

/** One case of a fixture file. */
export interface GoldenCase {
  name: string;
  op: string;
  args: Args;
  inputs: Record<string, TensorSpec>;
  buffers?: Record<string, TensorSpec>;
  output: TensorSpec;
  R: TensorSpec;
  grads: Record<string, TensorSpec>;
  extra?: Record<string, TensorSpec>;
}

/** A fixture file: one op family's cases. */
export interface GoldenFile {
  family: string;
  cases: GoldenCase[];
  /** Engine tuning the cases run under (e.g. conv kernels forced to Winograd); default auto. */
  tuning?: TuningOverrides;
}

/** The fixture files, tests/golden/<family>.json. */
export const FAMILIES = [
  "elementwise",
  "reduce",
  "layout",
  "matmul",
  "conv2d",
  "winograd",
  "winograd_f4",
  "norm",
  "pool",
  "losses",
];

/** Absolute and relative tolerance of a comparison. */
export interface Tolerance {
  atol: number;
  rtol: number;
}

const OUT_TOL: Tolerance = { atol: 1e-5, rtol: 1e-3 };
const GRAD_TOL: Tolerance = { atol: 1e-4, rtol: 1e-3 };

type Pair = [number, number];
const num = (a: Args, k: string): number => a[k] as number;
const opt = <T>(a: Args, k: string): T | undefined => (k in a ? (a[k] as T) : undefined);

/** Drops undefined members so ops see their own defaults. */
function defined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Calls op `name` of mod.ts on the case's tensors. */
type OpCall = (t: Record<string, Tensor>, a: Args, b: Record<string, Tensor>) => Tensor;

const binary = (f: (a: Tensor, b: Tensor) => Tensor): OpCall => (t) => f(t.a, t.b);
const unary = (f: (x: Tensor) => Tensor): OpCall => (t) => f(t.x);

/** Each op of a case, called on the case's tensors. */
export const OPS: Record<string, OpCall> = {
  add: binary((a, b) => M.add(a, b)),
  sub: binary((a, b) => M.sub(a, b)),
  mul: binary((a, b) => M.mul(a, b)),
  div: binary((a, b) => M.div(a, b)),
  neg: unary((x) => M.neg(x)),
  scale: (t, a) => M.scale(t.x, num(a, "s")),
  exp: unary((x) => M.exp(x)),
  log: unary((x) => M.log(x)),
  sqrt: unary((x) => M.sqrt(x)),
  relu: unary((x) => M.relu(x)),
  leakyRelu: (t, a) => ("slope" in a ? M.leakyRelu(t.x, num(a, "slope")) : M.leakyRelu(t.x)),
  silu: unary((x) => M.silu(x)),
  gelu: unary((x) => M.gelu(x)),
  sigmoid: unary((x) => M.sigmoid(x)),
  tanh: unary((x) => M.tanh(x)),
  abs: unary((x) => M.abs(x)),
  square: unary((x) => M.square(x)),
  clampMin: (t, a) => M.clampMin(t.x, num(a, "min")),
  addSilu: binary((a, b) => M.addSilu(a, b)),
  channelGate: (t) => M.channelGate(t.x, t.s),
  dropout: (t, a) =>
    M.dropout(t.x, num(a, "p"), defined({ training: opt<boolean>(a, "training") })),

  sum: (t, a) => M.sum(t.x, opt<number | number[]>(a, "axes"), opt<boolean>(a, "keepdim")),
  mean: (t, a) => M.mean(t.x, opt<number | number[]>(a, "axes"), opt<boolean>(a, "keepdim")),

  reshape: (t, a) => M.reshape(t.x, a.shape as number[]),
  flatten: (t, a) => M.flatten(t.x, opt<number>(a, "startDim"), opt<number>(a, "endDim")),
  transpose: (t, a) => M.transpose(t.x, num(a, "dim0"), num(a, "dim1")),
  permute: (t, a) => M.permute(t.x, a.dims as number[]),
  concat: (t, a) => M.concat(Object.values(t), num(a, "dim")),
  slice: (t, a) => M.slice(t.x, num(a, "dim"), num(a, "start"), num(a, "end")),

  matmul: binary((a, b) => M.matmul(a, b)),
  linear: (t) => M.linear(t.x, t.weight, t.bias),
  conv2d: (t, a) =>
    M.conv2d(
      t.x,
      t.weight,
      defined({
        bias: t.bias,
        stride: opt<number | Pair>(a, "stride"),
        padding: opt<number | Pair>(a, "padding"),
        dilation: opt<number | Pair>(a, "dilation"),
        groups: opt<number>(a, "groups"),
      }),
    ),

  groupNorm: (t, a) =>
    M.groupNorm(
      t.x,
      num(a, "groups"),
      defined({
        weight: t.weight,
        bias: t.bias,
        eps: opt<number>(a, "eps"),
        activation: opt<M.NormActivation>(a, "activation"),
      }),
    ),
  layerNorm: (t, a) =>
    M.layerNorm(
      t.x,
      a.normalizedShape as number[],
      defined({ weight: t.weight, bias: t.bias, eps: opt<number>(a, "eps") }),
    ),
  batchNorm2d: (t, a, b) =>
    M.batchNorm2d(
      t.x,
      defined({
        runningMean: b.runningMean,
        runningVar: b.runningVar,
        weight: t.weight,
        bias: t.bias,
        training: opt<boolean>(a, "training"),
        momentum: opt<number>(a, "momentum"),
        eps: opt<number>(a, "eps"),
      }),
    ),

  maxPool2d: (t, a) =>
    M.maxPool2d(
      t.x,
      num(a, "kernelSize"),
      defined({ stride: opt<number>(a, "stride"), padding: opt<number>(a, "padding") }),
    ),
  avgPool2d: (t, a) =>
    M.avgPool2d(
      t.x,
      num(a, "kernelSize"),
      defined({
        stride: opt<number>(a, "stride"),
        padding: opt<number>(a, "padding"),
        countIncludePad: opt<boolean>(a, "countIncludePad"),
      }),
    ),
  adaptiveAvgPool2d: (t, a) => M.adaptiveAvgPool2d(t.x, a.size as number | Pair),

  cosineSimilarity: (t, a) =>
    M.cosineSimilarity(
      t.a,
      t.b,
      defined({ dim: opt<number>(a, "dim"), eps: opt<number>(a, "eps") }),
    ),
  mseLoss: binary((a, b) => M.mseLoss(a, b)),
  l1Loss: binary((a, b) => M.l1Loss(a, b)),
  smoothL1Loss: (t, a) => M.smoothL1Loss(t.a, t.b, defined({ beta: opt<number>(a, "beta") })),
};

/** Runs one case on `engine`; throws naming the case and what differs. */
export async function runGoldenCase(engine: Engine, c: GoldenCase): Promise<void> {
  const call = OPS[c.op];
  assert.ok(call, `${c.name}: no dispatch entry for op "${c.op}"`);
  if (typeof (M as unknown as Record<string, unknown>)[c.op] !== "function") {
    assert.fail(`${c.name}: mod.ts does not export "${c.op}"`);
  }
  const gradNames = Object.keys(c.grads);
  const bufferNames = Object.keys(c.buffers ?? {});

  // Forward and backward record GPU work synchronously; everything but the results is freed.
  const res = engine.tidy(() => {
    const inputs: Record<string, Tensor> = {};
    for (const [name, s] of Object.entries(c.inputs)) {
      inputs[name] = engine.tensor(s.data, s.shape, { requiresGrad: true });
    }
    const buffers: Record<string, Tensor> = {};
    for (const [name, s] of Object.entries(c.buffers ?? {})) {
      buffers[name] = engine.tensor(s.data, s.shape);
    }
    const out = call(inputs, c.args, buffers);
    const outShape = [...out.shape];
    if (outShape.join() !== c.output.shape.join() || outShape.length !== c.output.shape.length) {
      return { outShape, out, grads: [] as (Tensor | null)[], bufs: [] as Tensor[] };
    }
    const R = engine.tensor(c.R.data, c.R.shape);
    const loss = M.sum(M.mul(out, R));
    loss.backward();
    const grads = gradNames.map((n) => inputs[n].grad);
    const bufs = bufferNames.map((n) => buffers[n]);
    return { outShape, out, grads, bufs };
  });

  try {
    assert.deepEqual(res.outShape, c.output.shape, `${c.name}: output shape`);
    assertClose(await res.out.read(), c.output.data, {
      ...OUT_TOL,
      label: `${c.name} output`,
      shape: c.output.shape,
    });
    for (let i = 0; i < gradNames.length; i++) {
      const name = gradNames[i];
      const want = c.grads[name];
      const g = res.grads[i];
      assert.ok(g, `${c.name}: input "${name}" got no gradient`);
      assert.deepEqual([...g.shape], want.shape, `${c.name}: shape of grad ${name}`);
      assertClose(await g.read(), want.data, {
        ...GRAD_TOL,
        label: `${c.name} grad ${name}`,
        shape: want.shape,
      });
    }
    for (let i = 0; i < bufferNames.length; i++) {
      const name = bufferNames[i];
      const want = c.extra?.[name];
      if (!want) continue;
      assertClose(await res.bufs[i].read(), want.data, {
        ...OUT_TOL,
        label: `${c.name} ${name} after the call`,
        shape: want.shape,
      });
    }
  } finally {
    res.out.dispose();
    for (const g of res.grads) g?.dispose();
    for (const b of res.bufs) b.dispose();
  }
}
