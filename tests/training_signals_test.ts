/**
 * `train` as a real child process receiving real signals: Ctrl-C within an epoch, a second
 * Ctrl-C, SIGKILL while replacing a run, a self-contained `--resume`, and divergence's exit
 * status. Tiny models (filters 8 16 at 32 px).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { generateDemo, writeDemo } from "../conditioner/demo_data.ts";
import { loadSafetensors } from "../io/files.ts";
import { RUN_FILES } from "../conditioner/checkpoint.ts";

const CLI = new URL("../cli/main.ts", import.meta.url).pathname;
const dataDir = await Deno.makeTempDir({ prefix: "signals-data-" });
// 120 samples at batch 2: 48 batches an epoch, so a signal lands inside one.
await writeDemo(dataDir, generateDemo({ count: 120, imageSize: 32, seed: 5 }));
const TINY = [
  "--filters",
  "8 16",
  "--image-size",
  "32",
  "--batch-size",
  "2",
  "--no-progress",
  "--tuning",
  "fixed",
];

/** A running `train` whose output is collected line by line. */
class TrainProcess {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  readonly #done: Promise<void>;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "train", ...args],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...env },
    }).spawn();
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      let rest = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop()!;
        this.lines.push(...parts);
      }
      if (rest) this.lines.push(rest);
    };
    this.#done = Promise.all([collect(this.child.stdout), collect(this.child.stderr)]).then(
      () => {},
    );
  }

  /** Resolves when a line matches `re` (rejects if the process ends first). */
  async waitFor(re: RegExp): Promise<void> {
    while (!this.lines.some((l) => re.test(l))) {
      const ended = await Promise.race([
        this.#done.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), 5)),
      ]);
      if (ended && !this.lines.some((l) => re.test(l))) {
        throw new Error(`process ended before ${re}:\n${this.lines.join("\n")}`);
      }
    }
  }

  /** Exit code and the whole output. */
  async finish(): Promise<{ code: number; out: string }> {
    const { code } = await this.child.status;
    await this.#done;
    return { code, out: this.lines.join("\n") };
  }
}

async function runDir(): Promise<string> {
  return join(await Deno.makeTempDir({ prefix: "signals-" }), "run");
}

async function checkpointEpoch(dir: string): Promise<number> {
  const file = await loadSafetensors(join(dir, RUN_FILES.resume));
  return JSON.parse(file.metadata.state).epoch;
}

Deno.test("Ctrl-C stops within the epoch with exit 130; --resume alone continues on the run's own data", async () => {
  const out = await runDir();
  const p = new TrainProcess(["--data", dataDir, "--out", out, "--epochs", "40", ...TINY]);
  await p.waitFor(/^Epoch +1\/40/);
  p.child.kill("SIGINT");
  const first = await p.finish();
  assert.equal(first.code, 130, first.out);
  const stop = /Interrupted in epoch (\d+) after (\d+) of (\d+) batches/.exec(first.out);
  assert.ok(stop, first.out);
  assert.ok(Number(stop[2]) < Number(stop[3]), `stopped at the end of the epoch: ${stop[0]}`);
  const kept = await checkpointEpoch(out);
  assert.equal(kept, Number(stop[1]) - 1);

  // No --data: the run folder knows its data (the default would be the bundled demo).
  const resumed = new TrainProcess(["--resume", "--out", out, "--epochs", String(kept + 3)]);
  const second = await resumed.finish();
  assert.equal(second.code, 0, second.out);
  assert.match(second.out, new RegExp(`Resuming ${out}: data ${dataDir}`));
  const history = JSON.parse(await Deno.readTextFile(join(out, RUN_FILES.history)));
  assert.deepEqual(
    history.map((h: { epoch: number }) => h.epoch),
    [...Array(kept + 3).keys()].map((i) => i + 1),
  );

  const refused = await new TrainProcess(["--resume", "--out", out, "--filters", "8 16 32"])
    .finish();
  assert.equal(refused.code, 1);
  assert.match(refused.out, /these flags would change them: --filters/);
});

Deno.test("a second Ctrl-C ends the process at once, leaving the last complete checkpoint", async () => {
  const out = await runDir();
  // Large images and batches: after the first Ctrl-C the run waits about a second for the
  // queued batch. The child is frozen while the second signal is sent, so it lands in that wait.
  // The first Ctrl-C comes well inside epoch 2 (about 1.5 s a batch here): at an epoch's start no
  // batch is queued yet and the run would stop before the second signal.
  const big = ["--image-size", "256", "--batch-size", "24"];
  const p = new TrainProcess(["--data", dataDir, "--out", out, "--epochs", "40", ...TINY, ...big]);
  await p.waitFor(/^Epoch +1\/40/);
  await new Promise((r) => setTimeout(r, 2000));
  p.child.kill("SIGINT");
  await p.waitFor(/Stopping after the current batch/);
  p.child.kill("SIGSTOP");
  p.child.kill("SIGINT");
  p.child.kill("SIGCONT");
  const status = await p.child.status;
  const { out: text } = await p.finish();
  assert.equal(status.signal, "SIGINT", text);
  assert.equal(status.code, 130);
  assert.doesNotMatch(text, /Interrupted in epoch|Done \(/);
  const lastEpoch = Math.max(...[...text.matchAll(/^Epoch +(\d+)\/40/gm)].map((m) => +m[1]));
  assert.equal(await checkpointEpoch(out), lastEpoch);
});

Deno.test("SIGKILL while replacing a run leaves the previous run complete", async () => {
  const out = await runDir();
  const good = await new TrainProcess(["--data", dataDir, "--out", out, "--epochs", "1", ...TINY])
    .finish();
  assert.equal(good.code, 0, good.out);
  const before = await Deno.readFile(join(out, RUN_FILES.resume));
  const p = new TrainProcess([
    "--data",
    dataDir,
    "--out",
    out,
    "--overwrite",
    "--epochs",
    "5",
    ...TINY.slice(0, 1),
    "8 16 32",
    ...TINY.slice(2),
  ]);
  await p.waitFor(/^Training original/);
  p.child.kill("SIGKILL");
  await p.finish();
  assert.deepEqual(await Deno.readFile(join(out, RUN_FILES.resume)), before);
  const config = JSON.parse(await Deno.readTextFile(join(out, RUN_FILES.config)));
  assert.deepEqual(config.filters, [8, 16]);
  // The previous run still predicts; its config and scalers still match its model.
  const predicted = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "predict", "--run", out, "--images", join(dataDir, "images")],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(predicted.code, 0, new TextDecoder().decode(predicted.stderr));
});

Deno.test("a diverging run exits 1 saying so and saves nothing", async () => {
  const out = await runDir();
  const { code, out: text } = await new TrainProcess([
    "--data",
    dataDir,
    "--out",
    out,
    "--epochs",
    "2",
    "--lr",
    "1e30",
    ...TINY,
  ]).finish();
  assert.equal(code, 1, text);
  assert.match(text, /error: training diverged \(non-finite values\); nothing was saved/);
  await assert.rejects(Deno.stat(out));
});
