/**
 * NumPy `.npy` / `.npz` reading and writing for the conditioner's targets (`latent_vectors.npy`,
 * `xs.npy`) and metrics (`enhanced_training_metrics.npz`).
 *
 * Header parsing (the Python-literal dict with `descr`, `fortran_order`, `shape`, for format
 * versions 1, 2 and 3) is delegated to the `npyjs` package. It is wrapped rather than used
 * directly because, on its own, it
 * - does not check that the data is as long as the shape says (it views whatever bytes follow),
 * - needs the data offset aligned to the element size (it builds typed-array views in place),
 * - reports big-endian data only as "Unsupported dtype", and a truncated file as a RangeError,
 * - returns int64 as BigInt64Array and bools as `boolean[]`.
 * So this module checks the preamble itself (magic, version, header length) to give errors that
 * name the file, hands npyjs only the header, and converts the data to Float32Array itself.
 */
import { parse as npyjsParse } from "npm:npyjs@1.2.0";
import { unzipSync, zipSync } from "npm:fflate@0.8.3";

/** A C-ordered array of float32 values with its shape. */
export interface NpyArray {
  /** Dimensions, outermost first; `[]` for a scalar. */
  shape: number[];
  /** The `product(shape)` values in C (row-major) order. */
  data: Float32Array;
}

/** The `.npy` dtypes this reader accepts (little-endian or byte-sized), with their item sizes. */
const SUPPORTED_DTYPES: Readonly<Record<string, number>> = {
  f4: 4,
  f8: 8,
  i4: 4,
  i8: 8,
  u1: 1,
  b1: 1,
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** Product of the dimensions (1 for a scalar). */
function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Where the header dict and the data lie in a `.npy` byte string. */
interface Preamble {
  major: number;
  /** Byte offset of the header dict text. */
  headerOffset: number;
  /** Length in bytes of the header dict text (including its padding). */
  headerLength: number;
}

/** Reads magic, version and header length; throws naming `source` when any is wrong. */
function readPreamble(bytes: Uint8Array, source: string): Preamble {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new Error(`${source}: not a .npy file (bad magic: expected "\\x93NUMPY" at byte 0)`);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerOffset: number;
  let headerLength: number;
  if (major === 1) {
    headerOffset = 10;
    headerLength = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new Error(`${source}: .npy file truncated inside its preamble`);
    headerOffset = 12;
    headerLength = view.getUint32(8, true);
  } else {
    throw new Error(
      `${source}: unsupported .npy format version ${major}.${bytes[7]} (expected 1.x, 2.x or 3.x)`,
    );
  }
  if (headerOffset + headerLength > bytes.length) {
    throw new Error(
      `${source}: .npy header says it is ${headerLength} bytes but the file has only ` +
        `${bytes.length - headerOffset} bytes after the preamble`,
    );
  }
  return { major, headerOffset, headerLength };
}

/**
 * Builds a header-only `.npy` buffer for npyjs: the original preamble and header text, padded
 * with spaces so the (empty) data section starts at a multiple of 8, since npyjs creates its
 * typed-array view at that offset and typed arrays must be aligned to their element size.
 */
function headerOnlyBuffer(bytes: Uint8Array, pre: Preamble, source: string): ArrayBuffer {
  const end = pre.headerOffset + pre.headerLength;
  const padded = Math.ceil(end / 8) * 8;
  const out = new Uint8Array(padded);
  out.set(bytes.subarray(0, end));
  out.fill(0x20, end);
  const newLength = padded - pre.headerOffset;
  const view = new DataView(out.buffer);
  if (pre.major === 1) {
    if (newLength > 0xffff) throw new Error(`${source}: .npy 1.0 header too long to re-pad`);
    view.setUint16(8, newLength, true);
  } else view.setUint32(8, newLength, true);
  return out.buffer;
}

/** The parsed header dict. */
interface NpyHeader {
  /** Type code without byte-order character, e.g. "f4". */
  dtype: string;
  shape: number[];
}

/** Parses the header dict through npyjs and checks it against what this reader supports. */
function parseHeader(bytes: Uint8Array, pre: Preamble, source: string): NpyHeader {
  const headerText = new TextDecoder("latin1").decode(
    bytes.subarray(pre.headerOffset, pre.headerOffset + pre.headerLength),
  ).trim();
  let parsed: { dtype: string; shape: number[]; fortranOrder: boolean };
  try {
    parsed = npyjsParse(headerOnlyBuffer(bytes, pre, source));
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const unsupported = /Unsupported dtype: (\S+)/.exec(msg);
    if (unsupported?.[1].startsWith(">")) {
      throw new Error(
        `${source}: big-endian dtype '${unsupported[1]}' is not supported ` +
          `(save with a little-endian dtype, e.g. arr.astype('<f4'))`,
      );
    }
    if (unsupported) {
      throw new Error(
        `${source}: unsupported dtype '${unsupported[1]}' (expected one of ` +
          `${Object.keys(SUPPORTED_DTYPES).join(", ")})`,
      );
    }
    throw new Error(`${source}: malformed .npy header ${headerText}: ${msg}`);
  }
  if (!(parsed.dtype in SUPPORTED_DTYPES)) {
    throw new Error(
      `${source}: unsupported dtype '${parsed.dtype}' (expected one of ` +
        `${Object.keys(SUPPORTED_DTYPES).join(", ")})`,
    );
  }
  if (parsed.fortranOrder) {
    throw new Error(
      `${source}: fortran_order True is not supported (save a C-ordered array, ` +
        `e.g. np.ascontiguousarray(arr))`,
    );
  }
  if (!/'shape'\s*:\s*\(/.test(headerText)) {
    throw new Error(`${source}: malformed .npy header, no 'shape' tuple: ${headerText}`);
  }
  for (const d of parsed.shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(`${source}: malformed shape in .npy header: ${headerText}`);
    }
  }
  return { dtype: parsed.dtype, shape: parsed.shape };
}

/** Converts `count` little-endian items of `dtype` starting at `offset` to float32. */
function convertData(
  bytes: Uint8Array,
  offset: number,
  dtype: string,
  count: number,
): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, bytes.byteLength - offset);
  const out = new Float32Array(count);
  switch (dtype) {
    case "f4":
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case "f8":
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    case "i4":
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      break;
    case "i8":
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(8 * i, true));
      break;
    case "u1":
      for (let i = 0; i < count; i++) out[i] = view.getUint8(i);
      break;
    case "b1":
      for (let i = 0; i < count; i++) out[i] = view.getUint8(i) !== 0 ? 1 : 0;
      break;
    default:
      throw new Error(`unsupported dtype '${dtype}'`);
  }
  return out;
}

/**
 * Parses a `.npy` byte string into float32. Accepts format versions 1-3, dtypes `<f4 <f8 <i4 <i8
 * |u1 |b1` (int64 values beyond 2^24 lose precision in float32), C order only. Trailing bytes
 * after the data are ignored, as numpy does. `source` names the file in error messages.
 */
export function parseNpy(bytes: Uint8Array, source = "<npy bytes>"): NpyArray {
  const pre = readPreamble(bytes, source);
  const header = parseHeader(bytes, pre, source);
  const count = elementCount(header.shape);
  const dataOffset = pre.headerOffset + pre.headerLength;
  const needed = count * SUPPORTED_DTYPES[header.dtype];
  const available = bytes.length - dataOffset;
  if (available < needed) {
    throw new Error(
      `${source}: data shorter than the shape says: shape (${header.shape.join(", ")}) of ` +
        `${header.dtype} needs ${needed} bytes, the file has ${available}`,
    );
  }
  return { shape: header.shape, data: convertData(bytes, dataOffset, header.dtype, count) };
}

/** Reads a `.npy` file; see {@link parseNpy}. Errors name `path`. */
export async function readNpy(path: string): Promise<NpyArray> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read .npy file: ${e instanceof Error ? e.message : e}`);
  }
  return parseNpy(bytes, path);
}

/** Checks that `data` holds exactly `product(shape)` values of a valid shape. */
function checkShape(shape: readonly number[], data: Float32Array, what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(`${what}: invalid shape [${shape.join(", ")}]`);
    }
  }
  if (elementCount(shape) !== data.length) {
    throw new Error(
      `${what}: shape [${shape.join(", ")}] needs ${
        elementCount(shape)
      } values, got ${data.length}`,
    );
  }
}

/** Encodes a C-ordered float32 array as a format 1.0 `.npy` (`<f4`), header padded to 64 bytes. */
export function writeNpy(shape: readonly number[], data: Float32Array): Uint8Array {
  checkShape(shape, data, "writeNpy");
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, " ") + "\n";
  const out = new Uint8Array(total + data.length * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  for (let i = 0; i < data.length; i++) view.setFloat32(total + 4 * i, data[i], true);
  return out;
}

/**
 * Encodes arrays as an `.npz` (a zip of `<name>.npy` members, stored uncompressed like
 * `np.savez`), readable with `np.load(path)[name]`.
 */
export function writeNpz(arrays: Readonly<Record<string, NpyArray>>): Uint8Array {
  const files: Record<string, [Uint8Array, { level: 0 }]> = {};
  for (const [name, arr] of Object.entries(arrays)) {
    if (name === "" || name.includes("/")) {
      throw new Error(`writeNpz: invalid array name '${name}' (must be non-empty, without '/')`);
    }
    checkShape(arr.shape, arr.data, `writeNpz array '${name}'`);
    files[`${name}.npy`] = [writeNpy(arr.shape, arr.data), { level: 0 }];
  }
  return zipSync(files);
}

/**
 * Parses an `.npz` byte string into its arrays, keyed by member name without `.npy`. Members
 * that are not `.npy` files are an error. `source` names the file in error messages.
 */
export function parseNpz(bytes: Uint8Array, source = "<npz bytes>"): Record<string, NpyArray> {
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(bytes);
  } catch (e) {
    throw new Error(
      `${source}: not a readable .npz (zip) file: ${e instanceof Error ? e.message : e}`,
    );
  }
  const out: Record<string, NpyArray> = {};
  for (const [member, data] of Object.entries(members)) {
    if (!member.endsWith(".npy")) {
      throw new Error(`${source}: member '${member}' is not a .npy file`);
    }
    out[member.slice(0, -4)] = parseNpy(data, `${source}:${member}`);
  }
  return out;
}

/** Reads an `.npz` file; see {@link parseNpz}. Errors name `path`. */
export async function readNpz(path: string): Promise<Record<string, NpyArray>> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read .npz file: ${e instanceof Error ? e.message : e}`);
  }
  return parseNpz(bytes, path);
}
