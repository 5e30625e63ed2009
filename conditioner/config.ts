/**
 * The latent conditioner's settings: read from a SimulGen-VAE `condition.txt`, overridden from
 * the command line, printed with where each value came from, and saved with every run as JSON.
 * Precedence: defaults <- condition file <- command line. For the enhanced loss: the preset first,
 * then loss keys written in the file, then loss options on the command line.
 */
import { ConfigError, parseConditionFile } from "./condition_file.ts";
import type { ConditionEntry } from "./condition_file.ts";
import {
  checkKind,
  CONDITIONER_KEYS,
  flagOf,
  IGNORED_KEYS,
  nearestConditionerKey,
  parseTokens,
  SPEC_BY_FIELD,
  SPEC_BY_KEY,
  ValueProblem,
} from "./config_keys.ts";
import type { FlatSettings, KeySpec, SettingName, SettingValue } from "./config_keys.ts";
import { defaultEnhancedLoss, presetConfig } from "./enhanced_config.ts";
import type { EnhancedLossConfig } from "./enhanced_config.ts";

export { ConfigError, parseConditionFile };
export type { ConditionEntry, ConditionSection, ParsedCondition } from "./condition_file.ts";
export { CONDITIONER_KEYS, flagOf, IGNORED_KEYS } from "./config_keys.ts";
export type { FlatSettings, KeySpec, SettingName, SettingValue, ValueKind } from "./config_keys.ts";

/** Enhanced training switch, preset and the loss settings it resolved to. */
export interface EnhancedSettings {
  /** Train with the enhanced loss (`use_enhanced_loss`, default false; `--preset` turns it on). */
  enabled: boolean;
  /** Preset the loss settings start from (`enhancement_preset`, default "balanced"). */
  preset: string;
  /** The preset's settings after explicit file keys and command-line options were applied. */
  loss: EnhancedLossConfig;
}

/** Every setting of a conditioner training run. Plain data: JSON round-trips it. */
export interface ConditionerConfig {
  /** Training epochs (`n_epoch`, default 10000). */
  nEpoch: number;
  /** AdamW learning rate (`latent_conditioner_lr`, default 5e-5, > 0). */
  lr: number;
  /** Batch size (`latent_conditioner_batch`, default 16, >= 1). */
  batchSize: number;
  /** AdamW weight decay (`latent_conditioner_weight_decay`, default 1e-4, >= 0). */
  weightDecay: number;
  /** Condition input (`input_type`, default "image"; the only supported type). */
  inputType: "image";
  /**
   * Image folder relative to the data folder (`param_dir`, default "images"). The original writes
   * `/images` and means the folder inside the data folder, so leading slashes are removed.
   */
  paramDir: string;
  /** Image extension (`param_data_type`, default ".png"; png/jpg/jpeg, dot optional). */
  paramDataType: ".png" | ".jpg" | ".jpeg";
  /** CNN channel list (`latent_conditioner_filter`, default 32 64 128 256 512). */
  filters: number[];
  /** Ours: images are resized to imageSize x imageSize (`image_size`, default 256, 16..2048). */
  imageSize: number;
  /** Ours: seed of init, split and augmentation (`seed`, default 0). */
  seed: number;
  /** Ours: share of samples held out for validation (`val_fraction`, default 0.2, in (0, 1)). */
  valFraction: number;
  /** Ours: validate every N epochs (`val_every`, default 10). */
  valEvery: number;
  /**
   * Ours: write the resumable checkpoint every N epochs (`checkpoint_every`, default 1); also
   * after every validation, the first epoch and the last.
   */
  checkpointEvery: number;
  /**
   * Ours: stop when the validation metric has not improved for this many validations, keeping
   * the best model (`patience`, default 0: off, as in SimulGen-VAE).
   */
  patience: number;
  /** Ours: global gradient-norm clip (`grad_clip`, default 10). */
  gradClip: number;
  /** Ours: epochs of linear LR warm-up from 0.01x (`warmup_epochs`, default 100). */
  warmupEpochs: number;
  /** Ours: learning rate at the end of the cosine decay (`eta_min`, default 1e-8). */
  etaMin: number;
  /** Ours: cut images and latents to the shorter count instead of failing (`truncate`, false). */
  truncate: boolean;
  /** Enhanced training (SPEC section 5). */
  enhanced: EnhancedSettings;
}

/**
 * Where a value came from: `default`, `preset <name>` (enhanced loss settings of an explicitly
 * chosen preset), `<path>:<line>` of the condition file, or `command line`.
 */
export type ValueSource = string;

/**
 * Command-line values by flat setting name (see {@link FlatSettings}). Each may be typed or the
 * raw option text, which is parsed like a condition-file value. `preset` turns enhanced training
 * on. Undefined entries are skipped.
 */
export type ConfigOverrides = { [K in SettingName]?: FlatSettings[K] | string };

/** A remark about one key: why it is ignored, or a warning. */
export interface ConfigNote {
  /** The condition file, or `command line`. */
  path: string;
  /** 1-based line in the file; undefined for the command line. */
  line?: number;
  /** The condition.txt key or command-line option concerned. */
  key: string;
  /** What the remark says. */
  message: string;
}

/** The outcome of {@link resolveConfig}. */
export interface ResolvedConfig {
  /** The settings to train with. */
  config: ConditionerConfig;
  /** Per config field (`nEpoch`, `enhanced.enabled`, `enhanced.loss.maeWeight`, ...), its origin. */
  sources: Record<string, ValueSource>;
  /** One note per known SimulGen-VAE key the conditioner does not use. */
  ignored: ConfigNote[];
  /** Unknown keys (with a suggestion for near-misses), duplicates, and settings without effect. */
  warnings: ConfigNote[];
}

/** Where {@link resolveConfig} reads from. */
export interface ResolveInput {
  /** A condition file's text and the path to name in messages. */
  file?: { text: string; path: string };
  /** Command-line values; they win over the file. */
  overrides?: ConfigOverrides;
}

const COMMAND_LINE = "command line";
const LOSS_FIELDS = Object.keys(defaultEnhancedLoss()) as (keyof EnhancedLossConfig)[];
const isLossField = (field: SettingName): field is keyof EnhancedLossConfig =>
  (LOSS_FIELDS as string[]).includes(field);

/** A fresh copy of the default settings. */
export function defaultConfig(): ConditionerConfig {
  return {
    nEpoch: 10000,
    lr: 5e-5,
    batchSize: 16,
    weightDecay: 1e-4,
    inputType: "image",
    paramDir: "images",
    paramDataType: ".png",
    filters: [32, 64, 128, 256, 512],
    imageSize: 256,
    seed: 0,
    valFraction: 0.2,
    valEvery: 10,
    checkpointEvery: 1,
    patience: 0,
    gradClip: 10,
    warmupEpochs: 100,
    etaMin: 1e-8,
    truncate: false,
    enhanced: { enabled: false, preset: "balanced", loss: defaultEnhancedLoss() },
  };
}

/** The config field a flat setting lives in: `lr`, `enhanced.enabled`, `enhanced.loss.maeWeight`. */
export function configPath(field: SettingName): string {
  if (field === "enhanced") return "enhanced.enabled";
  if (field === "preset") return "enhanced.preset";
  return isLossField(field) ? `enhanced.loss.${field}` : field;
}

/** The value of a flat setting inside a (possibly partial) config object. */
export function readPath(config: ConditionerConfig, field: SettingName): unknown {
  let node: unknown = config;
  for (const part of configPath(field).split(".")) {
    node = node !== null && typeof node === "object"
      ? (node as Record<string, unknown>)[part]
      : undefined;
  }
  return node;
}

/** Stores a flat setting's value at its place in `config`. */
function writePath(config: ConditionerConfig, field: SettingName, value: SettingValue): void {
  const parts = configPath(field).split(".");
  let node = config as unknown as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
  node[parts[parts.length - 1]] = value;
}

function showValue(value: unknown): string {
  return Array.isArray(value) ? value.join(" ") : String(value);
}

/** Names a value in messages: `label` starts the message; the rest goes on the error. */
interface Place {
  label: string;
  path?: string;
  line?: number;
  key: string;
}

/** Parses and checks one value; a {@link ValueProblem} becomes a ConfigError at `place`. */
function settle(spec: KeySpec, read: () => SettingValue, place: Place, raw: string): SettingValue {
  try {
    const value = read();
    return spec.refine ? spec.refine(value) : value;
  } catch (error) {
    if (!(error instanceof ValueProblem)) throw error;
    const { label, ...where } = place;
    throw new ConfigError(`${label}: ${error.message} (got '${raw}')`, where);
  }
}

/** One value of one setting and where it came from. */
interface Layer {
  value: SettingValue;
  source: ValueSource;
  /** Line in the condition file, for values read from it. */
  line?: number;
}

/** Values of a parsed file by setting; fills `ignored` and `warnings` with notes about other keys. */
function fileLayer(
  path: string,
  entries: readonly ConditionEntry[],
  keyOnly: readonly ConditionEntry[],
  overridden: readonly ConditionEntry[],
  ignored: ConfigNote[],
  warnings: ConfigNote[],
): Map<SettingName, Layer> {
  const layer = new Map<SettingName, Layer>();
  const noted = new Set<string>();
  const noteIgnored = (entry: ConditionEntry, what: string): void => {
    if (noted.has(entry.key)) return;
    noted.add(entry.key);
    ignored.push({ path, line: entry.line, key: entry.key, message: `${what}; ignored` });
  };
  for (const entry of keyOnly) {
    const where = { path, line: entry.line, key: entry.key };
    if (SPEC_BY_KEY.has(entry.key)) {
      throw new ConfigError(
        `${path}:${entry.line}: key '${entry.key}': missing value (got '')`,
        where,
      );
    }
    const known = IGNORED_KEYS.get(entry.key.toLowerCase());
    if (known) noteIgnored(entry, known);
    else warnings.push({ ...where, message: "a key without a value; ignored" });
  }
  for (const entry of entries) {
    const spec = SPEC_BY_KEY.get(entry.key);
    if (spec) {
      const place = {
        label: `${path}:${entry.line}: key '${entry.key}'`,
        path,
        line: entry.line,
        key: entry.key,
      };
      const value = settle(spec, () => parseTokens(entry.tokens, spec.kind), place, entry.raw);
      layer.set(spec.field, { value, source: `${path}:${entry.line}`, line: entry.line });
      continue;
    }
    const known = IGNORED_KEYS.get(entry.key.toLowerCase());
    if (known) {
      noteIgnored(entry, known);
      continue;
    }
    const suggestion = nearestConditionerKey(entry.key);
    const message = suggestion
      ? `unknown key, did you mean '${suggestion}'?; ignored`
      : "unknown key; ignored";
    warnings.push({ path, line: entry.line, key: entry.key, message });
  }
  for (const entry of overridden) {
    if (!SPEC_BY_KEY.has(entry.key)) continue;
    const winner = entries.find((e) => e.key === entry.key);
    warnings.push({
      path,
      line: entry.line,
      key: entry.key,
      message: `set again on line ${winner?.line}; the later value wins`,
    });
  }
  return layer;
}

/** Values given on the command line by setting, parsed and checked like file values. */
function commandLineLayer(overrides: ConfigOverrides): Map<SettingName, Layer> {
  const layer = new Map<SettingName, Layer>();
  for (const spec of CONDITIONER_KEYS) {
    const given: unknown = overrides[spec.field];
    if (given === undefined) continue;
    const flag = flagOf(spec.field);
    const place = { label: `${COMMAND_LINE}: option '${flag}'`, path: COMMAND_LINE, key: flag };
    const value = settle(
      spec,
      () =>
        typeof given === "string" && spec.kind !== "string"
          ? parseTokens(given.trim().split(/\s+/), spec.kind)
          : checkKind(given, spec.kind),
      place,
      showValue(given),
    );
    layer.set(spec.field, { value, source: COMMAND_LINE });
  }
  for (const [name, given] of Object.entries(overrides)) {
    if (given !== undefined && !SPEC_BY_FIELD.has(name as SettingName)) {
      throw new ConfigError(`${COMMAND_LINE}: unknown setting '${name}'`, { key: name });
    }
  }
  return layer;
}

/**
 * Resolves the settings: defaults <- condition file <- command line, and for the enhanced loss
 * preset <- file loss keys <- command-line loss options.
 * @throws ConfigError naming the file, line and key (or the option) of the first wrong value.
 */
export function resolveConfig(input: ResolveInput = {}): ResolvedConfig {
  const ignored: ConfigNote[] = [];
  const warnings: ConfigNote[] = [];
  let file = new Map<SettingName, Layer>();
  if (input.file) {
    const parsed = parseConditionFile(input.file.text, input.file.path);
    file = fileLayer(
      parsed.path,
      parsed.entries,
      parsed.keyOnly,
      parsed.overridden,
      ignored,
      warnings,
    );
  }
  const cli = commandLineLayer(input.overrides ?? {});

  if (cli.has("preset") && cli.get("enhanced")?.value === false) {
    throw new ConfigError(
      `${COMMAND_LINE}: option '--preset' turns enhanced training on, but enhanced training was ` +
        `also switched off ('--enhanced false')`,
      { key: "--preset" },
    );
  }
  if (cli.has("preset") && !cli.has("enhanced")) {
    cli.set("enhanced", { value: true, source: COMMAND_LINE });
  }

  const config = defaultConfig();
  const sources: Record<string, ValueSource> = {};
  const presetLayer = cli.get("preset") ?? file.get("preset");
  const preset = (presetLayer?.value as string | undefined) ?? config.enhanced.preset;
  const presetLoss = presetConfig(preset);
  for (const spec of CONDITIONER_KEYS) {
    const chosen = cli.get(spec.field) ?? file.get(spec.field);
    let layer: Layer;
    if (chosen) layer = chosen;
    else if (isLossField(spec.field)) {
      layer = {
        value: presetLoss[spec.field],
        source: presetLayer ? `preset ${preset}` : "default",
      };
    } else layer = { value: readPath(config, spec.field) as SettingValue, source: "default" };
    writePath(config, spec.field, layer.value);
    sources[configPath(spec.field)] = layer.source;
  }

  if (!config.enhanced.enabled) {
    const explicit = [...file.entries(), ...cli.entries()].filter(([field]) => isLossField(field));
    if (explicit.length > 0) {
      const names = [...new Set(explicit.map(([field]) => SPEC_BY_FIELD.get(field)!.key))];
      const message = `enhanced training is off, so ${names.join(", ")} ha${
        names.length > 1 ? "ve" : "s"
      } no effect`;
      const fileSwitch = file.get("enhanced");
      if (cli.has("enhanced")) {
        warnings.push({ path: COMMAND_LINE, key: flagOf("enhanced"), message });
      } else if (fileSwitch && input.file) {
        warnings.push({
          path: input.file.path,
          line: fileSwitch.line,
          key: "use_enhanced_loss",
          message,
        });
      } else {
        warnings.push({
          path: input.file?.path ?? COMMAND_LINE,
          key: "use_enhanced_loss",
          message,
        });
      }
    }
  }
  return { config, sources, ignored, warnings };
}

/** One note as a console line: `<path>:<line>: key '<key>': <message>`. */
export function formatNote(note: ConfigNote): string {
  const where = note.line === undefined ? note.path : `${note.path}:${note.line}`;
  const what = note.path === COMMAND_LINE ? "option" : "key";
  return `${where}: ${what} '${note.key}': ${note.message}`;
}

/**
 * The resolved settings as an aligned console table (setting, condition.txt key, value, source),
 * followed by the warnings and a summary of ignored keys. Loss rows appear only when enhanced
 * training is on.
 */
export function formatResolvedConfig(resolved: ResolvedConfig): string {
  const { config, sources } = resolved;
  const rows: string[][] = [["setting", "condition.txt key", "value", "source"]];
  for (const spec of CONDITIONER_KEYS) {
    if (isLossField(spec.field) && !config.enhanced.enabled) continue;
    const path = configPath(spec.field);
    rows.push([path, spec.key, showValue(readPath(config, spec.field)), sources[path]]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const lines = rows.map((row) =>
    row.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd()
  );
  if (resolved.warnings.length > 0) {
    lines.push("", "warnings:", ...resolved.warnings.map((note) => "  " + formatNote(note)));
  }
  if (resolved.ignored.length > 0) {
    lines.push("", `ignored ${resolved.ignored.length} keys the conditioner does not use:`);
    const [first, ...rest] = resolved.ignored.map((note) => note.key);
    let row = `  ${first}`;
    for (const key of rest) {
      if (row.length + key.length + 2 > 100) {
        lines.push(row + ",");
        row = `  ${key}`;
      } else row += `, ${key}`;
    }
    lines.push(row);
  }
  return lines.join("\n");
}

/** Settings a resumed run may change: how long it trains, its learning rate, checkpointing. */
export const RESUME_CHANGEABLE: readonly SettingName[] = [
  "nEpoch",
  "lr",
  "checkpointEvery",
  "patience",
];

/** The settings whose values differ between two configurations, in key-table order. */
export function changedSettings(a: ConditionerConfig, b: ConditionerConfig): SettingName[] {
  return CONDITIONER_KEYS.map((spec) => spec.field).filter((field) =>
    JSON.stringify(readPath(a, field)) !== JSON.stringify(readPath(b, field))
  );
}

/** The settings as pretty-printed JSON, saved with each run. */
export function configToJson(config: ConditionerConfig): string {
  return JSON.stringify(config, null, 2);
}

/**
 * Reads settings saved by {@link configToJson} (text or an already-parsed object), checking every
 * field like a condition-file value. Missing fields take their defaults (older runs load);
 * unknown fields are ignored.
 * @param source Names the JSON in error messages, e.g. the file it was read from.
 * @throws ConfigError `<source>: field '<field>': <what is wrong> (got '<value>')`.
 */
export function configFromJson(json: string | unknown, source = "config JSON"): ConditionerConfig {
  let data: unknown = json;
  if (typeof json === "string") {
    try {
      data = JSON.parse(json);
    } catch (error) {
      throw new ConfigError(`${source}: not valid JSON: ${(error as Error).message}`, {
        path: source,
      });
    }
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new ConfigError(`${source}: expected a JSON object of conditioner settings`, {
      path: source,
    });
  }
  const config = defaultConfig();
  for (const spec of CONDITIONER_KEYS) {
    const value = readPath(data as ConditionerConfig, spec.field);
    if (value === undefined) continue;
    const field = configPath(spec.field);
    const place = { label: `${source}: field '${field}'`, path: source, key: field };
    writePath(
      config,
      spec.field,
      settle(spec, () => checkKind(value, spec.kind), place, showValue(value)),
    );
  }
  return config;
}
