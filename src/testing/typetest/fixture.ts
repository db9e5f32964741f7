/**
 * A type-test fixture as the runner reads it: a TypeScript file under
 * `must-compile/` or `must-not-compile/`, its `// @expect-error` markers, and
 * what is wrong with the file itself whatever the compiler says.
 *
 * A marker is a line of its own, directly above the line that must fail:
 *
 *     // @expect-error TS2345 ts7=TS2739 ts54=none /regex/flags -- reason
 *
 * the code every compiler must report there, overrides for one compiler
 * (`none`: that compiler reports nothing there), a regex the message chain
 * must match, and a reason shown in reports. `// @isolated -- reason`
 * compiles the file in a program of its own. In a harness self-test fixture,
 * `// @harness-must-report kind:line@ts7 …` names the failures the runner
 * must report for it.
 *
 * Kernel: none; this is the `tsd`/`dtslint` idea of an expected error,
 * pinned to a line and a code, under every compiler.
 *
 * # Invariants
 * - Parsing never depends on a compiler's output: a malformed marker, a
 *   `@ts-expect-error`, a missing header are `problems` of the file, failed
 *   under every configuration.
 * - Every expectation points at a code line (not blank, not a comment): a
 *   marker above anything else is a problem, not an expectation.
 *
 * @module
 */

import { fail } from "../../internal/error.js";
import { parseCompilerKey, pickFor } from "./compiler-key.js";
import type { CompilerKey, KeyedCompiler } from "./compiler-key.js";

/**
 * Which way a fixture must go: compile cleanly (`must-compile/`), or fail
 * exactly where its markers say (`must-not-compile/`).
 *
 * @example
 * ```ts
 * import type { FixtureKind } from "boundscope/testing";
 *
 * const folderOf = (kind: FixtureKind) => `type-tests/${kind}`;
 * ```
 */
export type FixtureKind = "must-compile" | "must-not-compile";

/**
 * Why a fixture fails under a configuration.
 *
 * - `missing-error`: nothing reported on a marked line (it compiles);
 * - `wrong-code`: an error on the marked line, with another code;
 * - `wrong-message`: the right code, but the marker's regex does not match its message chain;
 * - `wrong-line`: the marked line compiles, and the expected code is reported on a line no marker claims;
 * - `unexpected-error`: an error on a line no marker expects;
 * - `no-expectations`: a must-not-compile fixture without a marker;
 * - `no-header`: a must-not-compile fixture without the header line the run asks for;
 * - `malformed-marker`: a marker that does not parse, or sits above no code line;
 * - `marker-in-must-compile`: markers belong in must-not-compile fixtures;
 * - `ts-directive`: `@ts-expect-error`, `@ts-ignore` or `@ts-nocheck`, which hide errors from the runner;
 * - `selftest`: a harness self-test fixture did not get exactly the failures it names.
 *
 * @example
 * ```ts
 * import type { TypeTestFailureKind } from "boundscope/testing";
 *
 * const misplaced: TypeTestFailureKind[] = ["wrong-line", "malformed-marker"];
 * ```
 */
export type TypeTestFailureKind =
  | "missing-error"
  | "wrong-code"
  | "wrong-message"
  | "wrong-line"
  | "unexpected-error"
  | "no-expectations"
  | "no-header"
  | "malformed-marker"
  | "marker-in-must-compile"
  | "ts-directive"
  | "selftest";

const FAILURE_KINDS: ReadonlySet<string> = new Set<TypeTestFailureKind>([
  "missing-error",
  "wrong-code",
  "wrong-message",
  "wrong-line",
  "unexpected-error",
  "no-expectations",
  "no-header",
  "malformed-marker",
  "marker-in-must-compile",
  "ts-directive",
  "selftest",
]);

/** One marker: the line below it must fail with `code` (or the override for a compiler) and a message `regex` matches. */
export interface Expectation {
  readonly line: number;
  readonly markerLine: number;
  readonly code: number;
  readonly overrides: ReadonlyMap<CompilerKey, number | "none">;
  readonly regex: RegExp;
  readonly reason: string;
}

/** A failure found by reading the file: it holds under every configuration. */
export interface FileProblem {
  readonly kind: TypeTestFailureKind;
  readonly line: number | undefined;
  readonly detail: string;
}

/** Self-test only: a failure the runner must report for this fixture (for one compiler when `compiler` is set). */
export interface MustReport {
  readonly kind: TypeTestFailureKind;
  readonly line: number | undefined;
  readonly compiler: CompilerKey | undefined;
}

/** A fixture, read. */
export interface Fixture {
  readonly file: string;
  readonly kind: FixtureKind;
  readonly selftest: boolean;
  readonly isolated: boolean;
  readonly expectations: readonly Expectation[];
  readonly problems: readonly FileProblem[];
  readonly mustReport: readonly MustReport[];
}

/** How to read fixtures. */
export interface ReadOptions {
  /** A harness self-test fixture: `@harness-must-report` lines are read. */
  readonly selftest: boolean;
  /** When set (e.g. `Blocks`), a must-not-compile fixture opens with `// <header>: <text>`. */
  readonly header: string | undefined;
  /** Every compiler of the run: a marker that is `none` for all of them expects nothing. */
  readonly compilers: readonly KeyedCompiler[];
}

const MARKER = "@expect-error";
const ISOLATED = /^\s*\/\/\s*@isolated\b(.*)$/;
const DIRECTIVE = /@ts-(expect-error|ignore|nocheck)\b/;
const MUST_REPORT = /^\s*\/\/\s*@harness-must-report\s+(.*)$/;
/** A line a marker cannot annotate: blank, or (the start of) a comment. */
const NOT_CODE = /^\s*(\/\/|\/\*|\*|$)/;

/** The code `expectation` wants from `compiler`: its override if one names the compiler, else the code for all. */
export function codeFor(expectation: Expectation, compiler: KeyedCompiler): number | "none" {
  return pickFor(expectation.overrides, compiler, expectation.code);
}

/** Reads fixture `file` of `kind` from its `text`. */
export function readFixture(file: string, text: string, kind: FixtureKind, options: ReadOptions): Fixture {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  const problems: FileProblem[] = [];
  const expectations: Expectation[] = [];
  const mustReport: MustReport[] = [];
  let isolated = false;
  const problem = (failure: TypeTestFailureKind, line: number | undefined, detail: string): void => void problems.push({ kind: failure, line, detail });

  let pending: Omit<Expectation, "line">[] = [];
  lines.forEach((source, index) => {
    const line = index + 1;
    if (DIRECTIVE.test(source)) {
      problem("ts-directive", line, "TypeScript directives hide errors from the runner; use a `// @expect-error` marker");
    }
    const self = options.selftest ? MUST_REPORT.exec(source) : null;
    if (self !== null) {
      for (const item of (self[1] ?? "").trim().split(/\s+/)) mustReport.push(readMustReport(item, `${file}:${line}`));
      return;
    }
    const isolation = ISOLATED.exec(source);
    if (isolation !== null) {
      if (/^\s+--\s+\S/.test(isolation[1] ?? "")) isolated = true;
      else problem("malformed-marker", line, 'an isolation directive says why: "// @isolated -- <reason>"');
      return;
    }
    if (!source.includes(MARKER)) {
      if (pending.length > 0) {
        if (NOT_CODE.test(source)) {
          for (const p of pending) problem("malformed-marker", p.markerLine, "a marker must sit directly above the line that fails, not above a blank or comment line");
        } else {
          for (const p of pending) expectations.push({ ...p, line });
        }
        pending = [];
      }
      return;
    }
    const parsed = parseMarker(source, options.compilers);
    if (typeof parsed === "string") {
      problem("malformed-marker", line, parsed);
      return;
    }
    if (kind === "must-compile") {
      problem("marker-in-must-compile", line, "a must-compile fixture takes no markers; move this case to must-not-compile");
      return;
    }
    pending.push({ ...parsed, markerLine: line });
  });
  for (const p of pending) problem("malformed-marker", p.markerLine, "a marker at the end of the file expects nothing");

  if (kind === "must-not-compile") {
    const header = options.header;
    if (header !== undefined && !new RegExp(`^// ${escapeRegex(header)}: \\S`).test(lines[0] ?? "")) {
      problem("no-header", 1, `a must-not-compile fixture opens with "// ${header}: <what it refuses>"`);
    }
    if (expectations.length === 0 && !problems.some((p) => p.kind === "malformed-marker")) {
      problem("no-expectations", undefined, "a must-not-compile fixture needs at least one `// @expect-error` marker");
    }
  }
  return { file, kind, selftest: options.selftest, isolated, expectations, problems, mustReport };
}

/** `kind`, `kind:line`, `kind@ts7` or `kind:line@ts7`. A typo here would make a self-test prove nothing: EINVAL. */
function readMustReport(item: string, where: string): MustReport {
  const match = /^([a-z-]+)(?::(\d+))?(?:@(\w+))?$/.exec(item);
  const kind = match?.[1];
  const key = match?.[3] === undefined ? undefined : parseCompilerKey(match[3]);
  if (match === null || kind === undefined || !FAILURE_KINDS.has(kind) || typeof key === "string") {
    throw fail("EINVAL", `${where}: bad @harness-must-report item "${item}": write kind, kind:line or kind:line@ts7, kind one of ${[...FAILURE_KINDS].join(", ")}`);
  }
  // The cast is safe: FAILURE_KINDS holds exactly the TypeTestFailureKind values.
  return { kind: kind as TypeTestFailureKind, line: match[2] === undefined ? undefined : Number(match[2]), compiler: key };
}

/**
 * `// @expect-error TS2345 ts7=TS2741 ts54=none /regex/flags -- reason`.
 * Returns the expectation (without the line it expects, which is the next
 * code line), or a string saying what is wrong with the marker.
 */
export function parseMarker(text: string, compilers: readonly KeyedCompiler[]): Omit<Expectation, "line" | "markerLine"> | string {
  const head = /^\s*\/\/\s*@expect-error(\s|$)/.exec(text);
  if (head === null) return "a marker is a line of its own: `// @expect-error TSxxxx /regex/ -- reason`";
  let rest = text.slice(head[0].length);
  let code: number | undefined;
  const overrides = new Map<CompilerKey, number | "none">();
  for (;;) {
    rest = rest.replace(/^\s+/, "");
    const token = /^(?:(\w+)=)?(?:TS(\d+)|(none))(?=\s|$)/.exec(rest);
    if (token === null) break;
    rest = rest.slice(token[0].length);
    const value = token[3] === undefined ? Number(token[2]) : "none";
    if (token[1] === undefined) {
      if (code !== undefined) return "the code for all compilers is given twice";
      if (value === "none") return "`none` is only an override (ts54=none): the code for all compilers is a TSxxxx";
      code = value;
      continue;
    }
    const key = parseCompilerKey(token[1]);
    if (typeof key === "string") return key;
    if (code === undefined) return "give the code for all compilers first, then the overrides (ts54=TSxxxx, ts6=TSxxxx, ts7=none)";
    if ([...overrides.keys()].some((k) => k.text === key.text)) return `the code for ${key.text} is given twice`;
    overrides.set(key, value);
  }
  if (code === undefined) return "expected an error code such as TS2345 after @expect-error";
  const all = code;
  if (compilers.length > 0 && compilers.every((c) => pickFor(overrides, c, all) === "none")) {
    return "a marker that is `none` for every compiler expects nothing";
  }
  if (!rest.startsWith("/")) return `expected /regex/ after the codes, found "${rest.split(/\s/)[0] ?? ""}"`;
  let i = 1;
  let inClass = false;
  for (; i < rest.length; i++) {
    const c = rest[i];
    if (c === "\\") i++;
    else if (inClass) inClass = c !== "]";
    else if (c === "[") inClass = true;
    else if (c === "/") break;
  }
  if (i >= rest.length) return "the regex is not closed with /";
  const source = rest.slice(1, i);
  if (source === "") return "the regex is empty";
  const flags = /^[a-z]*/.exec(rest.slice(i + 1))?.[0] ?? "";
  // `g` and `y` make `test` stateful, so one marker could match only every other time.
  if (/[^imsu]/.test(flags)) return `regex flags may be i, m, s, u; got "${flags}"`;
  let regex: RegExp;
  try {
    regex = new RegExp(source, flags);
  } catch (error) {
    return `the regex does not compile: ${error instanceof Error ? error.message : String(error)}`;
  }
  const reason = /^\s+--\s+(\S.*)$/.exec(rest.slice(i + 1 + flags.length));
  if (reason?.[1] === undefined) return 'expected " -- reason" after the regex';
  return { code, overrides, regex, reason: reason[1].trim() };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
