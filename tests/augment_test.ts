/**
 * Training-batch augmentation (conditioner/augment.ts): GPU output against CPU references of
 * torch.flip, torch.roll, F.grid_sample (bilinear, border, align_corners=False), mixup and noise;
 * determinism; and the long-run frequencies of the CPU decision sampler.
 */
import assert from "node:assert/strict";
import { Engine } from "../mod.ts";
import type { Tensor } from "../engine/tensor.ts";
import {
  type AugmentationRecord,
  Augmenter,
  type AugmentOptions,
  decideAugmentation,
  describeAugmentation,
  resolveAugmentConfig,
  sampleBeta,
  samplePermutation,
} from "../conditioner/augment.ts";
import { assertClose, mulberry32 } from "./helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

// ------------------------------------------------------------------ CPU references

/** Image batch [B, C, H, W] in float64. */
interface Img {
  data: Float64Array;
  shape: [number, number, number, number];
}

/** A test pattern with sharp edges: ((i * 13 + j * 7 + 5 * plane) mod 17) / 16. */
function pattern(shape: [number, number, number, number]): Img {
  const [b, c, h, w] = shape;
  const data = new Float64Array(b * c * h * w);
  for (let p = 0; p < b * c; p++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) data[(p * h + i) * w + j] = ((i * 13 + j * 7 + 5 * p) % 17) / 16;
    }
  }
  return { data, shape };
}

/** A smooth test image (low frequencies only). */
function smooth(shape: [number, number, number, number]): Img {
  const [b, c, h, w] = shape;
  const data = new Float64Array(b * c * h * w);
  for (let p = 0; p < b * c; p++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        data[(p * h + i) * w + j] = 0.5 + 0.4 * Math.sin(0.3 * i + 0.2 * p) * Math.cos(0.25 * j);
      }
    }
  }
  return { data, shape };
}

/** Applies `f(sample, src plane, dst plane)` to every channel plane of every sample. */
function perPlane(
  img: Img,
  f: (sample: number, src: Float64Array, dst: Float64Array) => void,
): Img {
  const [b, c, h, w] = img.shape;
  const out = new Float64Array(img.data.length);
  const n = h * w;
  for (let s = 0; s < b; s++) {
    for (let ch = 0; ch < c; ch++) {
      const o = (s * c + ch) * n;
      f(s, img.data.subarray(o, o + n), out.subarray(o, o + n));
    }
  }
  return { data: out, shape: img.shape };
}

/** torch.flip(x, dims=[-1]) for samples whose flag is set. */
function flipRef(img: Img, flags: boolean[]): Img {
  const [, , h, w] = img.shape;
  return perPlane(img, (s, src, dst) => {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) dst[i * w + j] = src[i * w + (flags[s] ? w - 1 - j : j)];
    }
  });
}

/** torch.roll(x, shifts=dx, dims=-1) then torch.roll(..., shifts=dy, dims=-2), per sample. */
function rollRef(img: Img, dx: number[], dy: number[]): Img {
  const [, , h, w] = img.shape;
  const mod = (v: number, m: number) => ((v % m) + m) % m;
  return perPlane(img, (s, src, dst) => {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        dst[i * w + j] = src[mod(i - dy[s], h) * w + mod(j - dx[s], w)];
      }
    }
  });
}

/**
 * F.grid_sample(x, F.affine_grid(theta, align_corners=False), mode="bilinear",
 * padding_mode="border", align_corners=False) with theta = [[t0, t1, 0], [t2, t3, 0]] per sample
 * (null: the sample is copied), written from PyTorch's definitions.
 */
function affineRef(img: Img, thetas: (number[] | null)[]): Img {
  const [, , h, w] = img.shape;
  return perPlane(img, (s, src, dst) => {
    const t = thetas[s];
    if (!t) return dst.set(src);
    const at = (r: number, c: number) => (r >= 0 && r < h && c >= 0 && c < w ? src[r * w + c] : 0);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        // affine_grid base grid: linspace(-1, 1, W) * (W - 1) / W
        const xn = (-1 + (2 * j) / (w - 1)) * ((w - 1) / w);
        const yn = (-1 + (2 * i) / (h - 1)) * ((h - 1) / h);
        const gx = t[0] * xn + t[1] * yn;
        const gy = t[2] * xn + t[3] * yn;
        // grid_sampler_compute_source_index: unnormalize, then clip_coordinates (border)
        const ix = Math.min(Math.max(((gx + 1) * w - 1) / 2, 0), w - 1);
        const iy = Math.min(Math.max(((gy + 1) * h - 1) / 2, 0), h - 1);
        const x0 = Math.floor(ix);
        const y0 = Math.floor(iy);
        const fx = ix - x0;
        const fy = iy - y0;
        dst[i * w + j] = (1 - fx) * (1 - fy) * at(y0, x0) + fx * (1 - fy) * at(y0, x0 + 1) +
          (1 - fx) * fy * at(y0 + 1, x0) + fx * fy * at(y0 + 1, x0 + 1);
      }
    }
  });
}

function rotationTheta(deg: number): number[] {
  const a = (deg * Math.PI) / 180;
  return [Math.cos(a), -Math.sin(a), Math.sin(a), Math.cos(a)];
}

/**
 * The geometric step as the record says: flip, roll, then rotation and scale either as two
 * grid_samples (`sequential`, what the original does) or as one with the product matrix.
 */
function geometryRef(img: Img, rec: AugmentationRecord, sequential: boolean): Img {
  const b = img.shape[0];
  let out = img;
  if (rec.flip) out = flipRef(out, rec.flip);
  if (rec.shift) out = rollRef(out, rec.shift.dx, rec.shift.dy);
  const rot = (s: number) => rec.rotationDeg?.[s] ?? 0;
  const sc = (s: number) => rec.scale?.[s] ?? 1;
  const samples = [...Array(b).keys()];
  if (sequential) {
    out = affineRef(out, samples.map((s) => (rot(s) !== 0 ? rotationTheta(rot(s)) : null)));
    out = affineRef(out, samples.map((s) => (sc(s) !== 1 ? [sc(s), 0, 0, sc(s)] : null)));
  } else {
    out = affineRef(
      out,
      samples.map((s) =>
        rot(s) !== 0 || sc(s) !== 1 ? rotationTheta(rot(s)).map((v) => v * sc(s)) : null
      ),
    );
  }
  return out;
}

/** v = lam * v + (1 - lam) * v[perm] over rows of `rowLen`. */
function mixupRef(data: ArrayLike<number>, rowLen: number, lam: number, perm: number[]): number[] {
  return Array.from(
    data,
    (v, i) => lam * v + (1 - lam) * data[perm[Math.floor(i / rowLen)] * rowLen + (i % rowLen)],
  );
}

// ------------------------------------------------------------------ CPU-only tests

Deno.test("augment: the CPU grid_sample reference matches PyTorch 1.13", () => {
  // F.grid_sample(img, F.affine_grid(theta, (1, 1, H, W), align_corners=False), mode="bilinear",
  // padding_mode="border", align_corners=False), float64, computed once with PyTorch 1.13.
  const cases: [number, number, number[], [number, number, number][]][] = [
    [12, 12, rotationTheta(4.3), [
      [0, 0, 0.187190834],
      [0, 11, 0.455533809],
      [11, 0, 0.544466191],
      [11, 11, 0.812809166],
      [5, 6, 0.318561645],
      [3, 9, 0.24579005],
      [8, 2, 0.75420995],
      [6, 6, 0.114635878],
    ]],
    [12, 12, rotationTheta(-3.7), [
      [0, 0, 0.297693333],
      [0, 11, 0.40220359],
      [11, 11, 0.702306667],
      [5, 6, 0.340018687],
      [3, 9, 0.160554348],
      [6, 6, 0.08448757],
    ]],
    [12, 12, [0.96, 0, 0, 0.96], [
      [0, 0, 0.223575],
      [0, 11, 0.462675],
      [5, 6, 0.32],
      [3, 9, 0.153875],
      [8, 2, 0.846125],
    ]],
    [12, 12, [1.04, 0, 0, 1.04], [
      [0, 0, 0],
      [0, 11, 0.5625],
      [11, 11, 1],
      [5, 6, 0.32625],
      [6, 6, 0.087075],
    ]],
    [8, 10, rotationTheta(4.3), [
      [0, 0, 0.149055738],
      [0, 9, 0.680056138],
      [7, 0, 0.444943862],
      [7, 9, 0.275436768],
      [3, 4, 0.948073203],
      [5, 7, 0.648981464],
    ]],
  ];
  for (const [h, w, theta, points] of cases) {
    const out = affineRef(pattern([1, 1, h, w]), [theta]);
    const got = points.map(([i, j]) => out.data[i * w + j]);
    assertClose(got, points.map((p) => p[2]), {
      atol: 2e-9,
      rtol: 0,
      label: `grid_sample ${h}x${w} theta ${theta.map((v) => v.toFixed(4))}`,
    });
  }
});

Deno.test("augment: options are validated with clear errors", () => {
  assert.throws(
    () => resolveAugmentConfig({ seed: 1, probabilities: { flipp: 0.5 } as never }),
    /unknown probability "flipp"/,
  );
  assert.throws(
    () => resolveAugmentConfig({ seed: 1, probabilities: { mixup: 1.5 } }),
    /probability "mixup" must be in \[0, 1\], got 1.5/,
  );
  assert.throws(() => resolveAugmentConfig({ seed: 1, scaleRange: [1.1, 1] }), /scaleRange/);
  assert.throws(() => resolveAugmentConfig({ seed: 0.5 }), /seed must be an integer/);
  const config = resolveAugmentConfig({ seed: 1 });
  assert.throws(() => decideAugmentation(config, 4, -1), /step must be an integer/);
  assert.throws(() => decideAugmentation(config, 0, 1), /batch size must be a positive integer/);
});

Deno.test("augment: long-run decision frequencies match the SPEC probabilities", () => {
  const config = resolveAugmentConfig({ seed: 2024 });
  const batches = 20000;
  const batch = 16;
  const count = { geometry: 0, flip: 0, shift: 0, rotate: 0, scale: 0, mixup: 0, noise: 0 };
  let flipSamples = 0;
  let flipFlags = 0;
  const shiftValues = new Map<number, number>();
  let angles: number[] = [];
  let scales: number[] = [];
  let rotatedSamples = 0;
  for (let step = 0; step < batches; step++) {
    const r = decideAugmentation(config, batch, step % 500, Math.floor(step / 500));
    if (r.geometry) count.geometry++;
    if (r.flip) {
      count.flip++;
      flipSamples += batch;
      flipFlags += r.flip.filter(Boolean).length;
    }
    if (r.shift) {
      count.shift++;
      for (const v of [...r.shift.dx, ...r.shift.dy]) {
        shiftValues.set(v, (shiftValues.get(v) ?? 0) + 1);
      }
    }
    if (r.rotationDeg) {
      count.rotate++;
      angles = angles.concat(r.rotationDeg);
      rotatedSamples += r.rotationDeg.filter((a) => a !== 0).length;
    }
    if (r.scale) {
      count.scale++;
      scales = scales.concat(r.scale);
    }
    if (r.mixup) count.mixup++;
    if (r.noise) count.noise++;
  }
  // Each frequency within 4.5 standard errors of its probability.
  const near = (label: string, hits: number, trials: number, p: number) => {
    const tol = 4.5 * Math.sqrt((p * (1 - p)) / trials);
    const f = hits / trials;
    assert.ok(Math.abs(f - p) <= tol, `${label}: frequency ${f} vs ${p} (tolerance ${tol})`);
  };
  near("geometry", count.geometry, batches, 0.4);
  near("flip | geometry", count.flip, count.geometry, 0.3);
  near("flipped sample | flip", flipFlags, flipSamples, 0.5);
  near("shift | geometry", count.shift, count.geometry, 0.5);
  near("rotate | geometry", count.rotate, count.geometry, 0.3);
  near("scale | geometry", count.scale, count.geometry, 0.3);
  near("mixup", count.mixup, batches, 0.02);
  near("noise", count.noise, batches, 0.05);
  const shifts = [...shiftValues.values()].reduce((a, b) => a + b, 0);
  assert.deepEqual([...shiftValues.keys()].sort(), [-1, 0, 1]);
  for (const v of [-1, 0, 1]) near(`shift value ${v}`, shiftValues.get(v)!, shifts, 1 / 3);
  // Angles uniform in [-5, 5) with |angle| <= 0.5 left unrotated (p 0.1).
  assert.ok(angles.every((a) => a === 0 || (Math.abs(a) > 0.5 && a >= -5 && a < 5)));
  near("rotated sample | rotate", rotatedSamples, angles.length, 0.9);
  near("positive angle | rotated", angles.filter((a) => a > 0).length, rotatedSamples, 0.5);
  // Scales uniform in [0.95, 1.05) with |s - 1| <= 0.01 left unscaled (p 0.2).
  assert.ok(scales.every((s) => s === 1 || (Math.abs(s - 1) > 0.01 && s >= 0.95 && s < 1.05)));
  near("scaled sample | scale", scales.filter((s) => s !== 1).length, scales.length, 0.8);
  near("scale > 1.03 | scale", scales.filter((s) => s > 1.03).length, scales.length, 0.2);
});

Deno.test("augment: Beta(0.2, 0.2) lambdas and permutations have the right distribution", () => {
  const rand = mulberry32(99);
  const n = 40000;
  const lams = Array.from({ length: n }, () => sampleBeta(0.2, 0.2, rand));
  assert.ok(lams.every((l) => l >= 0 && l <= 1 && Number.isFinite(l)));
  const mean = lams.reduce((a, b) => a + b, 0) / n;
  const variance = lams.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
  // Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)) = 0.17857; P(lam < 0.1) = 0.3367 (numpy, 1e7).
  assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1 / 5.6) < 0.005, `variance ${variance}`);
  const low = lams.filter((l) => l < 0.1).length / n;
  const high = lams.filter((l) => l > 0.9).length / n;
  assert.ok(Math.abs(low - 0.3367) < 0.012, `P(lam < 0.1) = ${low}`);
  assert.ok(Math.abs(high - 0.3367) < 0.012, `P(lam > 0.9) = ${high}`);
  // Every position receives every element with frequency 1/4.
  const hits = Array.from({ length: 4 }, () => new Array<number>(4).fill(0));
  for (let t = 0; t < 8000; t++) {
    const perm = samplePermutation(4, rand);
    assert.deepEqual([...perm].sort(), [0, 1, 2, 3]);
    perm.forEach((v, i) => hits[i][v]++);
  }
  for (const row of hits) for (const c of row) assert.ok(Math.abs(c / 8000 - 0.25) < 0.025, `${c}`);
});

Deno.test("augment: decisions are a pure function of (seed, epoch, step)", () => {
  const all = resolveAugmentConfig({ seed: 5, probabilities: allOn });
  const same = decideAugmentation(all, 8, 17, 3);
  assert.deepEqual(decideAugmentation(all, 8, 17, 3), same);
  const angles = (r: AugmentationRecord) => JSON.stringify(r.rotationDeg);
  assert.notEqual(angles(decideAugmentation(all, 8, 18, 3)), angles(same));
  assert.notEqual(angles(decideAugmentation(all, 8, 17, 4)), angles(same));
  const other = resolveAugmentConfig({ seed: 6, probabilities: allOn });
  assert.notEqual(angles(decideAugmentation(other, 8, 17, 3)), angles(same));
  // With default probabilities consecutive steps do not share their decision pattern.
  const config = resolveAugmentConfig({ seed: 5 });
  const patterns = new Set<string>();
  for (let step = 0; step < 40; step++) {
    patterns.add(describeAugmentation(decideAugmentation(config, 16, step)));
  }
  assert.ok(patterns.size >= 5, `only ${patterns.size} distinct patterns in 40 steps`);
  assert.ok(patterns.has("none"));
});

// ------------------------------------------------------------------ GPU tests

const e = await Engine.create({ seed: 11 });

const allOff = {
  geometry: 0,
  flip: 0,
  flipSample: 0,
  shift: 0,
  rotate: 0,
  scale: 0,
  mixup: 0,
  noise: 0,
};
const allOn = {
  geometry: 1,
  flip: 1,
  flipSample: 0.5,
  shift: 1,
  rotate: 1,
  scale: 1,
  mixup: 1,
  noise: 1,
};

/** The first step whose decisions satisfy `ok` (searched over 0..999). */
function findStep(aug: Augmenter, batch: number, ok: (r: AugmentationRecord) => boolean): number {
  for (let step = 0; step < 1000; step++) if (ok(aug.decide(batch, step))) return step;
  throw new Error("no step in 0..999 has the wanted decisions");
}

interface Run {
  x: Float32Array;
  y1: Float32Array;
  y2: Float32Array;
  y1In: Float32Array;
  y2In: Float32Array;
  rec: AugmentationRecord;
}

/** Runs the augmenter on `img` with random y1 [B, 32], y2 [B, 3, 8] and reads everything back. */
async function runGpu(aug: Augmenter, img: Img, step: number): Promise<Run> {
  const b = img.shape[0];
  const rand = mulberry32(step + 1);
  const y1In = Float32Array.from({ length: b * 32 }, () => rand() * 1.4 - 0.7);
  const y2In = Float32Array.from({ length: b * 24 }, () => rand() * 1.4 - 0.7);
  const x = e.tensor(img.data, img.shape);
  const y1 = e.tensor(y1In, [b, 32]);
  const y2 = e.tensor(y2In, [b, 3, 8]);
  const out = aug.apply(x, y1, y2, step);
  assert.notEqual(out.x, x, "apply returns a new x");
  const run = {
    x: await out.x.read(),
    y1: await out.y1.read(),
    y2: await out.y2.read(),
    y1In,
    y2In,
    rec: out.applied,
  };
  for (const t of [x, y1, y2, out.x, out.y1, out.y2] as Tensor[]) t.dispose();
  return run;
}

function only(p: Partial<typeof allOff>, extra: Partial<AugmentOptions> = {}): Augmenter {
  return new Augmenter(e, { seed: 42, probabilities: { ...allOff, ...p }, ...extra });
}

const shape12: [number, number, number, number] = [2, 1, 12, 12];

Deno.test("augment gpu: per-sample horizontal flip alone", opts, async () => {
  const aug = only({ geometry: 1, flip: 1, flipSample: 0.5 });
  const step = findStep(aug, 2, (r) => r.flip![0] !== r.flip![1]);
  const img = pattern(shape12);
  const run = await runGpu(aug, img, step);
  const { shift, rotationDeg, scale, mixup, noise } = run.rec;
  assert.deepEqual([shift, rotationDeg, scale, mixup, noise], [null, null, null, null, null]);
  assertClose(run.x, flipRef(img, run.rec.flip!).data, { atol: 0, rtol: 0, label: "flip" });
  assert.notDeepEqual(run.x, Float32Array.from(img.data), "one sample was flipped");
  assertClose(run.y1, run.y1In, { atol: 0, rtol: 0, label: "y1 untouched" });
  assertClose(run.y2, run.y2In, { atol: 0, rtol: 0, label: "y2 untouched" });
});

Deno.test("augment gpu: wrap-around shift alone", opts, async () => {
  const aug = only({ geometry: 1, shift: 1 });
  const step = findStep(aug, 2, (r) => r.shift!.dx[0] !== 0 && r.shift!.dy[1] !== 0);
  const img = pattern(shape12);
  const run = await runGpu(aug, img, step);
  const { dx, dy } = run.rec.shift!;
  assertClose(run.x, rollRef(img, dx, dy).data, { atol: 0, rtol: 0, label: "roll" });
});

Deno.test("augment gpu: rotation alone (bilinear, border) matches grid_sample", opts, async () => {
  const aug = only({ geometry: 1, rotate: 1 });
  const step = findStep(aug, 2, (r) => r.rotationDeg!.every((a) => Math.abs(a) > 2));
  const img = pattern(shape12);
  const run = await runGpu(aug, img, step);
  const ref = affineRef(img, run.rec.rotationDeg!.map(rotationTheta));
  assertClose(run.x, ref.data, { atol: 2e-5, rtol: 0, label: "rotation" });
  // Samples the original leaves alone (|angle| <= 0.5 degrees) are copied exactly.
  const step2 = findStep(aug, 2, (r) => r.rotationDeg![0] === 0 && r.rotationDeg![1] !== 0);
  const run2 = await runGpu(aug, img, step2);
  assertClose(run2.x.subarray(0, 144), img.data.subarray(0, 144), {
    atol: 0,
    rtol: 0,
    label: "unrotated sample",
  });
  const ref2 = affineRef(img, [null, rotationTheta(run2.rec.rotationDeg![1])]);
  assertClose(run2.x, ref2.data, { atol: 2e-5, rtol: 0, label: "rotation (one sample)" });
});

Deno.test("augment gpu: scale alone matches grid_sample", opts, async () => {
  const aug = only({ geometry: 1, scale: 1 });
  const step = findStep(aug, 2, (r) => r.scale![0] < 0.98 && r.scale![1] > 1.02);
  const img = pattern(shape12);
  const run = await runGpu(aug, img, step);
  const ref = affineRef(img, run.rec.scale!.map((s) => [s, 0, 0, s]));
  assertClose(run.x, ref.data, { atol: 2e-5, rtol: 0, label: "scale" });
});

Deno.test("augment gpu: composed geometry in one pass", opts, async () => {
  // flip + shift + rotation: exactly the original's sequence of separate operations.
  const three = only({ geometry: 1, flip: 1, flipSample: 1, shift: 1, rotate: 1 });
  const img = pattern([2, 2, 12, 10]);
  let step = findStep(three, 2, (r) => r.rotationDeg!.every((a) => a !== 0));
  let run = await runGpu(three, img, step);
  assertClose(run.x, geometryRef(img, run.rec, true).data, {
    atol: 2e-5,
    rtol: 0,
    label: "flip+shift+rotate vs sequential",
  });
  // All four: one resample with R * s (ours) ...
  const four = only({ geometry: 1, flip: 1, flipSample: 0.5, shift: 1, rotate: 1, scale: 1 });
  const sm = smooth([2, 1, 12, 12]);
  step = findStep(
    four,
    2,
    (r) => r.rotationDeg!.every((a) => a !== 0) && r.scale!.every((s) => s !== 1),
  );
  run = await runGpu(four, sm, step);
  assertClose(run.x, geometryRef(sm, run.rec, false).data, {
    atol: 2e-5,
    rtol: 0,
    label: "all four vs composed reference",
  });
  // ... which differs from the original's two resamples by one bilinear blur less, and by
  // clamping to the border once: small inside, larger in the two-pixel band along the border.
  const seq = geometryRef(sm, run.rec, true).data;
  let sum = 0;
  let interior = 0;
  for (let k = 0; k < seq.length; k++) {
    const d = Math.abs(run.x[k] - seq[k]);
    sum += d;
    const i = Math.floor(k / 12) % 12;
    const j = k % 12;
    if (i >= 2 && i < 10 && j >= 2 && j < 10) interior = Math.max(interior, d);
  }
  assert.ok(
    sum / seq.length > 1e-5 && sum / seq.length < 0.006,
    `mean |difference| ${sum / seq.length}`,
  );
  assert.ok(interior < 0.006, `largest interior difference ${interior}`);
});

Deno.test(
  "augment gpu: mixup mixes x, y1 and y2 with the same lambda and permutation",
  opts,
  async () => {
    const aug = only({ mixup: 1 });
    const mixed = (r: AugmentationRecord) =>
      r.mixup!.lambda > 0.1 && r.mixup!.lambda < 0.9 &&
      r.mixup!.permutation.every((v, i) => v !== i);
    const step = findStep(aug, 4, mixed);
    const img = pattern([4, 1, 12, 12]);
    const run = await runGpu(aug, img, step);
    const { lambda, permutation } = run.rec.mixup!;
    assert.equal(run.rec.geometry, false);
    assertClose(run.x, mixupRef(img.data, 144, lambda, permutation), {
      atol: 1e-6,
      label: "x",
    });
    assertClose(run.y1, mixupRef(run.y1In, 32, lambda, permutation), { atol: 1e-6, label: "y1" });
    assertClose(run.y2, mixupRef(run.y2In, 24, lambda, permutation), { atol: 1e-6, label: "y2" });
    // A single-sample batch is never mixed (as in the original).
    assert.equal(aug.decide(1, step).mixup, null);
  },
);

function stats(v: ArrayLike<number>): { mean: number; std: number } {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  const mean = s / v.length;
  let q = 0;
  for (let i = 0; i < v.length; i++) q += (v[i] - mean) ** 2;
  return { mean, std: Math.sqrt(q / v.length) };
}

Deno.test("augment gpu: Gaussian noise has std 0.01 and leaves targets alone", opts, async () => {
  const aug = only({ noise: 1 });
  const img: Img = { data: new Float64Array(2 * 48 * 48).fill(0.5), shape: [2, 1, 48, 48] };
  const run = await runGpu(aug, img, 3);
  assert.equal(run.rec.noise?.std, 0.01);
  const noise = run.x.map((v) => v - 0.5);
  const { mean, std } = stats(noise);
  // 4608 samples: standard error of the mean 1.5e-4, of the std about 1%.
  assert.ok(Math.abs(mean) < 6e-4, `noise mean ${mean}`);
  assert.ok(Math.abs(std - 0.01) < 0.0005, `noise std ${std}`);
  const big = noise.filter((v) => Math.abs(v) > 0.02).length / noise.length;
  assert.ok(Math.abs(big - 0.0455) < 0.012, `P(|n| > 2 std) = ${big}`);
  assertClose(run.y1, run.y1In, { atol: 0, rtol: 0, label: "y1 untouched" });
  assertClose(run.y2, run.y2In, { atol: 0, rtol: 0, label: "y2 untouched" });
});

Deno.test("augment gpu: geometry, mixup and noise together; determinism", opts, async () => {
  const aug = new Augmenter(e, { seed: 8, probabilities: allOn });
  const img = pattern([3, 1, 12, 12]);
  const step = findStep(aug, 3, (r) => r.mixup!.lambda > 0.2 && r.mixup!.lambda < 0.8);
  const run = await runGpu(aug, img, step);
  const { lambda, permutation } = run.rec.mixup!;
  const clean = mixupRef(geometryRef(img, run.rec, false).data, 144, lambda, permutation);
  const residual = run.x.map((v, i) => v - clean[i]);
  const { mean, std } = stats(residual);
  assert.ok(Math.abs(mean) < 2e-3 && Math.abs(std - 0.01) < 0.0015, `residual ${mean} ${std}`);
  assertClose(run.y1, mixupRef(run.y1In, 32, lambda, permutation), { atol: 1e-6, label: "y1" });
  // Same seed and step: bit-identical output, noise included; another step differs.
  const again = await runGpu(new Augmenter(e, { seed: 8, probabilities: allOn }), img, step);
  assert.deepEqual(again.x, run.x);
  assert.deepEqual(again.rec, run.rec);
  const next = await runGpu(aug, img, step + 1);
  assert.notDeepEqual(next.x, run.x);
  assert.notDeepEqual(next.rec.rotationDeg, run.rec.rotationDeg);
});

Deno.test(
  "augment gpu: nothing applied returns equal copies; bad shapes are errors",
  opts,
  async () => {
    const aug = only({});
    const img = pattern(shape12);
    const run = await runGpu(aug, img, 0);
    assert.equal(describeAugmentation(run.rec), "none");
    assertClose(run.x, img.data, { atol: 0, rtol: 0, label: "x copy" });
    assertClose(run.y1, run.y1In, { atol: 0, rtol: 0, label: "y1 copy" });
    const x = e.zeros([2, 1, 4, 4]);
    const y1 = e.zeros([3, 32]);
    const y2 = e.zeros([2, 3, 8]);
    assert.throws(
      () => aug.apply(x, y1, y2, 0),
      /Augmenter.apply: y1 \[3, 32\] must have the batch size 2 of x \[2, 1, 4, 4\]/,
    );
    assert.throws(() => aug.apply(y2, y2, y2, 0), /x must be \[B, C, H, W\], got \[2, 3, 8\]/);
    for (const t of [x, y1, y2]) t.dispose();
  },
);

// Engines left open at exit have crashed the OpenGL backend at teardown now and then.
Deno.test("augment: close engine", opts, () => e.close());
