// The README's tiny regression (examples/tiny_regression.ts) in Node: Dawn's `webgpu` package
// provides navigator.gpu and the WebGPU globals, the bundle (`deno task bundle`) the engine.
// Without a GPU, point Vulkan at SwiftShader (Chromium ships it):
//   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json node tiny_regression.js
import { create, globals } from "webgpu";

Object.assign(globalThis, globals);
Object.defineProperty(globalThis, "navigator", { value: { gpu: create([]) }, configurable: true });
const { Engine, linear, mseLoss, SGD, silu } = await import("../../dist/webgpu-conditioner.js");

const e = await Engine.create({ seed: 0 });
console.log(`adapter: ${e.gpu.description}`);
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
