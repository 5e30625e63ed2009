/** End-to-end training: learning, checkpoints and resume, TensorBoard, prediction, fallback. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Engine, loadSafetensors } from "../mod.ts";
import type { ConditionerConfig } from "../conditioner/config.ts";
import { presetConfig } from "../conditioner/enhanced_config.ts";
import { readNpy, readNpz } from "../conditioner/npy.ts";
import { type Objective, originalObjective } from "../conditioner/objective.ts";
import { predictFolder } from "../conditioner/predict.ts";
import { METRICS_FILE, runTraining } from "../conditioner/run.ts";
import { eventFiles, readEvents } from "../conditioner/tensorboard.ts";
import { RUN_FILES } from "../conditioner/checkpoint.ts";
import { tinyConfig as tinyShape, tinyDataset } from "./tiny_training.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const engine = await Engine.create({ seed: 4 });
const { dataDir, dataset } = await tinyDataset(160, 3);
/** This file's runs: 12 epochs in batches of 16. */
const tinyConfig = (over: Partial<ConditionerConfig> = {}) =>
  tinyShape({ nEpoch: 12, batchSize: 16, ...over });

const quiet = () => {};

Deno.test(
  "original training: validation loss falls well below its start; outputs are written",
  opts,
  async () => {
    const runDir = await Deno.makeTempDir({ prefix: "run-" });
    const config = tinyConfig({ filters: [8, 16, 32], lr: 2e-2, nEpoch: 15 });
    const r = await runTraining({ engine, config, dataset, runDir, log: quiet });
    assert.equal(r.stopReason, "completed");
    const vals = r.history.map((h) => h.valMetric!);
    assert.equal(vals.length, 15);
    assert.ok(
      vals.at(-1)! < 0.75 * vals[0],
      `validation ${vals[0]} -> ${vals.at(-1)} did not drop by 25%`,
    );
    for (
      const f of [
        RUN_FILES.best,
        RUN_FILES.last,
        RUN_FILES.resume,
        RUN_FILES.config,
        RUN_FILES.scalers,
        "loss_curves.svg",
      ]
    ) {
      await Deno.stat(join(runDir, f));
    }
    // TensorBoard: the original's tags, one value per epoch.
    const [events] = eventFiles(join(runDir, "LatentConditionerRuns"));
    const recs = readEvents(events);
    assert.equal(recs[0].fileVersion, "brain.Event:2");
    const trainTag = recs.filter((x) => x.tag === "LatentConditioner Loss/train");
    assert.deepEqual(trainTag.map((x) => x.step), [...Array(15).keys()].map((i) => i + 1));
    for (
      const tag of [
        "LatentConditioner Loss/val_y1",
        "LatentConditioner Loss/train_y2",
        "Learning Rate",
        "Validation/metric",
      ]
    ) {
      assert.ok(recs.some((x) => x.tag === tag), `missing tag ${tag}`);
    }
    // predict: raw-space latents with SimulGen-VAE's shapes.
    const out = join(runDir, "pred");
    const p = await predictFolder(engine, {
      runDir,
      imageDir: join(dataDir, "images"),
      outDir: out,
    });
    assert.equal(p.count, 160);
    assert.deepEqual((await readNpy(join(out, "latent_vectors.npy"))).shape, [160, 32]);
    assert.deepEqual((await readNpy(join(out, "xs.npy"))).shape, [160, 3, 8]);
    r.model.dispose();
  },
);

Deno.test("interrupted training resumes from its checkpoint and finishes", opts, async () => {
  const runDir = await Deno.makeTempDir({ prefix: "run-" });
  let batches = 0;
  const first = await runTraining({
    engine,
    config: tinyConfig({ nEpoch: 4 }),
    dataset,
    runDir,
    log: quiet,
    onProgress: (p) => batches += p.batch > 0 ? 1 : 0,
    shouldStop: () => batches >= 20, // 8 batches per epoch: stops inside epoch 3
  });
  assert.equal(first.stopReason, "interrupted");
  assert.deepEqual(first.history.map((h) => h.epoch), [1, 2]);
  const saved = await loadSafetensors(join(runDir, RUN_FILES.resume));
  assert.equal(JSON.parse(saved.metadata.state).epoch, 2);
  first.model.dispose();
  const second = await runTraining({
    engine,
    config: tinyConfig({ nEpoch: 4 }),
    dataset,
    runDir,
    log: quiet,
    resume: true,
  });
  assert.equal(second.stopReason, "completed");
  assert.deepEqual(second.history.map((h) => h.epoch), [1, 2, 3, 4]);
  second.model.dispose();
});

Deno.test(
  "enhanced training logs its components and falls back to the original recipe on failure",
  opts,
  async () => {
    const runDir = await Deno.makeTempDir({ prefix: "run-" });
    const config = tinyConfig({
      nEpoch: 4,
      enhanced: { enabled: true, preset: "robust", loss: presetConfig("robust") },
    });
    let steps = 0;
    const failing: Objective = {
      ...originalObjective,
      name: "enhanced:robust",
      train: (m, b, c) => {
        if (++steps === 20) throw new Error("injected failure"); // inside epoch 3
        return originalObjective.train(m, b, c);
      },
    };
    const lines: string[] = [];
    const r = await runTraining({
      engine,
      config,
      dataset,
      runDir,
      log: (l) => lines.push(l),
      enhancedObjective: failing,
    });
    assert.ok(r.fallback, "no fallback recorded");
    assert.match(r.fallback.reason, /injected failure/);
    assert.ok(
      lines.some((l) => /continuing with the original recipe from the last checkpoint/.test(l)),
      lines.join("\n"),
    );
    assert.deepEqual(r.history.map((h) => h.objective), [
      "enhanced:robust",
      "enhanced:robust",
      "original",
      "original",
    ]);
    const metrics = await readNpz(join(runDir, METRICS_FILE));
    assert.deepEqual(Array.from(metrics.enhanced.data), [1, 1, 0, 0]);
    assert.equal(metrics.fallback_epoch.data[0], 3);
    r.model.dispose();
  },
);

Deno.test(
  "the robust preset trains with all enhancements and writes its metrics and TensorBoard tags",
  opts,
  async () => {
    const runDir = await Deno.makeTempDir({ prefix: "run-" });
    const config = tinyConfig({
      nEpoch: 2,
      enhanced: { enabled: true, preset: "robust", loss: presetConfig("robust") },
    });
    const lines: string[] = [];
    const r = await runTraining({ engine, config, dataset, runDir, log: (l) => lines.push(l) });
    assert.equal(r.fallback, undefined);
    assert.ok(
      lines.some((l) => /components: multiscale .* \| perceptual .* \| consistency /.test(l)),
    );
    const metrics = await readNpz(join(runDir, METRICS_FILE));
    for (
      const k of [
        "epoch_losses",
        "validation_losses",
        "learning_rates",
        "multiscale_loss",
        "perceptual_loss",
        "consistency_loss",
        "mse_main",
        "huber_hier",
      ]
    ) {
      assert.equal(metrics[k]?.shape[0], 2, `metrics ${k}`);
      assert.ok(metrics[k].data.every(Number.isFinite), `metrics ${k} not finite`);
    }
    const recs = readEvents(eventFiles(join(runDir, "EnhancedLatentConditionerRuns"))[0]);
    for (
      const tag of [
        "Enhanced_Loss/Total_Train",
        "Enhanced_Loss/Total_Validation",
        "Enhanced_Training/Learning_Rate",
        "Enhanced_Loss_Components/perceptual_loss",
        "Enhanced_Loss_Details/mae_main",
        "Validation/metric",
      ]
    ) {
      assert.ok(
        recs.some((x) => x.tag === tag),
        `missing tag ${tag}`,
      );
    }
    r.model.dispose();
  },
);

// Engines left open at exit have crashed the OpenGL backend at teardown now and then.
Deno.test("train: close engine", opts, () => engine.close());
