/**
 * The spectrally normalised weight W / sigma as one op (PyTorch's torch.nn.utils.spectral_norm,
 * dim 0, one power iteration per training forward): a single-workgroup kernel updates u and v in
 * place and computes sigma, a second divides. Backward treats u and v as constants, like PyTorch:
 * dW = g / sigma - (sum(g * W) / sigma^2) u vᵀ.
 */
import type { Tensor } from "../tensor.ts";
import { fmtShape } from "../tensor.ts";
import { mul } from "./elementwise.ts";
import { sum } from "./reduce.ts";

/** Options for {@link spectralNormalize}. */
export interface SpectralNormalizeOptions {
  /** Run one power iteration first, updating u and v in place (training). */
  iterate: boolean;
  /** Floor of the vector norms. Default 1e-12. */
  eps?: number;
}

/**
 * W / sigma(W) with sigma from u (length h = W.shape[0]) and v (length W.size / h); u and v are
 * the layer's buffers and are overwritten when `iterate` is set.
 */
export function spectralNormalize(
  weight: Tensor,
  u: Tensor,
  v: Tensor,
  options: SpectralNormalizeOptions,
): Tensor {
  weight.storage("spectralNormalize");
  const h = weight.shape[0];
  const w = weight.size / h;
  if (u.size !== h || v.size !== w) {
    throw new Error(
      `spectralNormalize: u ${fmtShape(u.shape)} and v ${fmtShape(v.shape)} do not match weight ${
        fmtShape(weight.shape)
      } (need [${h}] and [${w}])`,
    );
  }
  const e = weight.engine;
  const uniforms = { h, w, eps: options.eps ?? 1e-12, iterate: options.iterate ? 1 : 0 };
  const used = e.empty([h + w + 1]);
  e.run(
    { file: "spectral", entry: "power_iteration" },
    { weight, u_buf: u, v_buf: v, used },
    uniforms,
    [1],
  );
  const out = e.empty(weight.shape);
  e.run(
    { file: "spectral", entry: "divide" },
    { weight, saved: used, dst: out },
    uniforms,
    e.grid(weight.size),
  );
  return e.record(out, "spectralNormalize", [weight], (g) => {
    const dot = sum(mul(g, weight));
    const gw = e.empty(weight.shape);
    e.run(
      { file: "spectral", entry: "backward" },
      { grad: g, saved: used, gw_dot: dot, dst: gw },
      uniforms,
      e.grid(weight.size),
    );
    dot.dispose();
    return [gw];
  });
}
