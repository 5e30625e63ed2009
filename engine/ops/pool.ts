/** 2-D pooling: maxPool2d, avgPool2d and adaptiveAvgPool2d (shaders/pool.wgsl), with gradients. */
import type { Tensor } from "../tensor.ts";
import { fmtShape } from "../tensor.ts";
import { mean } from "./reduce.ts";
import { checkF32, pair } from "./checks.ts";
import { reshape } from "./layout.ts";

/** A size given as one number for both dims or as [h, w]. */
export type PoolSize = number | readonly [number, number];

/** Largest 1-D window: keeps every kernel loop well under llvmpipe's 65535-iteration budget. */
const MAX_WINDOW_1D = 32768;

/** Checks x is [N, C, H, W] or [C, H, W] f32; returns it as 4-D plus the shape to give back. */
function as4d(op: string, x: Tensor): { x4: Tensor; lead: number[] } {
  checkF32(op, x);
  if (x.rank !== 3 && x.rank !== 4) {
    throw new Error(
      `${op}: input must have shape [N, C, H, W] or [C, H, W], got ${fmtShape(x.shape)}`,
    );
  }
  if (x.rank === 4) return { x4: x, lead: [x.shape[0], x.shape[1]] };
  return { x4: reshape(x, [1, ...x.shape]), lead: [x.shape[0]] };
}

/** Undoes {@link as4d} on the output. */
function back(x4: Tensor, x: Tensor, out: Tensor, lead: number[]): Tensor {
  if (x4 === x) return out;
  return reshape(out, [...lead, out.shape[2], out.shape[3]]);
}

interface Window {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
}

function windowArgs(
  op: string,
  x: Tensor,
  kernelSize: PoolSize,
  stride: PoolSize | undefined,
  padding: PoolSize,
): Window {
  const [kh, kw] = pair(op, "kernelSize", kernelSize, 1);
  const [sh, sw] = stride === undefined ? [kh, kw] : pair(op, "stride", stride, 1);
  const [ph, pw] = pair(op, "padding", padding, 0);
  if (ph > kh / 2 || pw > kw / 2) {
    throw new Error(
      `${op}: padding [${ph}, ${pw}] must be at most half of kernelSize [${kh}, ${kw}] (input ${
        fmtShape(x.shape)
      })`,
    );
  }
  const [h, w] = x.shape.slice(-2);
  if (kh > h + 2 * ph || kw > w + 2 * pw) {
    throw new Error(
      `${op}: kernelSize [${kh}, ${kw}] is larger than the padded input ${h + 2 * ph}x${
        w + 2 * pw
      } (input ${fmtShape(x.shape)}, padding [${ph}, ${pw}])`,
    );
  }
  if (kh > MAX_WINDOW_1D || kw > MAX_WINDOW_1D) {
    throw new Error(
      `${op}: kernelSize [${kh}, ${kw}] exceeds the supported ${MAX_WINDOW_1D} per dimension`,
    );
  }
  return { kh, kw, sh, sw, ph, pw };
}

function outSize(n: number, k: number, s: number, p: number): number {
  return Math.floor((n + 2 * p - k) / s) + 1;
}

function uniforms(x: Tensor, oh: number, ow: number, win: Window, n: number, includePad = true) {
  return {
    n,
    h: x.shape[2],
    w: x.shape[3],
    oh,
    ow,
    kh: win.kh,
    kw: win.kw,
    sh: win.sh,
    sw: win.sw,
    ph: win.ph,
    pw: win.pw,
    include_pad: includePad ? 1 : 0,
  };
}

/** One max- or average-pooling pass on a 4-D input. */
function poolKernel(kind: "max" | "avg", x: Tensor, win: Window, includePad: boolean): Tensor {
  const e = x.engine;
  const [n, c, h, w] = x.shape;
  const oh = outSize(h, win.kh, win.sh, win.ph);
  const ow = outSize(w, win.kw, win.sw, win.pw);
  const out = e.empty([n, c, oh, ow]);
  const u = uniforms(x, oh, ow, win, out.size, includePad);
  if (kind === "avg") {
    e.run({ file: "pool", entry: "avg_fwd" }, { src: x, dst: out }, u, e.grid(out.size));
    return e.record(out, "avgPool2d", [x], (g) => {
      const dx = e.empty(x.shape);
      e.run(
        { file: "pool", entry: "avg_bwd" },
        { grad: g, dst: dx },
        { ...u, n: x.size },
        e.grid(x.size),
      );
      return [dx];
    });
  }
  const arg = e.empty([n, c, oh, ow], "i32");
  e.run(
    { file: "pool", entry: "max_fwd" },
    { src: x, dst: out, arg_out: arg },
    u,
    e.grid(out.size),
  );
  if (!(e.gradEnabled && x.requiresGrad)) {
    arg.dispose();
    return out;
  }
  return e.record(out, "maxPool2d", [x], (g) => {
    const dx = e.empty(x.shape);
    e.run({ file: "pool", entry: "max_bwd" }, { grad: g, arg_in: arg, dst: dx }, {
      ...u,
      n: x.size,
    }, e.grid(x.size));
    return [dx];
  });
}

/** Runs a pooling pass, splitting windows larger than `budgets.poolWindow` into an H pass and a W pass. */
function pool(kind: "max" | "avg", x: Tensor, win: Window, includePad: boolean): Tensor {
  if (win.kh * win.kw <= x.engine.tuning.budgets.poolWindow) {
    return poolKernel(kind, x, win, includePad);
  }
  // W first, then H: max pooling then picks torch's argmax (the first maximum in row-major order).
  const cols = poolKernel(kind, x, { ...win, kh: 1, sh: 1, ph: 0 }, includePad);
  const out = poolKernel(kind, cols, { ...win, kw: 1, sw: 1, pw: 0 }, includePad);
  if (!cols.requiresGrad) cols.dispose(); // otherwise it is part of the graph
  return out;
}

/** Options of {@link maxPool2d}. */
export interface MaxPool2dOptions {
  /** Defaults to kernelSize. */
  stride?: PoolSize;
  /** Implicit -inf padding on both sides, at most half the kernel. */
  padding?: PoolSize;
}

/** 2-D max pooling of [N, C, H, W] (torch.nn.functional.max_pool2d, ceil_mode false, dilation 1). */
export function maxPool2d(x: Tensor, kernelSize: PoolSize, options: MaxPool2dOptions = {}): Tensor {
  const op = "maxPool2d";
  const { x4, lead } = as4d(op, x);
  const win = windowArgs(op, x4, kernelSize, options.stride, options.padding ?? 0);
  return back(x4, x, pool("max", x4, win, true), lead);
}

/** Options of {@link avgPool2d}. */
export interface AvgPool2dOptions {
  /** Defaults to kernelSize. */
  stride?: PoolSize;
  /** Implicit zero padding on both sides, at most half the kernel. */
  padding?: PoolSize;
  /** Count padded zeros in the divisor (torch's count_include_pad, default true). */
  countIncludePad?: boolean;
}

/** 2-D average pooling of [N, C, H, W] (torch.nn.functional.avg_pool2d, ceil_mode false). */
export function avgPool2d(x: Tensor, kernelSize: PoolSize, options: AvgPool2dOptions = {}): Tensor {
  const op = "avgPool2d";
  const { x4, lead } = as4d(op, x);
  const win = windowArgs(op, x4, kernelSize, options.stride, options.padding ?? 0);
  return back(x4, x, pool("avg", x4, win, options.countIncludePad ?? true), lead);
}

/** One adaptive average pooling pass on a 4-D input. */
function adaptiveKernel(x: Tensor, oh: number, ow: number): Tensor {
  const e = x.engine;
  const [n, c] = x.shape;
  const out = e.empty([n, c, oh, ow]);
  const win = { kh: 0, kw: 0, sh: 0, sw: 0, ph: 0, pw: 0 };
  const u = uniforms(x, oh, ow, win, out.size);
  e.run({ file: "pool", entry: "adaptive_fwd" }, { src: x, dst: out }, u, e.grid(out.size));
  return e.record(out, "adaptiveAvgPool2d", [x], (g) => {
    const dx = e.empty(x.shape);
    e.run(
      { file: "pool", entry: "adaptive_bwd" },
      { grad: g, dst: dx },
      { ...u, n: x.size },
      e.grid(x.size),
    );
    return [dx];
  });
}

/**
 * The longest adaptive window along a dim of `n` inputs and `m` outputs, and the most windows any
 * input lies in (the forward and backward loop lengths).
 */
function adaptiveExtent(n: number, m: number): number {
  let window = 0;
  const cover = new Int32Array(n + 1);
  for (let i = 0; i < m; i++) {
    const start = Math.floor((i * n) / m);
    const end = Math.ceil(((i + 1) * n) / m);
    window = Math.max(window, end - start);
    cover[start]++;
    cover[end]--;
  }
  let most = 0;
  for (let i = 0, c = 0; i < n; i++) most = Math.max(most, c += cover[i]);
  return Math.max(window, most);
}

/**
 * Adaptive average pooling to `size` (torch.nn.functional.adaptive_avg_pool2d): output cell i
 * averages inputs floor(i * H / OH) .. ceil((i + 1) * H / OH) - 1. Size 1 is a mean over H, W.
 */
export function adaptiveAvgPool2d(x: Tensor, size: PoolSize): Tensor {
  const op = "adaptiveAvgPool2d";
  const { x4, lead } = as4d(op, x);
  const [oh, ow] = pair(op, "size", size, 1);
  const [h, w] = x4.shape.slice(2);
  if (h === 0 || w === 0) {
    throw new Error(`${op}: input ${fmtShape(x.shape)} has an empty spatial dim`);
  }
  if (oh === 1 && ow === 1) return mean(x, [x.rank - 2, x.rank - 1], true);
  const wh = adaptiveExtent(h, oh);
  const ww = adaptiveExtent(w, ow);
  if (wh > MAX_WINDOW_1D || ww > MAX_WINDOW_1D) {
    throw new Error(
      `${op}: windows of ${wh}x${ww} inputs (${fmtShape(x.shape)} to [${oh}, ${ow}]) are too large`,
    );
  }
  let out: Tensor;
  if (wh * ww <= x.engine.tuning.budgets.poolWindow) {
    out = adaptiveKernel(x4, oh, ow);
  } else {
    const rows = adaptiveKernel(x4, oh, w);
    out = adaptiveKernel(rows, oh, ow);
    if (!rows.requiresGrad) rows.dispose(); // otherwise it is part of the graph
  }
  return back(x4, x, out, lead);
}
