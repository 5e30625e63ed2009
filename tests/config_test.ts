/** condition.txt parsing, settings resolution with sources, enhanced-loss presets, JSON round trip. */
import assert from "node:assert/strict";
import {
  type ConditionerConfig,
  ConfigError,
  configFromJson,
  configToJson,
  defaultConfig,
  formatNote,
  formatResolvedConfig,
  parseConditionFile,
  resolveConfig,
} from "../conditioner/config.ts";
import { CONDITIONER_KEYS, editDistance } from "../conditioner/config_keys.ts";
import {
  DEFAULT_ENHANCED_LOSS,
  type EnhancedLossConfig,
  PRESET_NAMES,
  presetConfig,
} from "../conditioner/enhanced_config.ts";

const fixture = (name: string) => {
  const path = `fixtures/conditions/${name}`;
  return { path, text: Deno.readTextFileSync(new URL(`../${path}`, import.meta.url)) };
};

/** Resolves an inline file called bad.txt. */
const resolveText = (text: string, overrides = {}) =>
  resolveConfig({ file: { text, path: "bad.txt" }, overrides });

Deno.test("config: parse the SimulGen-VAE reference file", () => {
  const { text, path } = fixture("simulgen_reference.txt");
  const parsed = parseConditionFile(text, path);
  assert.equal(parsed.path, path);
  assert.deepEqual(parsed.sections.map((s) => [s.title, s.line, s.endLine]), [
    ["LSH-VAE parameters 10002", 10, 26],
    ["For shortend_dataset(GPU_RAM_OUT)", 26, 29],
    ["LatentConditioner", 31, 47],
    ["Enhanced Loss Configuration", 49, 56],
  ]);
  const dim1 = parsed.byKey.get("Dim1")!;
  assert.deepEqual([dim1.tokens, dim1.line, dim1.section], [["484"], 2, undefined]);
  const enc = parsed.byKey.get("num_filter_enc")!;
  assert.deepEqual([enc.tokens, enc.raw, enc.section], [
    ["1024", "512", "256", "128"],
    "1024 512 256 128",
    "LSH-VAE parameters 10002",
  ]);
  assert.equal(parsed.byKey.get("Dim2_red")!.section, "For shortend_dataset(GPU_RAM_OUT)");
  assert.equal(parsed.byKey.get("n_epoch")!.section, "LatentConditioner");
  assert.deepEqual(parsed.byKey.get("input_type")!.tokens, ["image"]);
  assert.deepEqual(parsed.byKey.get("latent_conditioner_filter")!.tokens, [
    "32",
    "64",
    "128",
    "256",
    "512",
  ]);
  // RESERVED appears on lines 6, 7, 8, 18, 19: the last wins, the others are overridden.
  assert.equal(parsed.byKey.get("RESERVED")!.line, 19);
  assert.deepEqual(parsed.overridden.map((e) => e.line), [6, 7, 8, 18]);
  assert.equal(parsed.entries.length, 42);
  assert.deepEqual(parsed.entries.slice(0, 7).map((e) => e.key), [
    "Common",
    "Dim1",
    "Dim2",
    "Dim3",
    "num_var",
    "RESERVED",
    "Training_epochs",
  ]);
  assert.deepEqual(parsed.keyOnly, []);
});

Deno.test("config: syntax rules (comments, sections, blanks, tabs, duplicates, key-only lines)", () => {
  const text = [
    "\uFEFF# a comment line", // 1
    "n_epoch\t\t 50# mid-line comment, no space before #", // 2
    "", // 3
    "   ", // 4
    "%Section one # a comment in a title", // 5
    "latent_conditioner_filter  8\t16 \t 32", // 6
    "'", // 7
    "seed 3", // 8
    "%Second", // 9
    "n_epoch 70   # the later duplicate wins", // 10
    "lonely_key", // 11
    "'  end of the second section", // 12
    "val_every\t4\r", // 13
  ].join("\r\n");
  const parsed = parseConditionFile(text, "syntax.txt");
  assert.deepEqual(parsed.entries.map((e) => [e.key, e.tokens, e.line, e.section]), [
    ["n_epoch", ["70"], 10, "Second"],
    ["latent_conditioner_filter", ["8", "16", "32"], 6, "Section one"],
    ["seed", ["3"], 8, undefined],
    ["val_every", ["4"], 13, undefined],
  ]);
  assert.deepEqual(parsed.overridden.map((e) => [e.key, e.tokens, e.line, e.section]), [
    ["n_epoch", ["50"], 2, undefined],
  ]);
  assert.deepEqual(parsed.keyOnly.map((e) => [e.key, e.line, e.section]), [[
    "lonely_key",
    11,
    "Second",
  ]]);
  assert.deepEqual(parsed.sections, [
    { title: "Section one", line: 5, endLine: 7 },
    { title: "Second", line: 9, endLine: 12 },
  ]);

  const resolved = resolveConfig({ file: { text, path: "syntax.txt" } });
  assert.equal(resolved.config.nEpoch, 70);
  assert.equal(resolved.sources.nEpoch, "syntax.txt:10");
  assert.deepEqual(resolved.config.filters, [8, 16, 32]);
  assert.equal(resolved.config.valEvery, 4);
  assert.deepEqual(resolved.warnings.map(formatNote), [
    "syntax.txt:11: key 'lonely_key': a key without a value; ignored",
    "syntax.txt:2: key 'n_epoch': set again on line 10; the later value wins",
  ]);
});

Deno.test("config: reference file resolves with VAE keys ignored, one note each", () => {
  const { text, path } = fixture("simulgen_reference.txt");
  const { config, sources, ignored, warnings } = resolveConfig({ file: { text, path } });
  assert.deepEqual(warnings, []);
  assert.equal(config.nEpoch, 20000);
  assert.equal(config.lr, 1e-4);
  assert.equal(config.weightDecay, 1e-5);
  assert.equal(config.paramDir, "images", "the original's /images is relative to the data folder");
  assert.equal(config.paramDataType, ".png");
  assert.deepEqual(config.filters, [32, 64, 128, 256, 512]);
  assert.equal(config.enhanced.enabled, true);
  assert.deepEqual(config.enhanced.loss, presetConfig("balanced"));
  assert.equal(sources.paramDir, `${path}:34`);
  assert.equal(sources["enhanced.loss.maeWeight"], `${path}:54`);
  assert.equal(sources["enhanced.loss.huberBeta"], "preset balanced");
  assert.equal(sources.imageSize, "default");

  const keys = ignored.map((n) => n.key);
  assert.equal(new Set(keys).size, keys.length, "one note per key");
  for (
    const key of ["Dim1", "Dim2", "Dim3", "num_var", "RESERVED", "Training_epochs", "Batch_size"]
  ) {
    assert.ok(keys.includes(key), `${key} is ignored with a note`);
  }
  for (
    const key of [
      "LearningR",
      "Latent_dim",
      "Latent_dim_end",
      "Loss_type",
      "alpha",
      "num_filter_enc",
    ]
  ) {
    assert.ok(keys.includes(key), `${key} is ignored with a note`);
  }
  assert.equal(ignored.length, 28);
  const dim1 = ignored.find((n) => n.key === "Dim1")!;
  assert.equal(
    formatNote(dim1),
    `${path}:2: key 'Dim1': SimulGen-VAE setting (number of parameter sets / samples); ignored`,
  );
  assert.equal(ignored.find((n) => n.key === "RESERVED")!.line, 19);
});

Deno.test("config: demo file", () => {
  const { text, path } = fixture("demo.txt");
  const { config, sources, warnings, ignored } = resolveConfig({ file: { text, path } });
  assert.deepEqual([warnings, ignored], [[], []]);
  const expected = {
    ...defaultConfig(),
    nEpoch: 60,
    lr: 1e-3,
    batchSize: 16,
    filters: [8, 16, 32, 64],
    imageSize: 64,
    valEvery: 5,
    warmupEpochs: 3,
  };
  assert.deepEqual(config, expected);
  assert.equal(sources.valEvery, `${path}:17`);
  assert.equal(sources.warmupEpochs, `${path}:18`);
  assert.equal(sources.gradClip, "default");
});

Deno.test("config: each malformed value names file, line and key", () => {
  const cases: [string, string][] = [
    ["latent_conditioner_lr abc", "key 'latent_conditioner_lr': expected a number (got 'abc')"],
    ["latent_conditioner_lr -1e-3", "key 'latent_conditioner_lr': must be > 0 (got '-1e-3')"],
    ["latent_conditioner_lr 1e-3x", "key 'latent_conditioner_lr': expected a number (got '1e-3x')"],
    ["n_epoch 10.5", "key 'n_epoch': expected an integer (got '10.5')"],
    ["n_epoch 10 20", "key 'n_epoch': expected one value, found 2 (got '10 20')"],
    ["n_epoch", "key 'n_epoch': missing value (got '')"],
    ["latent_conditioner_batch 0", "key 'latent_conditioner_batch': must be >= 1 (got '0')"],
    [
      "latent_conditioner_weight_decay -1",
      "key 'latent_conditioner_weight_decay': must be >= 0 (got '-1')",
    ],
    [
      "latent_conditioner_filter 32 x 64",
      "key 'latent_conditioner_filter': expected a list of integers (got '32 x 64')",
    ],
    [
      "latent_conditioner_filter 32 0 64",
      "key 'latent_conditioner_filter': every entry must be >= 1 (got '32 0 64')",
    ],
    [
      "input_type csvs",
      "key 'input_type': only image input is supported (input_type image) (got 'csvs')",
    ],
    ["param_dir /", "key 'param_dir': must name a folder inside the data folder (got '/')"],
    ["param_data_type .bmp", "key 'param_data_type': expected .png, .jpg or .jpeg (got '.bmp')"],
    ["image_size 8", "key 'image_size': must be between 16 and 2048 (got '8')"],
    ["image_size 20000", "key 'image_size': must be between 16 and 2048 (got '20000')"],
    ["seed -1", "key 'seed': must be >= 0 (got '-1')"],
    ["val_fraction 1", "key 'val_fraction': must be between 0 and 1 (exclusive) (got '1')"],
    ["val_every 0", "key 'val_every': must be >= 1 (got '0')"],
    ["truncate maybe", "key 'truncate': expected 0, 1, true or false (got 'maybe')"],
    ["use_enhanced_loss 2", "key 'use_enhanced_loss': expected 0, 1, true or false (got '2')"],
    [
      "enhancement_preset turbo",
      "key 'enhancement_preset': unknown preset; valid presets: balanced, robust, semantic, fast, " +
      "small_dataset (got 'turbo')",
    ],
    ["mae_weight -0.1", "key 'mae_weight': must be >= 0 (got '-0.1')"],
    ["perceptual_weight NaN", "key 'perceptual_weight': expected a number (got 'NaN')"],
    ["huber_beta 0", "key 'huber_beta': must be > 0 (got '0')"],
    ["consistency_temperature 0", "key 'consistency_temperature': must be > 0 (got '0')"],
    [
      "perceptual_feature_layers 16,0",
      "key 'perceptual_feature_layers': every entry must be >= 1 (got '16,0')",
    ],
    [
      "perceptual_feature_layers 16,8.5",
      "key 'perceptual_feature_layers': expected a list of integers (got '16,8.5')",
    ],
  ];
  for (const [line, message] of cases) {
    const text = `# header\n%LatentConditioner\n${line}   # comment\n'\n`;
    assert.throws(() => resolveText(text), (error: unknown) => {
      assert.ok(error instanceof ConfigError, `${line}: ConfigError`);
      assert.equal(error.message, `bad.txt:3: ${message}`);
      assert.deepEqual([error.path, error.line, error.key], ["bad.txt", 3, line.split(" ")[0]]);
      return true;
    });
  }
});

Deno.test("config: value spellings that are accepted", () => {
  const text = [
    "param_dir /images/set1",
    "param_data_type JPG",
    "latent_conditioner_filter 16,32, 64",
    "perceptual_feature_layers [32, 16]",
    "use_enhanced_loss true",
    "truncate 1",
    "n_epoch 1e3",
    "latent_conditioner_lr .5e-3",
  ].join("\n");
  const { config } = resolveText(text);
  assert.equal(config.paramDir, "images/set1");
  assert.equal(config.paramDataType, ".jpg");
  assert.deepEqual(config.filters, [16, 32, 64]);
  assert.deepEqual(config.enhanced.loss.perceptualLayers, [32, 16]);
  assert.equal(config.enhanced.enabled, true);
  assert.equal(config.truncate, true);
  assert.equal(config.nEpoch, 1000);
  assert.equal(config.lr, 5e-4);
  assert.equal(resolveText("param_data_type jpeg").config.paramDataType, ".jpeg");
  assert.equal(resolveText("param_data_type .PNG").config.paramDataType, ".png");
});

Deno.test("config: unknown keys warn; near-misses suggest the right key", () => {
  const text = "latent_conditoner_lr 1e-3\nN_EPOCH 5\nlatent_conditioner_batchsize 8\nmy_flag 3\n";
  const { config, warnings, ignored } = resolveText(text);
  assert.equal(config.lr, 5e-5, "a misspelt key sets nothing");
  assert.equal(config.nEpoch, 10000);
  assert.deepEqual(ignored, []);
  assert.deepEqual(warnings.map(formatNote), [
    "bad.txt:1: key 'latent_conditoner_lr': unknown key, did you mean 'latent_conditioner_lr'?; ignored",
    "bad.txt:2: key 'N_EPOCH': unknown key, did you mean 'n_epoch'?; ignored",
    "bad.txt:3: key 'latent_conditioner_batchsize': unknown key; ignored",
    "bad.txt:4: key 'my_flag': unknown key; ignored",
  ]);
  assert.equal(editDistance("latent_conditoner_lr", "latent_conditioner_lr"), 1);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("", "abc"), 3);
});

Deno.test("config: command line overrides file overrides defaults, with sources", () => {
  const text = "n_epoch 500\nlatent_conditioner_lr 1e-3\nlatent_conditioner_batch 32\n";
  const { config, sources } = resolveText(text, { lr: 2e-3, filters: "8 16", seed: "7" });
  assert.deepEqual(
    [config.nEpoch, config.lr, config.batchSize, config.filters, config.seed, config.weightDecay],
    [500, 2e-3, 32, [8, 16], 7, 1e-4],
  );
  assert.deepEqual(
    [
      sources.nEpoch,
      sources.lr,
      sources.batchSize,
      sources.filters,
      sources.seed,
      sources.weightDecay,
    ],
    ["bad.txt:1", "command line", "bad.txt:3", "command line", "command line", "default"],
  );
  const noFile = resolveConfig({ overrides: { nEpoch: 3, truncate: "true", paramDir: "/pics" } });
  assert.deepEqual([noFile.config.nEpoch, noFile.config.truncate, noFile.config.paramDir], [
    3,
    true,
    "pics",
  ]);
  assert.equal(noFile.sources.imageSize, "default");
  assert.deepEqual(resolveConfig().config, defaultConfig());

  const cliErrors: [Record<string, unknown>, string][] = [
    [{ lr: -1 }, "command line: option '--lr': must be > 0 (got '-1')"],
    [{ batchSize: "abc" }, "command line: option '--batch-size': expected an integer (got 'abc')"],
    [{ nEpoch: 5.5 }, "command line: option '--epochs': expected an integer (got '5.5')"],
    [
      { valFraction: 0 },
      "command line: option '--val-fraction': must be between 0 and 1 (exclusive) (got '0')",
    ],
    [
      { perceptualWeight: "-2" },
      "command line: option '--perceptual-weight': must be >= 0 (got '-2')",
    ],
    [{ learningRate: 1 }, "command line: unknown setting 'learningRate'"],
  ];
  for (const [overrides, message] of cliErrors) {
    assert.throws(() => resolveConfig({ overrides }), { name: "ConfigError", message });
  }
  assert.equal(resolveConfig({ overrides: { lr: undefined } }).sources.lr, "default");
});

/** The SPEC section 5 table, written out field by field. */
const SPEC_PRESETS: Record<string, EnhancedLossConfig> = {
  balanced: {
    mseWeight: 1.0,
    maeWeight: 0.1,
    huberWeight: 0.05,
    huberBeta: 0.1,
    mainWeight: 10,
    hierWeight: 1,
    perceptualWeight: 0.1,
    perceptualLayers: [16, 8],
    consistencyWeight: 0.1,
    consistencyTemperature: 1.0,
    useMultiscaleLoss: true,
    usePerceptualLoss: true,
    useConsistencyLoss: true,
  },
  robust: {
    mseWeight: 1.0,
    maeWeight: 0.2,
    huberWeight: 0.1,
    huberBeta: 0.1,
    mainWeight: 10,
    hierWeight: 1,
    perceptualWeight: 0.05,
    perceptualLayers: [16, 8],
    consistencyWeight: 0.15,
    consistencyTemperature: 1.0,
    useMultiscaleLoss: true,
    usePerceptualLoss: true,
    useConsistencyLoss: true,
  },
  semantic: {
    mseWeight: 1.0,
    maeWeight: 0.1,
    huberWeight: 0.05,
    huberBeta: 0.1,
    mainWeight: 10,
    hierWeight: 1,
    perceptualWeight: 0.2,
    perceptualLayers: [32, 16, 8],
    consistencyWeight: 0.05,
    consistencyTemperature: 1.0,
    useMultiscaleLoss: true,
    usePerceptualLoss: true,
    useConsistencyLoss: true,
  },
  fast: {
    mseWeight: 1.0,
    maeWeight: 0.05,
    huberWeight: 0.02,
    huberBeta: 0.1,
    mainWeight: 10,
    hierWeight: 1,
    perceptualWeight: 0.1,
    perceptualLayers: [16, 8],
    consistencyWeight: 0.1,
    consistencyTemperature: 1.0,
    useMultiscaleLoss: true,
    usePerceptualLoss: false,
    useConsistencyLoss: false,
  },
  small_dataset: {
    mseWeight: 1.0,
    maeWeight: 0.1,
    huberWeight: 0.05,
    huberBeta: 0.1,
    mainWeight: 10,
    hierWeight: 1,
    perceptualWeight: 0.2,
    perceptualLayers: [8, 4],
    consistencyWeight: 0.15,
    consistencyTemperature: 1.0,
    useMultiscaleLoss: true,
    usePerceptualLoss: true,
    useConsistencyLoss: true,
  },
};

Deno.test("config: the five presets equal the SPEC table field by field", () => {
  assert.deepEqual([...PRESET_NAMES], Object.keys(SPEC_PRESETS));
  assert.deepEqual({ ...DEFAULT_ENHANCED_LOSS }, SPEC_PRESETS.balanced);
  for (const name of PRESET_NAMES) {
    const actual = presetConfig(name);
    for (const field of Object.keys(SPEC_PRESETS[name]) as (keyof EnhancedLossConfig)[]) {
      assert.deepEqual(actual[field], SPEC_PRESETS[name][field], `${name}.${field}`);
    }
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(SPEC_PRESETS[name]).sort(), name);
  }
  // Fresh copies: changing one does not change the next.
  presetConfig("semantic").perceptualLayers.push(99);
  assert.deepEqual(presetConfig("semantic").perceptualLayers, [32, 16, 8]);
});

Deno.test("config: an unknown preset is an error listing the valid ones", () => {
  const valid = "balanced, robust, semantic, fast, small_dataset";
  assert.throws(() => presetConfig("turbo"), {
    name: "ConfigError",
    message: `unknown enhancement preset 'turbo'; valid presets: ${valid}`,
  });
  assert.throws(() => resolveConfig({ overrides: { preset: "Balanced" } }), {
    name: "ConfigError",
    message:
      `command line: option '--preset': unknown preset; valid presets: ${valid} (got 'Balanced')`,
  });
});

Deno.test("config: explicit file keys override the preset; command line overrides both", () => {
  const text = [
    "use_enhanced_loss 1",
    "enhancement_preset robust",
    "mae_weight 0.3",
    "consistency_weight 0.2",
    "perceptual_feature_layers 16 8 4",
  ].join("\n");
  const fileOnly = resolveText(text);
  assert.deepEqual(fileOnly.config.enhanced, {
    enabled: true,
    preset: "robust",
    loss: {
      ...SPEC_PRESETS.robust,
      maeWeight: 0.3,
      consistencyWeight: 0.2,
      perceptualLayers: [16, 8, 4],
    },
  });
  assert.equal(fileOnly.sources["enhanced.loss.maeWeight"], "bad.txt:3");
  assert.equal(fileOnly.sources["enhanced.loss.huberWeight"], "preset robust");

  const both = resolveText(text, {
    preset: "semantic",
    consistencyWeight: "0.5",
    usePerceptualLoss: false,
  });
  assert.deepEqual(both.config.enhanced, {
    enabled: true,
    preset: "semantic",
    loss: {
      ...SPEC_PRESETS.semantic,
      maeWeight: 0.3,
      consistencyWeight: 0.5,
      perceptualLayers: [16, 8, 4],
      usePerceptualLoss: false,
    },
  });
  assert.deepEqual(
    [
      "enhanced.enabled",
      "enhanced.preset",
      "enhanced.loss.maeWeight",
      "enhanced.loss.consistencyWeight",
      "enhanced.loss.perceptualWeight",
    ].map((k) => both.sources[k]),
    ["command line", "command line", "bad.txt:3", "command line", "preset semantic"],
  );

  // --preset turns enhanced training on even when the file switches it off.
  const on = resolveText("use_enhanced_loss 0\n", { preset: "fast" });
  assert.deepEqual([on.config.enhanced.enabled, on.sources["enhanced.enabled"]], [
    true,
    "command line",
  ]);
  assert.deepEqual(on.config.enhanced.loss, SPEC_PRESETS.fast);
  assert.throws(() => resolveConfig({ overrides: { preset: "fast", enhanced: false } }), {
    name: "ConfigError",
    message: "command line: option '--preset' turns enhanced training on, but enhanced training " +
      "was also switched off ('--enhanced false')",
  });
  // Without an explicit preset, loss values are plain defaults.
  assert.equal(resolveConfig().sources["enhanced.loss.mseWeight"], "default");
});

Deno.test("config: loss settings while enhanced training is off give one warning", () => {
  const { warnings } = resolveText("use_enhanced_loss 0\nmae_weight 0.3\nhuber_weight 0.2\n", {
    maeWeight: 0.4,
  });
  assert.deepEqual(warnings.map(formatNote), [
    "bad.txt:1: key 'use_enhanced_loss': enhanced training is off, so mae_weight, huber_weight have no effect",
  ]);
});

Deno.test("config: the console table is aligned and shows sources", () => {
  const { text, path } = fixture("enhanced_robust.txt");
  const resolved = resolveConfig({ file: { text, path }, overrides: { seed: 4 } });
  const lines = formatResolvedConfig(resolved).split("\n");
  assert.match(lines[0], /^setting +condition\.txt key +value +source$/);
  const valueColumn = lines[0].indexOf("value");
  const sourceColumn = lines[0].indexOf("source");
  const row = (setting: string) => lines.find((l) => l.startsWith(setting + " "))!;
  for (
    const [setting, value, source] of [
      ["nEpoch", "200", `${path}:5`],
      ["seed", "4", "command line"],
      ["filters", "16 32 64 128", `${path}:7`],
      ["enhanced.loss.perceptualWeight", "0.08", `${path}:14`],
      ["enhanced.loss.maeWeight", "0.2", "preset robust"],
      ["gradClip", "10", "default"],
    ]
  ) {
    const line = row(setting);
    assert.equal(line.slice(valueColumn, sourceColumn).trim(), value, setting);
    assert.equal(line.slice(sourceColumn), source, setting);
  }
  assert.equal(lines.length, 1 + CONDITIONER_KEYS.length); // header + one row per setting

  const reference = fixture("simulgen_reference.txt");
  const off = resolveConfig({ file: reference, overrides: { enhanced: false } });
  const text2 = formatResolvedConfig(off);
  assert.ok(!text2.includes("enhanced.loss."), "loss rows hidden when enhanced training is off");
  assert.match(text2, /ignored 28 keys the conditioner does not use:\n {2}Common, Dim1, Dim2,/);
  const ignoredRows = text2.slice(text2.indexOf("ignored 28")).split("\n");
  assert.equal(ignoredRows.length, 5);
  assert.ok(ignoredRows.every((l) => l.length <= 100), "wrapped lines");
  assert.ok(
    text2.includes(
      "\nwarnings:\n  command line: option '--enhanced': enhanced training is off, so perceptual_weight, " +
        "consistency_weight, mae_weight, huber_weight have no effect\n",
    ),
  );
});

Deno.test("config: JSON round trip and checked loading", () => {
  const { text, path } = fixture("enhanced_robust.txt");
  const { config } = resolveConfig({ file: { text, path }, overrides: { truncate: true } });
  const json = configToJson(config);
  assert.deepEqual(JSON.parse(json), config);
  const loaded: ConditionerConfig = configFromJson(json, "run/config.json");
  assert.deepEqual(loaded, config);
  assert.deepEqual(configFromJson(JSON.parse(json)), config);

  // Missing fields take defaults, so older runs still load.
  const partial = configFromJson('{"nEpoch": 7, "enhanced": {"loss": {"maeWeight": 0.5}}}');
  assert.deepEqual(partial, {
    ...defaultConfig(),
    nEpoch: 7,
    enhanced: {
      ...defaultConfig().enhanced,
      loss: { ...defaultConfig().enhanced.loss, maeWeight: 0.5 },
    },
  });

  const bad: [string, string][] = [
    ['{"lr": -1}', "run.json: field 'lr': must be > 0 (got '-1')"],
    [
      '{"filters": [8, "16"]}',
      "run.json: field 'filters': expected a non-empty list of integers (got '8 16')",
    ],
    [
      '{"enhanced": {"preset": "turbo"}}',
      "run.json: field 'enhanced.preset': unknown preset; valid " +
      "presets: balanced, robust, semantic, fast, small_dataset (got 'turbo')",
    ],
    ['{"truncate": 1}', "run.json: field 'truncate': expected true or false (got '1')"],
    ["[1, 2]", "run.json: expected a JSON object of conditioner settings"],
  ];
  for (const [input, message] of bad) {
    assert.throws(() => configFromJson(input, "run.json"), { name: "ConfigError", message });
  }
  assert.throws(
    () => configFromJson("{oops", "run.json"),
    /^ConfigError: run\.json: not valid JSON: /,
  );
});
