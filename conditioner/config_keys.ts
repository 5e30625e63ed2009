/**
 * The typed table of condition.txt keys the conditioner reads, how each value is parsed and
 * checked, and the SimulGen-VAE keys it knowingly ignores. `config.ts` drives parsing from it.
 */
import type { ConditionerConfig } from "./config.ts";
import type { EnhancedLossConfig } from "./enhanced_config.ts";
import { isPresetName, PRESET_NAMES } from "./enhanced_config.ts";
import { LIMITS } from "./limits.ts";

/** How a value is written: one number, a 0/1/true/false switch, one word, or a list. */
export type ValueKind = "int" | "float" | "bool" | "string" | "int-list" | "float-list";

/** A parsed setting value. */
export type SettingValue = number | boolean | string | number[];

/**
 * Every setting under one flat name: the plain conditioner fields, `enhanced` (on/off),
 * `preset` and the {@link EnhancedLossConfig} fields. These names are also the keys of
 * command-line overrides (`--` plus the name in kebab case).
 */
export type FlatSettings =
  & Omit<ConditionerConfig, "enhanced">
  & EnhancedLossConfig
  & {
    /** Enhanced training on/off (`use_enhanced_loss`; config field `enhanced.enabled`). */
    enhanced: boolean;
    /** Enhanced-loss preset (`enhancement_preset`; config field `enhanced.preset`). */
    preset: string;
  };

/** A flat setting name. */
export type SettingName = keyof FlatSettings;

/** Thrown by a refine step with what is wrong; the caller adds file, line and key. */
export class ValueProblem extends Error {
  /** Creates the problem; `message` says what is wrong, e.g. `must be > 0`. */
  constructor(message: string) {
    super(message);
    this.name = "ValueProblem";
  }
}

/** One row of the key table. */
export interface KeySpec {
  /** The condition.txt key. */
  key: string;
  /** The flat setting it sets. */
  field: SettingName;
  /** How the value is written. */
  kind: ValueKind;
  /** One line for help texts and the console table. */
  doc: string;
  /** Checks (and possibly normalises) a parsed value; throws {@link ValueProblem}. */
  refine?: (value: SettingValue) => SettingValue;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function parseNumber(token: string, integer: boolean): number {
  const value = NUMBER.test(token) ? Number(token) : NaN;
  if (!Number.isFinite(value)) {
    throw new ValueProblem(integer ? "expected an integer" : "expected a number");
  }
  if (integer && !Number.isInteger(value)) throw new ValueProblem("expected an integer");
  return value;
}

/**
 * Parses a value written as text (condition.txt tokens or a command-line string). Lists accept
 * spaces and/or commas between items and optional surrounding brackets: `16 8`, `16,8`, `[16, 8]`.
 */
export function parseTokens(tokens: string[], kind: ValueKind): SettingValue {
  if (kind === "int-list" || kind === "float-list") {
    const items = tokens.join(" ").replace(/^\s*\[/, "").replace(/\]\s*$/, "").split(/[\s,]+/)
      .filter((item) => item !== "");
    if (items.length === 0) throw new ValueProblem("expected a list of numbers");
    const integer = kind === "int-list";
    return items.map((item) => {
      try {
        return parseNumber(item, integer);
      } catch {
        throw new ValueProblem(`expected a list of ${integer ? "integers" : "numbers"}`);
      }
    });
  }
  if (tokens.length !== 1) throw new ValueProblem(`expected one value, found ${tokens.length}`);
  const token = tokens[0];
  switch (kind) {
    case "int":
      return parseNumber(token, true);
    case "float":
      return parseNumber(token, false);
    case "bool": {
      const word = token.toLowerCase();
      if (word === "1" || word === "true") return true;
      if (word === "0" || word === "false") return false;
      throw new ValueProblem("expected 0, 1, true or false");
    }
    case "string":
      return token;
  }
}

/** Checks that an already-typed value (from JSON or a program) has the shape `kind` asks for. */
export function checkKind(value: unknown, kind: ValueKind): SettingValue {
  const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
  switch (kind) {
    case "int":
      if (isNumber(value) && Number.isInteger(value)) return value;
      throw new ValueProblem("expected an integer");
    case "float":
      if (isNumber(value)) return value;
      throw new ValueProblem("expected a number");
    case "bool":
      if (typeof value === "boolean") return value;
      throw new ValueProblem("expected true or false");
    case "string":
      if (typeof value === "string") return value;
      throw new ValueProblem("expected a string");
    case "int-list":
    case "float-list": {
      const integer = kind === "int-list";
      if (
        Array.isArray(value) && value.length > 0 &&
        value.every((v) => isNumber(v) && (!integer || Number.isInteger(v)))
      ) return [...value];
      throw new ValueProblem(`expected a non-empty list of ${integer ? "integers" : "numbers"}`);
    }
  }
}

const atLeast = (min: number) => (v: SettingValue): SettingValue => {
  if ((v as number) < min) throw new ValueProblem(`must be >= ${min}`);
  return v;
};
const between = (min: number, max: number) => (v: SettingValue): SettingValue => {
  if ((v as number) < min || (v as number) > max) {
    throw new ValueProblem(`must be between ${min} and ${max}`);
  }
  return v;
};
const positive = (v: SettingValue): SettingValue => {
  if ((v as number) <= 0) throw new ValueProblem("must be > 0");
  return v;
};
const openUnit = (v: SettingValue): SettingValue => {
  const x = v as number;
  if (x <= 0 || x >= 1) throw new ValueProblem("must be between 0 and 1 (exclusive)");
  return v;
};
const positiveInts = (v: SettingValue): SettingValue => {
  if ((v as number[]).some((x) => x < 1)) throw new ValueProblem("every entry must be >= 1");
  return v;
};
const filterList = (v: SettingValue): SettingValue => {
  const list = positiveInts(v) as number[];
  if (list[list.length - 1] < 2) {
    throw new ValueProblem("the last filter must be >= 2 (the head width is last / 2)");
  }
  return list;
};
const inputType = (v: SettingValue): SettingValue => {
  if ((v as string).toLowerCase() !== "image") {
    throw new ValueProblem("only image input is supported (input_type image)");
  }
  return "image";
};
/** `/images` in the original means the folder `images` inside the data folder. */
const relativeDir = (v: SettingValue): SettingValue => {
  const dir = (v as string).replace(/^[/\\]+/, "");
  if (dir === "") throw new ValueProblem("must name a folder inside the data folder");
  return dir;
};
const imageExtension = (v: SettingValue): SettingValue => {
  const ext = "." + (v as string).toLowerCase().replace(/^\./, "");
  if (ext !== ".png" && ext !== ".jpg" && ext !== ".jpeg") {
    throw new ValueProblem("expected .png, .jpg or .jpeg");
  }
  return ext;
};
const presetName = (v: SettingValue): SettingValue => {
  if (!isPresetName(v as string)) {
    throw new ValueProblem(`unknown preset; valid presets: ${PRESET_NAMES.join(", ")}`);
  }
  return v;
};

/** Every condition.txt key the conditioner reads, SimulGen-VAE's and ours. */
export const CONDITIONER_KEYS: readonly KeySpec[] = [
  { key: "n_epoch", field: "nEpoch", kind: "int", doc: "training epochs", refine: atLeast(1) },
  {
    key: "latent_conditioner_lr",
    field: "lr",
    kind: "float",
    doc: "AdamW learning rate",
    refine: positive,
  },
  {
    key: "latent_conditioner_batch",
    field: "batchSize",
    kind: "int",
    doc: "batch size",
    refine: atLeast(1),
  },
  {
    key: "latent_conditioner_weight_decay",
    field: "weightDecay",
    kind: "float",
    doc: "AdamW weight decay",
    refine: atLeast(0),
  },
  {
    key: "input_type",
    field: "inputType",
    kind: "string",
    doc: "condition input (image only)",
    refine: inputType,
  },
  {
    key: "param_dir",
    field: "paramDir",
    kind: "string",
    doc: "image folder inside the data folder",
    refine: relativeDir,
  },
  {
    key: "param_data_type",
    field: "paramDataType",
    kind: "string",
    doc: "image file extension",
    refine: imageExtension,
  },
  {
    key: "latent_conditioner_filter",
    field: "filters",
    kind: "int-list",
    doc: "CNN channel list",
    refine: filterList,
  },
  {
    key: "image_size",
    field: "imageSize",
    kind: "int",
    doc: "input image side (ours)",
    refine: between(LIMITS.minImageSize, LIMITS.maxImageSize),
  },
  {
    key: "seed",
    field: "seed",
    kind: "int",
    doc: "seed of init, split, augmentation (ours)",
    refine: atLeast(0),
  },
  {
    key: "val_fraction",
    field: "valFraction",
    kind: "float",
    doc: "share of samples held out for validation (ours)",
    refine: openUnit,
  },
  {
    key: "val_every",
    field: "valEvery",
    kind: "int",
    doc: "validate every N epochs (ours)",
    refine: atLeast(1),
  },
  {
    key: "checkpoint_every",
    field: "checkpointEvery",
    kind: "int",
    doc: "write the resumable checkpoint every N epochs (ours)",
    refine: atLeast(1),
  },
  {
    key: "patience",
    field: "patience",
    kind: "int",
    doc: "stop after N validations without improvement; 0 = off (ours)",
    refine: atLeast(0),
  },
  {
    key: "grad_clip",
    field: "gradClip",
    kind: "float",
    doc: "global gradient-norm clip (ours)",
    refine: positive,
  },
  {
    key: "warmup_epochs",
    field: "warmupEpochs",
    kind: "int",
    doc: "linear LR warm-up epochs (ours)",
    refine: atLeast(0),
  },
  {
    key: "eta_min",
    field: "etaMin",
    kind: "float",
    doc: "final cosine LR (ours)",
    refine: atLeast(0),
  },
  {
    key: "truncate",
    field: "truncate",
    kind: "bool",
    doc: "cut images/latents to the shorter count (ours)",
  },
  { key: "use_enhanced_loss", field: "enhanced", kind: "bool", doc: "enhanced training on/off" },
  {
    key: "enhancement_preset",
    field: "preset",
    kind: "string",
    doc: "enhanced loss preset",
    refine: presetName,
  },
  {
    key: "mse_weight",
    field: "mseWeight",
    kind: "float",
    doc: "MSE weight (multi-scale)",
    refine: atLeast(0),
  },
  {
    key: "mae_weight",
    field: "maeWeight",
    kind: "float",
    doc: "L1 weight (multi-scale)",
    refine: atLeast(0),
  },
  {
    key: "huber_weight",
    field: "huberWeight",
    kind: "float",
    doc: "SmoothL1 weight (multi-scale)",
    refine: atLeast(0),
  },
  { key: "huber_beta", field: "huberBeta", kind: "float", doc: "SmoothL1 beta", refine: positive },
  {
    key: "main_weight",
    field: "mainWeight",
    kind: "float",
    doc: "y1 loss multiplier",
    refine: atLeast(0),
  },
  {
    key: "hier_weight",
    field: "hierWeight",
    kind: "float",
    doc: "y2 loss multiplier",
    refine: atLeast(0),
  },
  {
    key: "perceptual_weight",
    field: "perceptualWeight",
    kind: "float",
    doc: "perceptual loss weight",
    refine: atLeast(0),
  },
  {
    key: "perceptual_feature_layers",
    field: "perceptualLayers",
    kind: "int-list",
    doc: "perceptual feature network widths",
    refine: positiveInts,
  },
  {
    key: "consistency_weight",
    field: "consistencyWeight",
    kind: "float",
    doc: "consistency loss weight",
    refine: atLeast(0),
  },
  {
    key: "consistency_temperature",
    field: "consistencyTemperature",
    kind: "float",
    doc: "consistency temperature",
    refine: positive,
  },
  {
    key: "use_multiscale_loss",
    field: "useMultiscaleLoss",
    kind: "bool",
    doc: "multi-scale loss on/off",
  },
  {
    key: "use_perceptual_loss",
    field: "usePerceptualLoss",
    kind: "bool",
    doc: "perceptual loss on/off",
  },
  {
    key: "use_consistency_loss",
    field: "useConsistencyLoss",
    kind: "bool",
    doc: "consistency loss on/off",
  },
];

/** The table row of each flat setting. */
export const SPEC_BY_FIELD: ReadonlyMap<SettingName, KeySpec> = new Map(
  CONDITIONER_KEYS.map((spec) => [spec.field, spec]),
);

/** The table row of each condition.txt key. */
export const SPEC_BY_KEY: ReadonlyMap<string, KeySpec> = new Map(
  CONDITIONER_KEYS.map((spec) => [spec.key, spec]),
);

/** The command-line option of a flat setting: `--` plus the name in kebab case (`--batch-size`), and `--epochs` for nEpoch. */
export function flagOf(field: SettingName): string {
  if (field === "nEpoch") return "--epochs";
  return "--" + field.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

const VAE = "SimulGen-VAE setting";
const OTHER_LC = "setting of a latent-conditioner variant this tool does not implement";

/**
 * Keys found in real SimulGen-VAE condition files (and its preset.txt) that the image conditioner
 * does not use, with what each one is. Matched case-insensitively.
 */
export const IGNORED_KEYS: ReadonlyMap<string, string> = new Map<string, string>([
  ["dim1", `${VAE} (number of parameter sets / samples)`],
  ["dim2", `${VAE} (number of time steps)`],
  ["dim3", `${VAE} (number of nodes)`],
  ["dim2_red", `${VAE} (reduced time steps)`],
  ["dim3_red", `${VAE} (reduced nodes)`],
  ["num_var", `${VAE} (number of variables)`],
  ["num_node", `${VAE} (number of nodes)`],
  ["num_time", `${VAE} (number of time steps)`],
  ["reserved", `${VAE} (reserved slot)`],
  ["common", "section title of SimulGen-VAE files ('Common params')"],
  ["training_epochs", `${VAE} (VAE epochs; the conditioner uses n_epoch)`],
  ["batch_size", `${VAE} (VAE batch; the conditioner uses latent_conditioner_batch)`],
  ["learningr", `${VAE} (VAE learning rate; the conditioner uses latent_conditioner_lr)`],
  ["latent_dim", `${VAE} (hierarchical latent width, fixed at 8 here)`],
  ["latent_dim_end", `${VAE} (main latent width, fixed at 32 here)`],
  ["loss_type", `${VAE} (reconstruction loss type)`],
  ["stretch", `${VAE} (data stretching)`],
  ["alpha", `${VAE} (KL annealing)`],
  ["beta", `${VAE} (KL weight)`],
  ["init_beta_divisior", `${VAE} (initial beta power)`],
  ["init_beta_divisor", `${VAE} (initial beta power)`],
  ["data_no", `${VAE} (dataset number)`],
  ["num_filter_enc", `${VAE} (encoder filters)`],
  ["num_filter_dec", `${VAE} (decoder filters)`],
  ["num_aug_f", `${VAE} (augmentation count)`],
  ["num_aug_a", `${VAE} (augmentation count)`],
  ["rec_graph", `${VAE} (reconstruction plots)`],
  ["recon_iter", `${VAE} (reconstruction iterations)`],
  ["use_pinn", `${VAE} (physics-informed loss)`],
  ["pinn_weight", `${VAE} (physics-informed loss)`],
  ["num_param", "SimulGen-VAE's physical parameter count (not needed for image input)"],
  ["n_sample", "SimulGen-VAE's sample count (taken from the data here)"],
  ["latent_conditioner_dropout_rate", "read but unused by the original image conditioner"],
  ["use_spatial_attention", "read but unused by the original image conditioner"],
  ["latent_conditioner_data_type", "older name of input_type in SimulGen-VAE"],
  ["use_pca", `${OTHER_LC} (PCA preprocessing)`],
  ["pca_components", `${OTHER_LC} (PCA preprocessing)`],
  ["pca_patch_size", `${OTHER_LC} (PCA preprocessing)`],
  ["perceptual_similarity", "the perceptual loss always uses cosine similarity here"],
  ["consistency_detach_original", "the consistency target is always detached here"],
  ["use_e2e_training", `${OTHER_LC} (end-to-end training)`],
  ["e2e_loss_function", `${OTHER_LC} (end-to-end training)`],
  ["e2e_vae_model_path", `${OTHER_LC} (end-to-end training)`],
  ["use_latent_regularization", `${OTHER_LC} (end-to-end training)`],
  ["latent_reg_weight", `${OTHER_LC} (end-to-end training)`],
  ["e2e_memory_efficient", `${OTHER_LC} (end-to-end training)`],
  ["e2e_gradient_checkpointing", `${OTHER_LC} (end-to-end training)`],
  ["e2e_batch_reduction_factor", `${OTHER_LC} (end-to-end training)`],
]);

/** Levenshtein distance (insertions, deletions, substitutions) between two strings. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(previous[j] + 1, row[j - 1] + 1, substitution));
    }
    previous = row;
  }
  return previous[b.length];
}

/** The conditioner key closest to `key` (case-insensitive) when at most 2 edits away. */
export function nearestConditionerKey(key: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const spec of CONDITIONER_KEYS) {
    const distance = editDistance(key.toLowerCase(), spec.key);
    if (distance < bestDistance) [best, bestDistance] = [spec.key, distance];
  }
  return best;
}
