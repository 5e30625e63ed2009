/**
 * A small, procedurally generated SimulGen-VAE data folder for demos and tests.
 *
 * Each sample is a 64x64 grayscale PNG of a white outline on black: a lobed closed curve
 * `r(t) = R (1 + m cos(k t))`, stretched by an aspect ratio, rotated, shifted, drawn with a given
 * stroke width, with 0-2 circular holes (also outlined). The targets are a fixed smooth function
 * of those geometry parameters, so a CNN can learn them: `latent_vectors.npy` (N, 32) =
 * 2.5 tanh(W1 f) and `xs.npy` (N, 3, 8) with level l = (1.6 - 0.4 l) tanh(W2_l f), where f are
 * 16 normalised features of the geometry and W1, W2 are fixed seeded Gaussian matrices.
 * Everything derives from one seed, so the output is byte-for-byte reproducible.
 *
 * Run as a script: `deno run -A conditioner/demo_data.ts [outDir]` (default `fixtures/demo`).
 */
import { Buffer } from "node:buffer";
import { join } from "node:path";
// @ts-types="npm:@types/pngjs@6.0.5"
import { PNG } from "npm:pngjs@7.0.0";
import { writeNpy } from "./npy.ts";
import { epochSeed, mulberry32 } from "./batches.ts";

/** Options for {@link generateDemo}. */
export interface DemoOptions {
  /** Number of samples (default 240). */
  count?: number;
  /** Image side in pixels (default 64). */
  imageSize?: number;
  /** Master seed (default 2025). */
  seed?: number;
}

/** Geometry of one demo sample. */
export interface DemoShape {
  /** Mean radius in pixels. */
  radius: number;
  /** Stretch along the shape's own x axis, >= 1 (area preserving). */
  aspect: number;
  /** Rotation in radians, in [-pi/4, pi/4). */
  rotation: number;
  /** Number of lobes k (3, 4 or 5). */
  lobes: number;
  /** Lobe depth m in [0, 0.15]. */
  lobeDepth: number;
  /** Number of holes (0, 1 or 2). */
  holes: number;
  /** Centre offset in pixels. */
  dx: number;
  dy: number;
  /** Stroke width in pixels. */
  thickness: number;
}

/** A generated data folder, in memory. */
export interface DemoData {
  /** File name (img1.png ...) and PNG bytes. */
  images: { name: string; png: Uint8Array }[];
  shapes: DemoShape[];
  /** (N, 32) float32. */
  latents: Float32Array;
  /** (N, 3, 8) float32. */
  xs: Float32Array;
  count: number;
}

const LATENT_DIM = 32;
const XS_LEVELS = 3;
const XS_DIM = 8;
/** Subsamples per pixel side for anti-aliasing. */
const SUPERSAMPLE = 4;

/** The geometry of sample `i` (independent of how many samples are generated). */
export function demoShape(seed: number, i: number, imageSize = 64): DemoShape {
  const rand = mulberry32(epochSeed(seed, i));
  const u = (lo: number, hi: number) => lo + (hi - lo) * rand();
  const scale = imageSize / 64;
  return {
    radius: u(13, 21) * scale,
    aspect: u(1, 1.5),
    rotation: u(-Math.PI / 4, Math.PI / 4),
    lobes: 3 + Math.floor(rand() * 3),
    lobeDepth: u(0, 0.15),
    holes: Math.floor(rand() * 3),
    dx: u(-4, 4) * scale,
    dy: u(-4, 4) * scale,
    thickness: u(1.2, 3) * scale,
  };
}

/** Renders a shape as anti-aliased 8-bit gray levels (outline 255 on 0), row-major. */
export function renderShape(shape: DemoShape, imageSize = 64): Uint8Array {
  const { radius: R, aspect, rotation, lobes, lobeDepth, holes, thickness } = shape;
  const cos = Math.cos(rotation);
  const sin = Math.sin(rotation);
  const half = thickness / 2;
  const holeR = 0.2 * R;
  const holeX = holes === 1 ? [0] : holes === 2 ? [-0.45 * R, 0.45 * R] : [];
  const cx = imageSize / 2 + shape.dx;
  const cy = imageSize / 2 + shape.dy;
  const ink = (px: number, py: number): boolean => {
    const x = px - cx;
    const y = py - cy;
    // Into the shape's frame: unrotate, then undo the stretch.
    const u = (cos * x + sin * y) / aspect;
    const v = (-sin * x + cos * y) * aspect;
    const rho = Math.hypot(u, v);
    const r = R * (1 + lobeDepth * Math.cos(lobes * Math.atan2(v, u)));
    if (Math.abs(rho - r) < half) return true;
    return holeX.some((hx) => Math.abs(Math.hypot(u - hx, v) - holeR) < half);
  };
  const out = new Uint8Array(imageSize * imageSize);
  const n = SUPERSAMPLE;
  for (let py = 0; py < imageSize; py++) {
    for (let px = 0; px < imageSize; px++) {
      let hits = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          if (ink(px + (sx + 0.5) / n, py + (sy + 0.5) / n)) hits++;
        }
      }
      out[py * imageSize + px] = Math.round((255 * hits) / (n * n));
    }
  }
  return out;
}

/**
 * The normalised geometry features (roughly in [-1, 1]) the targets are computed from. Only
 * properties that survive the training augmentations (horizontal flip, 1-pixel shifts, small
 * rotations and scalings) and global average pooling (position) are used, so the mapping from
 * image to latents is learnable rather than label noise.
 */
export function demoFeatures(s: DemoShape, imageSize = 64): number[] {
  const scale = imageSize / 64;
  const size = (s.radius / scale - 17) / 4;
  const elong = (s.aspect - 1) * 2;
  const lobe = s.lobeDepth / 0.075 - 1;
  return [
    size,
    elong * 2 - 1,
    elong * Math.cos(2 * s.rotation),
    lobe,
    s.lobes - 4,
    s.holes - 1,
    (s.thickness / scale - 2.1) / 0.9,
    size * size - 0.33,
    size * elong,
    lobe * (s.lobes - 4),
    (s.holes - 1) * size,
    1,
  ];
}

/** A rows x cols matrix of N(0, std^2) values from a seeded Box-Muller stream. */
function gaussianMatrix(rows: number, cols: number, std: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < out.length; i++) {
    const u1 = 1 - rand();
    const u2 = rand();
    out[i] = std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  return out;
}

function matVec(w: Float64Array, f: readonly number[], row: number): number {
  let acc = 0;
  for (let j = 0; j < f.length; j++) acc += w[row * f.length + j] * f[j];
  return acc;
}

/** Generates the demo data set in memory (deterministic for given options). */
export function generateDemo(options: DemoOptions = {}): DemoData {
  const count = options.count ?? 240;
  const imageSize = options.imageSize ?? 64;
  const seed = options.seed ?? 2025;
  const nf = demoFeatures(demoShape(seed, 0, imageSize), imageSize).length;
  const std = 1.3 / Math.sqrt(nf);
  const w1 = gaussianMatrix(LATENT_DIM, nf, std, epochSeed(seed, -1));
  const w2 = gaussianMatrix(XS_LEVELS * XS_DIM, nf, std, epochSeed(seed, -2));
  const latents = new Float32Array(count * LATENT_DIM);
  const xs = new Float32Array(count * XS_LEVELS * XS_DIM);
  const images: DemoData["images"] = [];
  const shapes: DemoShape[] = [];
  for (let i = 0; i < count; i++) {
    const shape = demoShape(seed, i, imageSize);
    shapes.push(shape);
    const f = demoFeatures(shape, imageSize);
    for (let r = 0; r < LATENT_DIM; r++) {
      latents[i * LATENT_DIM + r] = 2.5 * Math.tanh(matVec(w1, f, r));
    }
    for (let r = 0; r < XS_LEVELS * XS_DIM; r++) {
      const level = Math.floor(r / XS_DIM);
      xs[i * XS_LEVELS * XS_DIM + r] = (1.6 - 0.4 * level) *
        Math.tanh(matVec(w2, f, r));
    }
    const png = new PNG({ width: imageSize, height: imageSize, colorType: 0, inputColorType: 0 });
    png.data = Buffer.from(renderShape(shape, imageSize));
    const bytes = PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8 });
    images.push({ name: `img${i + 1}.png`, png: new Uint8Array(bytes) });
  }
  return { images, shapes, latents, xs, count };
}

/** Writes a generated data set as `outDir/images/img*.png`, `latent_vectors.npy`, `xs.npy`. */
export async function writeDemo(outDir: string, demo: DemoData): Promise<void> {
  const imageDir = join(outDir, "images");
  await Deno.mkdir(imageDir, { recursive: true });
  for (const { name, png } of demo.images) await Deno.writeFile(join(imageDir, name), png);
  await Deno.writeFile(
    join(outDir, "latent_vectors.npy"),
    writeNpy([demo.count, LATENT_DIM], demo.latents),
  );
  await Deno.writeFile(
    join(outDir, "xs.npy"),
    writeNpy([demo.count, XS_LEVELS, XS_DIM], demo.xs),
  );
}

if (import.meta.main) {
  const outDir = Deno.args[0] ?? "fixtures/demo";
  const demo = generateDemo();
  await writeDemo(outDir, demo);
  console.log(`wrote ${demo.count} images and targets to ${outDir}`);
}
