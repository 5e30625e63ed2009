/**
 * Run checkpoints. `checkpoint_last.safetensors` holds everything needed to resume (model,
 * optimizer moments, and the run state with the whole per-epoch history as JSON metadata), so
 * one atomic file is the run's commit point. `model_best`/`model_last.safetensors` (the model's
 * state dict with PyTorch key names) and `history.json` are derived from it and written after
 * it; a kill in between is repaired on resume. Every file is written atomically (temporary
 * file, then rename), and nothing non-finite is ever written.
 */
import { join } from "node:path";
import type { AdamW } from "../engine/optim/adamw.ts";
import type { Module } from "../engine/nn/module.ts";
import {
  checkStateDict,
  type HostTensor,
  readTensors,
  serializeSafetensors,
} from "../engine/nn/safetensors.ts";
import { loadSafetensors, writeFileAtomic } from "../io/files.ts";
import { checkHistory, type EpochRecord } from "./history.ts";

/** File names inside a run folder. */
export const RUN_FILES = {
  best: "model_best.safetensors",
  last: "model_last.safetensors",
  resume: "checkpoint_last.safetensors",
  scalers: "scalers.json",
  config: "config.json",
  history: "history.json",
} as const;

/** `format` metadata of a resumable checkpoint. */
const CHECKPOINT_FORMAT = "webgpu-conditioner-checkpoint";

/** What a resumable checkpoint records besides tensors. */
export interface RunState {
  /** Epochs completed: the number of the last one (epochs count from 1; 0 before the first). */
  epoch: number;
  /** Optimizer steps taken. */
  optimizerSteps: number;
  /** Learning rate of the last epoch. */
  lr: number;
  /** Factor on the schedule's learning rate, halved by each recovery from a non-finite epoch. */
  lrScale: number;
  /** Recoveries from non-finite epochs so far. */
  recoveries: number;
  /** Best validation metric 10 * MSE(y1) + MSE(y2) so far (null before the first validation). */
  bestVal: number | null;
  /** The epoch of {@link bestVal} (null before the first validation). */
  bestEpoch: number | null;
  /** Training objective ("original" or "enhanced:<preset>"). */
  objective: string;
  /** The model's channel list, checked on resume. */
  filters: number[];
  /** The model's input size, checked on resume. */
  imageSize: number;
  /** Every epoch's record up to {@link epoch}. */
  history: EpochRecord[];
}

/** Raised instead of writing a model or checkpoint that holds NaN or infinite values. */
export class NonFiniteError extends Error {}

/** Throws {@link NonFiniteError} naming the first tensor with a NaN or infinite value. */
export function assertFinite(tensors: Map<string, HostTensor>, what: string): void {
  for (const [name, t] of tensors) {
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new NonFiniteError(`${what}: tensor "${name}" holds ${t.data[bad]} at index ${bad}`);
    }
  }
}

/** Saves the model alone (a PyTorch-compatible state dict); refuses non-finite weights. */
export async function saveModel(
  path: string,
  model: Module,
  metadata: Record<string, string> = {},
): Promise<void> {
  const tensors = await readTensors(model.stateDict());
  assertFinite(tensors, `refusing to write ${path}`);
  await writeFileAtomic(path, serializeSafetensors(tensors, { format: "pt", ...metadata }));
}

/**
 * Saves a run's state after an epoch: the resumable checkpoint first, then the files derived
 * from it ({@link writeDerived}). Throws {@link NonFiniteError}, writing nothing, when the model
 * or the optimizer holds a non-finite value.
 */
export async function saveCheckpoint(
  dir: string,
  model: Module,
  optimizer: AdamW,
  state: RunState,
): Promise<void> {
  const modelState = await readTensors(model.stateDict());
  const opt = await optimizer.stateDict();
  assertFinite(modelState, `epoch ${state.epoch}: the model`);
  assertFinite(opt.tensors, `epoch ${state.epoch}: the optimizer state`);
  const tensors = new Map<string, HostTensor>();
  for (const [k, t] of modelState) tensors.set(`model.${k}`, t);
  for (const [k, t] of opt.tensors) tensors.set(`optim.${k}`, t);
  const meta = {
    format: CHECKPOINT_FORMAT,
    state: JSON.stringify({ ...state, optimizerSteps: opt.step }),
  };
  await writeFileAtomic(join(dir, RUN_FILES.resume), serializeSafetensors(tensors, meta));
  await writeDerived(dir, state, modelState);
}

/**
 * Writes the files derived from a checkpoint: `model_last`, `model_best` when the checkpoint's
 * epoch is the best one, and `history.json`.
 */
export async function writeDerived(
  dir: string,
  state: RunState,
  modelState: Map<string, HostTensor>,
): Promise<void> {
  const meta = { format: "pt", epoch: String(state.epoch) };
  if (state.bestEpoch === state.epoch && state.bestVal !== null) {
    await writeFileAtomic(
      join(dir, RUN_FILES.best),
      serializeSafetensors(modelState, { ...meta, val_metric: String(state.bestVal) }),
    );
  }
  await writeFileAtomic(join(dir, RUN_FILES.last), serializeSafetensors(modelState, meta));
  await writeJson(join(dir, RUN_FILES.history), state.history);
}

/** A checkpoint read and checked against a model and optimizer, not yet applied. */
export interface LoadedCheckpoint {
  /** The run state. */
  state: RunState;
  /** The model's tensors (state-dict names). */
  model: Map<string, HostTensor>;
  /** Copies the tensors into the model and the optimizer. */
  apply(): void;
}

/**
 * Reads a run folder's resumable checkpoint and checks everything (format, run state fields,
 * every model and optimizer tensor, finiteness) before anything is loaded: the model and the
 * optimizer change only through {@link LoadedCheckpoint.apply}. Errors name the file and field.
 */
export async function readCheckpoint(
  dir: string,
  model: Module,
  optimizer: AdamW,
): Promise<LoadedCheckpoint> {
  const path = join(dir, RUN_FILES.resume);
  const file = await loadSafetensors(path);
  if (file.metadata.format !== CHECKPOINT_FORMAT || file.metadata.state === undefined) {
    throw new Error(`${path} is not a resumable checkpoint of this tool (no run state)`);
  }
  const state = parseRunState(file.metadata.state, path);
  const modelTensors = new Map<string, HostTensor>();
  const optTensors = new Map<string, HostTensor>();
  for (const [k, t] of file.tensors) {
    if (k.startsWith("model.")) modelTensors.set(k.slice(6), t);
    else if (k.startsWith("optim.")) optTensors.set(k.slice(6), t);
    else throw new Error(`${path}: unexpected tensor "${k}" (neither model.* nor optim.*)`);
  }
  checkStateDict(model, modelTensors, { source: path });
  const optState = { tensors: optTensors, step: state.optimizerSteps, lr: state.lr };
  optimizer.checkStateDict(optState, `${path}: optimizer state`);
  assertFinite(modelTensors, path);
  assertFinite(optTensors, path);
  return {
    state,
    model: modelTensors,
    apply: () => {
      for (const [k, t] of model.stateDict()) t.engine.write(t, modelTensors.get(k)!.data);
      optimizer.loadStateDict(optState);
    },
  };
}

/** Parses and checks the run state JSON of a checkpoint; errors name the file and field. */
export function parseRunState(json: string, path: string): RunState {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json);
  } catch (e) {
    throw new Error(`${path}: run state metadata is not valid JSON (${(e as Error).message})`);
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) {
    throw new Error(`${path}: run state metadata is not a JSON object`);
  }
  const field = (name: string, ok: (v: unknown) => boolean, what: string) => {
    if (!ok(o[name])) {
      throw new Error(
        `${path}: run state field '${name}' ${
          o[name] === undefined ? "is missing" : `is ${JSON.stringify(o[name])}`
        }; expected ${what}`,
      );
    }
  };
  const count = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  const num = (v: unknown) => typeof v === "number" && Number.isFinite(v);
  const orNull = (ok: (v: unknown) => boolean) => (v: unknown) => v === null || ok(v);
  field("epoch", count, "a non-negative integer");
  field("optimizerSteps", count, "a non-negative integer");
  field("lr", num, "a number");
  field("bestVal", orNull(num), "a number or null");
  field("bestEpoch", orNull((v) => count(v) && (v as number) >= 1), "an epoch (from 1) or null");
  field("objective", (v) => typeof v === "string", "a string");
  field("filters", (v) => Array.isArray(v) && v.length > 0 && v.every(count), "a list of integers");
  field("imageSize", count, "a positive integer");
  o.lrScale ??= 1;
  o.recoveries ??= 0;
  field("lrScale", (v) => num(v) && (v as number) > 0, "a positive number");
  field("recoveries", count, "a non-negative integer");
  field("history", Array.isArray, "the list of epoch records");
  checkHistory(o.history, `${path}: run state`);
  return o as unknown as RunState;
}

/** Writes JSON atomically. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n"));
}

/** True when `path` exists. */
export async function fileExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
