/**
 * Turns a {@link BenchReport} into table rows (our time and rate, each peer's time and the ratio
 * peer time / our time, so > 1 means we are faster) and checks the speed targets.
 */
import { formatTuneTable } from "../engine/autotune.ts";
import type { BenchReport } from "./run.ts";
import type { PeerName } from "./peers.ts";
import { convLabel, REFERENCE_CONV } from "./shapes.ts";
import { fmt } from "./timing.ts";

/** A peer's entry in a row. */
export interface PeerCell {
  ms: number;
  /** Peer time / our time (> 1: we are faster). */
  ratio: number;
  note?: string;
}

/** One line of the table. */
export interface Row {
  section: string;
  id: string;
  label: string;
  /** Our time: GPU kernel time for kernel cases (when timestamps exist), else wall time. */
  ms: number;
  /** Our wall time including one sync, what the peers' times are compared with. */
  wallMs: number;
  /** Our rate, with its unit (GFLOP/s, GB/s or samples/s). */
  rate: string;
  peers: Partial<Record<PeerName, PeerCell>>;
}

/** A speed target and whether the run met it. */
export interface TargetCheck {
  target: string;
  measured: string;
  /** null when it could not be measured (section or peer missing). */
  met: boolean | null;
}

const PEERS: PeerName[] = ["torch", "tfjs"];

function peerCells(
  r: BenchReport,
  id: string,
  ours: number,
): Partial<Record<PeerName, PeerCell>> {
  const cells: Partial<Record<PeerName, PeerCell>> = {};
  for (const p of PEERS) {
    const c = r.peers[p]?.cases[id];
    if (!c) continue;
    cells[p] = { ms: c.ms, ratio: c.ms / ours, note: c.truncated ? "truncated" : c.note };
  }
  return cells;
}

/** The rows of a report, in run order. */
export function rows(r: BenchReport): Row[] {
  const out: Row[] = [];
  for (const k of r.kernels) {
    const rate = k.gflops !== undefined
      ? `${fmt(k.gflops)} GFLOP/s`
      : k.gbps !== undefined
      ? `${fmt(k.gbps)} GB/s`
      : "";
    out.push({
      section: k.group,
      id: k.id,
      label: k.label,
      ms: k.timing.ms,
      wallMs: k.timing.wallMs,
      rate,
      peers: peerCells(r, k.id, k.timing.wallMs),
    });
  }
  for (const s of r.stacks) {
    out.push({
      section: "stack",
      id: s.id,
      label: `convs+linears+SiLU fwd+bwd, batch ${s.batch} @${s.imageSize}px`,
      ms: s.timing.ms,
      wallMs: s.timing.ms,
      rate: `${fmt(s.samplesPerS)} samples/s (${fmt(s.gflops)} GFLOP/s)`,
      peers: peerCells(r, s.id, s.timing.ms),
    });
  }
  for (const s of r.steps) {
    out.push({
      section: "step",
      id: s.id,
      label: `${s.objective} step, filters ${
        s.filters.join(" ")
      }, batch ${s.batch} @${s.imageSize}px`,
      ms: s.ms,
      wallMs: s.ms,
      rate: `${fmt(s.samplesPerS)} samples/s, ${fmt(s.epochS)} s/epoch, peak ${
        fmt(s.peakBytes / 2 ** 20)
      } MiB`,
      peers: peerCells(r, s.id, s.ms),
    });
  }
  return out;
}

function rate(r: BenchReport, id: string): number | undefined {
  return r.kernels.find((k) => k.id === id)?.gflops;
}

/** Checks the targets of the speed work against a report. */
export function targets(r: BenchReport): TargetCheck[] {
  const out: TargetCheck[] = [];
  const mm = rate(r, "matmul 1024^3");
  out.push({
    target: "matmul 1024^3 >= 40 GFLOP/s",
    measured: mm === undefined ? "not run" : `${fmt(mm)} GFLOP/s`,
    met: mm === undefined ? null : mm >= 40,
  });
  const ref = rate(r, `conv ${REFERENCE_CONV.id} fwd`);
  out.push({
    target: "conv 3x3 64->64 on 32x64x64 forward >= 45 GFLOP/s",
    measured: ref === undefined ? "not run" : `${fmt(ref)} GFLOP/s`,
    met: ref === undefined ? null : ref >= 45,
  });
  const grads: { id: string; frac: number }[] = [];
  for (const c of r.plan.conv) {
    const fwd = rate(r, `conv ${c.id} fwd`);
    if (fwd === undefined) continue;
    for (const d of ["dx", "dw"]) {
      const g = rate(r, `conv ${c.id} ${d}`);
      if (g !== undefined) grads.push({ id: `${c.id} ${d}`, frac: g / fwd });
    }
  }
  if (grads.length) {
    const failing = grads.filter((g) => g.frac < 0.6);
    const worst = grads.reduce((a, b) => (a.frac <= b.frac ? a : b));
    out.push({
      target: "each conv gradient kernel >= 60% of its forward's GFLOP/s",
      measured: `${grads.length - failing.length}/${grads.length} meet it; worst ${worst.id} ${
        fmt(100 * worst.frac)
      }%${
        failing.length
          ? `; below: ${failing.map((f) => `${f.id} ${fmt(100 * f.frac, 2)}%`).join(", ")}`
          : ""
      }`,
      met: failing.length === 0,
    });
  } else {
    out.push({
      target: "each conv gradient kernel >= 60% of its forward's GFLOP/s",
      measured: "not run",
      met: null,
    });
  }
  // Winograd pays off only where the tuner picks it, so the target counts the layer directions
  // where the better of F2 and F4 reaches 1.6x and names the others.
  const wino = r.winograd ?? [];
  const best = wino.map((w) => ({ id: w.id, speedup: Math.max(w.f2Speedup, w.f4Speedup) }));
  const slow = best.filter((w) => w.speedup < 1.6);
  out.push({
    target: "Winograd on each stride-1 3x3 layer direction >= 1.6x its implicit GEMM",
    measured: wino.length === 0
      ? "not run"
      : `${best.length - slow.length}/${best.length} meet it${
        slow.length
          ? `; below: ${
            slow.map((w) => `${w.id.replace(/^conv /, "")} ${fmt(w.speedup, 2)}x`).join(", ")
          }`
          : ""
      }`,
    met: wino.length === 0 ? null : slow.length === 0,
  });
  for (const s of r.stacks) {
    const tf = r.peers.tfjs?.cases[s.id];
    const ratio = tf ? tf.ms / s.timing.ms : undefined;
    out.push({
      target: `conv stack (${s.id.replace("stack ", "")}) fwd+bwd >= 10x TF.js samples/s`,
      measured: ratio === undefined
        ? `TF.js not measured${r.peers.tfjs?.note ? ` (${r.peers.tfjs.note})` : ""}`
        : `${fmt(ratio)}x (ours ${fmt(s.samplesPerS)}, TF.js ${fmt(tf!.samplesPerS)} samples/s)${
          tf!.truncated
            ? "; TF.js's weight gradients were cut short, so its time is a lower bound"
            : ""
        }`,
      met: ratio === undefined ? null : ratio >= 10,
    });
  }
  // The full-step targets for each variant that ran: the profile's tiles, tuned, tuned F2 only.
  const variants = ["", " tuned", " tuned F2"].filter((v) =>
    r.steps.some((s) => s.id === `step full${v}`)
  );
  for (const v of variants.length ? variants : [""]) {
    const tag = v ? ` [${v.trim()}]` : "";
    const full = r.steps.find((s) => s.id === `step full${v}`);
    const torch = r.peers.torch?.cases["step full"];
    out.push({
      target: `full training step >= 0.5x PyTorch CPU samples/s${tag}`,
      measured: !full
        ? "not run"
        : !torch
        ? `PyTorch not measured${r.peers.torch?.note ? ` (${r.peers.torch.note})` : ""}`
        : `${fmt(torch.ms / full.ms)}x (ours ${fmt(full.samplesPerS)}, PyTorch ${
          fmt(torch.samplesPerS)
        } samples/s)`,
      met: !full || !torch ? null : torch.ms / full.ms >= 0.5,
    });
    const robust = r.steps.find((s) => s.id === `step full robust${v}`);
    out.push({
      target: `enhanced robust step <= 1.45x the original step (full model)${tag}`,
      measured: full && robust
        ? `${fmt(robust.ms / full.ms)}x (robust ${fmt(robust.ms)} ms, original ${fmt(full.ms)} ms)`
        : "not run",
      met: full && robust ? robust.ms / full.ms <= 1.45 : null,
    });
    const peak = Math.max(full?.peakBytes ?? 0, robust?.peakBytes ?? 0);
    out.push({
      target: `peak GPU memory of the full step <= 2 GiB${tag}`,
      measured: full
        ? `${fmt(peak / 2 ** 30)} GiB${robust ? " (original and robust)" : ""}`
        : "not run",
      met: full ? peak <= 2 * 2 ** 30 : null,
    });
  }
  return out;
}

function table(header: string[], body: string[][], right: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** A model's conv layers by total kernel time (fwd + dx + dw, times the layers of each shape). */
export interface LayerCost {
  layers: string[];
  shape: string;
  fwd: number;
  dx: number;
  dw: number;
  /** (fwd + dx + dw) x number of layers, ms. */
  total: number;
  share: number;
}

/** Per-layer conv cost of the configuration tagged `tag` ("full" or "demo"), slowest first. */
export function convLayerCosts(r: BenchReport, tag: string): LayerCost[] {
  const ms = (id: string) => r.kernels.find((k) => k.id === id)?.timing.ms ?? 0;
  const out = r.plan.conv.filter((c) => c.id.startsWith(`${tag} `)).map((c) => {
    const [fwd, dx, dw] = ["fwd", "dx", "dw"].map((d) => ms(`conv ${c.id} ${d}`));
    return {
      layers: c.layers,
      shape: convLabel(c),
      fwd,
      dx,
      dw,
      total: (fwd + dx + dw) * c.layers.length,
      share: 0,
    };
  }).filter((l) => l.total > 0);
  const sum = out.reduce((a, l) => a + l.total, 0);
  for (const l of out) l.share = l.total / sum;
  return out.sort((a, b) => b.total - a.total);
}

/** The report as text: machine, table, targets, notes. */
export function formatReport(r: BenchReport): string {
  const m = r.machine;
  const peers = PEERS.filter((p) => r.peers[p]);
  const header = ["case", "shape", "ours ms", "ours rate", "ours wall"];
  const right = [false, false, true, false, true];
  for (const p of peers) {
    header.push(`${p} ms`, `${p}/ours`);
    right.push(true, true);
  }
  const body = rows(r).map((row) => {
    const cells = [row.id, row.label, fmt(row.ms), row.rate, fmt(row.wallMs)];
    for (const p of peers) {
      const c = row.peers[p];
      cells.push(c ? fmt(c.ms) : "-", c ? `${fmt(c.ratio)}${c.note ? "*" : ""}` : "-");
    }
    return cells;
  });
  const lines = [
    `Benchmarks ${m.date}${r.options.quick ? " (quick)" : ""}${
      r.options.keptInputsMiB === undefined
        ? ""
        : `; kept conv inputs ${r.options.keptInputsMiB} MiB`
    }`,
    `Adapter: ${m.adapter}${m.softwareAdapter ? " (software)" : ""}; timestamps: ${
      !m.timestampQueries
        ? "no"
        : m.softwareAdapter
        ? "yes, not used (they miss work there)"
        : "yes"
    }`,
    `CPU: ${m.cpu} x${m.cpuCores}, ${m.memoryGiB} GiB; ${m.os}; Deno ${m.deno}`,
    `Load average (1/5/15 min) per section: ${
      r.load.map((l) => `${l.section} ${l.before.join("/")} -> ${l.after.join("/")}`).join("; ")
    }`,
    "",
    table(header, body, right),
    "",
    "ours ms: median of the GPU timestamp sums of one run for kernel cases (where timestamps are",
    "missing or untrusted: wall time per run over several runs per sync, >= 250 ms of work, packing",
    "included), wall time of a whole pass (submission + GPU + one sync) for stack and step; rates",
    "use it. ours wall: wall time of one run including one sync (~11 ms in Deno). Peer times",
    "are wall times; ratios are peer time / ours wall (> 1: ours is faster). * = the peer's note in",
    "the JSON applies (run at a smaller batch and scaled, or a result flagged wrong).",
  ];
  for (const p of peers) {
    const pr = r.peers[p]!;
    const info = pr.info
      ? Object.entries(pr.info).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(", ")
      : "";
    lines.push(
      `${p}: ${pr.ok ? "ran" : "skipped"}${pr.note ? ` (${pr.note})` : ""}${
        info ? `; ${info}` : ""
      }`,
    );
  }
  for (const [id, choices] of Object.entries(r.tuned ?? {})) {
    if (choices.length) lines.push("", `Kernel tiles chosen for ${id}:`, formatTuneTable(choices));
  }
  for (const s of r.steps) {
    if (!s.profile.length) continue;
    lines.push(
      "",
      `Profile of one ${s.id} (${fmt(s.profiledKernelMs)} ms of kernels; first step wall ${
        fmt(s.firstStepMs)
      } ms):`,
    );
    for (const k of s.profile.slice(0, 10)) {
      lines.push(
        `  ${k.kernel.padEnd(32)} ${fmt(k.ms).padStart(8)} ms  ${
          fmt(100 * k.share, 2).padStart(4)
        }%  ${k.calls} calls`,
      );
    }
  }
  if (r.winograd?.length) {
    lines.push(
      "",
      "Winograd F(2x2, 3x3) and F(4x4, 3x3) against the implicit GEMM (wall ms per run, medians",
      "of alternate samples; speedup = gemm / winograd):",
    );
    for (const w of r.winograd) {
      lines.push(
        `  ${w.id.padEnd(30)} gemm ${fmt(w.gemmMs).padStart(8)}  F2 ${fmt(w.f2Ms).padStart(8)} ${
          fmt(w.f2Speedup, 2)
        }x  F4 ${fmt(w.f4Ms).padStart(8)} ${fmt(w.f4Speedup, 2)}x`,
      );
    }
  }
  const layers = convLayerCosts(r, "full");
  const ms = (v: number) => (v ? fmt(v) : "-").padStart(6);
  if (layers.length) {
    const sum = layers.reduce((a, l) => a + l.total, 0);
    lines.push(
      "",
      `Full model convs by layer (kernel ms from the table; one training step runs each once): ${
        fmt(sum)
      } ms in all`,
    );
    for (const l of layers) {
      lines.push(
        `  ${l.layers.join("+").padEnd(12)} ${l.shape.padEnd(28)} fwd ${ms(l.fwd)}  dx ${
          ms(l.dx)
        }  dw ${ms(l.dw)}  ${fmt(100 * l.share, 2).padStart(3)}%`,
      );
    }
  }
  lines.push("", "Targets:");
  for (const t of targets(r)) {
    const mark = t.met === null ? "n/a " : t.met ? "MET " : "MISS";
    lines.push(`  [${mark}] ${t.target}: ${t.measured}`);
  }
  lines.push("", `Total ${fmt(r.seconds)} s.`);
  return lines.join("\n");
}
