/** The engine: device, memory, kernel dispatch, scopes and autograd entry points. */
import {
  BufferPool,
  type PoolStats,
  type TexelBuffer,
  TEXELS_PER_ROW,
  UniformRing,
} from "./buffers.ts";
import { backendAdvice, type DeviceOptions, type GpuContext, requestGpu } from "./device.ts";
import { type Kernel, KernelCache, type KernelSpec, writeUniforms } from "./kernels.ts";
import {
  checkShape,
  type DType,
  fmtShape,
  type GradNode,
  sizeOf,
  Storage,
  Tensor,
} from "./tensor.ts";
import { runBackward } from "./autograd.ts";
import {
  bucketKey,
  type Family,
  fixedTile,
  resolveTuning,
  type Tile,
  type TunedChoice,
  type Tuning,
  type TuningOption,
} from "./tuning.ts";
import { tune, type TuneCase, type TuneOptions, type TuneReport } from "./autotune.ts";
import { KernelProfiler } from "./profiler.ts";

/** Options for {@link Engine.create}. */
export interface EngineOptions extends DeviceOptions {
  /** Seed of the engine's default random stream (used when an op gets no explicit seed). */
  seed?: number;
  /**
   * Wrap every dispatch in a WebGPU error scope so a validation error names its kernel (instead
   * of the last few kernels). Slows execution noticeably; off by default.
   */
  validate?: boolean;
  /**
   * Kernel tuning ({@link Tuning}): a profile name ("software", "gpu"), overrides laid over the
   * adapter's profile, or "auto" (the adapter's profile; default).
   */
  tuning?: TuningOption;
}

/** Data accepted by {@link Engine.tensor}. */
export type TensorData = ArrayLike<number> | Float32Array | Int32Array | Uint32Array;

/** Options for creating a tensor. */
export interface TensorOptions {
  /** Track gradients for this tensor (a leaf whose `.grad` `backward()` fills). Default false. */
  requiresGrad?: boolean;
  /** Element type. Default "f32". */
  dtype?: DType;
}

/** A value a uniform member can take. */
export type UniformValues = Record<string, number | readonly number[]>;

/** Bytes of per-dispatch uniforms staged before a forced flush. */
const UNIFORM_RING_BYTES = 1 << 20;

/** Anything {@link Engine.tidy} can return: tensors kept, nested in arrays or objects. */
export type Keepable = Tensor | Keepable[] | { [key: string]: Keepable } | unknown;

/**
 * The WebGPU tensor engine. One per device; tensors belong to the engine that made them.
 *
 * Work is recorded into a single open compute pass and submitted when data must move
 * (an upload, a read) or when {@link flush} is called, so a training step costs one submit.
 */
export class Engine {
  /** The adapter and device the engine runs on, with the adapter's description. */
  readonly gpu: GpuContext;
  /** The WebGPU device every buffer and kernel of this engine belongs to. */
  readonly device: GPUDevice;
  /** @internal Size-bucketed buffer pool tensors draw their storage from. */
  readonly pool: BufferPool;
  /** @internal Compiled kernels, by shader file, entry point and constants. */
  readonly kernels: KernelCache;
  /** Every performance knob, resolved for this adapter (see engine/tuning.ts). */
  readonly tuning: Tuning;
  /**
   * Tiles chosen by measurement, by shape bucket ({@link bucketKey}); filled by {@link tune} or
   * from a cache of earlier tuning. Buckets without an entry use the profile's tile.
   */
  readonly tuned: Map<string, TunedChoice> = new Map();
  /** False inside {@link noGrad}: ops record no graph. */
  gradEnabled = true;
  /** Whether each dispatch runs in its own validation error scope ({@link EngineOptions}). */
  readonly validate: boolean;
  /** Dispatches recorded since the engine was created (for profiling). */
  dispatchCount = 0;

  #ring: UniformRing;
  #ringView: DataView;
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  /** The last few kernels dispatched, named in errors WebGPU reports without a scope. */
  #recentKernels: Kernel[] = [];
  #scopes: Set<Tensor>[] = [];
  /** Bytes of texel buffers held for backward rules ({@link keepTexels}). */
  #keptBytes = 0;
  #tensorScope = new WeakMap<Tensor, Set<Tensor>>();
  #seed: number;
  #seedCounter = 0;
  #errors: Promise<GPUError | null>[] = [];
  #errorKernels: string[] = [];
  #uncaptured: string[] = [];
  #destroyed = false;
  #profiler: KernelProfiler | null = null;

  private constructor(gpu: GpuContext, options: EngineOptions) {
    this.gpu = gpu;
    this.device = gpu.device;
    this.pool = new BufferPool(this.device);
    this.tuning = resolveTuning(gpu, options.tuning);
    this.kernels = new KernelCache(this.device, { WG: this.tuning.wg });
    const align = this.device.limits.minUniformBufferOffsetAlignment;
    this.#ring = new UniformRing(this.device, UNIFORM_RING_BYTES, align);
    this.#ringView = new DataView(this.#ring.staging);
    this.#seed = (options.seed ?? 0x5eed) >>> 0;
    this.validate = options.validate ?? false;
    this.kernels.target = {
      name: `the ${gpu.backend.backend} backend (${gpu.description})`,
      advice: backendAdvice(gpu.backend.backend),
    };
    this.device.addEventListener("uncapturederror", (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.#uncaptured.push(e.message);
    });
  }

  /** Requests a GPU device. Throws an explanatory error without WebGPU. */
  static async create(options: EngineOptions = {}): Promise<Engine> {
    const gpu = await requestGpu(options);
    try {
      return new Engine(gpu, options);
    } catch (e) {
      gpu.device.destroy(); // an invalid tuning, say: the device is not left behind
      throw e;
    }
  }

  // ---------------------------------------------------------------- tensors

  /** A tensor from CPU data (f32 unless `dtype` says otherwise). */
  tensor(data: TensorData, shape: readonly number[], options: TensorOptions = {}): Tensor {
    checkShape("tensor", shape);
    const n = sizeOf(shape);
    if (data.length !== n) {
      throw new Error(
        `tensor: data has ${data.length} values but shape ${fmtShape(shape)} needs ${n}`,
      );
    }
    const dtype = options.dtype ?? "f32";
    const t = this.empty(shape, dtype, options.requiresGrad ?? false);
    const typed = dtype === "f32"
      ? Float32Array.from(data)
      : dtype === "i32"
      ? Int32Array.from(data)
      : Uint32Array.from(data);
    this.write(t, typed);
    return t;
  }

  /** A tensor of zeros. */
  zeros(shape: readonly number[], options: TensorOptions = {}): Tensor {
    return this.full(shape, 0, options);
  }

  /** A tensor of ones. */
  ones(shape: readonly number[], options: TensorOptions = {}): Tensor {
    return this.full(shape, 1, options);
  }

  /** A tensor filled with `value`. */
  full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
    checkShape("full", shape);
    const t = this.empty(shape, options.dtype ?? "f32", options.requiresGrad ?? false);
    this.fill(t, value);
    return t;
  }

  /** Uniform random numbers in [0, 1) from a counter-based (Philox) GPU generator. */
  rand(shape: readonly number[], options: TensorOptions & { seed?: number } = {}): Tensor {
    return this.#random("uniform", shape, options);
  }

  /** Standard normal random numbers (Box–Muller over Philox). */
  randn(shape: readonly number[], options: TensorOptions & { seed?: number } = {}): Tensor {
    return this.#random("normal", shape, options);
  }

  #random(
    kind: "uniform" | "normal",
    shape: readonly number[],
    options: TensorOptions & { seed?: number },
  ): Tensor {
    checkShape(kind === "uniform" ? "rand" : "randn", shape);
    const t = this.empty(shape, "f32", options.requiresGrad ?? false);
    const seed = options.seed ?? this.nextSeed();
    this.run(
      { file: "random", entry: kind === "uniform" ? "fill_uniform" : "fill_normal" },
      { dst: t },
      { n: t.size, seed: seed >>> 0, stream: 0 },
      this.grid(t.size),
    );
    return t;
  }

  /** The next seed of the engine's default stream (deterministic given the engine seed). */
  nextSeed(): number {
    let x = (this.#seed + Math.imul(0x9e3779b9, ++this.#seedCounter)) >>> 0;
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
    return (x ^ (x >>> 16)) >>> 0;
  }

  /** @internal An uninitialised tensor from the pool, tracked by the current scope. */
  empty(shape: readonly number[], dtype: DType = "f32", requiresGrad = false): Tensor {
    this.#alive();
    const bytes = Math.max(4, sizeOf(shape) * 4);
    const t = new Tensor(this, new Storage(this.pool.acquire(bytes)), shape, dtype, requiresGrad);
    this.#track(t);
    return t;
  }

  /** @internal A new tensor object over the same storage (reshape, detach). */
  view(t: Tensor, shape: readonly number[], requiresGrad = false): Tensor {
    const v = new Tensor(this, t.shareStorage(), shape, t.dtype, requiresGrad);
    this.#track(v);
    return v;
  }

  /**
   * @internal Allocates one buffer holding tensors of the given shapes back to back (each slice
   * aligned for binding), so a single kernel can update all of them (optimizers).
   */
  packed(shapes: readonly (readonly number[])[]): { tensors: Tensor[]; whole: Tensor } {
    const align = Math.max(4, this.device.limits.minStorageBufferOffsetAlignment);
    const offsets: number[] = [];
    let bytes = 0;
    for (const shape of shapes) {
      offsets.push(bytes);
      bytes += Math.ceil(Math.max(4, sizeOf(shape) * 4) / align) * align;
    }
    const whole = this.empty([bytes / 4]);
    this.fill(whole, 0);
    const root = whole.storage("packed");
    const tensors = shapes.map((shape, i) => {
      root.refs++;
      const t = new Tensor(this, new Storage(root.buffer, offsets[i], root), shape, "f32", false);
      this.#track(t);
      return t;
    });
    return { tensors, whole };
  }

  /**
   * @internal A texel buffer of at least `texels` vec4s from the pool (GEMM operands); give it
   * back with {@link releaseTexels} once the kernels reading it are recorded.
   */
  texels(texels: number, what: string): TexelBuffer {
    this.#alive();
    return this.pool.acquireTexels(texels, what);
  }

  /**
   * @internal Records a copy of the first `texels` vec4s of `src` into texel buffer `dst`
   * (whole texture rows, then the partial last row).
   */
  copyToTexels(src: Tensor, texels: number, dst: TexelBuffer): void {
    this.#alive();
    const from = src.binding("copyToTexels");
    if (texels * 16 > from.size || texels > dst.texels) {
      throw new Error(
        `copyToTexels: ${texels} vec4s do not fit ${fmtShape(src.shape)} or the texel buffer`,
      );
    }
    this.#endPass();
    const encoder = this.#encoderOpen();
    const full = Math.floor(texels / TEXELS_PER_ROW);
    const rest = texels % TEXELS_PER_ROW;
    const bytesPerRow = TEXELS_PER_ROW * 16;
    if (full > 0) {
      encoder.copyBufferToTexture(
        { buffer: from.buffer, offset: from.offset, bytesPerRow },
        { texture: dst.texture },
        [TEXELS_PER_ROW, full],
      );
    }
    if (rest > 0) {
      encoder.copyBufferToTexture(
        { buffer: from.buffer, offset: from.offset + full * bytesPerRow, bytesPerRow },
        { texture: dst.texture, origin: [0, full] },
        [rest, 1],
      );
    }
  }

  /** @internal Returns a texel buffer to the pool (later dispatches may reuse it). */
  releaseTexels(t: TexelBuffer): void {
    this.pool.releaseTexels(t);
  }

  /** @internal Called by {@link Tensor.dispose}. */
  releaseStorage(s: Storage): void {
    if (--s.refs > 0) return;
    if (s.parent) this.releaseStorage(s.parent);
    else this.pool.release(s.buffer);
  }

  /** @internal Overwrites a tensor's contents from the CPU. */
  write(t: Tensor, data: Float32Array | Int32Array | Uint32Array): void {
    if (data.length !== t.size) {
      throw new Error(`write: ${data.length} values for ${fmtShape(t.shape)}`);
    }
    // Queue writes run before any not-yet-submitted work, which may still use this buffer.
    this.flush();
    const dst = t.binding("write");
    this.device.queue.writeBuffer(dst.buffer, dst.offset, data as Float32Array<ArrayBuffer>);
  }

  /** @internal Sets every element to `value` on the GPU. */
  fill(t: Tensor, value: number): void {
    const bits = t.dtype === "f32" ? f32Bits(value) : value >>> 0;
    this.run({ file: "elementwise", entry: "fill", defines: { OP: 0 } }, { dst_bits: t }, {
      n: t.size,
      bits,
    }, this.grid(t.size));
  }

  /** Reads a tensor back to the CPU (waits for all queued work). */
  async read(t: Tensor): Promise<Float32Array> {
    return (await this.readAll([t]))[0];
  }

  /**
   * Reads several tensors with one copy pass and one wait (a wait costs ~10 ms in Deno, so
   * reading a model's 100 tensors one by one would cost a second).
   */
  async readAll(tensors: readonly Tensor[]): Promise<Float32Array[]> {
    const offsets: number[] = [];
    let total = 0;
    for (const t of tensors) {
      offsets.push(total);
      total += Math.max(4, t.size * 4);
    }
    const staging = this.device.createBuffer({
      size: Math.max(4, total),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.#endPass();
    const encoder = this.#encoderOpen();
    tensors.forEach((t, i) => {
      const src = t.binding("read");
      encoder.copyBufferToBuffer(src.buffer, src.offset, staging, offsets[i], src.size);
    });
    this.flush();
    await staging.mapAsync(GPUMapMode.READ);
    const raw = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    await this.checkErrors();
    return tensors.map((t, i) => {
      if (t.dtype === "f32") return new Float32Array(raw, offsets[i], t.size);
      const ints = t.dtype === "i32"
        ? new Int32Array(raw, offsets[i], t.size)
        : new Uint32Array(raw, offsets[i], t.size);
      return Float32Array.from(ints);
    });
  }

  /** Waits until the GPU has finished all submitted work; throws any pending GPU error. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  /**
   * Throws the first WebGPU error seen since the last check, naming the kernel. A kernel that
   * does not compile is reported alone: the errors its invalid pipeline caused are dropped.
   */
  async checkErrors(): Promise<void> {
    const errors = this.#errors;
    const names = this.#errorKernels;
    this.#errors = [];
    this.#errorKernels = [];
    try {
      await this.kernels.check();
    } catch (e) {
      this.#uncaptured = [];
      throw e;
    }
    const results = await Promise.all(errors);
    const i = results.findIndex((e) => e !== null);
    if (i >= 0) {
      this.#uncaptured = [];
      throw new Error(`WebGPU validation error in kernel ${names[i]}: ${results[i]!.message}`);
    }
    if (this.#uncaptured.length) {
      const messages = summarize(this.#uncaptured);
      this.#uncaptured = [];
      throw new Error(
        `WebGPU error (recent kernels: ${
          this.#recentKernels.map((k) => `${k.name} (${k.file})`).join(", ")
        }):\n${messages}`,
      );
    }
  }

  // ---------------------------------------------------------------- dispatch

  /**
   * @internal Records one compute dispatch. `bindings` maps the shader's variable names to
   * tensors or buffers; `uniforms` maps the uniform struct's member names to values.
   */
  run(
    spec: KernelSpec,
    bindings: Record<string, Tensor | GPUBuffer | TexelBuffer>,
    uniforms: UniformValues,
    groups: readonly number[],
  ): void {
    this.#alive();
    const kernel = this.kernels.get(spec);
    const entries: GPUBindGroupEntry[] = [];
    const bound = (name: string) => {
      const b = bindings[name];
      if (!b) throw new Error(`kernel ${kernel.name}: nothing bound to "${name}"`);
      return b;
    };
    for (const [name, info] of kernel.storage) {
      const b = bound(name);
      const resource = b instanceof Tensor
        ? b.binding(kernel.name)
        : "view" in b
        ? b.view
        : { buffer: b };
      entries.push({ binding: info.binding, resource });
    }
    if (kernel.uniform) {
      entries.push({
        binding: kernel.uniform.binding,
        resource: this.#uniformSlice(kernel, uniforms),
      });
    }
    const [x, y = 1, z = 1] = groups;
    if (x === 0 || y === 0 || z === 0) return;
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new Error(
        `kernel ${kernel.name}: grid [${x}, ${y}, ${z}] exceeds ${max} workgroups per dimension`,
      );
    }
    if (this.validate) this.device.pushErrorScope("validation");
    const bindGroup = this.device.createBindGroup({ layout: kernel.layout, entries });
    if (this.#profiler?.full) this.flush();
    const pass = this.#profiler
      ? (this.#endPass(), this.#pass = this.#profiler.beginPass(this.#encoderOpen(), kernel.name))
      : this.#passOpen();
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    if (this.validate) {
      this.#errors.push(this.device.popErrorScope());
      this.#errorKernels.push(`${kernel.name} (${kernel.file})`);
    }
    this.#recentKernels.push(kernel);
    if (this.#recentKernels.length > 5) this.#recentKernels.shift();
    this.dispatchCount++;
  }

  /** @internal The tile a GEMM kernel of `family` uses for an M x N x K product. */
  tileFor(family: Family, m: number, n: number, k: number): Tile {
    return this.tuned.get(bucketKey(family, m, n, k))?.tile ?? fixedTile(this.tuning, family);
  }

  /**
   * Times a few register tiles for each GEMM family and shape bucket of `cases` not tuned yet and
   * keeps the fastest in {@link tuned} (the profile's tile unless another is clearly faster).
   * Syncs the device many times: call it before training, not inside a step.
   */
  tune(cases: readonly TuneCase[], options: TuneOptions = {}): Promise<TuneReport[]> {
    return tune(this, cases, options);
  }

  /** Workgroup counts for `n` threads of a 1-D kernel with workgroup size `wg` (2-D when large). */
  grid(n: number, wg: number = this.tuning.wg): [number, number] {
    const groups = Math.max(1, Math.ceil(n / wg));
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (groups <= max) return [groups, 1];
    const y = Math.ceil(groups / max);
    return [Math.ceil(groups / y), y];
  }

  #uniformSlice(kernel: Kernel, values: UniformValues): GPUBufferBinding {
    const size = kernel.uniform!.size;
    let offset = this.#ring.reserve(size);
    if (offset < 0) {
      this.flush();
      offset = this.#ring.reserve(size);
    }
    new Uint8Array(this.#ring.staging, offset, size).fill(0);
    writeUniforms(kernel, this.#ringView, offset, values);
    return { buffer: this.#ring.buffer, offset, size };
  }

  #encoderOpen(): GPUCommandEncoder {
    return this.#encoder ??= this.device.createCommandEncoder();
  }

  #passOpen(): GPUComputePassEncoder {
    return this.#pass ??= this.#encoderOpen().beginComputePass();
  }

  #endPass(): void {
    this.#pass?.end();
    this.#pass = null;
  }

  /** Submits all recorded work to the GPU queue (does not wait). */
  flush(): void {
    if (!this.#encoder) return;
    this.#endPass();
    const afterSubmit = this.#profiler?.resolve(this.#encoder);
    this.#ring.upload(this.device.queue);
    this.device.queue.submit([this.#encoder.finish()]);
    afterSubmit?.();
    this.#encoder = null;
  }

  // ---------------------------------------------------------------- scopes and autograd

  /**
   * Runs `fn` and disposes every tensor created inside it except those it returns (found in
   * arrays and plain objects) and those passed to {@link keep}. Like `tf.tidy`; `fn` must be sync.
   */
  tidy<T extends Keepable>(fn: () => T): T {
    const scope = new Set<Tensor>();
    this.#scopes.push(scope);
    let result: T;
    try {
      result = fn();
      if (result instanceof Promise) throw new Error("tidy: the function must not be async");
    } finally {
      this.#scopes.pop();
    }
    const keep = new Set<Tensor>();
    collectTensors(result, keep);
    const parent = this.#scopes.at(-1);
    for (const t of scope) {
      if (keep.has(t)) {
        this.#tensorScope.delete(t);
        if (parent) this.#track(t);
      } else {
        t.dispose();
      }
    }
    return result;
  }

  /** Excludes a tensor from the enclosing {@link tidy} scopes (it lives until disposed). */
  keep<T extends Tensor>(t: T): T {
    this.#tensorScope.get(t)?.delete(t);
    this.#tensorScope.delete(t);
    return t;
  }

  /** Runs `fn` without recording gradients (like `torch.no_grad()`). */
  noGrad<T>(fn: () => T): T {
    const prev = this.gradEnabled;
    this.gradEnabled = false;
    try {
      return fn();
    } finally {
      this.gradEnabled = prev;
    }
  }

  /**
   * @internal Runs an op built from other ops. Without gradients its intermediates are freed at
   * once; with gradients they are saved for backward and live in the caller's scope.
   */
  composite(inputs: readonly Tensor[], fn: () => Tensor): Tensor {
    if (this.gradEnabled && inputs.some((t) => t.requiresGrad)) return fn();
    return this.tidy(fn);
  }

  /**
   * @internal Attaches a backward rule to `out` when any input needs a gradient; `release` frees
   * what the rule holds beyond its inputs (see {@link GradNode.release}), at once when no rule is
   * attached.
   */
  record(
    out: Tensor,
    op: string,
    inputs: Tensor[],
    backward: GradNode["backward"],
    release?: () => void,
  ): Tensor {
    if (this.gradEnabled && inputs.some((t) => t.requiresGrad)) {
      out.requiresGrad = true;
      out.node = { op, inputs, backward, release };
    } else {
      release?.();
    }
    return out;
  }

  /**
   * @internal Whether texel buffer `t` may be kept past its op for a backward rule within
   * `budgets.keptInputsMiB`; when true it counts against that budget until
   * {@link releaseKeptTexels}.
   */
  keepTexels(t: TexelBuffer): boolean {
    const bytes = t.texels * 16;
    if (this.#keptBytes + bytes > this.tuning.budgets.keptInputsMiB * 2 ** 20) return false;
    this.#keptBytes += bytes;
    return true;
  }

  /** @internal Returns a texel buffer kept with {@link keepTexels} to the pool. */
  releaseKeptTexels(t: TexelBuffer): void {
    this.#keptBytes -= t.texels * 16;
    this.releaseTexels(t);
  }

  /** @internal See {@link Tensor.backward}. */
  backward(root: Tensor): void {
    runBackward(this, root);
  }

  #track(t: Tensor): void {
    const scope = this.#scopes.at(-1);
    if (scope) {
      scope.add(t);
      this.#tensorScope.set(t, scope);
    }
  }

  /**
   * Starts timing every dispatch with GPU timestamps (see {@link KernelProfiler}); returns the
   * profiler, whose `report()` lists kernels by total GPU time.
   */
  startProfiling(): KernelProfiler {
    this.flush();
    return this.#profiler ??= new KernelProfiler(this.device);
  }

  /** Stops per-dispatch timing. */
  stopProfiling(): void {
    this.flush();
    this.#profiler = null;
  }

  /** Pool counters (allocated bytes stay flat in steady state). */
  get memory(): PoolStats {
    return this.pool.stats;
  }

  /** Releases the device. The engine cannot be used afterwards. */
  destroy(): void {
    if (this.#destroyed) return;
    this.flush();
    this.pool.trim();
    this.#ring.buffer.destroy();
    this.device.destroy();
    this.#destroyed = true;
  }

  /**
   * Waits for the GPU to finish the submitted work, then releases the device like
   * {@link destroy}. `timeoutMs` bounds the wait where the runtime's wait yields to timers (in
   * Deno the wait blocks the event loop until the queue is done, so it always finishes). Use it on the way out of a program: a process that exits while
   * a software driver (Mesa's lavapipe) still runs queued work can crash in its exit handlers.
   */
  async close(timeoutMs = 30_000): Promise<void> {
    if (this.#destroyed) return;
    this.flush();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs));
    await Promise.race([this.device.queue.onSubmittedWorkDone(), timeout]).catch(() => {});
    clearTimeout(timer);
    this.destroy();
  }

  #alive(): void {
    if (this.#destroyed) throw new Error("engine was destroyed");
  }
}

/** Distinct messages in order of first appearance, with repeat counts, at most five. */
function summarize(messages: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m, (counts.get(m) ?? 0) + 1);
  const lines = [...counts].slice(0, 5).map(([m, n]) => (n > 1 ? `${m} (${n} times)` : m));
  if (counts.size > 5) lines.push(`... and ${counts.size - 5} other messages`);
  return lines.join("\n");
}

function collectTensors(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) { for (const v of value) collectTensors(v, into); }
  else if (
    value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype
  ) {
    for (const v of Object.values(value)) collectTensors(v, into);
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function f32Bits(v: number): number {
  f32[0] = v;
  return u32[0];
}
