/**
 * Fused activation ops against the unfused chains they replace in the conditioner, forward and
 * backward (backward rules called directly with a fixed upstream gradient): GroupNorm + SiLU,
 * residual add + SiLU, and the squeeze-excitation gate. Both variants of a pair count the same
 * nominal bytes (the fused op's passes), so their GB/s compare like their times.
 */
import type { Engine } from "../engine/engine.ts";
import type { Tensor } from "../engine/tensor.ts";
import { add, addScalar, addSilu, mul, scale, sigmoid, silu } from "../engine/ops/elementwise.ts";
import { groupNorm } from "../engine/ops/norm.ts";
import { channelGate } from "../engine/ops/gate.ts";
import { reshape } from "../engine/ops/layout.ts";
import type { Runner } from "./kernels.ts";

/** Which variant of a pair a runner times. */
export type Variant = "fused" | "unfused";

const VARIANTS: Variant[] = ["fused", "unfused"];

/**
 * Cases for every shape (with its GroupNorm groups): GroupNorm + SiLU, add + SiLU and the SE
 * gate, each fused and unfused, as factories (inputs are created when a case runs).
 */
export function fusedCases(
  e: Engine,
  shapes: { shape: readonly number[]; groups: number }[],
): { id: string; make: () => Runner }[] {
  const cases: { id: string; make: () => Runner }[] = [];
  for (const { shape, groups } of shapes) {
    const dims = `[${shape.join(",")}]`;
    for (const v of VARIANTS) {
      cases.push({
        id: `gn+silu ${dims} G${groups} ${v}`,
        make: () => gnSiluRunner(e, shape, groups, v),
      });
    }
    for (const v of VARIANTS) {
      cases.push({ id: `add+silu ${dims} ${v}`, make: () => addSiluRunner(e, shape, v) });
    }
    for (const v of VARIANTS) {
      cases.push({ id: `se gate ${dims} ${v}`, make: () => seGateRunner(e, shape, v) });
    }
  }
  return cases;
}

function freeAll(ts: Tensor[]): void {
  for (const t of ts) if (!t.disposed) t.dispose();
}

/** Runs the backward rules of a chain of single-input nodes, last to first. */
function backChain(chain: Tensor[], g: Tensor): Tensor {
  let grad = g;
  for (let i = chain.length - 1; i >= 0; i--) grad = chain[i].node!.backward(grad)[0]!;
  return grad;
}

/** Nominal bytes: forward reads x and writes y; backward reads x and dy and writes dx. */
export function gnSiluRunner(
  e: Engine,
  shape: readonly number[],
  groups: number,
  v: Variant,
): Runner {
  const x = e.randn(shape, { seed: 6, requiresGrad: true });
  const c = shape[1];
  const weight = e.ones([c], { requiresGrad: true });
  const bias = e.zeros([c], { requiresGrad: true });
  const dy = e.randn(shape, { seed: 7 });
  const opts = { weight, bias };
  return {
    id: `gn+silu [${shape.join(",")}] G${groups} ${v}`,
    group: "fused",
    label: `[${shape.join(", ")}] G${groups} fwd+bwd, ${v}`,
    bytes: 5 * 4 * x.size,
    run: v === "fused"
      ? () => {
        const y = groupNorm(x, groups, { ...opts, activation: "silu" });
        e.noGrad(() => y.node!.backward(dy));
      }
      : () => {
        const z = groupNorm(x, groups, opts);
        const y = silu(z);
        e.noGrad(() => z.node!.backward(backChain([y], dy)));
      },
    dispose: () => freeAll([x, weight, bias, dy]),
  };
}

/** Nominal bytes: forward reads a, b and writes y; backward reads a, b, dy and writes one grad. */
export function addSiluRunner(e: Engine, shape: readonly number[], v: Variant): Runner {
  const a = e.randn(shape, { seed: 8, requiresGrad: true });
  const b = e.randn(shape, { seed: 9, requiresGrad: true });
  const dy = e.randn(shape, { seed: 10 });
  return {
    id: `add+silu [${shape.join(",")}] ${v}`,
    group: "fused",
    label: `[${shape.join(", ")}] fwd+bwd, ${v}`,
    bytes: 7 * 4 * a.size,
    run: v === "fused"
      ? () => {
        const y = addSilu(a, b);
        e.noGrad(() => y.node!.backward(dy));
      }
      : () => {
        const s = add(a, b);
        const y = silu(s);
        e.noGrad(() => s.node!.backward(backChain([y], dy)));
      },
    dispose: () => freeAll([a, b, dy]),
  };
}

/** Nominal bytes: forward reads x and writes y; backward reads x and dy and writes dx. */
export function seGateRunner(e: Engine, shape: readonly number[], v: Variant): Runner {
  const [n, c] = shape;
  const x = e.randn(shape, { seed: 11, requiresGrad: true });
  const s = e.randn([n, c], { seed: 12, requiresGrad: true });
  const dy = e.randn(shape, { seed: 13 });
  return {
    id: `se gate [${shape.join(",")}] ${v}`,
    group: "fused",
    label: `[${shape.join(", ")}] fwd+bwd, ${v}`,
    bytes: 5 * 4 * x.size,
    run: v === "fused"
      ? () => {
        const y = channelGate(x, s);
        e.noGrad(() => y.node!.backward(dy));
      }
      : () => {
        // The chain the model ran before channelGate.
        const chain = [sigmoid(s)];
        chain.push(scale(chain[0], 0.5));
        chain.push(addScalar(chain[1], 0.5));
        chain.push(reshape(chain[2], [n, c, 1, 1]));
        const y = mul(x, chain[3]);
        e.noGrad(() => {
          const [, gf] = y.node!.backward(dy);
          backChain(chain, gf!);
        });
      },
    dispose: () => freeAll([x, s, dy]),
  };
}
