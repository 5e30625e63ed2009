/** AdamW, gradient clipping and the LR schedule against PyTorch. */
import assert from "node:assert/strict";
import {
  AdamW,
  add,
  clipGradNorm,
  Engine,
  loadSafetensors,
  mul,
  sum,
  warmupCosineLr,
} from "../mod.ts";
import { assertClose } from "./helpers.ts";

const e = await Engine.create();
const opts = { sanitizeResources: false, sanitizeOps: false };
const golden = (name: string) => new URL(`./golden/model/${name}`, import.meta.url).pathname;

Deno.test("AdamW with weight decay and clipping: three steps equal PyTorch's", opts, async () => {
  const f = (await loadSafetensors(golden("adamw.safetensors"))).tensors;
  const t = (k: string) => f.get(k)!;
  const params = [0, 1, 2].map((j) =>
    e.tensor(t(`param.${j}`).data, t(`param.${j}`).shape, { requiresGrad: true })
  );
  const opt = new AdamW(params, { lr: 1e-2, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.1 });
  for (let s = 1; s <= 3; s++) {
    opt.zeroGrad();
    // Deliver the fixture's gradient through backward: d/dp sum(p * g) = g.
    const loss = e.tidy(() => {
      let l = sum(mul(params[0], e.tensor(t(`grad.${s}.0`).data, params[0].shape)));
      for (const j of [1, 2]) {
        l = add(l, sum(mul(params[j], e.tensor(t(`grad.${s}.${j}`).data, params[j].shape))));
      }
      l.backward();
      return l;
    });
    loss.dispose();
    const norm = clipGradNorm(params, 1.0);
    for (const j of [0, 1, 2]) {
      assertClose(await params[j].grad!.read(), t(`clipped_grad.${s}.${j}`).data, {
        atol: 1e-6,
        label: `clipped grad ${s}.${j}`,
      });
    }
    assertClose([await norm.item()], [t("total_norm").data[s - 1]], {
      atol: 1e-6,
      label: `norm ${s}`,
    });
    opt.step();
    for (const j of [0, 1, 2]) {
      assertClose(await params[j].read(), t(`after.${s}.${j}`).data, {
        atol: 1e-5,
        rtol: 0,
        label: `param ${s}.${j}`,
      });
    }
  }
  const state = await opt.stateDict();
  assertClose(state.tensors.get("1.exp_avg_sq")!.data, t("exp_avg_sq.3.1").data, {
    atol: 1e-8,
    label: "exp_avg_sq",
  });
  assert.equal(state.step, 3);
});

Deno.test("AdamW state restores exactly", opts, async () => {
  const make = () => [e.tensor([1, 2, 3], [3], { requiresGrad: true })];
  const a = make();
  const optA = new AdamW(a, { lr: 0.1 });
  const stepWith = (p: typeof a, opt: AdamW, g: number[]) => {
    opt.zeroGrad();
    e.tidy(() => {
      sum(mul(p[0], e.tensor(g, [3]))).backward();
    });
    opt.step();
  };
  stepWith(a, optA, [1, -1, 0.5]);
  const saved = await optA.stateDict();
  const b = [e.tensor(await a[0].read(), [3], { requiresGrad: true })];
  const optB = new AdamW(b, { lr: 0.1 });
  optB.loadStateDict(saved);
  stepWith(a, optA, [0.3, 0.2, -2]);
  stepWith(b, optB, [0.3, 0.2, -2]);
  assert.deepEqual(await b[0].read(), await a[0].read());
});

Deno.test("LR schedule: warm-up then cosine equals PyTorch's SequentialLR per epoch", async () => {
  const ref = JSON.parse(await Deno.readTextFile(golden("lr_schedule.json")));
  const s = warmupCosineLr({
    lr: ref.base_lr,
    warmupEpochs: ref.warmup_epochs,
    startFactor: ref.start_factor,
    totalEpochs: ref.epochs,
    etaMin: ref.eta_min,
  });
  const got = ref.lr_at_epoch.map((_: number, i: number) => s.lrAt(i));
  assertClose(got, ref.lr_at_epoch, { atol: 1e-15, rtol: 1e-9, label: "lr per epoch" });
});

// Engines left open at exit have crashed the OpenGL backend at teardown now and then.
Deno.test("optim: close engine", opts, () => e.close());
