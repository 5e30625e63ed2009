/** AdamW (decoupled weight decay) updating every parameter in one fused dispatch. */
import type { Tensor } from "../tensor.ts";
import type { HostTensor } from "../nn/safetensors.ts";
import { ParamPack } from "./pack.ts";

/** Options for {@link AdamW}; defaults are PyTorch's. */
export interface AdamWOptions {
  /** Learning rate. Default 1e-3. */
  lr?: number;
  /** Decay rates of the first and second moment averages. Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Added to the denominator for numerical stability. Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay coefficient. Default 1e-2. */
  weightDecay?: number;
}

/**
 * torch.optim.AdamW. Creating it packs the parameters (and their gradients, and the two moment
 * buffers) into single GPU buffers, so `step()` is one dispatch whatever the model's size.
 */
export class AdamW {
  /** @internal The packed parameters, gradients and offsets. */
  readonly pack: ParamPack;
  /** Learning rate of the next step (set it to apply a schedule). */
  lr: number;
  /** Decay rates of the first and second moment averages. */
  readonly betas: [number, number];
  /** Added to the denominator for numerical stability. */
  readonly eps: number;
  /** Decoupled weight decay coefficient. */
  readonly weightDecay: number;
  /** Number of steps taken (PyTorch's `state['step']`). */
  stepCount = 0;
  /** First moments of all parameters, packed like their values. */
  readonly expAvg: Tensor;
  /** Second moments of all parameters, packed like their values. */
  readonly expAvgSq: Tensor;

  /**
   * Packs `params` (leaf f32 tensors not owned by another optimizer) and zeroes both moments.
   * Throws on an invalid lr or betas.
   */
  constructor(params: Tensor[], options: AdamWOptions = {}) {
    this.lr = options.lr ?? 1e-3;
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 1e-2;
    if (!(this.lr >= 0)) throw new Error(`AdamW: lr must be >= 0, got ${this.lr}`);
    if (this.betas.some((b) => !(b >= 0 && b < 1))) {
      throw new Error(`AdamW: betas must be in [0, 1), got ${this.betas}`);
    }
    this.pack = new ParamPack(params);
    const e = this.pack.engine;
    this.expAvg = e.keep(e.zeros([this.pack.length]));
    this.expAvgSq = e.keep(e.zeros([this.pack.length]));
  }

  /** The parameters, in the order given. */
  get params(): Tensor[] {
    return this.pack.params;
  }

  /** One update of every parameter with a gradient (recorded on the GPU; no readback). */
  step(): void {
    const missing = this.pack.params.filter((p) => p.grad !== p.gradSlot);
    if (missing.length === this.pack.params.length) return;
    if (missing.length) {
      // PyTorch skips parameters without a gradient; a zero gradient would still decay them.
      throw new Error(
        `AdamW: ${missing.length} of ${this.pack.params.length} parameters have no gradient; all must take part in each step`,
      );
    }
    this.stepCount++;
    const [b1, b2] = this.betas;
    const e = this.pack.engine;
    const n = this.pack.length;
    e.run({ file: "optim", entry: "adamw" }, {
      param: this.pack.values,
      grad: this.pack.grads,
      exp_avg: this.expAvg,
      exp_avg_sq: this.expAvgSq,
    }, {
      n,
      lr: this.lr,
      beta1: b1,
      beta2: b2,
      eps: this.eps,
      weight_decay: this.weightDecay,
      bias_correction1: 1 - b1 ** this.stepCount,
      bias_correction2_sqrt: Math.sqrt(1 - b2 ** this.stepCount),
    }, e.grid(n));
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.pack.params) p.clearGrad();
  }

  /** Optimizer state for checkpoints: both moments per parameter, plus the step count. */
  async stateDict(): Promise<{ tensors: Map<string, HostTensor>; step: number; lr: number }> {
    const tensors = new Map<string, HostTensor>();
    const [m, v] = await this.pack.engine.readAll([this.expAvg, this.expAvgSq]);
    this.pack.params.forEach((p, i) => {
      const at = this.pack.offsets[i];
      tensors.set(`${i}.exp_avg`, { shape: [...p.shape], data: m.slice(at, at + p.size) });
      tensors.set(`${i}.exp_avg_sq`, { shape: [...p.shape], data: v.slice(at, at + p.size) });
    });
    return { tensors, step: this.stepCount, lr: this.lr };
  }

  /**
   * Checks what {@link loadStateDict} would load without loading it: every moment present with
   * its parameter's size, and a non-negative integer step. One error lists every problem.
   * @param source Names the state in the error, e.g. the checkpoint file.
   */
  checkStateDict(
    state: { tensors: Map<string, HostTensor>; step: number },
    source = "AdamW state",
  ): void {
    const problems: string[] = [];
    this.pack.params.forEach((p, i) => {
      for (const key of ["exp_avg", "exp_avg_sq"]) {
        const t = state.tensors.get(`${i}.${key}`);
        if (!t || t.data.length !== p.size) {
          problems.push(
            `"${i}.${key}" is ${
              t ? `${t.data.length} values` : "missing"
            }, parameter ${i} has ${p.size}`,
          );
        }
      }
    });
    if (!(Number.isInteger(state.step) && state.step >= 0)) {
      problems.push(`step must be a non-negative integer, got ${state.step}`);
    }
    if (problems.length) throw new Error(`${source}: ${problems.join("; ")}`);
  }

  /** Restores what {@link stateDict} saved; nothing changes unless {@link checkStateDict} passes. */
  loadStateDict(state: { tensors: Map<string, HostTensor>; step: number; lr?: number }): void {
    this.checkStateDict(state);
    const m = new Float32Array(this.pack.length);
    const v = new Float32Array(this.pack.length);
    this.pack.params.forEach((_, i) => {
      m.set(state.tensors.get(`${i}.exp_avg`)!.data, this.pack.offsets[i]);
      v.set(state.tensors.get(`${i}.exp_avg_sq`)!.data, this.pack.offsets[i]);
    });
    const e = this.pack.engine;
    e.write(this.expAvg, m);
    e.write(this.expAvgSq, v);
    this.stepCount = state.step;
    if (state.lr !== undefined) this.lr = state.lr;
  }
}
