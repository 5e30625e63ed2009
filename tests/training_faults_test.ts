/**
 * What a run folder survives: divergence, failed and replaced runs, resumes on other data or
 * settings, damaged checkpoints, and interrupted replacements. Tiny models; the signal tests
 * with real child processes are in cli_signals_test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Engine } from "../mod.ts";
import { LatentConditionerImg } from "../conditioner/model.ts";
import { predictFolder } from "../conditioner/predict.ts";
import { runTraining } from "../conditioner/run.ts";
import {
  NonFiniteError,
  parseRunState,
  readCheckpoint,
  RUN_FILES,
  saveCheckpoint,
} from "../conditioner/checkpoint.ts";
import { recoverRunFolder, RunFolder } from "../conditioner/run_folder.ts";
import { AdamW } from "../engine/optim/adamw.ts";
import { parseSafetensors, readTensors, serializeSafetensors } from "../engine/nn/safetensors.ts";
import { loadSafetensors } from "../io/files.ts";
import { clampMin, relu, scale, tanh } from "../engine/ops/elementwise.ts";
import { warmupCosineLr } from "../engine/optim/schedule.ts";
import { type Objective, originalObjective } from "../conditioner/objective.ts";
import { train } from "../conditioner/train.ts";
import { tinyConfig, tinyDataset } from "./tiny_training.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const engine = await Engine.create({ seed: 4 });
const quiet = () => {};

const { dataDir, dataset } = await tinyDataset(48, 3);

/** Trains a small good run into a fresh folder (under a fresh parent) and returns its path. */
async function goodRun(nEpoch = 3): Promise<string> {
  const runDir = join(await Deno.makeTempDir({ prefix: "faults-" }), "run");
  const r = await runTraining({
    engine,
    config: tinyConfig({ nEpoch }),
    dataset,
    runDir,
    log: quiet,
  });
  r.model.dispose();
  return runDir;
}

/** Every file of a folder with its bytes (to compare a folder before and after). */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile) continue;
    const bytes = await Deno.readFile(join(dir, entry.name));
    const digest = await crypto.subtle.digest("SHA-256", bytes);
    out.set(entry.name, btoa(String.fromCharCode(...new Uint8Array(digest))));
  }
  return out;
}

Deno.test("tanh, relu and clampMin keep NaN (a diverged model's loss stays NaN)", async () => {
  const x = engine.tensor([NaN, 2, -Infinity, NaN, 0.5, -3, NaN, 1], [8]);
  const t = await engine.tidy(() => tanh(x)).read();
  assert.ok(Number.isNaN(t[0]) && Number.isNaN(t[3]) && Number.isNaN(t[6]), `tanh: ${t}`);
  assert.equal(t[2], -1);
  assert.ok(Math.abs(t[1] - Math.tanh(2)) < 1e-6);
  const r = await engine.tidy(() => relu(x)).read();
  assert.ok(Number.isNaN(r[0]) && r[1] === 2 && r[2] === 0, `relu: ${r}`);
  const c = await engine.tidy(() => clampMin(x, 0.75)).read();
  assert.ok(Number.isNaN(c[3]) && c[4] === 0.75 && c[7] === 1, `clampMin: ${c}`);
  x.dispose();
});

Deno.test(
  "a run diverging in its first epoch saves nothing and leaves no folder",
  opts,
  async () => {
    const runDir = join(await Deno.makeTempDir({ prefix: "faults-" }), "run");
    const lines: string[] = [];
    const r = await runTraining({
      engine,
      config: tinyConfig({ lr: 1e30 }),
      dataset,
      runDir,
      log: (l) => lines.push(l),
    });
    r.model.dispose();
    assert.equal(r.stopReason, "diverged");
    assert.deepEqual(r.history, []);
    assert.ok(
      lines.some((l) => /training loss is NaN; there is no checkpoint/.test(l)),
      lines.join("\n"),
    );
    await assert.rejects(Deno.stat(runDir));
    await assert.rejects(Deno.stat(runDir + ".partial"));
  },
);

Deno.test(
  "resuming a good run with a diverging learning rate rolls back 3 times, halving it, and keeps every file",
  opts,
  async () => {
    const runDir = await goodRun();
    const before = await snapshot(runDir);
    const lines: string[] = [];
    const r = await runTraining({
      engine,
      config: tinyConfig({ nEpoch: 5, lr: 1e30 }),
      dataset,
      runDir,
      resume: true,
      log: (l) => lines.push(l),
    });
    r.model.dispose();
    assert.equal(r.stopReason, "diverged");
    const recoveries = lines.filter((l) => /returned to the checkpoint after epoch 3/.test(l));
    assert.deepEqual(
      recoveries.map((l) => /learning rate now x([\d.]+)/.exec(l)![1]),
      ["0.5", "0.25", "0.125"],
    );
    const after = await snapshot(runDir);
    for (const f of [RUN_FILES.resume, RUN_FILES.best, RUN_FILES.last, RUN_FILES.history]) {
      assert.equal(after.get(f), before.get(f), `${f} changed`);
    }
  },
);

Deno.test(
  "a rollback that recovers continues from the checkpoint with half the rate",
  opts,
  async () => {
    const runDir = await goodRun(2);
    // The objective's first step is NaN (loss, gradients, then every parameter); later ones behave.
    let poisoned = false;
    const flaky: Objective = {
      ...originalObjective,
      train: (model, batch, clean) => {
        const out = originalObjective.train(model, batch, clean);
        if (poisoned) return out;
        poisoned = true;
        return { ...out, total: scale(out.total, NaN) };
      },
    };
    const lines: string[] = [];
    const config = tinyConfig({ nEpoch: 4 });
    const r = await train({
      engine,
      config,
      dataset,
      folder: await RunFolder.open(runDir),
      objective: flaky,
      resume: true,
      log: (l) => lines.push(l),
    });
    r.model.dispose();
    assert.equal(r.stopReason, "completed");
    assert.ok(
      lines.some((l) =>
        /Epoch 3: training loss is NaN; returned to the checkpoint after epoch 2, learning rate now x0\.5 \(recovery 1 of 3\)/
          .test(l)
      ),
      lines.join("\n"),
    );
    assert.deepEqual(r.history.map((h) => h.epoch), [1, 2, 3, 4]);
    const schedule = warmupCosineLr({
      lr: config.lr,
      warmupEpochs: config.warmupEpochs,
      startFactor: 0.01,
      totalEpochs: config.nEpoch,
      etaMin: config.etaMin,
    });
    assert.ok(Math.abs(r.history[2].lr - schedule.lrAt(2) * 0.5) < 1e-12); // epoch 3
    assert.ok(r.history.every((h) => Object.values(h.train).every(Number.isFinite)));
    const state = JSON.parse(
      (await loadSafetensors(join(runDir, RUN_FILES.resume))).metadata.state,
    );
    assert.equal(state.lrScale, 0.5);
    assert.equal(state.recoveries, 1);
  },
);

Deno.test("checkpoints and models are never written with non-finite values", opts, async () => {
  const dir = await Deno.makeTempDir({ prefix: "faults-" });
  const model = new LatentConditionerImg(engine, { filters: [8, 16], imageSize: 32 });
  const opt = new AdamW(model.parameters());
  const w = model.parameters()[0];
  const data = new Float32Array(w.size).fill(0.1);
  data[3] = NaN;
  engine.write(w, data);
  const state = parseRunState(
    JSON.stringify({
      epoch: 1,
      optimizerSteps: 0,
      lr: 1e-3,
      bestVal: 1,
      bestEpoch: 1,
      objective: "original",
      filters: [8, 16],
      imageSize: 32,
      history: [],
    }),
    "test",
  );
  await assert.rejects(saveCheckpoint(dir, model, opt, state), NonFiniteError);
  assert.deepEqual([...Deno.readDirSync(dir)], []);
  model.dispose();
});

Deno.test("predict refuses a model with non-finite weights", opts, async () => {
  const runDir = await goodRun(1);
  const path = join(runDir, RUN_FILES.best);
  const file = await loadSafetensors(path);
  const [name, t] = [...file.tensors][0];
  t.data[0] = NaN;
  await Deno.writeFile(path, serializeSafetensors(file.tensors, file.metadata));
  await assert.rejects(
    predictFolder(engine, {
      runDir,
      imageDir: join(dataDir, "images"),
      outDir: join(runDir, "pred"),
    }),
    (e: Error) =>
      e.message.includes(path) && e.message.includes(name) && /non-finite/.test(e.message),
  );
});

Deno.test(
  "a new run refuses a folder holding a run; --overwrite replaces it only once it has a checkpoint",
  opts,
  async () => {
    const runDir = await goodRun();
    const before = await snapshot(runDir);
    await assert.rejects(
      runTraining({ engine, config: tinyConfig(), dataset, runDir, log: quiet }),
      /already holds a run.*--resume.*--overwrite/,
    );
    // A new run that fails at its start leaves the old run exactly as it was.
    await assert.rejects(
      runTraining({
        engine,
        config: tinyConfig({ filters: [8, 16, 32], batchSize: 1000 }),
        dataset,
        runDir,
        overwrite: true,
        log: quiet,
      }),
      /fewer than one batch/,
    );
    assert.deepEqual(await snapshot(runDir), before);
    await assert.rejects(Deno.stat(runDir + ".partial"));
    // One interrupted before its first epoch ends too.
    let steps = 0;
    const stopped = await runTraining({
      engine,
      config: tinyConfig({ filters: [8, 16, 32] }),
      dataset,
      runDir,
      overwrite: true,
      log: quiet,
      onProgress: (p) => steps += p.batch > 0 ? 1 : 0,
      shouldStop: () => steps >= 2,
    });
    stopped.model.dispose();
    assert.equal(stopped.stopReason, "interrupted");
    assert.deepEqual(await snapshot(runDir), before);
    // A completed replacement holds only the new run (one TensorBoard file, new config).
    const replaced = await runTraining({
      engine,
      config: tinyConfig({ filters: [8, 16, 32], nEpoch: 1 }),
      dataset,
      runDir,
      overwrite: true,
      log: quiet,
    });
    replaced.model.dispose();
    const config = JSON.parse(await Deno.readTextFile(join(runDir, RUN_FILES.config)));
    assert.deepEqual(config.filters, [8, 16, 32]);
    assert.equal([...Deno.readDirSync(join(runDir, "LatentConditionerRuns"))].length, 1);
    await assert.rejects(Deno.stat(runDir + ".replaced"));
  },
);

Deno.test("a replacement killed between its renames is finished by the next command", async () => {
  const parent = await Deno.makeTempDir({ prefix: "faults-" });
  const dir = join(parent, "run");
  // Killed after the old run moved aside, before the staged one moved in.
  await Deno.mkdir(dir + ".replaced");
  await Deno.writeTextFile(join(dir + ".replaced", RUN_FILES.config), "old");
  await Deno.mkdir(dir + ".partial");
  await Deno.writeTextFile(join(dir + ".partial", RUN_FILES.config), "new");
  await recoverRunFolder(dir);
  assert.equal(await Deno.readTextFile(join(dir, RUN_FILES.config)), "new");
  await assert.rejects(Deno.stat(dir + ".replaced"));
  // Killed after the staged run moved in, before the old one was deleted.
  await Deno.mkdir(dir + ".replaced");
  await recoverRunFolder(dir);
  assert.equal(await Deno.readTextFile(join(dir, RUN_FILES.config)), "new");
  await assert.rejects(Deno.stat(dir + ".replaced"));
  // A folder that is not empty and holds no run is never a run folder.
  const other = join(parent, "other");
  await Deno.mkdir(other);
  await Deno.writeTextFile(join(other, "notes.txt"), "mine");
  await assert.rejects(RunFolder.create(other, { overwrite: true }), /not empty and holds no run/);
});

Deno.test(
  "resume refuses other data and other settings, and records a new epoch count and rate",
  opts,
  async () => {
    const runDir = await goodRun(2);
    const other = (await tinyDataset(48, 9)).dataset;
    await assert.rejects(
      runTraining({
        engine,
        config: tinyConfig(),
        dataset: other,
        runDir,
        resume: true,
        log: quiet,
      }),
      /not what the run started with/,
    );
    await assert.rejects(
      runTraining({
        engine,
        config: tinyConfig({ seed: 5, gradClip: 1 }),
        dataset,
        runDir,
        resume: true,
        log: quiet,
      }),
      /different settings: --seed, --grad-clip/,
    );
    const r = await runTraining({
      engine,
      config: tinyConfig({ nEpoch: 3, lr: 1e-3 }),
      dataset,
      runDir,
      resume: true,
      log: quiet,
    });
    r.model.dispose();
    assert.deepEqual(r.history.map((h) => h.epoch), [1, 2, 3]);
    const config = JSON.parse(await Deno.readTextFile(join(runDir, RUN_FILES.config)));
    assert.equal(config.nEpoch, 3);
    assert.equal(config.lr, 1e-3);
    const info = JSON.parse(await Deno.readTextFile(join(runDir, "run.json")));
    assert.equal(info.resumes.length, 1);
  },
);

Deno.test(
  "checkpoint loading checks everything before changing the model or the optimizer",
  opts,
  async () => {
    const runDir = await goodRun(1);
    const path = join(runDir, RUN_FILES.resume);
    const original = await loadSafetensors(path);
    const model = new LatentConditionerImg(engine, { filters: [8, 16], imageSize: 32, seed: 11 });
    const opt = new AdamW(model.parameters());
    const weightsBefore = await readTensors(model.stateDict());
    const expect = async (
      tensors: typeof original.tensors,
      metadata: Record<string, string>,
      message: RegExp,
    ) => {
      await Deno.writeFile(path, serializeSafetensors(tensors, metadata));
      await assert.rejects(readCheckpoint(runDir, model, opt), (e: Error) => {
        assert.match(e.message, message);
        assert.ok(e.message.includes(path), `${e.message} does not name ${path}`);
        return true;
      });
    };
    const withoutMoment = new Map(original.tensors);
    withoutMoment.delete("optim.3.exp_avg_sq");
    await expect(withoutMoment, original.metadata, /"3\.exp_avg_sq" is missing/);
    const state = original.metadata.state;
    await expect(
      original.tensors,
      { ...original.metadata, state: state.slice(0, 40) },
      /not valid JSON/,
    );
    await expect(
      original.tensors,
      { ...original.metadata, state: '{"epoch":1}' },
      /field 'optimizerSteps' is missing/,
    );
    const parsed = JSON.parse(state);
    await expect(
      original.tensors,
      { ...original.metadata, state: JSON.stringify({ ...parsed, history: [{ epoch: "x" }] }) },
      /history\[0\]\.epoch/,
    );
    // The model is untouched by every failed load; the optimizer has taken no step.
    const weightsAfter = await readTensors(model.stateDict());
    for (const [k, t] of weightsBefore) assert.deepEqual(weightsAfter.get(k)!.data, t.data, k);
    assert.equal(opt.stepCount, 0);
    model.dispose();
  },
);

Deno.test(
  "every epoch is checkpointed with its history; derived files lagging a checkpoint are repaired on resume",
  opts,
  async () => {
    const runDir = await goodRun(3);
    const file = await loadSafetensors(join(runDir, RUN_FILES.resume));
    const state = JSON.parse(file.metadata.state);
    assert.equal(state.epoch, 3);
    assert.deepEqual(state.history.map((h: { epoch: number }) => h.epoch), [1, 2, 3]);
    // A kill after the checkpoint and before history.json / model_last leaves them behind.
    await Deno.writeTextFile(join(runDir, RUN_FILES.history), "[]");
    await Deno.remove(join(runDir, RUN_FILES.last));
    const r = await runTraining({
      engine,
      config: tinyConfig({ nEpoch: 5 }),
      dataset,
      runDir,
      resume: true,
      log: quiet,
    });
    r.model.dispose();
    const history = JSON.parse(await Deno.readTextFile(join(runDir, RUN_FILES.history)));
    assert.deepEqual(history.map((h: { epoch: number }) => h.epoch), [1, 2, 3, 4, 5]);
    await Deno.stat(join(runDir, RUN_FILES.last));
  },
);

Deno.test(
  "checkpoint_every spaces checkpoints; the first, validated and last epochs always get one",
  opts,
  async () => {
    const folder = await RunFolder.create(
      join(await Deno.makeTempDir({ prefix: "faults-" }), "run"),
    );
    const checkpointed: number[] = [];
    const r = await train({
      engine,
      config: tinyConfig({ nEpoch: 7, checkpointEvery: 3, valEvery: 5 }),
      dataset,
      folder,
      objective: originalObjective,
      log: quiet,
      onEpoch: () => {
        const file = parseSafetensors(Deno.readFileSync(join(folder.dir, RUN_FILES.resume)));
        checkpointed.push(JSON.parse(file.metadata.state).epoch);
      },
    });
    r.model.dispose();
    assert.deepEqual(checkpointed, [1, 1, 3, 3, 5, 6, 7]);
  },
);

// Engines left open at exit have crashed the OpenGL backend at teardown now and then.
Deno.test("training_faults: close engine", opts, () => engine.close());
