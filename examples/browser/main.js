// The README's tiny regression (examples/tiny_regression.ts) and one forward/backward of a small
// LatentConditionerImg, run in the page from the bundle. `?steps=N` sets the regression's steps;
// with `?report=URL` the results (or the error) are POSTed there as JSON.
import {
  Engine,
  LatentConditionerImg,
  linear,
  mseLoss,
  SGD,
  silu,
  simulgenLoss,
} from "../../dist/webgpu-conditioner.js";

const query = new URLSearchParams(location.search);
const steps = Number(query.get("steps") ?? 500);
const report = query.get("report");
const show = (id, text) => document.getElementById(id).textContent = text;

async function regression(e) {
  const xs = Array.from({ length: 64 }, (_, i) => i / 32 - 1);
  const x = e.tensor(xs, [64, 1]);
  const y = e.tensor(xs.map((v) => Math.sin(3 * v)), [64, 1]);
  const w1 = e.randn([32, 1], { seed: 1, requiresGrad: true });
  const b1 = e.zeros([32], { requiresGrad: true });
  const w2 = e.randn([1, 32], { seed: 2, requiresGrad: true });
  const b2 = e.zeros([1], { requiresGrad: true });
  const opt = new SGD([w1, b1, w2, b2], { lr: 0.1 });
  const losses = [];
  for (let step = 0; step <= steps; step++) {
    const loss = e.tidy(() => {
      opt.zeroGrad();
      const l = mseLoss(linear(silu(linear(x, w1, b1)), w2, b2), y);
      l.backward();
      opt.step();
      return l;
    });
    if (step % 20 === 0 || step === steps) {
      losses.push({ step, loss: await loss.item() });
      show("regression", losses.map((l) => `step ${l.step}: loss ${l.loss.toFixed(4)}`).join("\n"));
    }
    loss.dispose();
  }
  return { steps, losses, initial: losses[0].loss, final: losses.at(-1).loss };
}

async function conditionerStep(e) {
  const options = { filters: [8, 16], imageSize: 32 };
  const model = new LatentConditionerImg(e, options);
  const batch = {
    x: e.rand([2, 1, 32, 32], { seed: 3 }),
    y1: e.rand([2, 32], { seed: 4 }),
    y2: e.rand([2, 3, 8], { seed: 5 }),
  };
  const loss = e.tidy(() => {
    const { total } = simulgenLoss(model.forward(batch.x), batch);
    total.backward();
    return total;
  });
  const params = model.parameters();
  const grads = params.map((p) => p.grad).filter((g) => g !== null);
  const [value, ...gradValues] = await e.readAll([loss, ...grads]);
  let sumSquares = 0;
  let finite = true;
  for (const g of gradValues) {
    for (const v of g) {
      sumSquares += v * v;
      finite &&= Number.isFinite(v);
    }
  }
  const result = {
    ...options,
    parameters: params.length,
    withGrad: grads.length,
    loss: value[0],
    gradNorm: Math.sqrt(sumSquares),
    gradsFinite: finite,
  };
  show(
    "conditioner",
    `filters [8, 16] at 32 px, batch 2: loss ${result.loss.toFixed(4)}, ` +
      `${result.withGrad} of ${result.parameters} parameters got gradients ` +
      `(norm ${result.gradNorm.toFixed(4)}, ${finite ? "all finite" : "NOT finite"})`,
  );
  return result;
}

/** Runs `fn` and adds the seconds it took to its result. */
async function timed(fn) {
  const start = performance.now();
  const result = await fn();
  return { ...result, seconds: (performance.now() - start) / 1000 };
}

async function main() {
  const e = await Engine.create({ seed: 0 });
  show("adapter", e.gpu.description || "(no description)");
  try {
    const fit = await timed(() => regression(e));
    const step = await timed(() => conditionerStep(e));
    show(
      "status",
      `done: regression ${fit.seconds.toFixed(1)} s, conditioner step ${step.seconds.toFixed(1)} s`,
    );
    return { adapter: e.gpu.description, regression: fit, conditioner: step };
  } finally {
    e.destroy();
  }
}

let result;
try {
  result = await main();
} catch (err) {
  result = { error: String(err?.stack ?? err) };
  show("status", `failed: ${result.error}`);
}
if (report) await fetch(report, { method: "POST", body: JSON.stringify(result) });
