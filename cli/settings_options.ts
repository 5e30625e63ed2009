/** Command-line options generated from the condition.txt key table, so both accept the same settings. */
import type { Command } from "npm:@commander-js/extra-typings@15.1.0";
import { CONDITIONER_KEYS, flagOf, type SettingName } from "../conditioner/config_keys.ts";
import type { ConfigOverrides } from "../conditioner/config.ts";

function flag(field: SettingName): string {
  return flagOf(field);
}

function optionKey(flagName: string): string {
  return flagName.slice(2).replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());
}

/** Adds one option per configuration setting (booleans take an optional value: `--truncate`). */
export function addSettingOptions<C extends Command<[], Record<string, unknown>>>(cmd: C): C {
  for (const spec of CONDITIONER_KEYS) {
    const f = flag(spec.field);
    const arg = spec.kind === "bool" ? "[bool]" : spec.kind.endsWith("list") ? "<list>" : "<value>";
    cmd.option(`${f} ${arg}`, `${spec.doc} (condition.txt: ${spec.key})`);
  }
  return cmd;
}

/** The settings given on the command line, as raw strings for resolveConfig to parse and check. */
export function settingOverrides(opts: Record<string, unknown>): ConfigOverrides {
  const out: Record<string, unknown> = {};
  for (const spec of CONDITIONER_KEYS) {
    const v = opts[optionKey(flag(spec.field))];
    if (v === undefined) continue;
    out[spec.field] = v === true ? "true" : v;
  }
  return out as ConfigOverrides;
}
