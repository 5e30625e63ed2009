/** Reverse-mode automatic differentiation over the graph recorded by ops. */
import type { Engine } from "./engine.ts";
import { fmtShape, type Tensor } from "./tensor.ts";
import { add, axpyInto } from "./ops/elementwise.ts";
import { copyInto } from "./ops/layout.ts";

/** Tensors reachable from `root` through grad nodes, each after all of its inputs. */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const next = inputs[i];
      if (next.requiresGrad && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

/**
 * Back-propagates from a scalar. Every gradient tensor has exactly one owner: the pending map,
 * a leaf's `.grad`, or nothing (then it is disposed as soon as its node has run), so peak memory
 * stays close to the forward's.
 */
export function runBackward(engine: Engine, root: Tensor): void {
  if (root.size !== 1) {
    throw new Error(`backward: needs a scalar (one element), got shape ${fmtShape(root.shape)}`);
  }
  if (!root.requiresGrad) {
    throw new Error("backward: the tensor does not require grad (no input had requiresGrad: true)");
  }
  root.storage("backward");
  engine.noGrad(() => {
    const pending = new Map<Tensor, Tensor>();
    pending.set(root, engine.ones(root.shape));
    const order = topoOrder(root);
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const g = pending.get(t);
      if (!g) continue;
      pending.delete(t);
      if (!t.node) {
        accumulateLeaf(engine, t, g);
        continue;
      }
      const node = t.node;
      const grads = node.backward(g);
      const owned = new Set<Tensor>();
      for (let i = 0; i < node.inputs.length; i++) {
        const input = node.inputs[i];
        let gi = grads[i];
        if (!gi) continue;
        if (!input.requiresGrad) {
          if (gi !== g && !owned.has(gi)) gi.dispose();
          continue;
        }
        if (gi.size !== input.size || gi.rank !== input.rank) {
          throw new Error(
            `backward of ${node.op}: gradient ${fmtShape(gi.shape)} does not match input ${
              fmtShape(input.shape)
            }`,
          );
        }
        // A rule may hand back the incoming gradient or the same tensor twice; give each owner its own.
        if (gi === g || owned.has(gi)) gi = engine.view(gi, gi.shape);
        owned.add(gi);
        const prev = pending.get(input);
        if (prev) {
          pending.set(input, add(prev, gi));
          prev.dispose();
          gi.dispose();
        } else {
          pending.set(input, gi);
        }
      }
      g.dispose();
    }
  });
}

function accumulateLeaf(engine: Engine, leaf: Tensor, g: Tensor): void {
  const slot = leaf.gradSlot;
  if (slot) {
    if (leaf.grad === slot) axpyInto(slot, g, 1);
    else copyInto(slot, g);
    g.dispose();
    leaf.grad = slot;
    return;
  }
  if (leaf.grad && !leaf.grad.disposed) {
    const sum = add(leaf.grad, g);
    leaf.grad.dispose();
    g.dispose();
    leaf.grad = engine.keep(sum);
  } else {
    leaf.grad = engine.keep(g);
  }
}
