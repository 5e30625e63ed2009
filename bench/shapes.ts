/**
 * The shapes the benchmarks run, derived from the conditioner's architecture
 * (conditioner/model.ts): its conv layers, GroupNorms, spectrally normalised weights and the
 * "conv stack" (every conv and linear of the model with SiLU between them). The plan built here is
 * plain JSON, handed as is to the peer scripts (bench/peers/) so every framework runs the same
 * shapes.
 */

/** Filters and image size of the full model (the SimulGen-VAE default). */
export const FULL_MODEL = { filters: [32, 64, 128, 256, 512], imageSize: 256 } as const;
/** Filters and image size of the demo configuration. */
export const DEMO_MODEL = { filters: [8, 16, 32, 64], imageSize: 64 } as const;
/** Batch size of every model-derived case. */
export const BATCH = 16;
/** Samples of the reference dataset one epoch is quoted for. */
export const DATASET_SAMPLES = 484;
/** Fraction of the dataset used for training (the rest is validation). */
export const TRAIN_FRACTION = 0.8;

/** One model configuration. */
export interface ModelConfig {
  filters: readonly number[];
  imageSize: number;
}

/** A GEMM C[m, n] = A[m, k] @ B[k, n]. */
export interface MatmulShape {
  id: string;
  m: number;
  k: number;
  n: number;
}

/** One convolution: input [n, cin, h, w], weight [cout, cin, k, k], square stride and padding. */
export interface ConvShape {
  id: string;
  /** Which layers of the model have this shape. */
  layers: string[];
  n: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  k: number;
  stride: number;
  pad: number;
  /** Directions to time: forward, input gradient, weight gradient (the stem needs no dx). */
  dirs: ConvDir[];
}

/** Forward, gradient with respect to the input, gradient with respect to the weight. */
export type ConvDir = "fwd" | "dx" | "dw";

/** A residual block of the conv stack. */
export interface StackBlock {
  cin: number;
  cout: number;
  stride: number;
  /** 1x1 conv on the shortcut (when the stride or the channel count changes). */
  shortcut: boolean;
}

/**
 * The conditioner without GroupNorm, squeeze-excitation and spectral norm: stem conv 7x7 s2 ->
 * SiLU; per block h = SiLU(conv3x3(x)), h = conv3x3(h), x = SiLU(h + shortcut(x)); global mean
 * pool; two heads Linear(F, F/2) -> SiLU -> Linear(F/2, out); loss = mean(y1²) + mean(y2²).
 */
export interface StackSpec {
  id: string;
  batch: number;
  imageSize: number;
  stemOut: number;
  blocks: StackBlock[];
  /** Output sizes of the heads (32 and 24). */
  heads: number[];
  /** Multiply-adds x 2 of the forward pass (convs and linears). */
  forwardFlops: number;
}

/** A training step of the full conditioner. */
export interface StepSpec {
  id: string;
  batch: number;
  imageSize: number;
  filters: number[];
  /** Training objective: "original" or an enhanced preset name (bench/step.ts STEP_OBJECTIVES). */
  objective: string;
}

/** Objectives the step section runs by default: the original recipe and the `robust` preset. */
export const DEFAULT_STEP_OBJECTIVES: readonly string[] = ["original", "robust"];

/** Everything the peers are asked to run. */
export interface BenchPlan {
  quick: boolean;
  /** Seconds one case may spend on its timed repetitions (at least one runs). */
  budgetS: number;
  /** Cap on timed repetitions per case. */
  maxReps: number;
  matmul: MatmulShape[];
  conv: ConvShape[];
  stacks: StackSpec[];
  steps: StepSpec[];
}

/** Output size of a convolution along one axis. */
export function convOut(size: number, k: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - k) / stride) + 1;
}

/** 2 * N * Cout * OH * OW * Cin * KH * KW: the FLOPs of one direction of a convolution. */
export function convFlops(c: ConvShape): number {
  const oh = convOut(c.h, c.k, c.stride, c.pad);
  const ow = convOut(c.w, c.k, c.stride, c.pad);
  return 2 * c.n * c.cout * oh * ow * c.cin * c.k * c.k;
}

/** Human-readable conv shape, e.g. "3x3 s2 32->64 @16x64x64". */
export function convLabel(c: ConvShape): string {
  return `${c.k}x${c.k} s${c.stride} ${c.cin}->${c.cout} @${c.n}x${c.h}x${c.w}`;
}

/** Stride of residual block i (2 for even i, as in the model). */
export function blockStride(i: number): number {
  return i % 2 === 0 ? 2 : 1;
}

/** Residual blocks of a configuration (channels, stride, whether a 1x1 shortcut exists). */
export function blocksOf(filters: readonly number[]): StackBlock[] {
  let cin = filters[0];
  return filters.map((cout, i) => {
    const stride = blockStride(i);
    const b = { cin, cout, stride, shortcut: stride !== 1 || cin !== cout };
    cin = cout;
    return b;
  });
}

/** Every conv layer of the model in forward order (not deduplicated). */
export function modelConvLayers(cfg: ModelConfig, batch = BATCH): ConvShape[] {
  const out: ConvShape[] = [];
  const f0 = cfg.filters[0];
  const layer = (
    name: string,
    cin: number,
    cout: number,
    h: number,
    k: number,
    stride: number,
  ): void => {
    out.push({
      id: name,
      layers: [name],
      n: batch,
      cin,
      h,
      w: h,
      cout,
      k,
      stride,
      pad: (k - 1) / 2,
      dirs: cin === 1 ? ["fwd", "dw"] : ["fwd", "dx", "dw"],
    });
  };
  layer("stem", 1, f0, cfg.imageSize, 7, 2);
  let size = convOut(cfg.imageSize, 7, 2, 3);
  blocksOf(cfg.filters).forEach((b, i) => {
    layer(`b${i}.conv1`, b.cin, b.cout, size, 3, b.stride);
    const next = convOut(size, 3, b.stride, 1);
    layer(`b${i}.conv2`, b.cout, b.cout, next, 3, 1);
    if (b.shortcut) layer(`b${i}.shortcut`, b.cin, b.cout, size, 1, b.stride);
    size = next;
  });
  return out;
}

/** The distinct conv shapes of a configuration, ids prefixed with `tag` (e.g. "full"). */
export function distinctConvs(cfg: ModelConfig, tag: string, batch = BATCH): ConvShape[] {
  const byKey = new Map<string, ConvShape>();
  for (const c of modelConvLayers(cfg, batch)) {
    const key = convLabel(c);
    const hit = byKey.get(key);
    if (hit) hit.layers.push(...c.layers);
    else byKey.set(key, { ...c, id: `${tag} ${c.layers[0]}` });
  }
  for (const c of byKey.values()) c.id = `${tag} ${c.layers.join("+")}`;
  return [...byKey.values()];
}

/** The GroupNorms of a configuration: distinct [N, C, H, W] with their group count. */
export function groupNormShapes(
  cfg: ModelConfig,
  batch = BATCH,
): { shape: [number, number, number, number]; groups: number }[] {
  const seen = new Map<string, { shape: [number, number, number, number]; groups: number }>();
  for (const c of modelConvLayers(cfg, batch)) {
    const oh = convOut(c.h, c.k, c.stride, c.pad);
    const shape: [number, number, number, number] = [batch, c.cout, oh, oh];
    seen.set(shape.join("x"), { shape, groups: groupsFor(c.cout) });
  }
  return [...seen.values()];
}

/** GroupNorm groups: the largest divisor of C that is <= 32 (as conditioner/model.ts). */
export function groupsFor(channels: number): number {
  for (let g = Math.min(32, channels); g > 1; g--) if (channels % g === 0) return g;
  return 1;
}

/** Shapes of the spectrally normalised weights ([rows, cols] after flattening) of a model. */
export function spectralShapes(cfg: ModelConfig): [number, number][] {
  const out: [number, number][] = [];
  const linear = (i: number, o: number) => out.push([o, i]);
  for (const b of blocksOf(cfg.filters)) {
    out.push([b.cout, b.cin * 9], [b.cout, b.cout * 9]);
    const hidden = Math.max(1, Math.floor(b.cout / 8));
    linear(b.cout, hidden);
    linear(hidden, b.cout);
  }
  const last = cfg.filters[cfg.filters.length - 1];
  const hidden = Math.floor(last / 2);
  for (const out2 of [32, 24]) {
    linear(last, hidden);
    linear(hidden, out2);
  }
  return out;
}

/** The conv stack of a configuration. */
export function stackSpec(cfg: ModelConfig, tag: string, batch = BATCH): StackSpec {
  const blocks = blocksOf(cfg.filters);
  const convs = modelConvLayers(cfg, batch).reduce((s, c) => s + convFlops(c), 0);
  const last = cfg.filters[cfg.filters.length - 1];
  const hidden = Math.floor(last / 2);
  const heads = [32, 24];
  const linears = heads.reduce((s, o) => s + 2 * batch * (last * hidden + hidden * o), 0);
  return {
    id: `stack ${tag}`,
    batch,
    imageSize: cfg.imageSize,
    stemOut: cfg.filters[0],
    blocks,
    heads,
    forwardFlops: convs + linears,
  };
}

/** Matmul cases. */
export const MATMULS: MatmulShape[] = [
  { id: "matmul 256^3", m: 256, k: 256, n: 256 },
  { id: "matmul 512^3", m: 512, k: 512, n: 512 },
  { id: "matmul 1024^3", m: 1024, k: 1024, n: 1024 },
  { id: "matmul 64x4096 @ 4096x256", m: 64, k: 4096, n: 256 },
];

/** The reference conv of the targets: 3x3 64->64 on [32, 64, 64, 64]. */
export const REFERENCE_CONV: ConvShape = {
  id: "ref 3x3 64->64 @32x64x64",
  layers: ["reference"],
  n: 32,
  cin: 64,
  h: 64,
  w: 64,
  cout: 64,
  k: 3,
  stride: 1,
  pad: 1,
  dirs: ["fwd", "dx", "dw"],
};

/** Every conv case: the reference conv, then the demo's and the full model's distinct layers. */
export function convCases(): ConvShape[] {
  return [
    REFERENCE_CONV,
    ...distinctConvs(DEMO_MODEL, "demo"),
    ...distinctConvs(FULL_MODEL, "full"),
  ];
}

/** Optimizer steps of one epoch over the reference dataset. */
export function stepsPerEpoch(batch = BATCH): number {
  return Math.floor((TRAIN_FRACTION * DATASET_SAMPLES) / batch);
}

/** The plan for a run. */
export function makePlan(
  quick: boolean,
  objectives: readonly string[] = DEFAULT_STEP_OBJECTIVES,
): BenchPlan {
  return {
    quick,
    budgetS: quick ? 2 : 6,
    maxReps: quick ? 3 : 7,
    matmul: MATMULS,
    conv: convCases(),
    stacks: [stackSpec(DEMO_MODEL, "demo"), stackSpec(FULL_MODEL, "full")],
    steps: [["demo", DEMO_MODEL] as const, ["full", FULL_MODEL] as const].flatMap(([tag, model]) =>
      objectives.map((objective) => ({
        id: objective === "original" ? `step ${tag}` : `step ${tag} ${objective}`,
        batch: BATCH,
        imageSize: model.imageSize,
        filters: [...model.filters],
        objective,
      }))
    ),
  };
}
