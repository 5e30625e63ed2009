// Trains a two-layer MLP on y = sin(3x): the engine's API in ~15 lines.
import { Engine, linear, mseLoss, SGD, silu } from "../mod.ts";

const e = await Engine.create({ seed: 0 });
const xs = Array.from({ length: 64 }, (_, i) => i / 32 - 1);
const x = e.tensor(xs, [64, 1]);
const y = e.tensor(xs.map((v) => Math.sin(3 * v)), [64, 1]);
const w1 = e.randn([32, 1], { seed: 1, requiresGrad: true });
const b1 = e.zeros([32], { requiresGrad: true });
const w2 = e.randn([1, 32], { seed: 2, requiresGrad: true });
const b2 = e.zeros([1], { requiresGrad: true });
const opt = new SGD([w1, b1, w2, b2], { lr: 0.1 });
for (let step = 0; step <= 500; step++) {
  const loss = e.tidy(() => {
    opt.zeroGrad();
    const l = mseLoss(linear(silu(linear(x, w1, b1)), w2, b2), y);
    l.backward();
    opt.step();
    return l;
  });
  if (step % 100 === 0) console.log(`step ${step}: loss ${(await loss.item()).toFixed(4)}`);
  loss.dispose();
}
e.destroy();
