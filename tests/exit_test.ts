/**
 * The command line's exit path after an error: the message is printed and the process exits with
 * code 1, also when the error comes after a GPU engine was created (a process that exited while
 * Mesa's lavapipe still ran queued work used to die with a segmentation fault, about 1 run in 10).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Engine } from "../engine/engine.ts";
import { RUN_FILES } from "../conditioner/checkpoint.ts";
import { writeTinyRun } from "./tiny_run.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const ROOT = new URL("..", import.meta.url).pathname;
/** Runs of the failing command, and how many run at once (to load the machine). */
const RUNS = 30;
const AT_ONCE = 2;

interface Outcome {
  code: number;
  signal: string | null;
  stderr: string;
}

async function cli(...args: string[]): Promise<Outcome> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "cli/main.ts"), ...args],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, signal: out.signal, stderr: new TextDecoder().decode(out.stderr) };
}

/** A tiny run folder whose config.json asks for wider layers than its model file holds. */
async function mismatchedRun(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "conditioner_exit_" });
  const engine = await Engine.create();
  try {
    await writeTinyRun(engine, dir, 2);
  } finally {
    await engine.close();
  }
  const path = join(dir, RUN_FILES.config);
  const config = JSON.parse(await Deno.readTextFile(path));
  config.filters = [8, 32];
  await Deno.writeTextFile(path, JSON.stringify(config));
  return dir;
}

Deno.test(
  `predict failing after the engine exists exits with code 1, ${RUNS} times in a row`,
  opts,
  async () => {
    const run = await mismatchedRun();
    const model = join(run, RUN_FILES.best);
    const args = ["predict", "--run", run, "--images", join(run, "images"), "--out", run];
    try {
      const outcomes: Outcome[] = [];
      for (let i = 0; i < RUNS; i += AT_ONCE) {
        const batch = Array.from({ length: Math.min(AT_ONCE, RUNS - i) }, () => cli(...args));
        outcomes.push(...await Promise.all(batch));
      }
      outcomes.forEach((o, i) => {
        const what = `run ${i + 1}: code ${o.code}, signal ${o.signal}, stderr:\n${o.stderr}`;
        assert.equal(o.code, 1, what);
        assert.equal(o.signal, null, what);
        assert.ok(o.stderr.startsWith(`error: ${model} does not match the model:`), what);
      });
      const flag = await cli(...args, "--batch-size", "abc");
      assert.equal(flag.code, 1);
      assert.equal(
        flag.stderr,
        "error: option '--batch-size' must be a positive integer (got 'abc')\n",
      );
    } finally {
      await Deno.remove(run, { recursive: true });
    }
  },
);
