/**
 * Per-kernel GPU time from timestamp queries: when profiling, every dispatch runs in its own
 * compute pass whose start and end are timestamped. Slower than normal execution (one pass per
 * dispatch), so use it to find hot kernels, not to time whole steps.
 */

const CAPACITY = 1024;

/** Total GPU time and call count per kernel. */
export interface KernelTiming {
  /** Kernel name. */
  kernel: string;
  /** Dispatches timed. */
  calls: number;
  /** Summed GPU time of those dispatches, in milliseconds. */
  totalMs: number;
}

/** Collects timestamp pairs per dispatch and sums them per kernel name. */
export class KernelProfiler {
  #device: GPUDevice;
  #querySet: GPUQuerySet;
  #names: string[] = [];
  #pending: Promise<void>[] = [];
  #totals = new Map<string, { calls: number; ns: number }>();

  /** Creates the query set; throws when `device` lacks the `timestamp-query` feature. */
  constructor(device: GPUDevice) {
    if (!device.features.has("timestamp-query")) {
      throw new Error("profiling needs the timestamp-query feature, which this adapter lacks");
    }
    this.#device = device;
    this.#querySet = device.createQuerySet({ type: "timestamp", count: CAPACITY * 2 });
  }

  /** True when the query set is full and the caller must submit before the next dispatch. */
  get full(): boolean {
    return this.#names.length >= CAPACITY;
  }

  /** Opens a timestamped pass for one dispatch of `kernel`. */
  beginPass(encoder: GPUCommandEncoder, kernel: string): GPUComputePassEncoder {
    const i = this.#names.length;
    this.#names.push(kernel);
    return encoder.beginComputePass({
      timestampWrites: {
        querySet: this.#querySet,
        beginningOfPassWriteIndex: 2 * i,
        endOfPassWriteIndex: 2 * i + 1,
      },
    });
  }

  /** Resolves this submission's timestamps into `encoder`; results are read asynchronously. */
  resolve(encoder: GPUCommandEncoder): () => void {
    const n = this.#names.length;
    if (n === 0) return () => {};
    const names = this.#names;
    this.#names = [];
    const bytes = n * 16;
    const resolveBuf = this.#device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const readBuf = this.#device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    encoder.resolveQuerySet(this.#querySet, 0, 2 * n, resolveBuf, 0);
    encoder.copyBufferToBuffer(resolveBuf, 0, readBuf, 0, bytes);
    return () => {
      this.#pending.push(
        readBuf.mapAsync(GPUMapMode.READ).then(() => {
          const t = new BigUint64Array(readBuf.getMappedRange());
          for (let i = 0; i < n; i++) {
            const entry = this.#totals.get(names[i]) ?? { calls: 0, ns: 0 };
            entry.calls++;
            entry.ns += Number(t[2 * i + 1] - t[2 * i]);
            this.#totals.set(names[i], entry);
          }
          readBuf.unmap();
          readBuf.destroy();
          resolveBuf.destroy();
        }),
      );
    };
  }

  /** Per-kernel totals so far, slowest first (waits for outstanding results). */
  async report(): Promise<KernelTiming[]> {
    await Promise.all(this.#pending);
    this.#pending = [];
    return [...this.#totals].map(([kernel, v]) => ({ kernel, calls: v.calls, totalMs: v.ns / 1e6 }))
      .sort((a, b) => b.totalMs - a.totalMs);
  }

  /** Forgets the totals. */
  reset(): void {
    this.#totals.clear();
  }
}
