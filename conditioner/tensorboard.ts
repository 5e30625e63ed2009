/**
 * TensorBoard event files: a {@link SummaryWriter} that logs scalars the way PyTorch's
 * `SummaryWriter.add_scalar` does, and {@link readEvents} / {@link lastLoggedStep} to read them
 * back (tests, and resuming a run).
 *
 * File format: a sequence of TFRecords, each `uint64 LE length | masked CRC32C(length bytes) |
 * data | masked CRC32C(data)`, where data is a serialized `tensorboard.Event` protobuf. The first
 * record carries `file_version = "brain.Event:2"`; every later one a `Summary` with one
 * `simple_value`. Field numbers follow tensorboard/compat/proto/event.proto and summary.proto.
 */
import protobuf from "npm:protobufjs@8.8.1";
import { crc32c } from "npm:@aws-crypto/crc32c@5.2.0";
import { join } from "node:path";

/** The subset of TensorBoard's event.proto / summary.proto that scalars need. */
const EVENT_PROTO_JSON = {
  nested: {
    tensorboard: {
      nested: {
        Event: {
          oneofs: { what: { oneof: ["fileVersion", "summary"] } },
          fields: {
            wallTime: { type: "double", id: 1 },
            step: { type: "int64", id: 2 },
            fileVersion: { type: "string", id: 3 },
            summary: { type: "Summary", id: 5 },
          },
        },
        Summary: {
          fields: { value: { rule: "repeated", type: "Value", id: 1 } },
          nested: {
            Value: {
              // A oneof gives simple_value explicit presence, so a scalar 0 is still written.
              oneofs: { value: { oneof: ["simpleValue"] } },
              fields: {
                tag: { type: "string", id: 1 },
                simpleValue: { type: "float", id: 2 },
              },
            },
          },
        },
      },
    },
  },
};

const EventType: protobuf.Type = protobuf.Root.fromJSON(EVENT_PROTO_JSON).lookupType(
  "tensorboard.Event",
);

/** The file version TensorBoard expects in the first record. */
export const FILE_VERSION = "brain.Event:2";

/** Marker in the names of files TensorBoard reads as event files. */
const EVENT_FILE_MARKER = "tfevents";

/** TFRecord's masked CRC32C: rotate right by 15 and add a constant, modulo 2^32. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Frames `data` as one TFRecord (length, its masked CRC, data, its masked CRC). */
export function encodeRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** Serializes one Event. */
function encodeEvent(fields: Record<string, unknown>): Uint8Array {
  return EventType.encode(EventType.fromObject(fields)).finish();
}

/** Options of {@link SummaryWriter}. */
export interface SummaryWriterOptions {
  /** Queued records are appended to the file once this many are waiting. Default 50. */
  maxQueue?: number;
  /** Queued records are appended when the oldest unflushed add is this old. Default 10 s. */
  flushSeconds?: number;
  /** Host name in the file name. Default `Deno.hostname()` (or "localhost" without permission). */
  hostname?: string;
  /** Clock in milliseconds since the epoch, for wall times and flush timing. Default Date.now. */
  clock?: () => number;
}

/** Host name for the event file name, "localhost" when it cannot be read. */
function defaultHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/**
 * Creates `logDir/events.out.tfevents.<unix seconds>.<hostname>` (with `.1`, `.2`, ... appended
 * if that name is taken, so an existing file is never overwritten) containing `firstRecord`.
 * Returns the path.
 */
function createEventFile(
  logDir: string,
  seconds: number,
  hostname: string,
  firstRecord: Uint8Array,
): string {
  const base = join(logDir, `events.out.${EVENT_FILE_MARKER}.${seconds}.${hostname}`);
  for (let n = 0;; n++) {
    const path = n === 0 ? base : `${base}.${n}`;
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { write: true, createNew: true });
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) continue;
      throw new Error(`${path}: cannot create TensorBoard event file: ${(e as Error).message}`);
    }
    try {
      writeAll(file, firstRecord);
    } finally {
      file.close();
    }
    return path;
  }
}

/** Writes all of `data` to `file`. */
function writeAll(file: Deno.FsFile, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += file.writeSync(data.subarray(done));
}

/**
 * Writes scalar summaries to a new TensorBoard event file in a log directory (created if
 * missing). Records are queued in memory and appended to the file by {@link flush}, which runs
 * automatically after `maxQueue` records or `flushSeconds` (checked on each add; no timers), and
 * by {@link close}. Earlier event files in the directory are never touched; TensorBoard merges
 * all event files of a run directory.
 */
export class SummaryWriter {
  /** The event file this writer appends to. */
  readonly path: string;
  readonly #maxQueue: number;
  readonly #flushMs: number;
  readonly #clock: () => number;
  #queue: Uint8Array[] = [];
  #oldestQueuedAt = 0;
  #closed = false;

  /** Creates the log directory if needed and a new event file holding the file-version record. */
  constructor(logDir: string, options: SummaryWriterOptions = {}) {
    this.#maxQueue = options.maxQueue ?? 50;
    this.#flushMs = (options.flushSeconds ?? 10) * 1000;
    this.#clock = options.clock ?? Date.now;
    if (!(this.#maxQueue >= 1)) throw new Error(`SummaryWriter: maxQueue must be >= 1`);
    try {
      Deno.mkdirSync(logDir, { recursive: true });
    } catch (e) {
      throw new Error(
        `${logDir}: cannot create TensorBoard log directory: ${(e as Error).message}`,
      );
    }
    const nowMs = this.#clock();
    const first = encodeRecord(encodeEvent({ wallTime: nowMs / 1000, fileVersion: FILE_VERSION }));
    this.path = createEventFile(
      logDir,
      Math.floor(nowMs / 1000),
      options.hostname ?? defaultHostname(),
      first,
    );
  }

  /**
   * Queues a scalar: Event{wall_time, step, summary{value{tag, simple_value}}}. `value` is
   * stored as float32 (NaN and infinities are kept); `wallTime` is in seconds since the epoch
   * (default now).
   */
  addScalar(tag: string, value: number, step: number, wallTime?: number): void {
    if (this.#closed) throw new Error(`${this.path}: addScalar('${tag}') after close()`);
    if (!Number.isSafeInteger(step)) {
      throw new Error(`${this.path}: addScalar('${tag}'): step must be an integer, got ${step}`);
    }
    if (typeof value !== "number") {
      throw new Error(`${this.path}: addScalar('${tag}'): value must be a number, got ${value}`);
    }
    const nowMs = this.#clock();
    const event = encodeEvent({
      wallTime: wallTime ?? nowMs / 1000,
      step,
      summary: { value: [{ tag, simpleValue: value }] },
    });
    if (this.#queue.length === 0) this.#oldestQueuedAt = nowMs;
    this.#queue.push(encodeRecord(event));
    if (this.#queue.length >= this.#maxQueue || nowMs - this.#oldestQueuedAt >= this.#flushMs) {
      this.flush();
    }
  }

  /** Number of records queued and not yet in the file. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Appends all queued records to the event file. */
  flush(): void {
    if (this.#queue.length === 0) return;
    const total = this.#queue.reduce((n, r) => n + r.length, 0);
    const data = new Uint8Array(total);
    let at = 0;
    for (const r of this.#queue) {
      data.set(r, at);
      at += r.length;
    }
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(this.path, { append: true });
    } catch (e) {
      throw new Error(`${this.path}: cannot append to event file: ${(e as Error).message}`);
    }
    try {
      writeAll(file, data);
    } finally {
      file.close();
    }
    this.#queue = [];
  }

  /** Flushes and stops the writer; later adds throw. Closing twice is harmless. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
  }
}

/** One decoded event (one per summary value; the file-version event has no tag). */
export interface EventRecord {
  /** Seconds since the epoch. */
  wallTime: number;
  /** The event's step (0 when absent). */
  step: number;
  /** Summary value tag, for scalar events. */
  tag?: string;
  /** `simple_value` (float32), when present. */
  value?: number;
  /** "brain.Event:2" in a file's first event. */
  fileVersion?: string;
}

/** Options of {@link readEvents}. */
export interface ReadEventsOptions {
  /**
   * Stop quietly at an incomplete last record (what a crash during a write leaves) instead of
   * throwing. CRC mismatches still throw. Default false.
   */
  allowTruncatedTail?: boolean;
}

interface DecodedValue {
  tag?: string;
  simpleValue?: number;
}

interface DecodedEvent {
  wallTime?: number;
  step?: number;
  fileVersion?: string;
  summary?: { value?: DecodedValue[] };
}

/** Converts one decoded Event into records (one per summary value, or one without a tag). */
function toRecords(ev: DecodedEvent): EventRecord[] {
  const base: EventRecord = { wallTime: ev.wallTime ?? 0, step: ev.step ?? 0 };
  if (ev.fileVersion !== undefined) base.fileVersion = ev.fileVersion;
  const values = ev.summary?.value ?? [];
  if (values.length === 0) return [base];
  return values.map((v) => {
    const r: EventRecord = { ...base, tag: v.tag ?? "" };
    if (v.simpleValue !== undefined) r.value = v.simpleValue;
    return r;
  });
}

/**
 * Decodes an event file, checking both CRCs of every record. Throws naming `path` and the byte
 * offset of the first corrupt or (unless allowed) truncated record.
 */
export function readEvents(path: string, options: ReadEventsOptions = {}): EventRecord[] {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read event file: ${(e as Error).message}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: EventRecord[] = [];
  let off = 0;
  const hex = (n: number): string => `0x${n.toString(16).padStart(8, "0")}`;
  while (off < bytes.length) {
    const remaining = bytes.length - off;
    const truncated = (what: string): never => {
      throw new Error(
        `${path}: truncated record at byte offset ${off}: ${what} (${remaining} bytes left)`,
      );
    };
    if (remaining < 12) {
      if (options.allowTruncatedTail) break;
      truncated("incomplete length header");
    }
    const lenCrc = maskedCrc32c(bytes.subarray(off, off + 8));
    const storedLenCrc = view.getUint32(off + 8, true);
    if (lenCrc !== storedLenCrc) {
      throw new Error(
        `${path}: corrupt record at byte offset ${off}: length CRC mismatch ` +
          `(stored ${hex(storedLenCrc)}, computed ${hex(lenCrc)})`,
      );
    }
    const length = Number(view.getBigUint64(off, true));
    if (12 + length + 4 > remaining) {
      if (options.allowTruncatedTail) break;
      truncated(`record of ${length} data bytes is incomplete`);
    }
    const data = bytes.subarray(off + 12, off + 12 + length);
    const dataCrc = maskedCrc32c(data);
    const storedDataCrc = view.getUint32(off + 12 + length, true);
    if (dataCrc !== storedDataCrc) {
      throw new Error(
        `${path}: corrupt record at byte offset ${off}: data CRC mismatch ` +
          `(stored ${hex(storedDataCrc)}, computed ${hex(dataCrc)})`,
      );
    }
    let ev: DecodedEvent;
    try {
      ev = EventType.toObject(EventType.decode(data), { longs: Number }) as DecodedEvent;
    } catch (e) {
      throw new Error(
        `${path}: record at byte offset ${off} is not a valid Event: ${(e as Error).message}`,
      );
    }
    out.push(...toRecords(ev));
    off += 12 + length + 4;
  }
  return out;
}

/** Paths of the event files directly in `logDir`, sorted by name (oldest first); [] if none. */
export function eventFiles(logDir: string): string[] {
  const names: string[] = [];
  try {
    for (const entry of Deno.readDirSync(logDir)) {
      if (entry.isFile && entry.name.includes(EVENT_FILE_MARKER)) names.push(entry.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw new Error(`${logDir}: cannot list TensorBoard log directory: ${(e as Error).message}`);
  }
  return names.sort().map((n) => join(logDir, n));
}

/**
 * The largest step of any scalar event (with `tag`, when given) in the event files of `logDir`,
 * or null if there is none. An incomplete last record (crash during a write) is ignored.
 */
export function lastLoggedStep(logDir: string, tag?: string): number | null {
  let last: number | null = null;
  for (const path of eventFiles(logDir)) {
    for (const ev of readEvents(path, { allowTruncatedTail: true })) {
      if (ev.tag === undefined || (tag !== undefined && ev.tag !== tag)) continue;
      if (last === null || ev.step > last) last = ev.step;
    }
  }
  return last;
}
