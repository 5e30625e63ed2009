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

/** Reuses storage buffers by size bucket; buffers are never shrunk, only recycled. */
export class BufferPool {
  #device: GPUDevice;
  #free = new Map<number, GPUBuffer[]>();
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

  /** Destroys every idle buffer (in-use ones stay). */
  trim(): void {
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
