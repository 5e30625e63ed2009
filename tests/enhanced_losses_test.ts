/** The enhanced losses against PyTorch: fused multi-scale loss, perceptual loss, consistency. */
import assert from "node:assert/strict";
import {
  Engine,
  type HostTensor,
  loadSafetensors,
  loadStateDict,
  robustLoss,
  type Tensor,
} from "../mod.ts";
import { PerceptualFeatureNets } from "../conditioner/losses/perceptual.ts";
import { consistencyLoss } from "../conditioner/losses/consistency.ts";
import { assertClose } from "./helpers.ts";

const e = await Engine.create();
const opts = { sanitizeResources: false, sanitizeOps: false };
const g =
  (await loadSafetensors(new URL("./golden/enhanced.safetensors", import.meta.url).pathname))
    .tensors;
const host = (k: string) => g.get(k)!;
const leaf = (k: string) => e.tensor(host(k).data, host(k).shape, { requiresGrad: true });
const constant = (k: string) => e.tensor(host(k).data, host(k).shape);

async function checkGrads(prefix: string, p1: Tensor, p2: Tensor) {
  assertClose(await p1.grad!.read(), host(`${prefix}.grad_p1`).data, {
    atol: 1e-5,
    rtol: 1e-3,
    label: `${prefix} grad y1`,
  });
  assertClose(await p2.grad!.read(), host(`${prefix}.grad_p2`).data, {
    atol: 1e-5,
    rtol: 1e-3,
    label: `${prefix} grad y2`,
  });
}

Deno.test(
  "fused multi-scale robust loss: value, six terms and gradients equal PyTorch's",
  opts,
  async () => {
    const p1 = leaf("p1");
    const p2 = leaf("p2");
    const { total, terms } = robustLoss(p1, constant("t1"), p2, constant("t2"), {
      mse: 1,
      mae: 0.2,
      huber: 0.1,
      beta: 0.1,
      main: 10,
      hier: 1,
    });
    assert.deepEqual(total.shape, []);
    assertClose([await total.item()], host("ms.total").data, { atol: 1e-5, label: "total" });
    assertClose(await terms.read(), host("ms.components").data, { atol: 1e-6, label: "terms" });
    total.backward();
    await checkGrads("ms", p1, p2);
  },
);

Deno.test(
  "perceptual latent loss with PyTorch's feature nets: value and gradients",
  opts,
  async () => {
    const nets = new PerceptualFeatureNets(e, [16, 8]);
    const weights = new Map<string, HostTensor>();
    for (const [k, v] of g) {
      const m = /^perc\.(main|hier)\.(\d+)\.(\d+)\.(weight|bias)$/.exec(k);
      if (m) weights.set(`${m[1]}_networks.${m[2]}.${m[3]}.${m[4]}`, v);
    }
    loadStateDict(nets, weights);
    assert.ok(
      nets.parameters().every((p) => !p.requiresGrad),
      "feature nets must not be trainable",
    );
    const p1 = leaf("p1");
    const p2 = leaf("p2");
    const out = nets.forward(p1, p2, constant("t1"), constant("t2"));
    assertClose([await out.total.item()], host("perc.total").data, { atol: 1e-6, label: "total" });
    assertClose([await out.main.item()], host("perc.main").data, { atol: 1e-6, label: "main" });
    assertClose([await out.hier.item()], host("perc.hier").data, { atol: 1e-6, label: "hier" });
    out.total.backward();
    await checkGrads("perc", p1, p2);
    assert.equal(nets.parameters()[0].grad, null, "no gradient reaches the fixed nets");
  },
);

Deno.test("consistency regularisation: weighted MSE to the clean prediction", opts, async () => {
  const p1 = leaf("p1");
  const p2 = leaf("p2");
  const clean = { y1: constant("c1"), y2: constant("c2") };
  const l = consistencyLoss({ y1: p1, y2: p2 }, clean, 0.15, 1.0);
  assertClose([await l.item()], host("cons.total").data, { atol: 1e-6, label: "consistency" });
  l.backward();
  await checkGrads("cons", p1, p2);
  assert.throws(
    () => consistencyLoss({ y1: p1, y2: p2 }, clean, 0.1, 0),
    /temperature must be > 0/,
  );
});

// Engines left open at exit have crashed the OpenGL backend at teardown now and then.
Deno.test("enhanced_losses: close engine", opts, () => e.close());
