/**
 * The syntax of SimulGen-VAE's `condition.txt`: one `key value` per line, separated by tabs or
 * spaces; `#` starts a comment anywhere in a line; a line starting with `%` is a section title and a
 * line starting with `'` ends the current section; blank lines are skipped; a later duplicate key
 * wins. This file knows nothing about what the keys mean (see `config.ts`).
 */

/**
 * A wrong setting. When it comes from a file its message is
 * `<path>:<line>: key '<key>': <what is wrong> (got '<raw>')`.
 */
export class ConfigError extends Error {
  /** File (or `command line`, or a JSON source) the bad value came from, when known. */
  readonly path?: string;
  /** 1-based line of the bad value in {@link path}, when it came from a file. */
  readonly line?: number;
  /** The condition.txt key, command-line option or config field that is wrong, when known. */
  readonly key?: string;

  /** Creates the error; `where` is attached for programs that want to point at the value. */
  constructor(message: string, where: { path?: string; line?: number; key?: string } = {}) {
    super(message);
    this.name = "ConfigError";
    this.path = where.path;
    this.line = where.line;
    this.key = where.key;
  }
}

/**
 * A condition file's text from its bytes: UTF-8 (a byte-order mark is dropped) or UTF-16 with a
 * byte-order mark, little- or big-endian (what Windows editors save as "Unicode"). Bytes that are
 * not text (invalid UTF-8, a NUL character) are a {@link ConfigError} naming the file and line.
 * @param path Names the file in messages.
 */
export function decodeConditionText(bytes: Uint8Array, path: string): string {
  const [encoding, body] = textEncoding(bytes);
  const notText = (line: number, what: string): ConfigError =>
    new ConfigError(`${path}:${line}: not a text file: ${what}`, { path, line });
  let text: string;
  try {
    text = new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    const what = `invalid ${encoding.toUpperCase()} (save it as UTF-8 text)`;
    throw notText(firstBadLine(body, encoding), what);
  }
  const nul = text.indexOf("\0");
  if (nul >= 0) {
    throw notText(
      text.slice(0, nul).split(/\r\n|\r|\n/).length,
      "it contains NUL characters (UTF-16 needs a byte-order mark; or save it as UTF-8 text)",
    );
  }
  return text;
}

/** The encoding a byte-order mark announces (UTF-8 without one) and the bytes after the mark. */
function textEncoding(bytes: Uint8Array): [string, Uint8Array] {
  const [b0, b1, b2] = bytes;
  if (b0 === 0xff && b1 === 0xfe) return ["utf-16le", bytes.subarray(2)];
  if (b0 === 0xfe && b1 === 0xff) return ["utf-16be", bytes.subarray(2)];
  if (b0 === 0xef && b1 === 0xbb && b2 === 0xbf) return ["utf-8", bytes.subarray(3)];
  return ["utf-8", bytes];
}

/** The 1-based line of the first byte sequence `encoding` cannot decode. */
function firstBadLine(bytes: Uint8Array, encoding: string): number {
  const lossy = new TextDecoder(encoding, { ignoreBOM: true }).decode(bytes);
  const bad = lossy.indexOf("\uFFFD");
  return lossy.slice(0, bad < 0 ? lossy.length : bad).split(/\r\n|\r|\n/).length;
}

/**
 * Reads a condition file and decodes it with {@link decodeConditionText}.
 * @throws ConfigError naming the file when it cannot be read or is not text.
 */
export async function readConditionText(path: string): Promise<string> {
  const text = await readConditionTextIfPresent(path);
  if (text === undefined) throw new ConfigError(`condition file ${path} does not exist`, { path });
  return text;
}

/**
 * Like {@link readConditionText}, but a missing file gives `undefined` (for optional files such
 * as `<data>/condition.txt`); any other problem is still an error.
 */
export async function readConditionTextIfPresent(path: string): Promise<string | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new ConfigError(`cannot read condition file ${path}: ${(err as Error).message}`, {
      path,
    });
  }
  return decodeConditionText(bytes, path);
}

/** One `key value` line of a condition file. */
export interface ConditionEntry {
  /** The key exactly as written (keys are case-sensitive). */
  key: string;
  /** The value's whitespace-separated tokens (several for lists such as `8 16 32 64`). */
  tokens: string[];
  /** The tokens joined by single spaces: what error messages quote as `(got '...')`. */
  raw: string;
  /** 1-based line number. */
  line: number;
  /** Title of the `%` section the line is in, or undefined outside any section. */
  section?: string;
}

/** A `%` section: its title and where it starts and ends. */
export interface ConditionSection {
  /** Text after the `%`, comment removed and whitespace collapsed. */
  title: string;
  /** Line of the `%` title. */
  line: number;
  /** Line of the `'` that ended it, or of the next `%` title; undefined when it runs to the end. */
  endLine?: number;
}

/** Everything {@link parseConditionFile} read from one file. */
export interface ParsedCondition {
  /** The path the text came from, used in every message. */
  path: string;
  /** One entry per key: its winning (last) occurrence, in the order keys first appear. */
  entries: ConditionEntry[];
  /** The same winning entries by key. */
  byKey: ReadonlyMap<string, ConditionEntry>;
  /** Earlier occurrences of duplicated keys, which lost to a later line. */
  overridden: ConditionEntry[];
  /**
   * Lines holding a key and no value (tokens empty). Like the original, they set nothing and do
   * not take part in duplicate resolution; `config.ts` reports them.
   */
  keyOnly: ConditionEntry[];
  /** The `%` sections in file order. */
  sections: ConditionSection[];
}

/**
 * Splits a condition file into entries following SPEC section 6. Never fails on content: value
 * checking is the job of `resolveConfig`.
 * @param text The file's contents (a UTF-8 byte-order mark and CRLF line ends are accepted).
 * @param path Where the text came from; it appears in every message about the file.
 */
export function parseConditionFile(text: string, path: string): ParsedCondition {
  const byKey = new Map<string, ConditionEntry>();
  const overridden: ConditionEntry[] = [];
  const keyOnly: ConditionEntry[] = [];
  const sections: ConditionSection[] = [];
  let current: ConditionSection | undefined;

  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/);
  lines.forEach((original, index) => {
    const line = index + 1;
    const hash = original.indexOf("#");
    const content = (hash >= 0 ? original.slice(0, hash) : original).trim();
    if (content === "") return;
    if (content.startsWith("%")) {
      if (current) current.endLine = line;
      current = { title: content.slice(1).trim().replace(/\s+/g, " "), line };
      sections.push(current);
      return;
    }
    if (content.startsWith("'")) {
      if (current) current.endLine = line;
      current = undefined;
      return;
    }
    const [key, ...tokens] = content.split(/\s+/);
    const entry: ConditionEntry = { key, tokens, raw: tokens.join(" "), line };
    if (current) entry.section = current.title;
    if (tokens.length === 0) {
      keyOnly.push(entry);
      return;
    }
    const previous = byKey.get(key);
    if (previous) overridden.push(previous);
    byKey.set(key, entry);
  });

  // Map iteration keeps first-insertion order even when a key's value is replaced.
  return { path, entries: [...byKey.values()], byKey, overridden, keyOnly, sections };
}
