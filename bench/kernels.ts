/**
 * Kernel benchmarks of the engine: matmul, conv2d (forward, input gradient, weight gradient) on
 * every distinct conv layer of the demo and full conditioner, GroupNorm forward+backward, the
 * fused activation ops against their unfused chains (bench/fused.ts), the fused robust loss, the fused spectral norm and the AdamW step. Each case is a {@link Runner} (also used by the
 * `deno bench` files) timed by {@link benchKernels} (median of repeated runs, GPU timestamps when
 * available).
 */
import type { Engine } from "../engine/engine.ts";
import type { Tensor } from "../engine/tensor.ts";
import { matmul } from "../engine/ops/matmul.ts";
import { conv2d, conv2dInputGrad, conv2dWeightGrad, packConvInput } from "../engine/ops/conv.ts";
import { groupNorm } from "../engine/ops/norm.ts";
import { robustLoss } from "../conditioner/losses/robust_loss.ts";
import { presetConfig } from "../conditioner/enhanced_config.ts";
import { robustLossWeights } from "../conditioner/losses/multiscale.ts";
import { spectralNormalize } from "../engine/ops/spectral.ts";
import { scale } from "../engine/ops/elementwise.ts";
import { AdamW } from "../engine/optim/adamw.ts";
import { clipGradNorm } from "../engine/optim/clip.ts";
import { LatentConditionerImg } from "../conditioner/model.ts";
import {
  BATCH,
  type BenchPlan,
  type ConvDir,
  convFlops,
  convLabel,
  convOut,
  type ConvShape,
  FULL_MODEL,
  groupNormShapes,
  type MatmulShape,
  modelConvLayers,
  spectralShapes,
} from "./shapes.ts";
import { type RepPolicy, timeKernel, type Timing } from "./timing.ts";
import { fusedCases } from "./fused.ts";

/** Families of kernel cases. */
export type KernelGroup =
  | "matmul"
  | "conv"
  | "groupnorm"
  | "fused"
  | "loss"
  | "spectral"
  | "optim";

/** A benchmark case ready to run: `run()` records its GPU work and frees what it creates. */
export interface Runner {
  id: string;
  group: KernelGroup;
  /** Human-readable shape. */
  label: string;
  /** FLOPs of one run (GEMM-like cases). */
  flops?: number;
  /** Nominal bytes moved by one run (memory-bound cases; see each case for what is counted). */
  bytes?: number;
  run(): void;
  /** Frees the case's inputs. */
  dispose(): void;
}

/** A timed kernel case. */
export interface KernelResult {
  id: string;
  group: KernelGroup;
  label: string;
  flops?: number;
  bytes?: number;
  timing: Timing;
  /** flops / time. */
  gflops?: number;
  /** bytes / time. */
  gbps?: number;
}

/** Inputs with the scale of a Kaiming init, so values stay O(1). */
function weights(e: Engine, shape: number[], fanIn: number, seed: number): Tensor {
  const w = e.randn(shape, { seed });
  const scaled = e.noGrad(() => scale(w, Math.sqrt(2 / fanIn)));
  w.dispose();
  return scaled;
}

function freeAll(ts: (Tensor | null | undefined)[]): void {
  for (const t of ts) if (t && !t.disposed) t.dispose();
}

/** C = A @ B for A [m, k], B [k, n]. */
export function matmulRunner(e: Engine, s: MatmulShape): Runner {
  const a = e.randn([s.m, s.k], { seed: 1 });
  const b = weights(e, [s.k, s.n], s.k, 2);
  return {
    id: s.id,
    group: "matmul",
    label: `[${s.m}, ${s.k}] @ [${s.k}, ${s.n}]`,
    flops: 2 * s.m * s.n * s.k,
    run: () => e.noGrad(() => void matmul(a, b)),
    dispose: () => freeAll([a, b]),
  };
}

/**
 * One direction of a convolution: "fwd" conv2d, "dx" the input gradient (conv2dInputGrad),
 * "dw" the weight gradient (conv2dWeightGrad), each 2*N*Cout*OH*OW*Cin*KH*KW FLOPs.
 */
export function convRunner(e: Engine, c: ConvShape, dir: ConvDir): Runner {
  const oh = convOut(c.h, c.k, c.stride, c.pad);
  const ow = convOut(c.w, c.k, c.stride, c.pad);
  const xShape = [c.n, c.cin, c.h, c.w];
  const wShape = [c.cout, c.cin, c.k, c.k];
  const opts = { stride: c.stride, padding: c.pad };
  const x = dir === "dx" ? null : e.rand(xShape, { seed: 3 });
  const w = dir === "dw" ? null : weights(e, wShape, c.cin * c.k * c.k, 4);
  const g = dir === "fwd" ? null : e.randn([c.n, c.cout, oh, ow], { seed: 5 });
  const run = dir === "fwd"
    ? () => e.noGrad(() => void conv2d(x!, w!, opts))
    : dir === "dx"
    ? () => void conv2dInputGrad(g!, w!, xShape, opts)
    : () => void conv2dWeightGrad(x!, wShape, g!, opts);
  return {
    id: `conv ${c.id} ${dir}`,
    group: "conv",
    label: `${convLabel(c)} ${dir}`,
    flops: convFlops(c),
    run,
    dispose: () => freeAll([x, w, g]),
  };
}

/**
 * Every convolution input of a model's training step packed as its forward and weight gradient
 * read it (im2col rows for the 1-channel stem): what kept inputs (`--kept-inputs`,
 * engine/tuning.ts `budgets.keptInputsMiB`) save the weight gradients, at most, per step.
 * Nominal bytes: each input read once and its packing written once.
 */
export function inputPacksRunner(e: Engine, layers: readonly ConvShape[], id: string): Runner {
  const xs = layers.map((c, i) => e.rand([c.n, c.cin, c.h, c.w], { seed: 10 + i }));
  const opts = layers.map((c) => ({ stride: c.stride, padding: c.pad }));
  const bytes = layers.reduce((sum, c, i) => {
    const oh = convOut(c.h, c.k, c.stride, c.pad);
    const ow = convOut(c.w, c.k, c.stride, c.pad);
    // Packed rows: per input position (channels padded to 4), or per output position (im2col).
    const packed = c.cin < 4 ? c.n * oh * ow * Math.ceil((c.cin * c.k * c.k) / 4) * 4 : xs[i].size;
    return sum + 4 * (xs[i].size + packed);
  }, 0);
  return {
    id,
    group: "conv",
    label: `${layers.length} layers' inputs packed once each`,
    bytes,
    run: () => {
      layers.forEach((c, i) => {
        e.releaseTexels(packConvInput(xs[i], [c.cout, c.cin, c.k, c.k], opts[i]));
      });
    },
    dispose: () => freeAll(xs),
  };
}

/**
 * GroupNorm forward and backward (the backward rule called directly with a fixed upstream
 * gradient, so no loss scaffolding is timed). Nominal bytes: forward reads x and writes y,
 * backward reads x and dy and writes dx (5 passes over the tensor).
 */
export function groupNormRunner(e: Engine, shape: number[], groups: number): Runner {
  const x = e.randn(shape, { seed: 6, requiresGrad: true });
  const c = shape[1];
  const weight = e.ones([c], { requiresGrad: true });
  const bias = e.zeros([c], { requiresGrad: true });
  const dy = e.randn(shape, { seed: 7 });
  const size = shape.reduce((a, b) => a * b, 1);
  return {
    id: `groupnorm [${shape.join(",")}] G${groups}`,
    group: "groupnorm",
    label: `[${shape.join(", ")}] G${groups} fwd+bwd`,
    bytes: 5 * 4 * size,
    run: () => {
      const y = groupNorm(x, groups, { weight, bias });
      e.noGrad(() => y.node!.backward(dy));
    },
    dispose: () => freeAll([x, weight, bias, dy]),
  };
}

/**
 * The fused spectral norm, forward (one power iteration + divide) and backward, over weights of
 * the given [rows, cols] shapes. Nominal bytes: forward reads W 3x and writes W/sigma, backward
 * reads g and W (the dot) and g again and writes dW (8 passes).
 */
export function spectralRunner(e: Engine, shapes: [number, number][], id: string): Runner {
  const ws = shapes.map(([h, w], i) => e.randn([h, w], { seed: 10 + i, requiresGrad: true }));
  const us = shapes.map(([h], i) => e.randn([h], { seed: 100 + i }));
  const vs = shapes.map(([, w], i) => e.randn([w], { seed: 200 + i }));
  const gs = shapes.map(([h, w], i) => e.randn([h, w], { seed: 300 + i }));
  const size = shapes.reduce((s, [h, w]) => s + h * w, 0);
  return {
    id,
    group: "spectral",
    label: shapes.length === 1
      ? `W [${shapes[0].join(", ")}] fwd+bwd`
      : `${shapes.length} weights, ${(size / 1e6).toFixed(2)}M values, fwd+bwd`,
    bytes: 8 * 4 * size,
    run: () => {
      ws.forEach((w, i) => {
        const out = spectralNormalize(w, us[i], vs[i], { iterate: true });
        e.noGrad(() => out.node!.backward(gs[i]));
      });
    },
    dispose: () => freeAll([...ws, ...us, ...vs, ...gs]),
  };
}

/**
 * The fused multi-scale robust loss (forward and the gradients it writes in the same dispatch)
 * with the `robust` preset's weights on a batch of conditioner outputs (y1 [batch, 32], y2
 * [batch, 3, 8]). Nominal bytes: reads both predictions and targets, writes both gradients.
 */
export function robustLossRunner(e: Engine, batch: number): Runner {
  const shapes = [[batch, 32], [batch, 3, 8]];
  const [p1, t1, p2, t2] = [0, 0, 1, 1].map((s, i) => e.randn(shapes[s], { seed: 40 + i }));
  const weights = robustLossWeights(presetConfig("robust"));
  const size = p1.size + p2.size;
  return {
    id: `robust loss batch ${batch}`,
    group: "loss",
    label: `y1 [${shapes[0].join(", ")}], y2 [${shapes[1].join(", ")}] fwd+grads`,
    bytes: 6 * 4 * size,
    run: () => void robustLoss(p1, t1, p2, t2, weights),
    dispose: () => freeAll([p1, t1, p2, t2]),
  };
}

/** The parameters of the full conditioner (5.27M) with gradients, packed by an AdamW. */
function fullModelOptimizer(e: Engine): { opt: AdamW; params: Tensor[] } {
  const model = new LatentConditionerImg(e, { filters: [...FULL_MODEL.filters] });
  const params = model.parameters();
  const opt = new AdamW(params, { lr: 1e-3 });
  e.fill(opt.pack.grads, 1e-3);
  for (const p of params) p.grad = p.gradSlot;
  return { opt, params };
}

/**
 * AdamW step over the full model's parameters. Nominal bytes: reads param, grad, both moments,
 * writes param and both moments (28 bytes per parameter).
 */
export function adamwRunner(e: Engine): Runner {
  const { opt, params } = fullModelOptimizer(e);
  const n = params.reduce((s, p) => s + p.size, 0);
  return {
    id: "adamw full model",
    group: "optim",
    label: `AdamW step, ${(n / 1e6).toFixed(2)}M params`,
    bytes: 28 * opt.pack.length,
    run: () => opt.step(),
    dispose: () => {},
  };
}

/**
 * Gradient clipping (global norm then scale) over the full model's gradients. Nominal bytes:
 * gradients read twice and written once (12 bytes per parameter).
 */
export function clipRunner(e: Engine): Runner {
  const { opt, params } = fullModelOptimizer(e);
  const n = params.reduce((s, p) => s + p.size, 0);
  return {
    id: "clip grad norm full model",
    group: "optim",
    label: `clipGradNorm, ${(n / 1e6).toFixed(2)}M params`,
    bytes: 12 * opt.pack.length,
    run: () => void clipGradNorm(params, 1e9),
    dispose: () => {},
  };
}

/** Options of {@link benchKernels}. */
export interface KernelBenchOptions extends RepPolicy {
  /** Only cases whose id this accepts. */
  filter?: (id: string) => boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** Every kernel case of a plan, in order, as factories (inputs are created when a case runs). */
export function kernelCases(e: Engine, plan: BenchPlan): { id: string; make: () => Runner }[] {
  const cases: { id: string; make: () => Runner }[] = [];
  for (const m of plan.matmul) cases.push({ id: m.id, make: () => matmulRunner(e, m) });
  for (const c of plan.conv) {
    for (const dir of c.dirs) {
      cases.push({ id: `conv ${c.id} ${dir}`, make: () => convRunner(e, c, dir) });
    }
  }
  const packs = "conv input packs full model";
  cases.push({ id: packs, make: () => inputPacksRunner(e, modelConvLayers(FULL_MODEL), packs) });
  for (const { shape, groups } of groupNormShapes(FULL_MODEL)) {
    const id = `groupnorm [${shape.join(",")}] G${groups}`;
    cases.push({ id, make: () => groupNormRunner(e, shape, groups) });
  }
  cases.push(...fusedCases(e, groupNormShapes(FULL_MODEL)));
  cases.push({ id: `robust loss batch ${BATCH}`, make: () => robustLossRunner(e, BATCH) });
  const sn = spectralShapes(FULL_MODEL);
  const biggest = sn.reduce((a, b) => (a[0] * a[1] >= b[0] * b[1] ? a : b));
  cases.push({
    id: `spectral [${biggest.join(",")}]`,
    make: () => spectralRunner(e, [biggest], `spectral [${biggest.join(",")}]`),
  });
  cases.push({
    id: "spectral all full model",
    make: () => spectralRunner(e, sn, "spectral all full model"),
  });
  cases.push({ id: "adamw full model", make: () => adamwRunner(e) });
  cases.push({ id: "clip grad norm full model", make: () => clipRunner(e) });
  return cases;
}

/** Times one runner and derives its rates. */
export async function timeRunner(e: Engine, r: Runner, policy: RepPolicy): Promise<KernelResult> {
  const timing = await timeKernel(e, r.run, policy);
  return {
    id: r.id,
    group: r.group,
    label: r.label,
    flops: r.flops,
    bytes: r.bytes,
    timing,
    gflops: r.flops ? r.flops / timing.ms / 1e6 : undefined,
    gbps: r.bytes ? r.bytes / timing.ms / 1e6 : undefined,
  };
}

/** Times the plan's kernel cases on `e`, one after the other; inputs are freed after each. */
export async function benchKernels(
  e: Engine,
  plan: BenchPlan,
  options: KernelBenchOptions,
): Promise<KernelResult[]> {
  const results: KernelResult[] = [];
  for (const c of kernelCases(e, plan)) {
    if (options.filter && !options.filter(c.id)) continue;
    const r = c.make();
    try {
      const res = await timeRunner(e, r, options);
      results.push(res);
      const rate = res.gflops !== undefined
        ? `${res.gflops.toFixed(2)} GFLOP/s`
        : res.gbps !== undefined
        ? `${res.gbps.toFixed(2)} GB/s`
        : "";
      options.log?.(
        `  ${r.id.padEnd(44)} ${
          res.timing.ms.toFixed(2).padStart(10)
        } ms  ${rate}  (${res.timing.samples.length} reps)`,
      );
    } finally {
      r.dispose();
      e.pool.trim();
    }
  }
  return results;
}
