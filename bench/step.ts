/**
 * The conditioner's training step, timed: the same work as one batch of conditioner/train.ts
 * (zero grads, objective forward, backward, gradient clipping, AdamW, accumulation of the logged
 * losses on the GPU), without the gather and augmentation passes, for the original objective or
 * an enhanced preset ({@link STEP_OBJECTIVES}; consistency's clean forward runs on the same batch).
 */
import { Engine } from "../engine/engine.ts";
import type { Tensor } from "../engine/tensor.ts";
import type { KernelTiming } from "../engine/profiler.ts";
import { scale } from "../engine/ops/elementwise.ts";
import { AdamW } from "../engine/optim/adamw.ts";
import { LatentConditionerImg } from "../conditioner/model.ts";
import { type BatchTensors, type Objective, originalObjective } from "../conditioner/objective.ts";
import {
  stepAccumulator,
  type StepContext,
  trainStep as recordStep,
} from "../conditioner/train_step.ts";
import { EnhancedObjective } from "../conditioner/losses/enhanced_objective.ts";
import { PRESET_NAMES, presetConfig } from "../conditioner/enhanced_config.ts";
import { type StepSpec, stepsPerEpoch } from "./shapes.ts";
import type { EngineSetup } from "./tuned.ts";
import { median, type RepPolicy, repsFor, timestampsTrusted, totalKernelMs } from "./timing.ts";

/** Objectives the step benchmark can run, by name: the original recipe and every preset. */
export const STEP_OBJECTIVES: Record<string, (e: Engine) => Objective> = {
  original: () => originalObjective,
  ...Object.fromEntries(
    PRESET_NAMES.map((p) => [p, (e: Engine) => new EnhancedObjective(e, presetConfig(p), p)]),
  ),
};

/** The maker of the objective named `name`; throws naming the choices for an unknown name. */
export function stepObjective(name: string): (e: Engine) => Objective {
  const make = STEP_OBJECTIVES[name];
  if (!make) {
    throw new Error(
      `bench: unknown objective "${name}" (choose from ${Object.keys(STEP_OBJECTIVES).join(", ")})`,
    );
  }
  return make;
}

/** Gradient clipping norm of the default configuration. */
export const GRAD_CLIP = 10;

/** A model, its optimizer, its objective and one batch on an engine. */
export interface StepSetup extends StepContext {
  params: Tensor[];
  batch: BatchTensors;
  /** Sums of the logged parts, then the gradient norm (as the trainer keeps them). */
  acc: Tensor;
}

/** Builds the model of `spec` with AdamW and a random batch on `e`. */
export function setupStep(e: Engine, spec: StepSpec, objective: Objective): StepSetup {
  const model = new LatentConditionerImg(e, {
    filters: spec.filters,
    imageSize: spec.imageSize,
    seed: 0,
  });
  const params = model.parameters();
  const opt = new AdamW(params, { lr: 1e-3, weightDecay: 1e-2 });
  const b = spec.batch;
  const batch = e.tidy(() => ({
    x: e.rand([b, 1, spec.imageSize, spec.imageSize], { seed: 1 }),
    y1: e.noGrad(() => scale(e.randn([b, 32], { seed: 2 }), 0.3)),
    y2: e.noGrad(() => scale(e.randn([b, 3, 8], { seed: 3 }), 0.3)),
  }));
  model.train();
  const ctx: StepContext = { engine: e, model, opt, objective, gradClip: GRAD_CLIP };
  return { ...ctx, params, batch, acc: stepAccumulator(ctx) };
}

/**
 * Records one training step on the setup's batch (consistency's clean forward runs on the same
 * batch; no readback); call inside `engine.tidy`.
 */
export function trainStep(s: StepSetup): void {
  recordStep(s, s.batch, s.batch, s.acc);
}

/** Kernel time of one profiled step, grouped by shader entry point. */
export interface KernelShare {
  /** "file:entry", e.g. "conv2d:conv_gemm". */
  kernel: string;
  calls: number;
  ms: number;
  /** Fraction of the step's total kernel time. */
  share: number;
}

/** A timed training step. */
export interface StepResult {
  id: string;
  objective: string;
  filters: number[];
  imageSize: number;
  batch: number;
  parameters: number;
  /** Median wall milliseconds of one step (submission + GPU + one sync). */
  ms: number;
  samples: number[];
  samplesPerS: number;
  stepsPerEpoch: number;
  /** stepsPerEpoch * ms, training only (no validation, no data loading). */
  epochS: number;
  /** Bytes of GPU buffers the engine's pool holds after the steps (its high-water mark). */
  peakBytes: number;
  /** Bytes in use between steps (parameters, optimizer state, batch). */
  residentBytes: number;
  /** Wall milliseconds of the first step, which also compiles the kernels. */
  firstStepMs: number;
  /** Sum of kernel GPU times of the profiled step (null without timestamp queries). */
  profiledKernelMs: number | null;
  /** Kernels of the profiled step, slowest first. */
  profile: KernelShare[];
}

/** Options of {@link benchTrainStep}. */
export interface StepBenchOptions extends RepPolicy {
  /** Profile a step with GPU timestamps (default true where they are trusted). */
  profile?: boolean;
  log?: (line: string) => void;
  /** How the fresh engine is set up (e.g. tuned). */
  setup?: EngineSetup;
}

/** Groups a profiler report by "file:entry" (dropping the specialisation constants). */
export function groupProfile(report: readonly KernelTiming[]): KernelShare[] {
  const total = totalKernelMs(report);
  const by = new Map<string, { calls: number; ms: number }>();
  for (const k of report) {
    const name = k.kernel.replace(/\{.*$/, "");
    const v = by.get(name) ?? { calls: 0, ms: 0 };
    v.calls += k.calls;
    v.ms += k.totalMs;
    by.set(name, v);
  }
  return [...by].map(([kernel, v]) => ({ kernel, ...v, share: total ? v.ms / total : 0 }))
    .sort((a, b) => b.ms - a.ms);
}

/**
 * Times training steps of `spec` on a fresh engine (so the pool's size is the step's own
 * footprint): a first step compiles everything, a second is profiled, then timed steps.
 */
export async function benchTrainStep(
  spec: StepSpec,
  options: StepBenchOptions,
): Promise<StepResult> {
  const e = await Engine.create({ seed: 0, tuning: options.setup?.tuning });
  try {
    await options.setup?.prepare?.(e);
    const objective = stepObjective(spec.objective)(e);
    const s = setupStep(e, spec, objective);
    await e.sync();
    const residentBytes = e.memory.inUseBytes;
    const step = () => e.tidy(() => trainStep(s));
    const profile = (options.profile ?? true) && timestampsTrusted(e);
    let t0 = performance.now();
    step();
    await e.sync();
    const firstStepMs = performance.now() - t0;
    // The first step compiles every pipeline (inside the GPU timestamps on llvmpipe, which
    // compiles at first dispatch), so the profile comes from a second step.
    let report: KernelTiming[] = [];
    if (profile) {
      const p = e.startProfiling();
      step();
      await e.sync();
      report = await p.report();
      e.stopProfiling();
    }
    // Everything is compiled and allocated now: every further step is a timed sample (the
    // first one's time also picks how many follow).
    const samples: number[] = [];
    let reps = 1;
    for (let i = 0; i < reps; i++) {
      t0 = performance.now();
      step();
      await e.sync();
      samples.push(performance.now() - t0);
      if (i === 0) reps = repsFor(samples[0], options);
      options.log?.(`    ${spec.id}: step ${i + 1}/${reps} ${samples[i].toFixed(0)} ms`);
    }
    const ms = median(samples);
    const acc = await s.acc.read();
    if (!acc.every(Number.isFinite)) throw new Error(`bench ${spec.id}: the loss is not finite`);
    const spe = stepsPerEpoch(spec.batch);
    return {
      id: spec.id,
      objective: objective.name,
      filters: spec.filters,
      imageSize: spec.imageSize,
      batch: spec.batch,
      parameters: s.model.parameterCount(),
      ms,
      samples,
      samplesPerS: spec.batch / (ms / 1000),
      stepsPerEpoch: spe,
      epochS: (spe * ms) / 1000,
      peakBytes: e.memory.allocatedBytes,
      residentBytes,
      firstStepMs,
      profiledKernelMs: profile ? totalKernelMs(report) : null,
      profile: groupProfile(report),
    };
  } finally {
    e.destroy();
  }
}
