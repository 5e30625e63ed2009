/**
 * Condition images: listing (natural sort), decoding (PNG via pngjs, JPEG via jpeg-js) to
 * grayscale, and bicubic resizing that reproduces OpenCV's `cv2.resize(..., INTER_CUBIC)`,
 * which is what SimulGen-VAE uses (`cv2.imread(path, 0)` then `cv2.resize`, then `/ 255`).
 */
// @ts-types="npm:@types/pngjs@6.0.5"
import { PNG } from "npm:pngjs@7.0.0";
import jpeg from "npm:jpeg-js@0.4.4";
import { Unzlib } from "npm:fflate@0.8.3";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { LIMITS } from "./limits.ts";

/** Image file extensions this module can decode (compared case-insensitively). */
export const IMAGE_EXTENSIONS = [".png", ".jpg", ".jpeg"] as const;

/**
 * Natural-order comparison, like Python's `natsort.natsorted` (img2 before img10).
 *
 * Both names are split into alternating text and digit runs; text runs compare by code unit,
 * digit runs by numeric value (arbitrary length, leading zeros ignored). Names that compare
 * equal that way (img1 / img01) are ordered by plain string comparison so the order is total.
 */
export function naturalCompare(a: string, b: string): number {
  const ta: string[] = a.match(/\d+|\D+/g) ?? [];
  const tb: string[] = b.match(/\d+|\D+/g) ?? [];
  // natsort keys always start with text: a name that starts with a digit gets an empty run.
  if (/^\d/.test(a)) ta.unshift("");
  if (/^\d/.test(b)) tb.unshift("");
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    const x = ta[i];
    const y = tb[i];
    if (i % 2 === 1) {
      const nx = x.replace(/^0+(?=\d)/, "");
      const ny = y.replace(/^0+(?=\d)/, "");
      if (nx.length !== ny.length) return nx.length - ny.length;
      if (nx !== ny) return nx < ny ? -1 : 1;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  if (ta.length !== tb.length) return ta.length - tb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Normalises an extension given as `png`, `.png`, `*.png` or `.PNG` to `.png`. */
export function normalizeExtension(ext: string): string {
  const e = ext.trim().replace(/^\*/, "").toLowerCase();
  const dotted = e.startsWith(".") ? e : `.${e}`;
  if (!(IMAGE_EXTENSIONS as readonly string[]).includes(dotted)) {
    throw new Error(
      `unsupported image extension "${ext}": expected one of ${IMAGE_EXTENSIONS.join(", ")}`,
    );
  }
  return dotted;
}

/**
 * Names of the files in `dir` ending in `ext` (one extension or several; case-insensitive), in
 * natural order. Throws when the folder is missing or holds no such file, naming the folder and
 * the extensions.
 */
export async function listImageFiles(
  dir: string,
  ext: string | readonly string[],
): Promise<string[]> {
  const wanted = (typeof ext === "string" ? [ext] : ext).map(normalizeExtension);
  if (wanted.length === 0) throw new Error(`listImageFiles: no image extension given for ${dir}`);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`image folder ${dir} does not exist`);
    }
    throw new Error(`cannot read image folder ${dir}: ${(err as Error).message}`);
  }
  if (!info.isDirectory) throw new Error(`image folder ${dir} is not a directory`);
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) continue;
    const lower = entry.name.toLowerCase();
    if (wanted.some((e) => lower.endsWith(e))) names.push(entry.name);
  }
  if (names.length === 0) {
    const list = wanted.map((e) => `*${e}`);
    const what = list.length > 1 ? `${list.slice(0, -1).join(", ")} or ${list.at(-1)}` : list[0];
    throw new Error(`image folder ${dir} contains no ${what} files (matched case-insensitively)`);
  }
  return names.sort(naturalCompare);
}

/** A decoded grayscale image: integer levels 0..maxValue, row-major. */
export interface GrayImage {
  width: number;
  height: number;
  /** Gray levels, `width * height` values. */
  data: Float64Array;
  /** 255 for 8-bit sources, 65535 for 16-bit PNGs. */
  maxValue: number;
}

/**
 * Gray level of an 8-bit RGB pixel: 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601 luma, as in
 * OpenCV's IMREAD_GRAYSCALE and PIL's "L" mode) rounded to the nearest level. Used for JPEGs.
 */
export function luminance(r: number, g: number, b: number): number {
  if (r === g && g === b) return r;
  return Math.round(0.299 * r + 0.587 * g + 0.114 * b);
}

/** libpng's 15-bit fixed-point weights for png_set_rgb_to_gray(png, 1, 0.299, 0.587). */
const PNG_RED = 9797;
const PNG_GREEN = 19234;
const PNG_BLUE = 32768 - PNG_RED - PNG_GREEN;

/**
 * Gray level of a PNG's RGB pixel exactly as `cv2.imread(path, 0)` computes it: OpenCV asks
 * libpng for 0.299 R + 0.587 G + 0.114 B, which libpng evaluates with 15-bit fixed-point
 * weights and truncates (so it can be one level below {@link luminance}).
 */
export function pngLuminance(r: number, g: number, b: number): number {
  if (r === g && g === b) return r;
  return Math.floor((PNG_RED * r + PNG_GREEN * g + PNG_BLUE * b) / 32768);
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((v, i) => bytes[i] === v);
}

function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** A PNG chunk: its type and its data (a view into the file). */
interface PngChunk {
  type: string;
  data: Uint8Array;
}

/**
 * The chunks of a PNG in file order, up to IEND. Throws when a chunk runs past the end of the
 * file (a truncated file).
 */
function pngChunks(bytes: Uint8Array): PngChunk[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: PngChunk[] = [];
  let at = 8;
  while (at + 8 <= bytes.length) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const end = at + 12 + length;
    if (end > bytes.length) {
      throw new Error(`the file ends inside its ${type} chunk (truncated file?)`);
    }
    chunks.push({ type, data: bytes.subarray(at + 8, at + 8 + length) });
    at = end;
    if (type === "IEND") return chunks;
  }
  throw new Error("the file ends before its IEND chunk (truncated file?)");
}

/** What a PNG's IHDR chunk declares. */
interface PngHeader {
  width: number;
  height: number;
  /** Bits per sample: 1, 2, 4, 8 or 16. */
  depth: number;
  /** Samples per pixel of the colour type (gray 1, RGB 3, palette 1, gray+alpha 2, RGBA 4). */
  channels: number;
  interlaced: boolean;
}

const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Reads the IHDR chunk, which the PNG format requires to come first. */
function readPngHeader(bytes: Uint8Array): PngHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = bytes.length >= 16 ? String.fromCharCode(...bytes.subarray(12, 16)) : "";
  if (type !== "IHDR" || bytes.length < 33 || view.getUint32(8) !== 13) {
    throw new Error("the PNG does not start with a complete IHDR header chunk");
  }
  const colorType = bytes[25];
  const channels = PNG_CHANNELS[colorType];
  if (channels === undefined) throw new Error(`unsupported PNG colour type ${colorType}`);
  return {
    width: view.getUint32(16),
    height: view.getUint32(20),
    depth: bytes[24],
    channels,
    interlaced: bytes[28] !== 0,
  };
}

/** Adam7 passes: first column, first row, column step, row step. */
const ADAM7: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** Bytes of filtered scanlines (a filter byte plus the packed samples per row) the header implies. */
function pngDataLength(h: PngHeader): number {
  const rows = (width: number, height: number): number =>
    width === 0 || height === 0 ? 0 : height * (1 + Math.ceil((width * h.channels * h.depth) / 8));
  if (!h.interlaced) return rows(h.width, h.height);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    total += rows(
      Math.ceil(Math.max(h.width - x0, 0) / dx),
      Math.ceil(Math.max(h.height - y0, 0) / dy),
    );
  }
  return total;
}

/** Thrown inside the inflate callback to stop once the expected bytes have been seen. */
const ENOUGH = Symbol("enough image data");

/**
 * Inflates the IDAT stream without keeping it and checks that it holds every scanline the
 * header declares: pngjs silently fills missing rows with zeros.
 */
function checkPngData(chunks: PngChunk[], header: PngHeader): void {
  const expected = pngDataLength(header);
  const idat = chunks.filter((c) => c.type === "IDAT");
  if (idat.length === 0) throw new Error("the PNG has no IDAT (image data) chunk");
  let inflated = 0;
  const stream = new Unzlib((data) => {
    inflated += data.length;
    if (inflated >= expected) throw ENOUGH;
  });
  try {
    idat.forEach((c, i) => stream.push(c.data, i === idat.length - 1));
  } catch (err) {
    if (err === ENOUGH) return;
    throw new Error(`its image data does not inflate (${(err as Error).message})`);
  }
  const size = `${header.width}x${header.height}`;
  const bytes = `${inflated} of ${expected} bytes`;
  const rowBytes = pngDataLength({ ...header, height: 1, interlaced: false });
  throw new Error(
    header.interlaced
      ? `its interlaced image data holds ${bytes} its ${size} header declares: short image data`
      : `its image data ends after ${Math.floor(inflated / rowBytes)} of the ${header.height} ` +
        `rows its ${size} header declares (${bytes}): short image data`,
  );
}

/**
 * Reads the width and height from a JPEG's SOFn (start of frame) header, walking the marker
 * segments that precede it.
 */
function readJpegSize(bytes: Uint8Array): { width: number; height: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) throw new Error(`no JPEG marker at byte ${at}`);
    const marker = bytes[at + 1];
    if (marker === 0xff) { // fill byte
      at++;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break; // end of image or start of scan
    const length = view.getUint16(at + 2);
    const isFrame = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
    if (isFrame && at + 9 <= bytes.length) {
      return { height: view.getUint16(at + 5), width: view.getUint16(at + 7) };
    }
    at += 2 + length;
  }
  throw new Error("the JPEG has no frame header (SOFn) before its image data (truncated file?)");
}

/** Refuses sizes that are empty or over {@link LIMITS} before any pixel is decoded. */
function checkImageDimensions(width: number, height: number): void {
  if (width < 1 || height < 1) throw new Error(`it has size ${width}x${height}`);
  const pixels = width * height;
  if (Math.max(width, height) > LIMITS.maxImageSide || pixels > LIMITS.maxImagePixels) {
    throw new Error(
      `its header declares ${width}x${height} = ${pixels} pixels, over the limit of ` +
        `${LIMITS.maxImageSide} pixels per side and ${LIMITS.maxImagePixels} pixels in total`,
    );
  }
}

/**
 * The PNG without its tRNS chunks, so transparency cannot change colours (pngjs zeroes pixels
 * of the transparent colour); alpha is ignored, as OpenCV's grayscale reader strips it.
 */
function withoutTransparency(bytes: Uint8Array, chunks: PngChunk[]): Uint8Array {
  if (!chunks.some((c) => c.type === "tRNS")) return bytes;
  const keep = chunks.filter((c) => c.type !== "tRNS");
  const out = new Uint8Array(8 + keep.reduce((n, c) => n + 12 + c.data.length, 0));
  out.set(bytes.subarray(0, 8));
  let o = 8;
  for (const c of keep) {
    // A chunk's length, type and CRC surround its data in the file.
    const start = c.data.byteOffset - bytes.byteOffset - 8;
    out.set(bytes.subarray(start, start + 12 + c.data.length), o);
    o += 12 + c.data.length;
  }
  return out;
}

function decodePng(bytes: Uint8Array): GrayImage {
  const header = readPngHeader(bytes);
  checkImageDimensions(header.width, header.height);
  const chunks = pngChunks(bytes);
  checkPngData(chunks, header);
  // skipRescale keeps 16-bit samples; lower depths are scaled to 8 bits below like libpng does.
  const clean = withoutTransparency(bytes, chunks);
  const buffer = Buffer.from(clean.buffer, clean.byteOffset, clean.byteLength);
  const png = PNG.sync.read(buffer, { skipRescale: true });
  const { width, height } = png;
  const depth = png.depth as number;
  const palette = (png.colorType as number) === 3;
  const src = png.data as unknown as ArrayLike<number>;
  const maxValue = depth === 16 ? 65535 : 255;
  // Grey and RGB samples of 1, 2 or 4 bits come back unscaled (0..2^depth-1); palettes are RGB8.
  const factor = !palette && depth < 8 ? 255 / (2 ** depth - 1) : 1;
  const data = new Float64Array(width * height);
  for (let i = 0, p = 0; i < data.length; i++, p += 4) {
    data[i] = pngLuminance(src[p] * factor, src[p + 1] * factor, src[p + 2] * factor);
  }
  return { width, height, data, maxValue };
}

function decodeJpeg(bytes: Uint8Array): GrayImage {
  const size = readJpegSize(bytes);
  checkImageDimensions(size.width, size.height);
  let img: { width: number; height: number; data: Uint8Array };
  try {
    // jpeg-js's own memory cap (512 MB by default) is raised so that the limits above apply.
    img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 2048 });
  } catch (err) {
    const ended = bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === 0xd9;
    const hint = ended ? "" : " (the file does not end with the end-of-image marker: truncated?)";
    throw new Error(`${(err as Error).message}${hint}`);
  }
  const { width, height } = img;
  const data = new Float64Array(width * height);
  for (let i = 0, p = 0; i < data.length; i++, p += 4) {
    data[i] = luminance(img.data[p], img.data[p + 1], img.data[p + 2]);
  }
  return { width, height, data, maxValue: 255 };
}

/**
 * Decodes a PNG (any bit depth and colour type) or a JPEG, recognised by its signature, to
 * grayscale. `name` is used in error messages.
 */
export function decodeGray(bytes: Uint8Array, name: string): GrayImage {
  let img: GrayImage;
  try {
    if (isPng(bytes)) img = decodePng(bytes);
    else if (isJpeg(bytes)) img = decodeJpeg(bytes);
    else throw new Error("the file starts with neither the PNG nor the JPEG signature");
  } catch (err) {
    throw new Error(`${name}: cannot decode image: ${(err as Error).message}`);
  }
  if (img.width < 1 || img.height < 1) {
    throw new Error(`${name}: cannot decode image: it has size ${img.width}x${img.height}`);
  }
  return img;
}

// ---------------------------------------------------------------------------- bicubic resize

const f = Math.fround;
/** OpenCV's cubic kernel parameter (Keys' a; PIL uses -0.5). */
const CUBIC_A = -0.75;
/** OpenCV's fixed-point scale of interpolation weights for 8-bit images (2^11). */
const COEF_SCALE = 2048;

/** Round half to even, like OpenCV's cvRound (lrint). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Source taps (clamped to the border) and weights of each destination pixel along one axis. */
interface Taps {
  index: Int32Array;
  weight: Float64Array;
}

/**
 * Taps along one axis exactly as cv2.resize computes them: pixel-centre alignment
 * `fx = (dx + 0.5) * (src / dst) - 0.5` in float32, Keys cubic weights with a = -0.75 in float32,
 * taps `floor(fx) - 1 .. floor(fx) + 2` clamped to the image (replicated border), and, when
 * `fixed`, weights rounded to multiples of 1/2048 (OpenCV's 8-bit fixed-point path).
 */
function cubicTaps(srcLen: number, dstLen: number, fixed: boolean): Taps {
  const scale = 1 / (dstLen / srcLen);
  const index = new Int32Array(dstLen * 4);
  const weight = new Float64Array(dstLen * 4);
  const A = CUBIC_A;
  for (let d = 0; d < dstLen; d++) {
    let fx = f((d + 0.5) * scale - 0.5);
    const sx = Math.floor(fx);
    fx = f(fx - sx);
    // OpenCV's interpolateCubic, every operation rounded to float32 as in its C++ code.
    const x1 = f(fx + 1);
    const c0 = f(f(f(f(f(f(A * x1) - f(5 * A)) * x1) + f(8 * A)) * x1) - f(4 * A));
    const c1 = f(f(f(f(f(f(A + 2) * fx) - f(A + 3)) * fx) * fx) + 1);
    const ox = f(1 - fx);
    const c2 = f(f(f(f(f(f(A + 2) * ox) - f(A + 3)) * ox) * ox) + 1);
    const c3 = f(f(f(1 - c0) - c1) - c2);
    const cs = [c0, c1, c2, c3];
    for (let k = 0; k < 4; k++) {
      index[d * 4 + k] = Math.min(Math.max(sx - 1 + k, 0), srcLen - 1);
      weight[d * 4 + k] = fixed ? roundHalfEven(cs[k] * COEF_SCALE) : cs[k];
    }
  }
  return { index, weight };
}

/**
 * Resizes a grayscale image to `outW x outH` with bicubic interpolation reproducing OpenCV's
 * `cv2.resize(img, (outW, outH), interpolation=cv2.INTER_CUBIC)` (OpenCV 4.x):
 * Keys kernel a = -0.75 (PIL's bicubic uses -0.5 and antialiases, so it differs), pixel centres
 * aligned, replicated borders, no antialiasing when shrinking, a horizontal then a vertical
 * pass, the result rounded (half to even) and clamped to integer levels 0..maxValue.
 * For 8-bit images (maxValue 255) the weights are 11-bit fixed point and the vertical pass is
 * float32 as in OpenCV's vectorised uint8 path; for 16-bit images the weights are float32
 * (OpenCV's uint16 path). Checked against OpenCV 4.6 on 290,000 output pixels of random,
 * smooth and outline images, up- and downscaling: 8-bit results equal OpenCV's bit for bit;
 * 16-bit ones differ by one level (of 65535) at a few pixels where OpenCV's scalar tail sums in
 * another order.
 */
export function resizeBicubic(img: GrayImage, outW: number, outH: number): Float64Array {
  const { width, height, data, maxValue } = img;
  const fixed = maxValue === 255;
  const tx = cubicTaps(width, outW, fixed);
  const ty = cubicTaps(height, outH, fixed);
  // Horizontal pass over every source row, in float32 (exact integers in the fixed-point case).
  const rows = new Float64Array(height * outW);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    for (let d = 0; d < outW; d++) {
      const k = d * 4;
      const s0 = f(data[base + tx.index[k]] * tx.weight[k]);
      const s1 = f(data[base + tx.index[k + 1]] * tx.weight[k + 1]);
      const s2 = f(data[base + tx.index[k + 2]] * tx.weight[k + 2]);
      const s3 = f(data[base + tx.index[k + 3]] * tx.weight[k + 3]);
      rows[y * outW + d] = f(f(f(s0 + s1) + s2) + s3);
    }
  }
  const norm = fixed ? 1 / (COEF_SCALE * COEF_SCALE) : 1;
  const out = new Float64Array(outW * outH);
  for (let d = 0; d < outH; d++) {
    const k = d * 4;
    const r0 = ty.index[k] * outW;
    const r1 = ty.index[k + 1] * outW;
    const r2 = ty.index[k + 2] * outW;
    const r3 = ty.index[k + 3] * outW;
    // OpenCV's vectorised vertical pass: float32, accumulated from the last row.
    const w0 = f(ty.weight[k] * norm);
    const w1 = f(ty.weight[k + 1] * norm);
    const w2 = f(ty.weight[k + 2] * norm);
    const w3 = f(ty.weight[k + 3] * norm);
    for (let x = 0; x < outW; x++) {
      const p0 = f(rows[r0 + x] * w0);
      const p1 = f(rows[r1 + x] * w1);
      const p2 = f(rows[r2 + x] * w2);
      const p3 = f(rows[r3 + x] * w3);
      const v = f(p0 + f(p1 + f(p2 + p3)));
      out[d * outW + x] = Math.min(Math.max(roundHalfEven(v), 0), maxValue);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------- folder loading

/** Options for {@link loadImages}. */
export interface LoadImagesOptions {
  /** Images are resized to imageSize x imageSize (default 256). */
  imageSize?: number;
  /** Decode only the first `limit` files (after sorting). */
  limit?: number;
  /** Called after each decoded image. */
  onProgress?: (done: number, total: number) => void;
}

/** Decoded condition images. */
export interface LoadedImages {
  /** [N, 1, S, S] values in [0, 1]. */
  data: Float32Array;
  /** File names (no folder), in sample order. */
  names: string[];
  /** S. */
  imageSize: number;
}

/** Checks that an image size is an integer from 1 to {@link LIMITS}' `maxImageSize`. */
export function checkImageSize(size: number): void {
  if (!Number.isInteger(size) || size < 1 || size > LIMITS.maxImageSize) {
    throw new Error(
      `image size must be an integer from 1 to ${LIMITS.maxImageSize}, got ${size}`,
    );
  }
}

/**
 * Reads one image file and returns its S x S grayscale pixels in [0, 1] (levels divided by 255,
 * or 65535 for 16-bit PNGs). Errors name the file.
 */
export async function readImage(path: string, imageSize: number): Promise<Float32Array> {
  checkImageSize(imageSize);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw new Error(`cannot read image ${path}: ${(err as Error).message}`);
  }
  const img = decodeGray(bytes, path);
  const resized = resizeBicubic(img, imageSize, imageSize);
  const out = new Float32Array(resized.length);
  for (let i = 0; i < out.length; i++) out[i] = resized[i] / img.maxValue;
  return out;
}

/**
 * Reads the named files of `dir` in the given order as one [N, 1, S, S] array in [0, 1],
 * calling `onProgress` after each. Errors name the file.
 */
export async function readImages(
  dir: string,
  names: readonly string[],
  options: Omit<LoadImagesOptions, "limit"> = {},
): Promise<LoadedImages> {
  const imageSize = options.imageSize ?? 256;
  checkImageSize(imageSize);
  const plane = imageSize * imageSize;
  const data = new Float32Array(names.length * plane);
  for (let i = 0; i < names.length; i++) {
    data.set(await readImage(join(dir, names[i]), imageSize), i * plane);
    options.onProgress?.(i + 1, names.length);
  }
  return { data, names: [...names], imageSize };
}

/**
 * Loads every `*ext` image of `dir` (one extension or several) in natural order (the first
 * `limit` of them when given), as one [N, 1, S, S] array in [0, 1].
 */
export async function loadImages(
  dir: string,
  ext: string | readonly string[],
  options: LoadImagesOptions = {},
): Promise<LoadedImages> {
  checkImageSize(options.imageSize ?? 256);
  const all = await listImageFiles(dir, ext);
  const names = options.limit === undefined ? all : all.slice(0, options.limit);
  return await readImages(dir, names, options);
}
