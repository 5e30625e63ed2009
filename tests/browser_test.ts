/**
 * The bundle in a browser: builds `dist/webgpu-conditioner.js` (`deno task bundle`), serves the
 * repository, opens `examples/browser/` in headless Chromium on SwiftShader's WebGPU and checks
 * what the page reports: the tiny regression learns and a conditioner step gives finite values.
 * Needs Chromium (`apt-get install -y chromium`, or the CHROMIUM variable naming its binary).
 */
import assert from "node:assert/strict";
import { serveRepository } from "../tools/serve.ts";
import { findChromium } from "./chromium.ts";

const ROOT = new URL("../", import.meta.url);
/** How long the page may take from launch to report. */
const PAGE_TIMEOUT_MS = 90_000;
/** Regression steps the page runs (the README's example runs 500). */
const STEPS = 200;

async function buildBundle(): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "bundle"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`deno task bundle failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Keeps the last `limit` characters of a stream (Chromium's log, for failure messages). */
async function tail(stream: ReadableStream<Uint8Array>, into: { text: string }, limit = 6000) {
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    into.text = (into.text + chunk).slice(-limit);
  }
}

interface PageReport {
  error?: string;
  adapter: string;
  regression: { steps: number; initial: number; final: number; seconds: number };
  conditioner: {
    parameters: number;
    withGrad: number;
    loss: number;
    gradNorm: number;
    gradsFinite: boolean;
    seconds: number;
  };
}

Deno.test("the bundle trains in headless Chromium (examples/browser)", async () => {
  const chromium = await findChromium("tests/browser_test.ts");
  await buildBundle();

  let received!: (body: string) => void;
  const reported = new Promise<string>((resolve) => received = resolve);
  const server = serveRepository({ port: 0, onReport: (body) => received(body) });
  const profile = await Deno.makeTempDir({ prefix: "browser_test_" });
  const page = `http://127.0.0.1:${server.addr.port}/examples/browser/index.html` +
    `?steps=${STEPS}&report=/report`;
  const browser = new Deno.Command(chromium, {
    args: [
      "--headless=new",
      "--no-sandbox",
      "--enable-unsafe-webgpu",
      "--enable-features=Vulkan",
      "--use-vulkan=swiftshader",
      "--use-webgpu-adapter=swiftshader",
      "--disable-gpu-sandbox",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--enable-logging=stderr",
      `--user-data-dir=${profile}`,
      page,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = { text: "" };
  const logDone = tail(browser.stderr, log);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const body = await Promise.race([
      reported,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no report from the page in ${PAGE_TIMEOUT_MS / 1000} s`)),
          PAGE_TIMEOUT_MS,
        );
      }),
      browser.status.then((s) => {
        throw new Error(`Chromium exited (code ${s.code}) before the page reported`);
      }),
    ]).catch((e) => {
      throw new Error(`${(e as Error).message}; Chromium's log ends with:\n${log.text}`);
    });
    const report = JSON.parse(body) as PageReport;
    assert.equal(report.error, undefined, `the page failed: ${report.error}`);
    const { regression, conditioner } = report;
    console.log(
      `${report.adapter}: regression ${regression.seconds.toFixed(1)} s, ` +
        `conditioner step ${conditioner.seconds.toFixed(1)} s`,
    );
    assert.equal(regression.steps, STEPS);
    assert.ok(
      regression.final < 0.5 * regression.initial,
      `regression loss ${regression.initial} -> ${regression.final} did not halve`,
    );
    assert.ok(Number.isFinite(conditioner.loss) && conditioner.loss > 0, `${conditioner.loss}`);
    assert.ok(conditioner.gradsFinite, "conditioner gradients are not finite");
    assert.ok(conditioner.gradNorm > 0 && Number.isFinite(conditioner.gradNorm));
    assert.equal(conditioner.withGrad, conditioner.parameters, "every parameter gets a gradient");
  } finally {
    clearTimeout(timer);
    try {
      browser.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    const killer = setTimeout(() => {
      try {
        browser.kill("SIGKILL");
      } catch {
        // Exited meanwhile.
      }
    }, 5000);
    await browser.status;
    clearTimeout(killer);
    await logDone;
    await server.shutdown();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
});
