/** Module: named parameters, buffers and children, with PyTorch's state_dict naming. */
import type { Engine } from "../engine.ts";
import type { Tensor } from "../tensor.ts";

/** Base class of layers and models. Subclasses register state in their constructor. */
export abstract class Module {
  /** The engine the module's tensors live on. */
  readonly engine: Engine;
  /** Training mode (dropout active, batch statistics, spectral-norm power iteration). */
  training = true;
  #params = new Map<string, Tensor>();
  #buffers = new Map<string, Tensor>();
  #children = new Map<string, Module>();

  /** Creates an empty module; subclasses register their state after calling it. */
  constructor(engine: Engine) {
    this.engine = engine;
  }

  /** Registers a trainable tensor under `name` (it gets `requiresGrad` and outlives scopes). */
  protected param(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    this.#params.set(name, this.engine.keep(t));
    return t;
  }

  /** Registers a non-trainable state tensor (running stats, spectral-norm vectors). */
  protected buffer(name: string, t: Tensor): Tensor {
    this.#buffers.set(name, this.engine.keep(t));
    return t;
  }

  /** Registers a child module; its state is named `name.<child key>`. */
  protected child<M extends Module>(name: string, m: M): M {
    this.#children.set(name, m);
    return m;
  }

  /** @internal Removes a parameter (used when spectral norm renames `weight`). */
  protected unregisterParam(name: string): void {
    this.#params.delete(name);
  }

  /** Parameters with dotted names, in PyTorch's order (own first, then children). */
  namedParameters(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [k, t] of this.#params) out.push([prefix + k, t]);
    for (const [k, m] of this.#children) out.push(...m.namedParameters(`${prefix}${k}.`));
    return out;
  }

  /** Buffers with dotted names. */
  namedBuffers(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [k, t] of this.#buffers) out.push([prefix + k, t]);
    for (const [k, m] of this.#children) out.push(...m.namedBuffers(`${prefix}${k}.`));
    return out;
  }

  /** Every tensor of `state_dict()`, in PyTorch's order: per module params, buffers, children. */
  stateDict(prefix = ""): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [k, t] of this.#params) out.set(prefix + k, t);
    for (const [k, t] of this.#buffers) out.set(prefix + k, t);
    for (const [k, m] of this.#children) {
      for (const [ck, t] of m.stateDict(`${prefix}${k}.`)) out.set(ck, t);
    }
    return out;
  }

  /** All trainable tensors. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Number of trainable values. */
  parameterCount(): number {
    return this.parameters().reduce((s, t) => s + t.size, 0);
  }

  /** Child modules by name. */
  children(): [string, Module][] {
    return [...this.#children];
  }

  /** Sets training mode here and in every child. */
  train(mode = true): this {
    this.training = mode;
    for (const m of this.#children.values()) m.train(mode);
    return this;
  }

  /** Evaluation mode (same as `train(false)`). */
  eval(): this {
    return this.train(false);
  }

  /** Frees and clears the gradient of every parameter. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.clearGrad();
  }

  /** Frees all parameters and buffers. */
  dispose(): void {
    for (const t of this.stateDict().values()) t.dispose();
  }
}

/** A module with a single-tensor forward. */
export abstract class Layer extends Module {
  /** Computes the layer's output for `x`. */
  abstract forward(x: Tensor): Tensor;
}

/** Runs layers in order; children are named "0", "1", ... like torch.nn.Sequential. */
export class Sequential extends Layer {
  /** The layers, in the order they run. */
  readonly layers: Layer[];
  /** Registers `layers` as children "0", "1", .... */
  constructor(engine: Engine, layers: Layer[]) {
    super(engine);
    this.layers = layers;
    layers.forEach((l, i) => this.child(String(i), l));
  }
  /** Feeds `x` through every layer in turn. */
  forward(x: Tensor): Tensor {
    let h = x;
    for (const l of this.layers) h = l.forward(h);
    return h;
  }
}

/** Holds modules under "0", "1", ... without a forward of its own (torch.nn.ModuleList). */
export class ModuleList<M extends Module = Module> extends Module {
  /** The modules, in order. */
  readonly items: M[];
  /** Registers `items` as children "0", "1", .... */
  constructor(engine: Engine, items: M[]) {
    super(engine);
    this.items = items;
    items.forEach((m, i) => this.child(String(i), m));
  }
}
