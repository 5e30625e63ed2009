/** The latent conditioner against PyTorch: parameter counts, checkpoints, outputs, gradients. */
import assert from "node:assert/strict";
import {
  add,
  Engine,
  loadSafetensors,
  loadStateDict,
  mseLoss,
  parseSafetensors,
  readTensors,
  scale,
  serializeSafetensors,
} from "../mod.ts";
import { LatentConditionerImg } from "../conditioner/model.ts";
import { assertClose } from "./helpers.ts";

const e = await Engine.create({ seed: 3 });
const opts = { sanitizeResources: false, sanitizeOps: false };
const golden = (name: string) => new URL(`./golden/model/${name}`, import.meta.url).pathname;

Deno.test("model: parameter counts and state_dict size match SimulGen-VAE", opts, () => {
  const cases: [number[], number, number, number][] = [
    [[32, 64, 128, 256, 512], 256, 5_265_624, 114],
    [[32, 64, 128, 256], 256, 1_322_968, 95],
    [[8, 16, 32, 64], 48, 84_976, 95],
  ];
  for (const [filters, imageSize, params, tensors] of cases) {
    const m = new LatentConditionerImg(e, { filters, imageSize });
    assert.equal(m.parameterCount(), params, `parameters of ${filters}`);
    assert.equal(m.stateDict().size, tensors, `state_dict tensors of ${filters}`);
    m.dispose();
  }
});

async function loadSmall(): Promise<LatentConditionerImg> {
  const m = new LatentConditionerImg(e, { filters: [8, 16, 32], imageSize: 32 });
  const file = await loadSafetensors(golden("model_small.safetensors"));
  loadStateDict(m, file.tensors, { source: "model_small.safetensors" });
  return m;
}

const io = (await loadSafetensors(golden("model_small_io.safetensors"))).tensors;
const host = (k: string) => io.get(k)!;
const gpu = (k: string) => e.tensor(host(k).data, host(k).shape);

Deno.test("model: a PyTorch checkpoint predicts the same y1/y2 in eval mode", opts, async () => {
  const m = await loadSmall();
  m.eval();
  const { y1, y2 } = e.noGrad(() => m.forward(gpu("x")));
  assert.deepEqual(y2.shape, [2, 3, 8]);
  assertClose(await y1.read(), host("eval_y1").data, { atol: 1e-4, rtol: 1e-3, label: "eval y1" });
  assertClose(await y2.read(), host("eval_y2").data, { atol: 1e-4, rtol: 1e-3, label: "eval y2" });
  m.dispose();
});

Deno.test(
  "model: train-mode forward, spectral-norm updates and gradients match PyTorch",
  opts,
  async () => {
    const m = await loadSmall();
    m.train();
    const loss = e.tidy(() => {
      const { y1, y2 } = m.forward(gpu("x"));
      const l = add(scale(mseLoss(y1, gpu("t1")), 10), mseLoss(y2, gpu("t2")));
      l.backward();
      return { l, y1, y2 };
    });
    assertClose(await loss.y1.read(), host("train_y1").data, { atol: 1e-4, label: "train y1" });
    assertClose(await loss.y2.read(), host("train_y2").data, { atol: 1e-4, label: "train y2" });
    assertClose([await loss.l.item()], host("loss").data, {
      atol: 1e-5,
      rtol: 1e-4,
      label: "loss",
    });
    for (const [name, t] of m.namedBuffers()) {
      assertClose(await t.read(), host(`after_train.${name}`).data, {
        atol: 1e-5,
        rtol: 1e-3,
        label: name,
      });
    }
    let checked = 0;
    for (const [name, p] of m.namedParameters()) {
      const want = host(`grad.${name}`).data;
      const maxAbs = want.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
      assert.ok(p.grad, `${name} has no gradient`);
      assertClose(await p.grad.read(), want, {
        atol: 1e-3 * maxAbs + 1e-7,
        rtol: 0,
        label: `grad ${name}`,
      });
      checked++;
    }
    assert.equal(checked, 44);
    m.dispose();
  },
);

Deno.test("checkpoint round trip: save -> load gives identical predictions", opts, async () => {
  const a = new LatentConditionerImg(e, { filters: [8, 16], imageSize: 32, seed: 5 });
  const b = new LatentConditionerImg(e, { filters: [8, 16], imageSize: 32, seed: 6 });
  a.eval();
  b.eval();
  const x = e.rand([2, 1, 32, 32], { seed: 1 });
  const bytes = serializeSafetensors(await readTensors(a.stateDict()), { format: "pt" });
  loadStateDict(b, parseSafetensors(bytes).tensors);
  const ya = e.noGrad(() => a.forward(x));
  const yb = e.noGrad(() => b.forward(x));
  assert.deepEqual(await yb.y1.read(), await ya.y1.read());
  assert.deepEqual(await yb.y2.read(), await ya.y2.read());
});

Deno.test(
  "checkpoint errors: missing key, wrong shape, truncated body, lying header",
  opts,
  async () => {
    const m = new LatentConditionerImg(e, { filters: [8, 16], imageSize: 32, seed: 5 });
    const state = await readTensors(m.stateDict());
    const before = await m.stateDict().get("conv1.weight")!.read();

    const missing = new Map(state);
    missing.delete("gn1.bias");
    assert.throws(() => loadStateDict(m, missing), /missing keys: gn1\.bias/);

    const wrong = new Map(state);
    wrong.set("conv1.weight", { shape: [8, 1, 3, 3], data: new Float32Array(72) });
    assert.throws(
      () => loadStateDict(m, wrong),
      /conv1\.weight: file \[8, 1, 3, 3\], model \[8, 1, 7, 7\]/,
    );

    const extra = new Map(state);
    extra.set("head.weight", { shape: [1], data: new Float32Array(1) });
    assert.throws(() => loadStateDict(m, extra), /unexpected keys: head\.weight/);

    const bytes = serializeSafetensors(state);
    assert.throws(
      () => parseSafetensors(bytes.subarray(0, bytes.length - 10), "cut.safetensors"),
      /cut\.safetensors.*outside/,
    );
    assert.throws(
      () => parseSafetensors(bytes.subarray(0, 5), "tiny.safetensors"),
      /tiny\.safetensors: truncated/,
    );

    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
    header["conv1.weight"].data_offsets[1] += 4;
    const lying = new TextEncoder().encode(JSON.stringify(header));
    const forged = new Uint8Array(8 + lying.length + bytes.length);
    new DataView(forged.buffer).setBigUint64(0, BigInt(lying.length), true);
    forged.set(lying, 8);
    assert.throws(
      () => parseSafetensors(forged, "forged"),
      /forged: tensor "conv1\.weight": data_offsets/,
    );

    // Nothing was written by the failed loads.
    assert.deepEqual(await m.stateDict().get("conv1.weight")!.read(), before);
  },
);

// Engines left open at exit have crashed the OpenGL backend at teardown now and then.
Deno.test("model: close engine", opts, () => e.close());
