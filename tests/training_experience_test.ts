/**
 * What a user sees of a run: progress events, the one comparable metric, epoch numbers from 1 in
 * every output, early stopping and the warm-up warning. Tiny models.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Engine } from "../mod.ts";
import { runTraining } from "../conditioner/run.ts";
import { train, type TrainProgress } from "../conditioner/train.ts";
import { type Objective, originalObjective } from "../conditioner/objective.ts";
import { RunFolder } from "../conditioner/run_folder.ts";
import { RUN_FILES } from "../conditioner/checkpoint.ts";
import { eventFiles, readEvents } from "../conditioner/tensorboard.ts";
import { loadSafetensors } from "../io/files.ts";
import { presetConfig } from "../conditioner/enhanced_config.ts";
import { tinyConfig, tinyDataset } from "./tiny_training.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const engine = await Engine.create({ seed: 4 });
const { dataset } = await tinyDataset(48, 3);

const newRunDir = async () => join(await Deno.makeTempDir({ prefix: "experience-" }), "run");

Deno.test(
  "progress: compiling first, then batches with running loss, rate and ETA",
  opts,
  async () => {
    const events: TrainProgress[] = [];
    const r = await runTraining({
      engine,
      config: tinyConfig({ nEpoch: 2 }),
      dataset,
      runDir: await newRunDir(),
      log: () => {},
      onProgress: (p) => events.push({ ...p }),
    });
    r.model.dispose();
    const batches = 4; // 38 training samples (80%) in batches of 8
    assert.deepEqual(
      events.map((e) => `${e.epoch}:${e.batch}`),
      ["1:0", "1:1", "1:2", "1:3", "1:4", "2:0", "2:1", "2:2", "2:3", "2:4"],
    );
    assert.ok(events.every((e) => e.batches === batches && e.epochs === 2));
    assert.equal(events[0].compiling, true);
    assert.ok(events.slice(1).every((e) => !e.compiling));
    const done = events.filter((e) => e.batch > 0);
    assert.ok(done.every((e) => e.runningLoss !== null && e.runningLoss > 0), "running loss");
    // The first batch compiles and is not timed; rates and ETAs come from the batches after it.
    assert.equal(events[1].samplesPerSecond, null);
    assert.ok(events.slice(2).every((e) => e.samplesPerSecond! > 0 && e.etaSeconds! >= 0));
    assert.ok(events.at(-1)!.etaSeconds! < events[2].etaSeconds!, "the ETA falls");
    // The running loss of an epoch's last batch is the epoch's training loss.
    const last = events.at(-1)!;
    assert.ok(
      Math.abs(last.runningLoss! - r.history[1].train.total) < 1e-5 * r.history[1].train.total,
    );
  },
);

Deno.test(
  "one metric everywhere: console, TensorBoard, history.json and the best model, epochs from 1",
  opts,
  async () => {
    const runDir = await newRunDir();
    const lines: string[] = [];
    const config = tinyConfig({
      enhanced: { enabled: true, preset: "robust", loss: presetConfig("robust") },
    });
    const r = await runTraining({ engine, config, dataset, runDir, log: (l) => lines.push(l) });
    r.model.dispose();
    const history = JSON.parse(await Deno.readTextFile(join(runDir, RUN_FILES.history)));
    assert.deepEqual(history.map((h: { epoch: number }) => h.epoch), [1, 2, 3]);
    // Named parts; the perceptual component is logged as it enters the total (weighted).
    const h0 = history[0];
    assert.ok(typeof h0.train.total === "number" && typeof h0.train.perceptual === "number");
    const sum = h0.train.multiscale + h0.train.perceptual + h0.train.consistency;
    assert.ok(
      Math.abs(sum - h0.train.total) < 1e-4 * h0.train.total,
      `${sum} vs ${h0.train.total}`,
    );
    // Best by the metric, not by the recipe's own total.
    const metrics = history.map((h: { valMetric: number }) => h.valMetric);
    const best = Math.min(...metrics);
    assert.equal(r.bestVal, best);
    assert.equal(r.bestEpoch, metrics.indexOf(best) + 1);
    const bestFile = await loadSafetensors(join(runDir, RUN_FILES.best));
    assert.equal(bestFile.metadata.epoch, String(r.bestEpoch));
    assert.equal(Number(bestFile.metadata.val_metric), best);
    // The console shows the metric on each validated epoch line, numbered from 1.
    const epochLines = lines.filter((l) => /^Epoch \d\/3/.test(l));
    assert.equal(epochLines.length, 3);
    epochLines.forEach((l, i) => {
      assert.match(l, new RegExp(`^Epoch ${i + 1}/3 .*\\| metric ${metrics[i].toFixed(4)}`));
    });
    // TensorBoard steps are the same epoch numbers.
    const recs = readEvents(eventFiles(join(runDir, "EnhancedLatentConditionerRuns"))[0]);
    const metricEvents = recs.filter((x) => x.tag === "Validation/metric");
    assert.deepEqual(metricEvents.map((x) => x.step), [1, 2, 3]);
    metricEvents.forEach((x, i) => assert.ok(Math.abs(x.value! - metrics[i]) < 1e-6 * metrics[i]));
    const state = JSON.parse(
      (await loadSafetensors(join(runDir, RUN_FILES.resume))).metadata.state,
    );
    assert.equal(state.epoch, 3);
  },
);

Deno.test("--patience stops after that many validations without improvement", opts, async () => {
  // A validation metric that only gets worse: the best stays at epoch 1.
  let calls = 0;
  const worsening: Objective = {
    ...originalObjective,
    validate: (model, batch) => ({
      ...originalObjective.validate(model, batch),
      metric: engine.full([], ++calls),
    }),
  };
  const lines: string[] = [];
  const folder = await RunFolder.create(await newRunDir());
  const r = await train({
    engine,
    config: tinyConfig({ nEpoch: 20, patience: 2 }),
    dataset,
    folder,
    objective: worsening,
    log: (l) => lines.push(l),
  });
  r.model.dispose();
  assert.equal(r.stopReason, "no-improvement");
  assert.equal(r.bestEpoch, 1);
  assert.deepEqual(r.history.map((h) => h.epoch), [1, 2, 3]);
  assert.ok(lines.some((l) => /Stopping early: .* not improved for 2 validations/.test(l)));
  const best = await loadSafetensors(join(folder.path, RUN_FILES.best));
  assert.equal(best.metadata.epoch, "1");
});

Deno.test("a warm-up as long as the run is warned about", opts, async () => {
  const lines: string[] = [];
  const r = await runTraining({
    engine,
    config: tinyConfig({ nEpoch: 2, warmupEpochs: 100 }),
    dataset,
    runDir: await newRunDir(),
    log: (l) => lines.push(l),
  });
  r.model.dispose();
  assert.ok(
    lines.some((l) =>
      /^warning: the warm-up \(100 epochs, --warmup-epochs\) is not shorter/.test(l)
    ),
    lines.join("\n"),
  );
});

// Engines left open at exit have crashed the OpenGL backend at teardown now and then.
Deno.test("training_experience: close engine", opts, () => engine.close());
