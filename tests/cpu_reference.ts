/** Plain CPU loops the GPU ops are checked against (matmul, conv2d and its gradients). */

/** [m, k] @ [k, n], row-major. */
export function cpuMatmul(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      for (let j = 0; j < n; j++) c[i * n + j] += av * b[p * n + j];
    }
  }
  return c;
}

/** A convolution: NCHW input, square kernel, equal stride/padding/dilation on both axes. */
export interface ConvCase {
  n: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  k: number;
  stride: number;
  pad: number;
  dil: number;
  groups: number;
}

/** Output size of a ConvCase. */
export function convOutSize(c: ConvCase): { oh: number; ow: number } {
  const out = (size: number) =>
    Math.floor((size + 2 * c.pad - c.dil * (c.k - 1) - 1) / c.stride) + 1;
  return { oh: out(c.h), ow: out(c.w) };
}

/**
 * Calls `visit(oi, xi, wi)` for every (output, input, weight) element triple of the plain
 * convolution loops: output element oi accumulates x[xi] * w[wi].
 */
export function forEachTap(c: ConvCase, visit: (oi: number, xi: number, wi: number) => void): void {
  const { oh, ow } = convOutSize(c);
  const cinG = c.cin / c.groups;
  const coutG = c.cout / c.groups;
  for (let b = 0; b < c.n; b++) {
    for (let co = 0; co < c.cout; co++) {
      const g = Math.floor(co / coutG);
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          const oi = ((b * c.cout + co) * oh + oy) * ow + ox;
          for (let ci = 0; ci < cinG; ci++) {
            for (let ky = 0; ky < c.k; ky++) {
              for (let kx = 0; kx < c.k; kx++) {
                const iy = oy * c.stride - c.pad + ky * c.dil;
                const ix = ox * c.stride - c.pad + kx * c.dil;
                if (iy < 0 || ix < 0 || iy >= c.h || ix >= c.w) continue;
                const xi = ((b * c.cin + g * cinG + ci) * c.h + iy) * c.w + ix;
                visit(oi, xi, ((co * cinG + ci) * c.k + ky) * c.k + kx);
              }
            }
          }
        }
      }
    }
  }
}

/** conv2d of x with wt, without bias. */
export function cpuConv(
  x: Float32Array,
  wt: Float32Array,
  c: ConvCase,
): { out: Float32Array; oh: number; ow: number } {
  const { oh, ow } = convOutSize(c);
  const out = new Float32Array(c.n * c.cout * oh * ow);
  forEachTap(c, (oi, xi, wi) => out[oi] += x[xi] * wt[wi]);
  return { out, oh, ow };
}

/** Gradients of sum(conv(x, w) * g) with respect to x and w, by the same loops as cpuConv. */
export function cpuConvGrads(
  x: Float32Array,
  wt: Float32Array,
  g: Float32Array,
  c: ConvCase,
): { dx: Float32Array; dw: Float32Array } {
  const dx = new Float32Array(x.length);
  const dw = new Float32Array(wt.length);
  forEachTap(c, (oi, xi, wi) => {
    dx[xi] += g[oi] * wt[wi];
    dw[wi] += g[oi] * x[xi];
  });
  return { dx, dw };
}
