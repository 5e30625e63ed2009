/**
 * The whole benchmark run behind the `bench` command: for each section (kernels, conv stack,
 * training step) the engine's cases, then each peer's on the same shapes right after, so the
 * comparisons are measured back to back under the same machine load.
 */
import { benchWinograd, type WinogradResult } from "./winograd.ts";
import { Engine } from "../engine/engine.ts";
import type { TuneReport } from "../engine/autotune.ts";
import { type BenchTuning, type EngineSetup, tunedPrepare } from "./tuned.ts";
import type { TuneShapeOptions } from "../conditioner/tuning_cases.ts";
import { WINOGRAD_F2_ONLY } from "../engine/tuning.ts";
import { benchKernels, type KernelResult } from "./kernels.ts";
import { benchStack, type StackResult } from "./stack.ts";
import { benchTrainStep, stepObjective, type StepResult } from "./step.ts";
import { type PeerName, type PeerResult, type PeerSection, runPeer } from "./peers.ts";
import { type BenchPlan, DEFAULT_STEP_OBJECTIVES, makePlan } from "./shapes.ts";

/** Sections of a run. */
export type Section = "kernels" | "stack" | "step";
/** Every section, in the order they run. */
export const SECTIONS: Section[] = ["kernels", "stack", "step"];

/** Options of {@link runBench}. */
export interface RunOptions {
  quick?: boolean;
  /** Sections to run (default all). */
  only?: Section[];
  /** Run the peers (default true). */
  peers?: boolean;
  /** Objectives of the training step (default {@link DEFAULT_STEP_OBJECTIVES}). */
  objectives?: readonly string[];
  /** Only cases whose id contains this (kernels section; stack and step with `tuning`). */
  match?: string;
  /** Kernel tiles of the stack and step sections (default "fixed": the adapter's profile). */
  tuning?: BenchTuning;
  /**
   * False: tuned runs choose Winograd F(2x2, 3x3) only, not F(4x4, 3x3) (engine/tuning.ts
   * `winogradTiles`); with `tuning: "both"` their ids end in "tuned F2". Default true.
   */
  winogradF4?: boolean;
  /** `budgets.keptInputsMiB` of the stack and step engines (default the profile's). */
  keptInputsMiB?: number;
  log?: (line: string) => void;
}

/** Where and when the run happened. */
export interface MachineInfo {
  date: string;
  adapter: string;
  softwareAdapter: boolean;
  timestampQueries: boolean;
  cpu: string;
  cpuCores: number;
  memoryGiB: number;
  os: string;
  deno: string;
}

/** System load average (1, 5, 15 min) around a section: other work on the machine skews times. */
export interface LoadSample {
  section: string;
  before: number[];
  after: number[];
}

/** Everything a run measured. */
export interface BenchReport {
  machine: MachineInfo;
  options: {
    quick: boolean;
    sections: Section[];
    peers: boolean;
    objectives: string[];
    /** MiB of packed conv inputs the stack and step engines keep (undefined: the profile's). */
    keptInputsMiB?: number;
  };
  plan: BenchPlan;
  kernels: KernelResult[];
  /** Winograd against the implicit GEMM on the stride-1 3x3 layers (kernels section). */
  winograd?: WinogradResult[];
  stacks: StackResult[];
  steps: StepResult[];
  /** What the autotuner chose, by stack or step id (runs with `tuning` auto or both). */
  tuned: Record<string, TuneReport[]>;
  peers: Partial<Record<PeerName, PeerResult>>;
  load: LoadSample[];
  seconds: number;
}

/** CPU model from /proc/cpuinfo (or the OS name when unavailable). */
async function cpuModel(): Promise<string> {
  try {
    const text = await Deno.readTextFile("/proc/cpuinfo");
    const m = /^model name\s*:\s*(.+)$/m.exec(text);
    if (m) return m[1].trim();
  } catch {
    // not Linux
  }
  return `${Deno.build.os} ${Deno.build.arch}`;
}

/** Machine description for the report. */
export async function machineInfo(e: Engine): Promise<MachineInfo> {
  return {
    date: new Date().toISOString(),
    adapter: e.gpu.description,
    softwareAdapter: e.gpu.isSoftware,
    timestampQueries: e.gpu.hasTimestamps,
    cpu: await cpuModel(),
    cpuCores: navigator.hardwareConcurrency,
    memoryGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
    os: `${Deno.build.os} ${Deno.build.arch} (${Deno.osRelease()})`,
    deno: Deno.version.deno,
  };
}

function loadavg(): number[] {
  try {
    return Deno.loadavg().map((v) => Math.round(v * 100) / 100);
  } catch {
    return [];
  }
}

function merge(into: Partial<Record<PeerName, PeerResult>>, r: PeerResult): void {
  const prev = into[r.peer];
  if (!prev) {
    into[r.peer] = r;
    return;
  }
  prev.cases = { ...prev.cases, ...r.cases };
  prev.ok = prev.ok || r.ok;
  prev.info ??= r.info;
  prev.seconds = (prev.seconds ?? 0) + (r.seconds ?? 0);
  if (r.note && r.note !== prev.note) prev.note = prev.note ? `${prev.note}; ${r.note}` : r.note;
}

/** Runs the benchmarks. */
export async function runBench(options: RunOptions = {}): Promise<BenchReport> {
  const t0 = performance.now();
  const log = options.log ?? console.log;
  const quick = options.quick ?? false;
  const sections = options.only ?? SECTIONS;
  const withPeers = options.peers ?? true;
  const objectives = [...(options.objectives ?? DEFAULT_STEP_OBJECTIVES)];
  for (const o of objectives) stepObjective(o); // throws, naming the choices, on an unknown name
  if (options.winogradF4 === false && (options.tuning ?? "fixed") === "fixed") {
    throw new Error(
      "bench: --no-winograd-f4 applies to tuned runs: it needs --tuning auto or both",
    );
  }
  const plan = makePlan(quick, objectives);
  const probe = await Engine.create({ seed: 0 });
  const machine = await machineInfo(probe);
  probe.destroy();
  const report: BenchReport = {
    machine,
    options: {
      quick,
      sections,
      peers: withPeers,
      objectives,
      keptInputsMiB: options.keptInputsMiB,
    },
    plan,
    kernels: [],
    winograd: [],
    stacks: [],
    steps: [],
    tuned: {},
    peers: {},
    load: [],
    seconds: 0,
  };
  log(
    `Machine: ${report.machine.adapter}; CPU ${report.machine.cpu} x${report.machine.cpuCores}; ` +
      `load ${loadavg().join(" ")}`,
  );
  const peerNames: PeerName[] = ["torch", "tfjs"];
  const peersFor = async (section: PeerSection, p: BenchPlan) => {
    if (!withPeers) return;
    for (const name of peerNames) {
      if (name === "tfjs" && section === "step") continue;
      log(`${section}: ${name}`);
      const r = await runPeer(name, p, [section], log);
      if (!r.ok) log(`  ${name}: ${r.note}`);
      merge(report.peers, r);
    }
  };
  const filter = options.match ? (id: string) => id.includes(options.match!) : undefined;
  const tuning = options.tuning ?? "fixed";
  const modes: ("fixed" | "auto")[] = tuning === "both" ? ["fixed", "auto"] : [tuning];
  // With tuning, --match also picks stack and step cases (tuning the full model takes long).
  const tunedMatch = (id: string) => tuning === "fixed" || !filter || filter(id);
  const f2Only = options.winogradF4 === false;
  const idOf = (id: string, mode: "fixed" | "auto") =>
    mode === "auto" && tuning === "both" ? `${id} tuned${f2Only ? " F2" : ""}` : id;
  /** The engine setup of a stack or step case: tuned for `model` in "auto" mode. */
  const kept = options.keptInputsMiB;
  const budgets = kept === undefined ? {} : { budgets: { keptInputsMiB: kept } };
  const setupFor = (mode: "fixed" | "auto", id: string, model: TuneShapeOptions): EngineSetup =>
    mode === "fixed" ? { tuning: budgets } : {
      tuning: { ...(f2Only ? WINOGRAD_F2_ONLY : {}), ...budgets },
      prepare: tunedPrepare(model, report.tuned[id] = [], log),
    };

  for (const section of sections) {
    const before = loadavg();
    if (section === "kernels") {
      log("kernels: ours");
      const e = await Engine.create({ seed: 0 });
      try {
        report.kernels = await benchKernels(e, plan, {
          budgetS: plan.budgetS,
          maxReps: plan.maxReps,
          filter,
          log,
        });
      } finally {
        e.destroy();
      }
      log("kernels: winograd against the implicit GEMM (alternate runs)");
      report.winograd = await benchWinograd(plan, { rounds: quick ? 3 : 5, filter, log });
      const ids = new Set(report.kernels.map((k) => k.id));
      const sub: BenchPlan = {
        ...plan,
        matmul: plan.matmul.filter((m) => ids.has(m.id)),
        conv: plan.conv
          .map((c) => ({ ...c, dirs: c.dirs.filter((d) => ids.has(`conv ${c.id} ${d}`)) }))
          .filter((c) => c.dirs.length > 0),
      };
      await peersFor("kernels", sub);
    } else if (section === "stack") {
      const policy = { budgetS: 3 * plan.budgetS, maxReps: plan.maxReps, minReps: quick ? 1 : 2 };
      for (const base of plan.stacks.filter((s) => tunedMatch(s.id))) {
        for (const mode of modes) {
          const spec = { ...base, id: idOf(base.id, mode) };
          log(`stack: ours ${spec.id}`);
          const model = {
            filters: base.blocks.map((b) => b.cout),
            imageSize: base.imageSize,
            batch: base.batch,
          };
          const r = await benchStack(spec, policy, setupFor(mode, spec.id, model));
          report.stacks.push(r);
          log(
            `  ${spec.id.padEnd(44)} ${r.timing.ms.toFixed(1).padStart(10)} ms  ` +
              `${r.samplesPerS.toFixed(2)} samples/s  ${r.gflops.toFixed(2)} GFLOP/s`,
          );
        }
      }
      await peersFor("stack", plan);
    } else {
      const policy = { budgetS: 3 * plan.budgetS, maxReps: plan.maxReps, minReps: quick ? 1 : 2 };
      for (const base of plan.steps.filter((s) => tunedMatch(s.id))) {
        for (const mode of modes) {
          const spec = { ...base, id: idOf(base.id, mode) };
          log(`step: ours ${spec.id}`);
          const model = { filters: base.filters, imageSize: base.imageSize, batch: base.batch };
          const setup = setupFor(mode, spec.id, model);
          const r = await benchTrainStep(spec, { ...policy, log, setup });
          report.steps.push(r);
          log(
            `  ${spec.id.padEnd(44)} ${r.ms.toFixed(1).padStart(10)} ms  ` +
              `${r.samplesPerS.toFixed(2)} samples/s  peak ${
                (r.peakBytes / 2 ** 20).toFixed(0)
              } MiB`,
          );
        }
      }
      await peersFor("step", plan);
    }
    report.load.push({ section, before, after: loadavg() });
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}
