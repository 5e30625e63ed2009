/** The GEMM shapes of a LatentConditionerImg, for the engine's autotuner ({@link Engine.tune}). */
import type { TuneCase } from "../engine/autotune.ts";
import { LATENT_DIM, XS_SHAPE } from "./model.ts";

/** What decides the model's GEMM shapes. */
export interface TuneShapeOptions {
  /** Channels of the residual blocks (the model's `filters`). */
  filters: readonly number[];
  /** Images are imageSize x imageSize. */
  imageSize: number;
  /** Images per batch. */
  batch: number;
}

/**
 * Every distinct convolution of the model (stem, each block's two 3x3 convolutions and its 1x1
 * shortcut) and the products of its two output heads, in the order the forward pass runs them.
 */
export function conditionerTuneCases(o: TuneShapeOptions): TuneCase[] {
  const cases: TuneCase[] = [];
  const seen = new Set<string>();
  const add = (c: TuneCase) => {
    const key = JSON.stringify(c);
    if (!seen.has(key)) (seen.add(key), cases.push(c));
  };
  const out = (size: number, k: number, stride: number) =>
    Math.floor((size + 2 * ((k - 1) / 2) - k) / stride) + 1;
  const conv = (cin: number, cout: number, size: number, k: number, stride: number) =>
    add({
      op: "conv2d",
      x: [o.batch, cin, size, size],
      w: [cout, cin, k, k],
      stride,
      padding: (k - 1) / 2,
    });
  // The stem: its input (the images) needs no gradient.
  add({
    op: "conv2d",
    x: [o.batch, 1, o.imageSize, o.imageSize],
    w: [o.filters[0], 1, 7, 7],
    stride: 2,
    padding: 3,
    inputGrad: false,
  });
  let size = out(o.imageSize, 7, 2);
  let cin = o.filters[0];
  o.filters.forEach((cout, i) => {
    const stride = i % 2 === 0 ? 2 : 1;
    conv(cin, cout, size, 3, stride);
    const next = out(size, 3, stride);
    conv(cout, cout, next, 3, 1);
    if (stride !== 1 || cin !== cout) conv(cin, cout, size, 1, stride);
    size = next;
    cin = cout;
  });
  const hidden = Math.floor(cin / 2);
  add({ op: "matmul", m: o.batch, k: cin, n: hidden });
  for (const n of [LATENT_DIM, XS_SHAPE[0] * XS_SHAPE[1]]) {
    add({ op: "matmul", m: o.batch, k: hidden, n });
  }
  return cases;
}
