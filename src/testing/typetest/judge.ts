/**
 * Judging: what `tsc --pretty false` printed, held against a fixture's
 * markers, under one compiler.
 *
 * tsc prints `file(line,col): error TSxxxx: message`, with the rest of the
 * message chain on indented lines below. Each marker claims one error on its
 * line with its code and a message its regex matches; every error left
 * unclaimed is a failure, and so is every marker left without its error.
 *
 * Kernel: none; the `// @expect-error` contract of `tsd` and `dtslint`,
 * tightened to a code and a line.
 *
 * # Invariants
 * - Each reported error is claimed at most once, so two markers stacked
 *   above a line need two errors there.
 * - A self-test fixture passes when the failures are exactly the ones it
 *   names (`@harness-must-report`), no fewer, no more.
 *
 * @module
 */

import { keyMatch } from "./compiler-key.js";
import type { KeyedCompiler } from "./compiler-key.js";
import { codeFor } from "./fixture.js";
import type { Expectation, FileProblem, Fixture, TypeTestFailureKind } from "./fixture.js";

/** One error tsc reported. `file` is as printed (relative to tsc's working directory), undefined for a global error. */
export interface Diagnostic {
  readonly file: string | undefined;
  readonly line: number;
  readonly column: number;
  readonly code: number;
  /** The top line, then each indented line below it. */
  readonly chain: readonly string[];
}

/** A failure of one fixture under one compiler: the kind, the line, and what was expected against what came. */
export interface Judged {
  readonly kind: TypeTestFailureKind;
  readonly line: number | undefined;
  readonly expected: string | undefined;
  readonly got: string | undefined;
  readonly detail: string;
}

/** The message chain as one text, for the markers' regexes. */
export const messageOf = (d: Diagnostic): string => d.chain.join("\n");

/** Reads tsc's `--pretty false` output. Lines that are neither an error nor its continuation come back in `unparsed`. */
export function parseDiagnostics(stdout: string): { readonly diagnostics: readonly Diagnostic[]; readonly unparsed: readonly string[] } {
  const diagnostics: { file: string | undefined; line: number; column: number; code: number; chain: string[] }[] = [];
  const unparsed: string[] = [];
  for (const text of stdout.split(/\r?\n/)) {
    if (text.trim() === "") continue;
    const located = /^(.+)\((\d+),(\d+)\): (?:error|warning) TS(\d+): (.*)$/.exec(text);
    const global = /^(?:error|warning) TS(\d+): (.*)$/.exec(text);
    const last = diagnostics.at(-1);
    if (located !== null) {
      diagnostics.push({ file: located[1], line: Number(located[2]), column: Number(located[3]), code: Number(located[4]), chain: [located[5] ?? ""] });
    } else if (global !== null) {
      diagnostics.push({ file: undefined, line: 0, column: 0, code: Number(global[1]), chain: [global[2] ?? ""] });
    } else if (/^\s/.test(text) && last !== undefined) {
      last.chain.push(text.trim());
    } else {
      unparsed.push(text);
    }
  }
  return { diagnostics, unparsed };
}

/** `TS2345 /regex/ (reason)`: what a marker expects from one compiler. */
const wanted = (e: Expectation, code: number): string => `TS${code} ${String(e.regex)} (${e.reason})`;
/** `TS2322: its top line`: what came. */
const came = (d: Diagnostic): string => `TS${d.code}: ${d.chain[0] ?? ""}`;

/** The failures of `fixture` under `compiler`, given the errors reported in its file, sorted by line. */
export function judge(fixture: Fixture, compiler: KeyedCompiler, diagnostics: readonly Diagnostic[]): Judged[] {
  const failures: Judged[] = fixture.problems.map((p: FileProblem) => ({ ...p, expected: undefined, got: undefined }));
  const unused = new Set(diagnostics);
  const byLine = new Map<number, Expectation[]>();
  for (const e of fixture.expectations) byLine.set(e.line, [...(byLine.get(e.line) ?? []), e]);

  const missing: { e: Expectation; code: number }[] = [];
  for (const [line, expected] of byLine) {
    const onLine = diagnostics.filter((d) => d.line === line);
    const open: { e: Expectation; code: number }[] = [];
    for (const e of expected) {
      const code = codeFor(e, compiler);
      if (code === "none") continue; // this compiler reports nothing here
      const hit = onLine.find((d) => unused.has(d) && d.code === code && e.regex.test(messageOf(d)));
      if (hit === undefined) open.push({ e, code });
      else unused.delete(hit);
    }
    for (const { e, code } of open) {
      const sameCode = onLine.find((d) => unused.has(d) && d.code === code);
      const other = onLine.find((d) => unused.has(d));
      if (sameCode !== undefined) {
        unused.delete(sameCode);
        failures.push({
          kind: "wrong-message",
          line,
          expected: wanted(e, code),
          got: came(sameCode),
          detail: `expected ${wanted(e, code)}: the regex does not match the message\n${indent(messageOf(sameCode))}`,
        });
      } else if (other !== undefined) {
        unused.delete(other);
        failures.push({ kind: "wrong-code", line, expected: wanted(e, code), got: came(other), detail: `expected ${wanted(e, code)}, got TS${other.code}\n${indent(messageOf(other))}` });
      } else {
        missing.push({ e, code });
      }
    }
  }
  // A marked line that compiles, while its code is reported on a line no
  // marker claims: the marker sits above the wrong line. The nearest such
  // error, one whose message the regex matches first.
  const claimed = new Set(byLine.keys());
  for (const { e, code } of missing) {
    const candidates = [...unused].filter((d) => d.code === code && !claimed.has(d.line));
    const distance = (d: Diagnostic): number => Math.abs(d.line - e.line) + (e.regex.test(messageOf(d)) ? 0 : 1e6);
    const moved = candidates.sort((a, b) => distance(a) - distance(b))[0];
    if (moved !== undefined) {
      unused.delete(moved);
      failures.push({
        kind: "wrong-line",
        line: e.line,
        expected: `${wanted(e, code)} on line ${e.line}`,
        got: `${came(moved)} on line ${moved.line}`,
        detail: `expected ${wanted(e, code)} on this line, got it on line ${moved.line}\n${indent(messageOf(moved))}`,
      });
    } else {
      failures.push({ kind: "missing-error", line: e.line, expected: wanted(e, code), got: "no error", detail: `expected ${wanted(e, code)}: no error on this line (it compiles)` });
    }
  }
  for (const d of unused) {
    failures.push({ kind: "unexpected-error", line: d.line, expected: "no error", got: came(d), detail: `unexpected TS${d.code}\n${indent(messageOf(d))}` });
  }
  return failures.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

/** A self-test fixture's verdict: no failure when the runner reported exactly what it names for `compiler`, else one `selftest` failure saying the difference. */
export function judgeSelftest(fixture: Fixture, compiler: KeyedCompiler, failures: readonly Judged[]): Judged[] {
  const key = (f: { kind: string; line: number | undefined }): string => `${f.kind}${f.line === undefined ? "" : `:${f.line}`}`;
  if (fixture.mustReport.length === 0) {
    const detail = "a self-test fixture names the failures it must cause with `// @harness-must-report kind:line`";
    return [{ kind: "selftest", line: undefined, expected: undefined, got: undefined, detail }];
  }
  const want = fixture.mustReport.filter((r) => r.compiler === undefined || keyMatch(r.compiler, compiler.major, compiler.minor) > 0).map(key).sort();
  const got = failures.map(key).sort();
  if (want.join() === got.join()) return [];
  const missed = want.filter((w) => !got.includes(w));
  const extra = got.filter((g) => !want.includes(g));
  const lines: string[] = [];
  if (missed.length > 0) lines.push(`the runner did not report: ${missed.join(", ")}`);
  if (extra.length > 0) lines.push(`the runner also reported: ${extra.join(", ")}`);
  for (const f of failures) lines.push(indent(`${key(f)}: ${f.detail}`));
  return [{ kind: "selftest", line: undefined, expected: want.join(", ") || "no failure", got: got.join(", ") || "no failure", detail: lines.join("\n") }];
}

/** Each line of `text`, indented by `pad`. */
export function indent(text: string, pad = "    "): string {
  return text
    .split("\n")
    .map((l) => pad + l)
    .join("\n");
}
