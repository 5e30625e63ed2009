/**
 * The squeeze-excitation channel gate x * (0.5 + 0.5 * sigmoid(s)), s one logit per (sample,
 * channel), as one op (shaders/gate.wgsl): the unfused chain's broadcast multiply backward wrote
 * g * gate and g * x as two full tensors and then summed the latter over H, W; here one pass
 * writes dx and the per-channel sums of g * x.
 */
import type { Tensor } from "../tensor.ts";
import { fmtShape } from "../tensor.ts";
import { checkF32 } from "./checks.ts";

/** Kernel shape of x [N, C, ...] viewed as [rows, inner]: vec4 entries when inner % 4 == 0. */
interface GatePlan {
  rows: number;
  /** Elements per row, in units of the entries (vec4s or elements). */
  inner: number;
  vec: boolean;
  parts: number;
  partLen: number;
}

function gatePlan(x: Tensor): GatePlan {
  const [n, c] = x.shape;
  const rows = n * c;
  const elems = rows > 0 ? x.size / rows : 0;
  const vec = elems % 4 === 0;
  const inner = vec ? elems / 4 : elems;
  // Per-thread chunks well under llvmpipe's loop budget (the reduction kernels' chunk).
  const chunk = x.engine.tuning.budgets.reduceChunk;
  const parts = Math.max(1, Math.ceil(inner / chunk));
  return { rows, inner, vec, parts, partLen: Math.ceil(inner / parts) };
}

function gateForward(x: Tensor, s: Tensor, p: GatePlan): Tensor {
  const e = x.engine;
  const y = e.empty(x.shape);
  const max = e.device.limits.maxComputeWorkgroupsPerDimension;
  const rowsY = Math.min(p.rows, max);
  e.run(
    { file: "gate", entry: p.vec ? "gate_fwd4" : "gate_fwd" },
    p.vec ? { src4: x, gate: s, dst4: y } : { src: x, gate: s, dst: y },
    { rows: p.rows, inner: p.inner, rows_y: rowsY },
    [Math.ceil(p.inner / e.tuning.wg), rowsY, Math.ceil(p.rows / rowsY)],
  );
  return y;
}

/** [dx, ds]: dx = g * gate, ds = 0.5 sigmoid'(s) * sum over H, W of g * x. */
function gateBackward(x: Tensor, s: Tensor, g: Tensor, p: GatePlan): [Tensor, Tensor] {
  const e = x.engine;
  const dx = e.empty(x.shape);
  const part = e.empty([p.rows * p.parts]);
  const u = { rows: p.rows, inner: p.inner, parts: p.parts, part_len: p.partLen };
  e.run(
    { file: "gate", entry: p.vec ? "gate_bwd4" : "gate_bwd" },
    p.vec
      ? { src4: x, grad4: g, gate: s, dst4: dx, part }
      : { src: x, grad: g, gate: s, dst: dx, part },
    u,
    e.grid(p.rows * p.parts),
  );
  const ds = e.empty(s.shape);
  e.run(
    { file: "gate", entry: "gate_finalize" },
    { part_in: part, gate: s, dst: ds },
    u,
    e.grid(p.rows),
  );
  part.dispose();
  return [dx, ds];
}

/**
 * Squeeze-excitation gating: x [N, C, ...] times 0.5 + 0.5 * sigmoid(s) for logits s [N, C],
 * broadcast over the trailing dims (gates in (0.5, 1), so a channel is damped, never cut).
 */
export function channelGate(x: Tensor, s: Tensor): Tensor {
  const op = "channelGate";
  checkF32(op, x, s);
  if (x.rank < 2 || s.rank !== 2 || s.shape[0] !== x.shape[0] || s.shape[1] !== x.shape[1]) {
    throw new Error(
      `${op}: expected x [N, C, ...] and logits [N, C], got ${fmtShape(x.shape)} and ${
        fmtShape(s.shape)
      }`,
    );
  }
  const p = gatePlan(x);
  const y = gateForward(x, s, p);
  return x.engine.record(y, op, [x, s], (g) => {
    const [dx, ds] = gateBackward(x, s, g, p);
    if (!x.requiresGrad) dx.dispose();
    if (!s.requiresGrad) ds.dispose();
    return [x.requiresGrad ? dx : null, s.requiresGrad ? ds : null];
  });
}
