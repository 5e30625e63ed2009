/** Tensor: a shape, a reference to GPU storage, and autograd bookkeeping. */
import type { Engine } from "./engine.ts";

/** Element types. Everything user-facing is f32; integer types are used internally (indices). */
export type DType = "f32" | "i32" | "u32";

/**
 * GPU memory shared by a tensor and its views (reshape, detach); freed when the last goes.
 * A storage is either a whole pooled buffer or a slice of a parent storage (packed parameters).
 */
export class Storage {
  readonly buffer: GPUBuffer;
  /** Byte offset into `buffer` (a multiple of the device's storage offset alignment). */
  readonly offset: number;
  /** The storage this one is a slice of; it stays alive while the slice does. */
  readonly parent: Storage | null;
  refs = 1;
  constructor(buffer: GPUBuffer, offset = 0, parent: Storage | null = null) {
    this.buffer = buffer;
    this.offset = offset;
    this.parent = parent;
  }
}

/** How a tensor was computed: the inputs and the rule that turns its gradient into theirs. */
export interface GradNode {
  /** Op name, used in error messages. */
  op: string;
  inputs: Tensor[];
  /** Gradient of each input (null where an input needs none), given the output's gradient. */
  backward: (grad: Tensor) => (Tensor | null)[];
  /**
   * Frees what the rule holds beyond its input tensors (a packed copy of an input), called when
   * the output is disposed, whether or not the rule ran.
   */
  release?: () => void;
}

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Formats a shape like PyTorch: [2, 3]. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

let nextId = 1;

/** An n-dimensional, contiguous array on the GPU. Create tensors through an {@link Engine}. */
export class Tensor {
  /** Unique id, for debugging. */
  readonly id: number = nextId++;
  /** The engine that owns this tensor's storage. */
  readonly engine: Engine;
  /** Dimensions, outermost first; `[]` for a scalar. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** True for leaves the user wants gradients of and for results computed from them. */
  requiresGrad: boolean;
  /** Accumulated gradient of a leaf after {@link Tensor.backward}. */
  grad: Tensor | null = null;
  /**
   * @internal The op that produced this tensor (null for leaves and when no gradient was
   * needed).
   */
  node: GradNode | null = null;
  /**
   * @internal Preallocated gradient storage (a slice of an optimizer's packed gradient buffer):
   * backward accumulates into it instead of allocating.
   */
  gradSlot: Tensor | null = null;
  #storage: Storage | null;

  /** @internal Use the engine's factory methods instead. */
  constructor(
    engine: Engine,
    storage: Storage,
    shape: readonly number[],
    dtype: DType,
    requiresGrad: boolean,
  ) {
    this.engine = engine;
    this.#storage = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = sizeOf(shape);
    this.requiresGrad = requiresGrad;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** True once {@link dispose} has run. */
  get disposed(): boolean {
    return this.#storage === null;
  }

  /** A leaf that requires grad (where `backward()` stores `.grad`). */
  get isLeaf(): boolean {
    return this.node === null;
  }

  /** @internal The storage; throws if the tensor was disposed. */
  storage(op = "use"): Storage {
    if (!this.#storage) {
      throw new Error(`${op}: tensor #${this.id} of shape ${fmtShape(this.shape)} was disposed`);
    }
    return this.#storage;
  }

  /** @internal The bytes holding the data, as a binding for a kernel or a copy. */
  binding(op = "use"): GPUBufferBinding & { offset: number; size: number } {
    const s = this.storage(op);
    return { buffer: s.buffer, offset: s.offset, size: Math.max(4, this.size * 4) };
  }

  /** @internal Points this tensor at other storage of the same size (used to pack parameters). */
  rebind(storage: Storage): void {
    const old = this.storage("rebind");
    this.#storage = storage;
    this.engine.releaseStorage(old);
  }

  /** Copies the data to the CPU. This waits for the GPU: do it rarely (once per epoch, not per op). */
  read(): Promise<Float32Array> {
    return this.engine.read(this);
  }

  /** Reads a one-element tensor as a number. */
  async item(): Promise<number> {
    if (this.size !== 1) {
      throw new Error(`item: tensor has shape ${fmtShape(this.shape)}, not one element`);
    }
    return (await this.read())[0];
  }

  /** Reverse-mode autodiff from this scalar; leaves with `requiresGrad` accumulate into `.grad`. */
  backward(): void {
    this.engine.backward(this);
  }

  /** Clears `.grad` (freeing it unless it is an optimizer's preallocated slot). */
  clearGrad(): void {
    if (this.grad && this.grad !== this.gradSlot) this.grad.dispose();
    this.grad = null;
  }

  /** A tensor sharing this one's data, cut from the autograd graph. */
  detach(): Tensor {
    return this.engine.view(this, this.shape, false);
  }

  /** Frees the GPU memory now (it returns to the pool once no view uses it). Safe to call twice. */
  dispose(): void {
    const s = this.#storage;
    if (!s) return;
    this.#storage = null;
    this.node?.release?.();
    this.node = null;
    this.engine.releaseStorage(s);
  }

  /** @internal Shares storage with another tensor (views). */
  shareStorage(): Storage {
    const s = this.storage("view");
    s.refs++;
    return s;
  }

  /** A short description for debugging: id, shape, dtype and whether it requires grad. */
  toString(): string {
    return `Tensor(#${this.id}, ${fmtShape(this.shape)}, ${this.dtype}${
      this.requiresGrad ? ", requiresGrad" : ""
    })`;
  }
}

/** Throws unless every dimension is a non-negative integer. */
export function checkShape(op: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(
      `${op}: invalid shape ${fmtShape(shape as number[])}: sizes must be non-negative integers`,
    );
  }
}
