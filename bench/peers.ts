/**
 * Runs the peer benchmarks (bench/peers/) as subprocesses on a plan and collects their JSON:
 * PyTorch on the CPU through /usr/bin/python3, TF.js's WebGPU backend through this Deno. A peer
 * that is not installed or fails is skipped with a note saying why.
 */
import type { BenchPlan } from "./shapes.ts";

/** Peer names. */
export type PeerName = "torch" | "tfjs";

/** One timed case of a peer. */
export interface PeerCase {
  ms: number;
  samples: number[];
  warmupMs: number;
  method: string;
  samplesPerS?: number;
  peakRssBytes?: number;
  truncated?: boolean;
  note?: string;
}

/** What a peer returned. */
export interface PeerResult {
  peer: PeerName;
  ok: boolean;
  /** Why it was skipped or failed. */
  note?: string;
  info?: Record<string, unknown>;
  cases: Record<string, PeerCase>;
  /** Wall seconds the peer ran. */
  seconds?: number;
}

/** Sections a peer can run. */
export type PeerSection = "kernels" | "stack" | "step";

/** Where the peer scripts are. */
function script(name: string): string {
  const url = new URL(`./peers/${name}`, import.meta.url);
  if (url.protocol !== "file:") throw new Error(`peer scripts must be local files, not ${url}`);
  return decodeURIComponent(url.pathname);
}

/** The Python the PyTorch peer runs with (PYTHON overrides it). */
export function pythonPath(): string {
  return Deno.env.get("PYTHON") ?? "/usr/bin/python3";
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Runs a command, streaming its stderr lines to `log`; returns its stdout and status. */
async function runStreaming(
  cmd: string,
  args: string[],
  log: (line: string) => void,
): Promise<{ code: number; stdout: string; stderrTail: string }> {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).spawn();
  const tail: string[] = [];
  const errDone = (async () => {
    const decoder = new TextDecoderStream();
    let buf = "";
    for await (const chunk of child.stderr.pipeThrough(decoder)) {
      buf += chunk;
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      for (const l of lines) {
        tail.push(l);
        if (tail.length > 30) tail.shift();
        log(l);
      }
    }
    if (buf) tail.push(buf);
  })();
  const stdout = await new Response(child.stdout).text();
  const status = await child.status;
  await errDone;
  return { code: status.code, stdout, stderrTail: tail.join("\n") };
}

/** Parses the last JSON line of a peer's stdout. */
function parseOutput(peer: PeerName, stdout: string): PeerResult | null {
  const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).at(-1);
  if (!line) return null;
  const parsed = JSON.parse(line);
  return { peer, cases: {}, ...parsed };
}

/**
 * Runs one peer on `plan` for `sections` (the plan is written to a temporary file). Never
 * throws: failures come back as `ok: false` with a note.
 */
export async function runPeer(
  peer: PeerName,
  plan: BenchPlan,
  sections: PeerSection[],
  log: (line: string) => void = () => {},
): Promise<PeerResult> {
  const planFile = await Deno.makeTempFile({ prefix: "bench-plan-", suffix: ".json" });
  const t0 = performance.now();
  try {
    await Deno.writeTextFile(planFile, JSON.stringify(plan));
    let cmd: string;
    let args: string[];
    if (peer === "torch") {
      cmd = pythonPath();
      if (!(await exists(cmd))) {
        return { peer, ok: false, note: `skipped: ${cmd} not found`, cases: {} };
      }
      const probe = await new Deno.Command(cmd, {
        args: ["-c", "import torch; print(torch.__version__)"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!probe.success) {
        return {
          peer,
          ok: false,
          note: `skipped: PyTorch is not installed for ${cmd} (apt-get install python3-torch)`,
          cases: {},
        };
      }
      const only = sections.join(",");
      args = [script("torch_bench.py"), "--plan", planFile, "--only", only, "--threads", "2"];
    } else {
      const only = sections.filter((s) => s !== "step").join(",");
      if (!only) return { peer, ok: false, note: "no training step for TF.js", cases: {} };
      cmd = Deno.execPath();
      args = [
        "run",
        "-A",
        "--no-lock",
        script("tfjs_bench.ts"),
        "--plan",
        planFile,
        "--only",
        only,
      ];
    }
    const r = await runStreaming(cmd, args, (l) => log(`  [${peer}] ${l.trimStart()}`));
    const parsed = parseOutput(peer, r.stdout);
    const seconds = (performance.now() - t0) / 1000;
    if (!parsed) {
      return {
        peer,
        ok: false,
        note: `failed (exit ${r.code}) without a result: ${
          r.stderrTail.split("\n").slice(-5).join(" | ")
        }`,
        cases: {},
        seconds,
      };
    }
    return { ...parsed, peer, seconds };
  } catch (e) {
    return { peer, ok: false, note: `failed: ${(e as Error).message}`, cases: {} };
  } finally {
    await Deno.remove(planFile).catch(() => {});
  }
}
