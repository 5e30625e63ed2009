/**
 * The tuning cache: tiles chosen by {@link Engine.tune}, kept per adapter, driver, kernel
 * version and set of Winograd variants in `$XDG_CACHE_HOME/webgpu-conditioner/tuning.json` (or
 * `~/.cache/...`). A damaged file, or an entry of another kernel version, is ignored with a
 * warning; writes are atomic.
 */
import { dirname, join } from "node:path";
import type { Engine } from "../engine/engine.ts";
import {
  adapterKey,
  checkTile,
  fmtWinogradTiles,
  KERNELS_VERSION,
  PROFILES,
  type Tile,
  type TunedChoice,
} from "../engine/tuning.ts";
import { writeFileAtomic } from "./files.ts";

/** Format of the cache file. */
interface CacheFile {
  format: 1;
  /** By {@link entryKey}. */
  adapters: Record<
    string,
    { kernels: number; profile: string; choices: Record<string, TunedChoice> }
  >;
}

/** Where the cache lives: `$XDG_CACHE_HOME` or `$HOME/.cache`, then webgpu-conditioner/. */
export function tuningCachePath(): string {
  const base = Deno.env.get("XDG_CACHE_HOME") || join(Deno.env.get("HOME") ?? ".", ".cache");
  return join(base, "webgpu-conditioner", "tuning.json");
}

/**
 * The cache entry of `engine`: its {@link adapterKey}, plus the Winograd variants the tuner may
 * choose when they are not the profile's (choices made with F(4x4, 3x3) allowed are kept apart
 * from the default ones, so that opting in or out never mixes them).
 */
export function entryKey(engine: Pick<Engine, "gpu" | "tuning">): string {
  const tiles = engine.tuning.winogradTiles;
  const standard = PROFILES[engine.tuning.profile].winogradTiles;
  const same = tiles.length === standard.length && tiles.every((m) => standard.includes(m));
  return same
    ? adapterKey(engine.gpu)
    : `${adapterKey(engine.gpu)} | winograd ${fmtWinogradTiles(tiles)}`;
}

function isTile(v: unknown): boolean {
  try {
    checkTile("cached", v as Tile);
    return true;
  } catch {
    return false;
  }
}

async function readCache(path: string, warn: (m: string) => void): Promise<CacheFile> {
  const empty: CacheFile = { format: 1, adapters: {} };
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) warn(`cannot read ${path}: ${(e as Error).message}`);
    return empty;
  }
  try {
    const c = JSON.parse(text) as CacheFile;
    if (c?.format !== 1 || typeof c.adapters !== "object" || c.adapters === null) {
      throw new Error("not a tuning cache of format 1");
    }
    return c;
  } catch (e) {
    warn(`ignoring the tuning cache ${path}: ${(e as Error).message}`);
    return empty;
  }
}

/**
 * Loads this adapter's choices from the cache into `engine.tuned`; returns how many were loaded.
 * Entries of another profile or kernel version, and malformed ones, are skipped with a warning.
 */
export async function loadTuningCache(
  engine: Engine,
  path: string = tuningCachePath(),
  warn: (m: string) => void = (m) => console.warn(`warning: ${m}`),
): Promise<number> {
  const cache = await readCache(path, warn);
  const entry = cache.adapters[entryKey(engine)];
  if (!entry) return 0;
  if (entry.kernels !== KERNELS_VERSION || entry.profile !== engine.tuning.profile) {
    warn(
      `ignoring the tuning cache entry for this adapter: measured with kernels version ` +
        `${entry.kernels} and profile ${entry.profile}, this is ${KERNELS_VERSION} and ` +
        `${engine.tuning.profile}`,
    );
    return 0;
  }
  let loaded = 0;
  for (const [key, c] of Object.entries(entry.choices ?? {})) {
    if (!isTile(c?.tile) || typeof c.ms !== "number" || typeof c.fixedMs !== "number") {
      warn(`ignoring a malformed tuning cache entry "${key}"`);
      continue;
    }
    const variant = c.tile.kind === "winograd" ? c.tile.winograd ?? 2 : null;
    if (variant !== null && !engine.tuning.winogradTiles.includes(variant)) {
      warn(`ignoring the tuning cache entry "${key}": Winograd F${variant} is not allowed here`);
      continue;
    }
    engine.tuned.set(key, c);
    loaded++;
  }
  return loaded;
}

/** Writes `engine.tuned` as this adapter's entry of the cache (others are kept), atomically. */
export async function saveTuningCache(
  engine: Engine,
  path: string = tuningCachePath(),
  warn: (m: string) => void = (m) => console.warn(`warning: ${m}`),
): Promise<void> {
  const cache = await readCache(path, () => {});
  cache.adapters[entryKey(engine)] = {
    kernels: KERNELS_VERSION,
    profile: engine.tuning.profile,
    choices: Object.fromEntries(engine.tuned),
  };
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(cache, null, 1) + "\n"));
  } catch (e) {
    warn(`cannot write the tuning cache ${path}: ${(e as Error).message}`);
  }
}
