/**
 * Command-line options generated from the condition.txt key table, so both accept the same
 * settings. The options are made at run time from the table, so their values are read back
 * by name ({@link settingOverrides}) rather than through commander's static option types.
 */
import type { CommandUnknownOpts } from "npm:@commander-js/extra-typings@15.1.0";
import { CONDITIONER_KEYS, flagOf, type KeySpec } from "../conditioner/config_keys.ts";
import type { ConfigOverrides } from "../conditioner/config.ts";

/** commander's name of an option value: `--batch-size` -> `batchSize`. */
function optionKey(flagName: string): string {
  return flagName.slice(2).replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());
}

const isList = (spec: KeySpec) => spec.kind === "int-list" || spec.kind === "float-list";

/**
 * Adds one option per configuration setting. Booleans take an optional value (`--truncate`);
 * lists take one or more words, each holding one or more items separated by spaces or commas:
 * `--filters 8 16 32`, `--filters "8 16 32"` and `--filters 8,16,32` are the same.
 */
export function addSettingOptions(cmd: CommandUnknownOpts): void {
  for (const spec of CONDITIONER_KEYS) {
    const arg = spec.kind === "bool" ? "[bool]" : isList(spec) ? "<list...>" : "<value>";
    cmd.option(`${flagOf(spec.field)} ${arg}`, `${spec.doc} (condition.txt: ${spec.key})`);
  }
}

/**
 * The settings given on the command line, as raw strings for resolveConfig to parse and check
 * (a list's words are joined with spaces).
 */
export function settingOverrides(cmd: CommandUnknownOpts): ConfigOverrides {
  const out: Record<string, unknown> = {};
  for (const spec of CONDITIONER_KEYS) {
    const v = cmd.getOptionValue(optionKey(flagOf(spec.field)));
    if (v === undefined) continue;
    out[spec.field] = v === true ? "true" : Array.isArray(v) ? v.join(" ") : v;
  }
  return out as ConfigOverrides;
}
