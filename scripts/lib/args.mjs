// Command lines: every script parses its own with node:util parseArgs, strict,
// through parseCommandLine, so each one takes --flag value and --flag=value,
// answers --help, and refuses what it does not know in the same words.
import { relative } from "node:path";
import { parseArgs } from "node:util";
import { root } from "./paths.mjs";

/**
 * Parses the command line of the script being run. `options` are parseArgs
 * options (--help, -h is added); `positionals` is how many plain arguments
 * the script takes at most (none by default). --help prints `usage` and exits
 * 0; an unknown option, a missing value or an argument too many is a usage
 * error (see usageError). Returns parseArgs' `{ values, positionals }`.
 */
export function parseCommandLine({ usage, options = {}, positionals = 0 }) {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: positionals > 0,
    });
  } catch (error) {
    if (!String(error?.code).startsWith("ERR_PARSE_ARGS")) throw error;
    usageError(usage, error.message);
  }
  if (parsed.values.help) {
    console.log(usage);
    process.exit(0);
  }
  const extra = parsed.positionals.slice(positionals);
  if (extra.length > 0) usageError(usage, `unexpected argument${extra.length === 1 ? "" : "s"}: ${extra.join(" ")}`);
  delete parsed.values.help;
  return { values: parsed.values, positionals: parsed.positionals };
}

/** Stops on a bad command line: prints what is wrong and `usage` to stderr, exit status 2. */
export function usageError(usage, message) {
  const script = process.argv[1] ? relative(root, process.argv[1]) : "script";
  console.error(`${script}: ${message}\n\n${usage}`);
  process.exit(2);
}

/** The number in `text`, given to option `flag`: a whole number, above 0 unless `signed`; else a usage error. */
export function wholeNumber(usage, flag, text, { signed = false } = {}) {
  const n = Number(text);
  if (text === undefined || text.trim() === "" || !Number.isSafeInteger(n) || (!signed && n <= 0)) {
    usageError(usage, `${flag} takes a whole number${signed ? "" : " above 0"}, got ${JSON.stringify(text ?? "")}`);
  }
  return n;
}
