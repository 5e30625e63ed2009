/**
 * SimulGen-VAE's per-training-batch augmentation (SPEC section 3), on the GPU, seeded and
 * deterministic.
 *
 * What happens to a batch (the original's `apply_outline_preserving_augmentations` plus the mixup
 * and noise steps of its training loop):
 * - with p `geometry` (0.4 = 0.5 x 0.8 in the original) a geometry-preserving step, whose four
 *   sub-steps are each decided once per batch and parameterised per sample:
 *   - flip with p `flip` (0.3); then each sample is mirrored HORIZONTALLY (the width axis, what
 *     the original's `torch.flip(x, dims=[2])` on (B, H, W) does) with p `flipSample` (0.5);
 *   - wrap-around shift with p `shift` (0.5): per sample an integer dx (width) and dy (height),
 *     each uniform in {-1, 0, 1}, as `torch.roll`;
 *   - rotation with p `rotate` (0.3): per sample an angle uniform in [-5, 5) degrees; as in the
 *     original, a sample whose |angle| <= `minRotationDeg` (0.5) is not rotated;
 *   - scale with p `scale` (0.3): per sample a factor uniform in [0.95, 1.05); a sample whose
 *     |factor - 1| <= `minScaleDelta` (0.01) is not scaled (as in the original);
 * - then mixup with p `mixup` (0.02; only when the batch has more than one sample):
 *   lambda ~ Beta(0.2, 0.2) and a uniform permutation `perm`; x, y1 and y2 all become
 *   `lam * v + (1 - lam) * v[perm]`;
 * - then Gaussian noise of std 0.01 on x with p `noise` (0.05), per batch.
 *
 * Rotation and scale follow `F.affine_grid(theta, align_corners=False)` +
 * `F.grid_sample(mode="bilinear", padding_mode="border", align_corners=False)` with the original's
 * thetas: rotation `[[cos a, -sin a, 0], [sin a, cos a, 0]]`, scale `[[s, 0, 0], [0, s, 0]]`
 * (both about the image centre, in normalised coordinates).
 *
 * Order of operations and how it differs from the original: the image work is one kernel pass.
 * For each output pixel the kernel applies, in the original's order, flip, then shift, then
 * rotation, then scale, by mapping the pixel back through their inverses: the normalised output
 * position p is sent to `R * S * p` (rotation matrix times scale factor: the composition of
 * "rotate, then scale" as two grid_samples), bilinearly sampled with border padding from the
 * flipped-and-shifted image, whose pixels are read from the source through the (exact, integer)
 * inverse shift and flip. Flip, shift and ONE of rotation/scale therefore give exactly what the
 * original gives; when a sample is both rotated and scaled we resample once with the combined
 * matrix, where the original resampled twice: ours is slightly sharper (one bilinear blur instead
 * of two) and clamps to the border once instead of after each step. Mixup then combines each
 * sample's transformed image with its partner's transformed image, and noise is added last, in
 * the same pass; y1 and y2 are mixed by a second small kernel.
 *
 * Randomness: every decision (which steps run, per-sample flags, shifts, angles, factors, lambda,
 * permutation, noise seed) is drawn on the CPU from mulberry32 seeded by a hash of
 * (seed, epoch, step), so a batch's augmentation is a pure function of those three numbers and
 * the batch size, independent of what happened before (resumable, reproducible). The noise values
 * come from Philox on the GPU keyed by the drawn noise seed. Nothing is read back.
 */
import type { Engine } from "../engine/engine.ts";
import type { Tensor } from "../engine/tensor.ts";
import { fmtShape } from "../engine/tensor.ts";
import { mulberry32 } from "./batches.ts";
import { clone } from "../engine/ops/layout.ts";
import { AUGMENT_SHADER } from "./kernels.ts";

/** Probabilities of the augmentation decisions (see the module documentation). */
export interface AugmentProbabilities {
  /** Whole geometry-preserving step, per batch. Default 0.4. */
  geometry: number;
  /** Flip sub-step, per batch (given geometry). Default 0.3. */
  flip: number;
  /** Each sample is flipped, given the flip sub-step. Default 0.5. */
  flipSample: number;
  /** Wrap-around shift sub-step, per batch (given geometry). Default 0.5. */
  shift: number;
  /** Rotation sub-step, per batch (given geometry). Default 0.3. */
  rotate: number;
  /** Scale sub-step, per batch (given geometry). Default 0.3. */
  scale: number;
  /** Mixup, per batch. Default 0.02. */
  mixup: number;
  /** Gaussian noise, per batch. Default 0.05. */
  noise: number;
}

/** SimulGen-VAE's probabilities (commit 214f975). */
export const DEFAULT_AUGMENT_PROBABILITIES: Readonly<AugmentProbabilities> = Object.freeze({
  geometry: 0.4,
  flip: 0.3,
  flipSample: 0.5,
  shift: 0.5,
  rotate: 0.3,
  scale: 0.3,
  mixup: 0.02,
  noise: 0.05,
});

/** Options of {@link Augmenter}; everything but `seed` defaults to the original's values. */
export interface AugmentOptions {
  /** Seed of every decision (together with epoch and step). */
  seed: number;
  /** Overrides of {@link DEFAULT_AUGMENT_PROBABILITIES} (e.g. all 1 in tests). */
  probabilities?: Partial<AugmentProbabilities>;
  /** Rotation angles are uniform in [-maxRotationDeg, maxRotationDeg). Default 5. */
  maxRotationDeg?: number;
  /** Samples with |angle| <= this are not rotated (original: 0.5). Default 0.5. */
  minRotationDeg?: number;
  /** Scale factors are uniform in [low, high). Default [0.95, 1.05]. */
  scaleRange?: readonly [number, number];
  /** Samples with |factor - 1| <= this are not scaled (original: 0.01). Default 0.01. */
  minScaleDelta?: number;
  /** Mixup lambda ~ Beta(alpha, alpha). Default 0.2. */
  mixupAlpha?: number;
  /** Standard deviation of the additive noise. Default 0.01. */
  noiseStd?: number;
}

/** {@link AugmentOptions} with every default filled in and validated. */
export interface AugmentConfig {
  /** Seed of every decision, as an unsigned 32-bit integer. */
  seed: number;
  /** Every decision's probability. */
  probabilities: AugmentProbabilities;
  /** Rotation angles are uniform in [-maxRotationDeg, maxRotationDeg). */
  maxRotationDeg: number;
  /** Samples with |angle| <= this are not rotated. */
  minRotationDeg: number;
  /** Scale factors are uniform in [low, high). */
  scaleRange: readonly [number, number];
  /** Samples with |factor - 1| <= this are not scaled. */
  minScaleDelta: number;
  /** Mixup lambda ~ Beta(alpha, alpha). */
  mixupAlpha: number;
  /** Standard deviation of the additive noise. */
  noiseStd: number;
}

/** What was applied to one batch (for logging and tests). */
export interface AugmentationRecord {
  /** Epoch the decisions were drawn for. */
  epoch: number;
  /** Step (per-batch counter) the decisions were drawn for. */
  step: number;
  /** Number of samples in the batch. */
  batchSize: number;
  /** Whether the geometry-preserving step ran (its sub-steps may all have been skipped). */
  geometry: boolean;
  /** Per-sample horizontal flip flags; null when the flip sub-step did not run. */
  flip: boolean[] | null;
  /** Per-sample wrap-around shifts along width (dx) and height (dy); null when not run. */
  shift: { dx: number[]; dy: number[] } | null;
  /** Per-sample rotation in degrees as applied (0 for samples left unrotated); null when not run. */
  rotationDeg: number[] | null;
  /** Per-sample scale factor as applied (1 for samples left unscaled); null when not run. */
  scale: number[] | null;
  /** Mixup weight and partner of each sample; null when not applied. */
  mixup: { lambda: number; permutation: number[] } | null;
  /** Noise std and the Philox seed of its values; null when not applied. */
  noise: { std: number; seed: number } | null;
}

/** The augmented batch (new tensors, owned by the caller) and what was done to it. */
export interface AugmentResult {
  /** The augmented images, shaped like the input x. */
  x: Tensor;
  /** y1, mixed like x when mixup applied (otherwise a copy). */
  y1: Tensor;
  /** y2, mixed like x when mixup applied (otherwise a copy). */
  y2: Tensor;
  /** The decisions that were applied. */
  applied: AugmentationRecord;
}

/** Floats per sample in the parameter tensor read by conditioner/shaders/augment.wgsl. */
export const SAMPLE_STRIDE = 12;

/** Fills in defaults and checks every option; errors name the option and the accepted range. */
export function resolveAugmentConfig(options: AugmentOptions): AugmentConfig {
  const where = "augment options";
  if (!Number.isInteger(options.seed)) {
    throw new Error(`${where}: seed must be an integer, got ${options.seed}`);
  }
  const probabilities: AugmentProbabilities = { ...DEFAULT_AUGMENT_PROBABILITIES };
  for (const [key, value] of Object.entries(options.probabilities ?? {})) {
    if (!(key in DEFAULT_AUGMENT_PROBABILITIES)) {
      const known = Object.keys(DEFAULT_AUGMENT_PROBABILITIES).join(", ");
      throw new Error(`${where}: unknown probability "${key}" (expected one of ${known})`);
    }
    if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
      throw new Error(`${where}: probability "${key}" must be in [0, 1], got ${value}`);
    }
    probabilities[key as keyof AugmentProbabilities] = value;
  }
  const config: AugmentConfig = {
    seed: options.seed >>> 0,
    probabilities,
    maxRotationDeg: options.maxRotationDeg ?? 5,
    minRotationDeg: options.minRotationDeg ?? 0.5,
    scaleRange: options.scaleRange ?? [0.95, 1.05],
    minScaleDelta: options.minScaleDelta ?? 0.01,
    mixupAlpha: options.mixupAlpha ?? 0.2,
    noiseStd: options.noiseStd ?? 0.01,
  };
  const nonNegative = ["maxRotationDeg", "minRotationDeg", "minScaleDelta", "noiseStd"] as const;
  for (const key of nonNegative) {
    const v = config[key];
    if (!(Number.isFinite(v) && v >= 0)) {
      throw new Error(`${where}: ${key} must be a finite number >= 0, got ${v}`);
    }
  }
  if (!(Number.isFinite(config.mixupAlpha) && config.mixupAlpha > 0)) {
    throw new Error(`${where}: mixupAlpha must be > 0, got ${config.mixupAlpha}`);
  }
  const [low, high] = config.scaleRange;
  if (!(Number.isFinite(low) && Number.isFinite(high) && low > 0 && low <= high)) {
    throw new Error(
      `${where}: scaleRange must be [low, high] with 0 < low <= high, got [${low}, ${high}]`,
    );
  }
  return config;
}

// ------------------------------------------------------------------ CPU randomness

function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The 32-bit state of the decision generator of batch (seed, epoch, step). */
export function decisionSeed(seed: number, epoch: number, step: number): number {
  let h = fmix32((seed ^ 0x6a09e667) >>> 0);
  h = fmix32((h ^ fmix32((epoch + 0x3c6ef372) >>> 0)) >>> 0);
  return fmix32((h + fmix32((step ^ 0xa54ff53a) >>> 0)) >>> 0);
}

function standardNormal(rand: () => number): number {
  const u = 1 - rand(); // (0, 1]
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Gamma(alpha, 1) by Marsaglia–Tsang; alpha < 1 is boosted: Gamma(alpha + 1) * U^(1 / alpha). */
export function sampleGamma(alpha: number, rand: () => number): number {
  if (alpha < 1) return sampleGamma(alpha + 1, rand) * Math.pow(1 - rand(), 1 / alpha);
  const d = alpha - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let z: number;
    let v: number;
    do {
      z = standardNormal(rand);
      v = 1 + c * z;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rand();
    if (u < 1 - 0.0331 * z ** 4) return d * v;
    if (Math.log(u) < 0.5 * z * z + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) as Ga / (Ga + Gb) from two Gamma draws. */
export function sampleBeta(a: number, b: number, rand: () => number): number {
  const ga = sampleGamma(a, rand);
  const gb = sampleGamma(b, rand);
  return ga / (ga + gb);
}

/** A uniform random permutation of 0..n-1 (Fisher–Yates). */
export function samplePermutation(n: number, rand: () => number): number[] {
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return perm;
}

function checkCounter(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new Error(`augmentation: ${name} must be an integer in [0, 2^32), got ${v}`);
  }
}

/**
 * Every random decision for one batch, a pure function of (config, batchSize, step, epoch).
 * Draw order (fixed): geometry; [flip, per-sample flags]; [shift, per-sample dx, dy];
 * [rotate, per-sample angles]; [scale, per-sample factors]; mixup, [lambda, permutation]; noise,
 * [noise seed]. Bracketed draws happen only when the decision before them is taken.
 */
export function decideAugmentation(
  config: AugmentConfig,
  batchSize: number,
  step: number,
  epoch = 0,
): AugmentationRecord {
  checkCounter("step", step);
  checkCounter("epoch", epoch);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`augmentation: batch size must be a positive integer, got ${batchSize}`);
  }
  const p = config.probabilities;
  const rand = mulberry32(decisionSeed(config.seed, epoch, step));
  const perSample = <T>(f: () => T): T[] => Array.from({ length: batchSize }, f);
  const record: AugmentationRecord = {
    epoch,
    step,
    batchSize,
    geometry: rand() < p.geometry,
    flip: null,
    shift: null,
    rotationDeg: null,
    scale: null,
    mixup: null,
    noise: null,
  };
  if (record.geometry) {
    if (rand() < p.flip) record.flip = perSample(() => rand() < p.flipSample);
    if (rand() < p.shift) {
      const draw = () => Math.floor(rand() * 3) - 1;
      const dx: number[] = [];
      const dy: number[] = [];
      for (let i = 0; i < batchSize; i++) {
        dx.push(draw());
        dy.push(draw());
      }
      record.shift = { dx, dy };
    }
    if (rand() < p.rotate) {
      record.rotationDeg = perSample(() => {
        const angle = (2 * rand() - 1) * config.maxRotationDeg;
        return Math.abs(angle) > config.minRotationDeg ? angle : 0;
      });
    }
    if (rand() < p.scale) {
      const [low, high] = config.scaleRange;
      record.scale = perSample(() => {
        const s = low + (high - low) * rand();
        return Math.abs(s - 1) > config.minScaleDelta ? s : 1;
      });
    }
  }
  if (rand() < p.mixup && batchSize > 1) {
    const lambda = sampleBeta(config.mixupAlpha, config.mixupAlpha, rand);
    record.mixup = { lambda, permutation: samplePermutation(batchSize, rand) };
  }
  if (rand() < p.noise && config.noiseStd > 0) {
    record.noise = { std: config.noiseStd, seed: Math.floor(rand() * 4294967296) >>> 0 };
  }
  return record;
}

/**
 * The per-sample parameter records read by conditioner/shaders/augment.wgsl ({@link SAMPLE_STRIDE} floats
 * each): flip, dx, dy, resample flag, the 2x2 matrix R(angle) * scale, mixup partner.
 */
export function sampleParameters(record: AugmentationRecord): Float32Array {
  const out = new Float32Array(record.batchSize * SAMPLE_STRIDE);
  for (let i = 0; i < record.batchSize; i++) {
    const o = i * SAMPLE_STRIDE;
    out[o] = record.flip?.[i] ? 1 : 0;
    out[o + 1] = record.shift?.dx[i] ?? 0;
    out[o + 2] = record.shift?.dy[i] ?? 0;
    const angle = ((record.rotationDeg?.[i] ?? 0) * Math.PI) / 180;
    const s = record.scale?.[i] ?? 1;
    out[o + 3] = angle !== 0 || s !== 1 ? 1 : 0;
    out[o + 4] = s * Math.cos(angle);
    out[o + 5] = -s * Math.sin(angle);
    out[o + 6] = s * Math.sin(angle);
    out[o + 7] = s * Math.cos(angle);
    out[o + 8] = record.mixup?.permutation[i] ?? i;
  }
  return out;
}

/** One line for logs, e.g. "geometry(flip 3/16, shift, rotate) mixup(lambda 0.912) noise". */
export function describeAugmentation(record: AugmentationRecord): string {
  const parts: string[] = [];
  if (record.geometry) {
    const sub: string[] = [];
    if (record.flip) sub.push(`flip ${record.flip.filter(Boolean).length}/${record.batchSize}`);
    if (record.shift) sub.push("shift");
    if (record.rotationDeg) sub.push("rotate");
    if (record.scale) sub.push("scale");
    parts.push(`geometry(${sub.join(", ") || "no sub-step"})`);
  }
  if (record.mixup) parts.push(`mixup(lambda ${record.mixup.lambda.toFixed(3)})`);
  if (record.noise) parts.push(`noise(std ${record.noise.std})`);
  return parts.join(" ") || "none";
}

// ------------------------------------------------------------------ GPU

/**
 * Augments training batches on the GPU. `apply` never reads back from the GPU and always returns
 * new tensors (copies when nothing applies), which the caller disposes.
 */
export class Augmenter {
  /** The engine the augmentation kernels run on. */
  readonly engine: Engine;
  /** The validated options, defaults filled in. */
  readonly config: AugmentConfig;

  /** Validates the options (see {@link AugmentOptions}). */
  constructor(engine: Engine, options: AugmentOptions) {
    this.engine = engine;
    this.config = resolveAugmentConfig(options);
  }

  /** The decisions for a batch of `batchSize` at (step, epoch), without touching the GPU. */
  decide(batchSize: number, step: number, epoch = 0): AugmentationRecord {
    return decideAugmentation(this.config, batchSize, step, epoch);
  }

  /**
   * Augments x [B, C, H, W] (C = 1 for the conditioner; every channel gets the same transform)
   * and mixes y1 [B, ...] and y2 [B, ...] with it. `step` (and `epoch`, default 0) select the
   * decisions: use a counter that is unique per training batch.
   */
  apply(x: Tensor, y1: Tensor, y2: Tensor, step: number, epoch = 0): AugmentResult {
    const op = "Augmenter.apply";
    if (x.rank !== 4) throw new Error(`${op}: x must be [B, C, H, W], got ${fmtShape(x.shape)}`);
    const [batch, channels, height, width] = x.shape;
    for (const [name, t] of [["x", x], ["y1", y1], ["y2", y2]] as const) {
      if (t.dtype !== "f32") throw new Error(`${op}: ${name} must be f32, got ${t.dtype}`);
      if (t.rank < 1 || t.shape[0] !== batch) {
        throw new Error(
          `${op}: ${name} ${fmtShape(t.shape)} must have the batch size ${batch} of x ` +
            `${fmtShape(x.shape)} as its first dimension`,
        );
      }
    }
    if (batch === 0 || x.size === 0) {
      throw new Error(`${op}: empty batch ${fmtShape(x.shape)}`);
    }
    const applied = this.decide(batch, step, epoch);
    const e = this.engine;
    return e.noGrad(() => {
      if (!applied.geometry && !applied.mixup && !applied.noise) {
        return { x: clone(x), y1: clone(y1), y2: clone(y2), applied };
      }
      const params = e.tensor(sampleParameters(applied), [batch, SAMPLE_STRIDE]);
      const lam = applied.mixup?.lambda ?? 1;
      const out = e.empty(x.shape);
      e.run({ file: AUGMENT_SHADER, entry: "augment_image" }, {
        src: x,
        per_sample: params,
        dst: out,
      }, {
        n: x.size,
        channels,
        height,
        width,
        mixup_on: applied.mixup ? 1 : 0,
        lam,
        noise_std: applied.noise?.std ?? 0,
        noise_seed: applied.noise?.seed ?? 0,
      }, e.grid(x.size));
      const mixRows = (t: Tensor): Tensor => {
        if (!applied.mixup) return clone(t);
        const mixed = e.empty(t.shape);
        e.run({ file: AUGMENT_SHADER, entry: "mix_rows" }, {
          src: t,
          per_sample: params,
          dst: mixed,
        }, {
          n: t.size,
          row_len: t.size / batch,
          lam,
        }, e.grid(t.size));
        return mixed;
      };
      const result = { x: out, y1: mixRows(y1), y2: mixRows(y2), applied };
      params.dispose();
      return result;
    });
  }
}
