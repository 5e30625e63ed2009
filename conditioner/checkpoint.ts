/**
 * Run checkpoints. `model_best.safetensors` / `model_last.safetensors` hold just the model's
 * state dict (PyTorch key names; loadable in PyTorch with tools/import_to_torch.py), while
 * `checkpoint_last.safetensors` holds everything needed to resume: model, optimizer moments and
 * the run state as JSON metadata. Each is written atomically (temporary file, then rename).
 */
import { join } from "node:path";
import type { AdamW } from "../engine/optim/adamw.ts";
import type { Module } from "../engine/nn/module.ts";
import {
  type HostTensor,
  loadStateDict,
  readTensors,
  serializeSafetensors,
} from "../engine/nn/safetensors.ts";
import { loadSafetensors, writeFileAtomic } from "../io/files.ts";

/** File names inside a run folder. */
export const RUN_FILES = {
  best: "model_best.safetensors",
  last: "model_last.safetensors",
  resume: "checkpoint_last.safetensors",
  scalers: "scalers.json",
  config: "config.json",
  history: "history.json",
} as const;

/** What a resumable checkpoint records besides tensors. */
export interface RunState {
  /** Last completed epoch (0-based). */
  epoch: number;
  /** Optimizer steps taken. */
  optimizerSteps: number;
  /** Learning rate of the last epoch. */
  lr: number;
  /** Best validation loss so far and its epoch (null before the first validation). */
  bestVal: number | null;
  bestEpoch: number | null;
  /** Training objective ("original" or "enhanced:<preset>"). */
  objective: string;
  /** Model shape, checked on resume. */
  filters: number[];
  imageSize: number;
}

/** Saves the model alone (a PyTorch-compatible state dict). */
export async function saveModel(
  path: string,
  model: Module,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(
    path,
    serializeSafetensors(await readTensors(model.stateDict()), { format: "pt", ...metadata }),
  );
}

/**
 * Saves a run's state after an epoch from a single read of the model: `model_last`, the
 * resumable checkpoint (model + optimizer + run state) and, when `best` metadata is given,
 * `model_best`. Each file is written atomically.
 */
export async function saveCheckpoint(
  runDir: string,
  model: Module,
  optimizer: AdamW,
  state: RunState,
  best?: Record<string, string>,
): Promise<void> {
  const modelState = await readTensors(model.stateDict());
  const meta = { format: "pt", epoch: String(state.epoch + 1) };
  if (best) {
    await writeFileAtomic(
      join(runDir, RUN_FILES.best),
      serializeSafetensors(modelState, { ...meta, ...best }),
    );
  }
  await writeFileAtomic(join(runDir, RUN_FILES.last), serializeSafetensors(modelState, meta));
  const tensors = new Map<string, HostTensor>();
  for (const [k, t] of modelState) tensors.set(`model.${k}`, t);
  const opt = await optimizer.stateDict();
  for (const [k, t] of opt.tensors) tensors.set(`optim.${k}`, t);
  const resumeMeta = {
    format: "webgpu-conditioner-checkpoint",
    state: JSON.stringify({ ...state, optimizerSteps: opt.step }),
  };
  await writeFileAtomic(join(runDir, RUN_FILES.resume), serializeSafetensors(tensors, resumeMeta));
}

/** Restores model and optimizer from a run folder's resumable checkpoint; returns the run state. */
export async function loadResumable(
  runDir: string,
  model: Module,
  optimizer: AdamW,
): Promise<RunState> {
  const path = join(runDir, RUN_FILES.resume);
  const file = await loadSafetensors(path);
  if (file.metadata.format !== "webgpu-conditioner-checkpoint" || !file.metadata.state) {
    throw new Error(`${path} is not a resumable checkpoint of this tool`);
  }
  const state = JSON.parse(file.metadata.state) as RunState;
  const modelTensors = new Map<string, HostTensor>();
  const optTensors = new Map<string, HostTensor>();
  for (const [k, t] of file.tensors) {
    if (k.startsWith("model.")) modelTensors.set(k.slice(6), t);
    else if (k.startsWith("optim.")) optTensors.set(k.slice(6), t);
  }
  loadStateDict(model, modelTensors, { source: path });
  optimizer.loadStateDict({ tensors: optTensors, step: state.optimizerSteps, lr: state.lr });
  return state;
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
