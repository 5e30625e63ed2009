/**
 * A run folder is one unit: `config.json`, `scalers.json`, `run.json`, the models, the
 * checkpoint and the history of one run always belong together.
 *
 * A new run is written into a staging folder next to the run folder (`<dir>.partial`) and moved
 * into place when its first checkpoint is complete, so a failure or a kill before then leaves
 * the previous run (if any) untouched. Replacing an existing run (`overwrite`) renames it aside
 * (`<dir>.replaced`), renames the staging folder into place and deletes the old one; a kill
 * between those renames is repaired by the next command that opens the folder
 * ({@link recoverRunFolder}), so readers see either the previous complete run or the new one.
 */
import { join } from "node:path";
import { fileExists, RUN_FILES, writeJson } from "./checkpoint.ts";
import type { ConditionerDataset } from "./data.ts";

/** Suffix of the staging folder of a new run. */
const STAGING = ".partial";
/** Suffix of a replaced run while the new one moves into place. */
const REPLACED = ".replaced";

/** Where the run's data came from, saved as `run.json` so `--resume` needs no other flags. */
export interface RunInfo {
  /** Absolute path of the data folder. */
  data: string;
  /** Absolute path of the condition file, or null when none was used. */
  condition: string | null;
  /** Fingerprint of the data at the start of the run ({@link datasetFingerprint}). */
  fingerprint: string;
  /** Number of samples. */
  samples: number;
  /** When the run started (ISO 8601). */
  created: string;
  /** Each resume that changed the epoch count or the learning rate. */
  resumes: { nEpoch: number; lr: number; when: string }[];
}

/**
 * SHA-256 of the sample names and scaled targets: equal for the same data folder contents,
 * different when a sample, its order or a target value changed.
 */
export async function datasetFingerprint(dataset: ConditionerDataset): Promise<string> {
  const names = new TextEncoder().encode(dataset.names.join("\n"));
  const parts = [names, bytesOf(dataset.y1), bytesOf(dataset.y2)];
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** True when `dir` holds any of a run's files. */
async function holdsRun(dir: string): Promise<boolean> {
  for (const f of Object.values(RUN_FILES)) {
    if (await fileExists(join(dir, f))) return true;
  }
  return await fileExists(join(dir, RUN_INFO_FILE));
}

/** Name of the run's data description inside the folder. */
export const RUN_INFO_FILE = "run.json";

async function isEmptyDir(dir: string): Promise<boolean> {
  for await (const _ of Deno.readDir(dir)) return false;
  return true;
}

/**
 * Finishes a replacement that a kill interrupted: when `dir` is missing but `dir.replaced`
 * exists, the staged run (complete by then) or else the replaced one moves back into place.
 * A leftover `dir.replaced` next to a complete `dir` is deleted.
 */
export async function recoverRunFolder(dir: string): Promise<void> {
  const replaced = dir + REPLACED;
  if (!(await fileExists(replaced))) return;
  if (!(await fileExists(dir))) {
    const staged = dir + STAGING;
    await Deno.rename((await fileExists(staged)) ? staged : replaced, dir);
  }
  if (await fileExists(replaced)) await Deno.remove(replaced, { recursive: true });
}

/** A run folder being written by a training run. */
export class RunFolder {
  /** The run folder as the user named it. */
  readonly path: string;
  /** Where files are written now: the staging folder until {@link commit}, then {@link path}. */
  dir: string;

  private constructor(path: string, dir: string) {
    this.path = path;
    this.dir = dir;
  }

  /** True once the run's files live in {@link path}. */
  get committed(): boolean {
    return this.dir === this.path;
  }

  /**
   * Starts a new run. An existing run folder is refused unless `overwrite` (it is then replaced
   * when the new run's first checkpoint is complete); a folder holding other files is always
   * refused. A stale staging folder of a killed run is removed.
   */
  static async create(path: string, options: { overwrite?: boolean } = {}): Promise<RunFolder> {
    await recoverRunFolder(path);
    if (await fileExists(path)) {
      const stat = await Deno.stat(path);
      if (!stat.isDirectory) throw new Error(`--out ${path} is a file, not a folder`);
      if (await holdsRun(path)) {
        if (!options.overwrite) {
          throw new Error(
            `${path} already holds a run. Continue it with --resume, replace it with ` +
              `--overwrite (it is kept until the new run's first checkpoint), or choose another --out`,
          );
        }
      } else if (!(await isEmptyDir(path))) {
        throw new Error(
          `${path} is not empty and holds no run; choose an empty or new folder for --out`,
        );
      }
    }
    const staging = path + STAGING;
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    await Deno.mkdir(staging, { recursive: true });
    return new RunFolder(path, staging);
  }

  /** Opens an existing run to continue it; throws when there is nothing to resume. */
  static async open(path: string): Promise<RunFolder> {
    await recoverRunFolder(path);
    if (!(await fileExists(join(path, RUN_FILES.resume)))) {
      const staged = await fileExists(path + STAGING);
      throw new Error(
        `nothing to resume in ${path}: no ${RUN_FILES.resume}` +
          (staged ? " (the run was stopped before its first epoch completed; start it again)" : ""),
      );
    }
    return new RunFolder(path, path);
  }

  /**
   * Moves a new run into place after its first complete checkpoint, replacing a previous run
   * there. Harmless once committed.
   */
  async commit(): Promise<void> {
    if (this.committed) return;
    const replaced = this.path + REPLACED;
    const hadRun = await fileExists(this.path);
    if (hadRun) await Deno.rename(this.path, replaced);
    await Deno.rename(this.dir, this.path);
    this.dir = this.path;
    if (hadRun) await Deno.remove(replaced, { recursive: true });
  }

  /** Removes an uncommitted run's staging folder (a run that failed before its first checkpoint). */
  async discard(): Promise<void> {
    if (!this.committed) await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  /** A file inside the folder where files are written now. */
  file(name: string): string {
    return join(this.dir, name);
  }
}

/** Reads `run.json` of a run folder; errors name the file and the field. */
export async function readRunInfo(dir: string): Promise<RunInfo> {
  const path = join(dir, RUN_INFO_FILE);
  let data: unknown;
  try {
    data = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  const o = data as Record<string, unknown>;
  const need = (field: string, ok: boolean) => {
    if (!ok) throw new Error(`${path}: field '${field}' is missing or invalid`);
  };
  need("data", typeof o?.data === "string");
  need("condition", o?.condition === null || typeof o?.condition === "string");
  need("fingerprint", typeof o?.fingerprint === "string");
  need("samples", Number.isInteger(o?.samples));
  need("resumes", Array.isArray(o?.resumes ?? []));
  return {
    data: o.data as string,
    condition: o.condition as string | null,
    fingerprint: o.fingerprint as string,
    samples: o.samples as number,
    created: String(o.created ?? ""),
    resumes: (o.resumes ?? []) as RunInfo["resumes"],
  };
}

/** Writes `run.json` into the folder's current location. */
export async function writeRunInfo(folder: RunFolder, info: RunInfo): Promise<void> {
  await writeJson(folder.file(RUN_INFO_FILE), info);
}
