/**
 * The "conv stack": every conv and linear of the conditioner with SiLU between them and nothing
 * else (no GroupNorm, squeeze-excitation or spectral norm), forward and backward, as the engine
 * runs it. The same network is built by the peers (bench/peers/) from the same {@link StackSpec}.
 */
import { Engine } from "../engine/engine.ts";
import type { Tensor } from "../engine/tensor.ts";
import { conv2d } from "../engine/ops/conv.ts";
import { add, scale, silu, square } from "../engine/ops/elementwise.ts";
import { linear } from "../engine/ops/matmul.ts";
import { reshape } from "../engine/ops/layout.ts";
import { mean } from "../engine/ops/reduce.ts";
import type { StackSpec } from "./shapes.ts";
import type { EngineSetup } from "./tuned.ts";
import { type RepPolicy, timeWall, type Timing } from "./timing.ts";

/** The stack's weights on an engine. */
export interface StackModel {
  spec: StackSpec;
  stem: Tensor;
  blocks: { conv1: Tensor; conv2: Tensor; shortcut: Tensor | null }[];
  heads: { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor }[];
  params: Tensor[];
}

/** Kaiming-normal weights (std sqrt(2 / fan_in)) as gradient leaves. */
function param(e: Engine, shape: number[], fanIn: number, seed: number): Tensor {
  return e.tidy(() => {
    const w = e.noGrad(() => scale(e.randn(shape, { seed }), Math.sqrt(2 / fanIn)));
    w.requiresGrad = true;
    return w;
  });
}

/** Creates the stack's weights. */
export function buildStack(e: Engine, spec: StackSpec): StackModel {
  let seed = 1;
  const stem = param(e, [spec.stemOut, 1, 7, 7], 49, seed++);
  const blocks = spec.blocks.map((b) => ({
    conv1: param(e, [b.cout, b.cin, 3, 3], b.cin * 9, seed++),
    conv2: param(e, [b.cout, b.cout, 3, 3], b.cout * 9, seed++),
    shortcut: b.shortcut ? param(e, [b.cout, b.cin, 1, 1], b.cin, seed++) : null,
  }));
  const last = spec.blocks[spec.blocks.length - 1].cout;
  const hidden = Math.floor(last / 2);
  const heads = spec.heads.map((out) => ({
    w1: param(e, [hidden, last], last, seed++),
    b1: e.zeros([hidden], { requiresGrad: true }),
    w2: param(e, [out, hidden], hidden, seed++),
    b2: e.zeros([out], { requiresGrad: true }),
  }));
  const params = [
    stem,
    ...blocks.flatMap((b) => [b.conv1, b.conv2, ...(b.shortcut ? [b.shortcut] : [])]),
    ...heads.flatMap((h) => [h.w1, h.b1, h.w2, h.b2]),
  ];
  return { spec, stem, blocks, heads, params };
}

/** Forward pass and loss mean(y1²) + mean(y2²). */
export function stackLoss(m: StackModel, x: Tensor): Tensor {
  let h = silu(conv2d(x, m.stem, { stride: 2, padding: 3 }));
  m.spec.blocks.forEach((b, i) => {
    const w = m.blocks[i];
    const a = silu(conv2d(h, w.conv1, { stride: b.stride, padding: 1 }));
    const c = conv2d(a, w.conv2, { padding: 1 });
    const s = w.shortcut ? conv2d(h, w.shortcut, { stride: b.stride }) : h;
    h = silu(add(c, s));
  });
  const [n, ch] = h.shape;
  const pooled = reshape(mean(h, [2, 3]), [n, ch]);
  const losses = m.heads.map((hd) =>
    mean(square(linear(silu(linear(pooled, hd.w1, hd.b1)), hd.w2, hd.b2)))
  );
  return losses.reduce((a, b) => add(a, b));
}

/** A timed stack. */
export interface StackResult {
  id: string;
  batch: number;
  imageSize: number;
  /** Forward + backward FLOPs (3x the forward's convs and linears). */
  flops: number;
  timing: Timing;
  samplesPerS: number;
  gflops: number;
}

/** Times forward+backward of the stack on a fresh engine (set up by `setup`, e.g. tuned). */
export async function benchStack(
  spec: StackSpec,
  policy: RepPolicy,
  setup: EngineSetup = {},
): Promise<StackResult> {
  const e = await Engine.create({ seed: 0, tuning: setup.tuning });
  try {
    await setup.prepare?.(e);
    const m = buildStack(e, spec);
    const x = e.rand([spec.batch, 1, spec.imageSize, spec.imageSize], { seed: 99 });
    const run = () => {
      for (const p of m.params) p.clearGrad();
      stackLoss(m, x).backward();
    };
    const timing = await timeWall(e, run, policy);
    for (const p of m.params) p.clearGrad();
    const flops = 3 * spec.forwardFlops;
    return {
      id: spec.id,
      batch: spec.batch,
      imageSize: spec.imageSize,
      flops,
      timing,
      samplesPerS: spec.batch / (timing.ms / 1000),
      gflops: flops / timing.ms / 1e6,
    };
  } finally {
    e.destroy();
  }
}
