/** Elementwise ops: unary functions and broadcasting binary arithmetic, with gradients. */
import type { Tensor } from "../tensor.ts";
import { fmtShape } from "../tensor.ts";
import { contiguousStrides, grid3, sumTo } from "./shape_utils.ts";
import { checkF32 } from "./checks.ts";

/** Unary op codes; must match the constants in shaders/elementwise.wgsl. */
const UNARY = {
  neg: 0,
  exp: 1,
  log: 2,
  sqrt: 3,
  relu: 4,
  leakyRelu: 5,
  silu: 6,
  gelu: 7,
  sigmoid: 8,
  tanh: 9,
  scale: 10,
  abs: 11,
  square: 12,
  clampMin: 13,
  huber: 14,
  addScalar: 15,
} as const;
type UnaryName = keyof typeof UNARY;

const BINARY = { add: 0, sub: 1, mul: 2, div: 3 } as const;
type BinaryName = keyof typeof BINARY;

function unaryKernel(
  op: UnaryName,
  entry: "unary" | "unary_grad",
  x: Tensor,
  g: Tensor | null,
  alpha: number,
): Tensor {
  const e = x.engine;
  const out = e.empty(x.shape);
  if (x.size % 4 === 0) {
    const bindings: Record<string, Tensor> = { src4: x, dst4: out };
    if (g) bindings.grad4 = g;
    const n = x.size / 4;
    const spec = { file: "elementwise", entry: `${entry}4`, defines: { OP: UNARY[op] } } as const;
    e.run(spec, bindings, { n, alpha }, e.grid(n));
    return out;
  }
  const bindings: Record<string, Tensor> = { src: x, dst: out };
  if (g) bindings.grad = g;
  e.run(
    { file: "elementwise", entry, defines: { OP: UNARY[op] } },
    bindings,
    { n: x.size, alpha },
    e.grid(x.size),
  );
  return out;
}

function unary(op: UnaryName, x: Tensor, alpha = 0): Tensor {
  checkF32(op, x);
  const out = unaryKernel(op, "unary", x, null, alpha);
  return x.engine.record(out, op, [x], (g) => [unaryKernel(op, "unary_grad", x, g, alpha)]);
}

/** -x */
export function neg(x: Tensor): Tensor {
  return unary("neg", x);
}
/** e^x */
export function exp(x: Tensor): Tensor {
  return unary("exp", x);
}
/** Natural logarithm. */
export function log(x: Tensor): Tensor {
  return unary("log", x);
}
/** Square root. */
export function sqrt(x: Tensor): Tensor {
  return unary("sqrt", x);
}
/** max(x, 0); gradient 0 at 0 as in PyTorch. */
export function relu(x: Tensor): Tensor {
  return unary("relu", x);
}
/** x for x > 0, else slope * x. */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  return unary("leakyRelu", x, slope);
}
/** x * sigmoid(x) (a.k.a. swish). */
export function silu(x: Tensor): Tensor {
  return unary("silu", x);
}
/** Exact (erf) GELU, PyTorch's default. */
export function gelu(x: Tensor): Tensor {
  return unary("gelu", x);
}
/** 1 / (1 + e^-x) */
export function sigmoid(x: Tensor): Tensor {
  return unary("sigmoid", x);
}
/** Hyperbolic tangent. */
export function tanh(x: Tensor): Tensor {
  return unary("tanh", x);
}
/** x * factor for a constant factor. */
export function scale(x: Tensor, factor: number): Tensor {
  return unary("scale", x, factor);
}
/** x + c for a constant c. */
export function addScalar(x: Tensor, c: number): Tensor {
  return unary("addScalar", x, c);
}
/** |x|; gradient sign(x) (0 at 0) as in PyTorch. */
export function abs(x: Tensor): Tensor {
  return unary("abs", x);
}
/** x². */
export function square(x: Tensor): Tensor {
  return unary("square", x);
}
/** max(x, min); gradient passes where x >= min, as torch.clamp_min. */
export function clampMin(x: Tensor, min: number): Tensor {
  return unary("clampMin", x, min);
}
/** Elementwise smooth-L1 (Huber) of a difference: 0.5 d²/beta if |d| < beta else |d| - beta/2. */
export function huber(d: Tensor, beta: number): Tensor {
  if (!(beta > 0)) throw new Error(`huber: beta must be > 0, got ${beta}`);
  return unary("huber", d, beta);
}

/** Broadcast shape of two shapes (numpy rules), or an error naming the op and both shapes. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together`,
      );
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Element strides of `shape` when read as if broadcast to `outShape` (0 on broadcast dims). */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = contiguousStrides(shape);
  const pad = outShape.length - shape.length;
  return outShape.map((_, i) => (i < pad || shape[i - pad] === 1 ? 0 : strides[i - pad]));
}

const MAX_RANK = 8;

function binaryKernel(op: BinaryName, a: Tensor, b: Tensor): Tensor {
  const e = a.engine;
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = e.empty(shape);
  const n = out.size;
  const same = a.size === n && b.size === n;
  if (same && n % 4 === 0) {
    e.run(
      { file: "elementwise", entry: "binary_same4", defines: { OP: BINARY[op] } },
      { src4: a, rhs4: b, dst4: out },
      { n: n / 4 },
      e.grid(n / 4),
    );
    return out;
  }
  if (same) {
    e.run(
      { file: "elementwise", entry: "binary_same", defines: { OP: BINARY[op] } },
      { src: a, rhs: b, dst: out },
      { n },
      e.grid(n),
    );
    return out;
  }
  if (shape.length > MAX_RANK) throw new Error(`${op}: rank ${shape.length} exceeds ${MAX_RANK}`);
  const aStrides = broadcastStrides(a.shape, shape);
  const bStrides = broadcastStrides(b.shape, shape);
  const g = grid3(
    shape,
    aStrides,
    bStrides,
    e.device.limits.maxComputeWorkgroupsPerDimension,
    e.tuning.wg,
  );
  if (g) {
    const [d0, d1, d2] = g.shape;
    const unitOrBroadcast = (s: number) => s === 0 || s === 1;
    const vec4 = d2 % 4 === 0 && unitOrBroadcast(g.a[2]) && unitOrBroadcast(g.b[2]);
    e.run(
      {
        file: "elementwise",
        entry: vec4 ? "binary_3d4" : "binary_3d",
        defines: { OP: BINARY[op] },
      },
      vec4 ? { src: a, rhs: b, dst4: out } : { src: a, rhs: b, dst: out },
      { n, shape: g.shape, a_strides: g.a, b_strides: g.b },
      vec4 ? [Math.ceil(d2 / 4 / e.tuning.wg), d1, d0] : g.groups,
    );
    return out;
  }
  e.run({ file: "elementwise", entry: "binary_broadcast", defines: { OP: BINARY[op] } }, {
    src: a,
    rhs: b,
    dst: out,
  }, {
    n,
    rank: shape.length,
    shape,
    a_strides: aStrides,
    b_strides: bStrides,
  }, e.grid(n));
  return out;
}

function binary(
  op: BinaryName,
  a: Tensor,
  b: Tensor,
  backward: (g: Tensor, out: Tensor) => [Tensor, Tensor],
): Tensor {
  checkF32(op, a, b);
  const out = binaryKernel(op, a, b);
  return a.engine.record(out, op, [a, b], (g) => {
    const [ga, gb] = backward(g, out);
    const ra = sumTo(ga, a.shape);
    const rb = sumTo(gb, b.shape);
    for (const t of new Set([ga, gb])) if (t !== g && t !== ra && t !== rb) t.dispose();
    return [ra, rb];
  });
}

/** a + b with broadcasting. */
export function add(a: Tensor, b: Tensor): Tensor {
  return binary("add", a, b, (g) => [g, g]);
}

/** a - b with broadcasting. */
export function sub(a: Tensor, b: Tensor): Tensor {
  return binary("sub", a, b, (g) => [g, neg(g)]);
}

/** a * b with broadcasting. */
export function mul(a: Tensor, b: Tensor): Tensor {
  return binary("mul", a, b, (g) => [binaryKernel("mul", g, b), binaryKernel("mul", g, a)]);
}

/** a / b with broadcasting. */
export function div(a: Tensor, b: Tensor): Tensor {
  return binary("div", a, b, (g, out) => {
    const ga = binaryKernel("div", g, b);
    const t = binaryKernel("mul", ga, out); // g * a / b²
    const gb = neg(t);
    t.dispose();
    return [ga, gb];
  });
}

/** Runs the fused add_unary kernels (OP = silu) on same-shape a, b (and g for the gradient). */
function addSiluKernel(entry: "add_unary" | "add_unary_grad", a: Tensor, b: Tensor, g?: Tensor) {
  const e = a.engine;
  const out = e.empty(a.shape);
  const vec = a.size % 4 === 0;
  const bindings: Record<string, Tensor> = vec
    ? { src4: a, rhs4: b, dst4: out }
    : { src: a, rhs: b, dst: out };
  if (g) bindings[vec ? "grad4" : "grad"] = g;
  const n = vec ? a.size / 4 : a.size;
  e.run(
    { file: "elementwise", entry: vec ? `${entry}4` : entry, defines: { OP: UNARY.silu } },
    bindings,
    { n },
    e.grid(n),
  );
  return out;
}

/**
 * silu(a + b) of same-shape tensors in one pass (a residual connection and its activation). The
 * backward recomputes a + b and writes one gradient, which both inputs share.
 */
export function addSilu(a: Tensor, b: Tensor): Tensor {
  const op = "addSilu";
  checkF32(op, a, b);
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${op}: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} must be equal`);
  }
  const out = addSiluKernel("add_unary", a, b);
  return a.engine.record(out, op, [a, b], (g) => {
    const grad = addSiluKernel("add_unary_grad", a, b, g);
    // The autograd gives each input its own view of a tensor returned twice (no copy); an input
    // without requiresGrad gets null, since the autograd would free a gradient it does not need.
    return [a.requiresGrad ? grad : null, b.requiresGrad ? grad : null];
  });
}

/** In place: dst += alpha * src (not differentiable; for gradient accumulation and updates). */
export function axpyInto(dst: Tensor, src: Tensor, alpha: number): void {
  if (dst.size !== src.size) {
    throw new Error(`axpyInto: ${fmtShape(src.shape)} does not match ${fmtShape(dst.shape)}`);
  }
  const e = dst.engine;
  if (dst.size % 4 === 0) {
    const n = dst.size / 4;
    e.run({ file: "elementwise", entry: "axpy4", defines: { OP: 0 } }, { src4: src, dst4: dst }, {
      n,
      alpha,
    }, e.grid(n));
    return;
  }
  e.run({ file: "elementwise", entry: "axpy", defines: { OP: 0 } }, { src, dst }, {
    n: dst.size,
    alpha,
  }, e.grid(dst.size));
}
