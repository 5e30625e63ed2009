/** GPU memory: a size-bucketed buffer pool and a ring for per-dispatch uniforms. */

const STORAGE_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/**
 * Rounds a byte size up to its bucket: multiples of 256 B up to 4 KiB, then eight buckets per
 * power of two, so a reused buffer wastes at most 12.5%.
 */
export function bucketSize(bytes: number): number {
  const b = Math.max(256, bytes);
  if (b <= 4096) return Math.ceil(b / 256) * 256;
  const pow = 2 ** Math.floor(Math.log2(b));
  const step = pow / 8;
  return Math.ceil(b / step) * step;
}

/** Counters that show whether steady-state work allocates. */
export interface PoolStats {
  /** Bytes of every GPU buffer the pool has created and not destroyed. */
  allocatedBytes: number;
  /** Bytes currently handed out. */
  inUseBytes: number;
  /** Number of `createBuffer` calls so far. */
  creations: number;
}

/** Texels per row of a {@link TexelBuffer} (shaders/common.wgsl `texel_coord` assumes 4096). */
export const TEXELS_PER_ROW = 4096;
/** Bytes of one texel-buffer row (rgba32float). */
const TEXEL_ROW_BYTES = TEXELS_PER_ROW * 16;

/**
 * A 1-D array of vec4s held in an rgba32float texture, `TEXELS_PER_ROW` texels per row: element
 * i is texel (i % TEXELS_PER_ROW, i / TEXELS_PER_ROW), filled by a buffer-to-texture copy
 * (`Engine.copyToTexels`) and bound as a read-only storage texture. GEMM kernels read their
 * packed operands from these because on llvmpipe a texture load is one vector gather while a
 * storage-buffer load is a loop over the SIMD lanes; read-only storage textures are cheaper
 * still than sampled ones (no mip-level path): matmul 1024^3 at 8x4 tiles, 67.7 GFLOP/s against
 * 46.7 through `texture_2d`.
 */
export interface TexelBuffer {
  readonly texture: GPUTexture;
  readonly view: GPUTextureView;
  /** Capacity in vec4s. */
  readonly texels: number;
}

const TEXEL_USAGE = GPUTextureUsage.COPY_DST | GPUTextureUsage.STORAGE_BINDING;

/** Reuses storage buffers and texel buffers by size bucket; never shrunk, only recycled. */
export class BufferPool {
  #device: GPUDevice;
  #free = new Map<number, GPUBuffer[]>();
  #freeTexels = new Map<number, TexelBuffer[]>();
  #stats: PoolStats = { allocatedBytes: 0, inUseBytes: 0, creations: 0 };

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** A storage buffer of at least `bytes` bytes (contents undefined). */
  acquire(bytes: number): GPUBuffer {
    const size = bucketSize(bytes);
    const list = this.#free.get(size);
    let buffer = list?.pop();
    if (!buffer) {
      buffer = this.#device.createBuffer({ size, usage: STORAGE_USAGE });
      this.#stats.allocatedBytes += size;
      this.#stats.creations++;
    }
    this.#stats.inUseBytes += size;
    return buffer;
  }

  /** Returns a buffer from {@link acquire} to the pool. */
  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    this.#stats.inUseBytes -= size;
    let list = this.#free.get(size);
    if (!list) this.#free.set(size, list = []);
    list.push(buffer);
  }

  /**
   * A texel buffer of at least `texels` vec4s (contents undefined). Throws when that needs more
   * rows than the device's largest 2-D texture.
   */
  acquireTexels(texels: number, what: string): TexelBuffer {
    // Whole rows, bucketed like buffers (bucketSize keeps multiples of a row's 64 KiB).
    const rows = bucketSize(Math.max(1, Math.ceil(texels / TEXELS_PER_ROW)) * TEXEL_ROW_BYTES) /
      TEXEL_ROW_BYTES;
    const max = this.#device.limits.maxTextureDimension2D;
    if (rows > max || TEXELS_PER_ROW > max) {
      throw new Error(
        `${what}: an operand of ${texels} vec4s needs a ${TEXELS_PER_ROW}x${rows} texture, more ` +
          `than this device's maxTextureDimension2D ${max}`,
      );
    }
    let t = this.#freeTexels.get(rows)?.pop();
    const bytes = rows * TEXEL_ROW_BYTES;
    if (!t) {
      const texture = this.#device.createTexture({
        size: [TEXELS_PER_ROW, rows],
        format: "rgba32float",
        usage: TEXEL_USAGE,
      });
      t = { texture, view: texture.createView(), texels: rows * TEXELS_PER_ROW };
      this.#stats.allocatedBytes += bytes;
      this.#stats.creations++;
    }
    this.#stats.inUseBytes += bytes;
    return t;
  }

  /** Returns a texel buffer from {@link acquireTexels} to the pool. */
  releaseTexels(t: TexelBuffer): void {
    const rows = t.texels / TEXELS_PER_ROW;
    this.#stats.inUseBytes -= t.texels * 16;
    let list = this.#freeTexels.get(rows);
    if (!list) this.#freeTexels.set(rows, list = []);
    list.push(t);
  }

  /** Destroys every idle buffer (in-use ones stay). */
  trim(): void {
    for (const list of this.#freeTexels.values()) {
      for (const t of list) {
        this.#stats.allocatedBytes -= t.texels * 16;
        t.texture.destroy();
      }
    }
    this.#freeTexels.clear();
    for (const list of this.#free.values()) {
      for (const b of list) {
        this.#stats.allocatedBytes -= b.size;
        b.destroy();
      }
    }
    this.#free.clear();
  }

  get stats(): PoolStats {
    return { ...this.#stats };
  }
}

/**
 * Per-dispatch uniform data, staged on the CPU and uploaded with one `writeBuffer` right before
 * each submit. Every dispatch gets its own aligned slice, so no dispatch sees another's values.
 */
export class UniformRing {
  readonly buffer: GPUBuffer;
  readonly staging: ArrayBuffer;
  readonly alignment: number;
  #used = 0;

  constructor(device: GPUDevice, bytes: number, alignment: number) {
    this.buffer = device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.staging = new ArrayBuffer(bytes);
    this.alignment = alignment;
  }

  /** Reserves `size` bytes; returns the offset, or -1 when the ring is full (flush first). */
  reserve(size: number): number {
    const offset = Math.ceil(this.#used / this.alignment) * this.alignment;
    if (offset + size > this.staging.byteLength) return -1;
    this.#used = offset + size;
    return offset;
  }

  /** Writes the staged bytes to the GPU buffer and starts over. */
  upload(queue: GPUQueue): void {
    if (this.#used > 0) {
      const bytes = Math.ceil(this.#used / 4) * 4;
      queue.writeBuffer(this.buffer, 0, this.staging, 0, bytes);
    }
    this.#used = 0;
  }
}
