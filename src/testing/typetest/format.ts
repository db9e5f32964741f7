/// <reference types="node" />
/**
 * A type-test report as text, the way the `boundscope-typetest` CLI prints
 * it: one line per failure (`file:line: kind: expected …, got … [where]`),
 * one per configuration, and last `N passed, M failed`.
 *
 * Kernel: none; the shape of a compiler's own diagnostics, so editors and CI
 * annotators that read `file:line:` pick the failures up.
 *
 * # Invariants
 * - The last line is always `N passed, M failed`, with the report's counts.
 * - A failure under every configuration says `all configurations`, else
 *   names them.
 *
 * @module
 */

import { relative } from "node:path";
import { indent } from "./judge.js";
import type { TypeTestFailure, TypeTestReport } from "./run.js";

/**
 * How {@link formatTypeTestReport} writes a report.
 *
 * @example
 * ```ts
 * import type { TypeTestFormatOptions } from "boundscope/testing";
 *
 * const options: TypeTestFormatOptions = { verbose: true };
 * ```
 */
export interface TypeTestFormatOptions {
  /** Also print each failure's whole message chain, indented below its line. */
  readonly verbose?: boolean;
}

/** `file:line: kind: expected …, got … [configurations]`. */
function failureLine(report: TypeTestReport, f: TypeTestFailure): string {
  const where = f.configurations.length === report.configurations.length ? "all configurations" : f.configurations.join(", ");
  const file = relative(report.cwd, f.file) || f.file;
  const what = f.expected !== undefined && f.got !== undefined ? `expected ${f.expected}, got ${f.got}` : (f.detail.split("\n")[0] ?? "");
  return `${file}${f.line === undefined ? "" : `:${f.line}`}: ${f.kind}: ${what} [${where}]`;
}

/**
 * The report as the CLI prints it: the compilers, one line per failure
 * naming its file and line with what was expected and what came, a line per
 * configuration, and last `N passed, M failed`.
 *
 * @example
 * ```ts
 * import { formatTypeTestReport, runTypeTests } from "boundscope/testing";
 *
 * const report = await runTypeTests();
 * console.log(formatTypeTestReport(report, { verbose: !report.ok }));
 * ```
 */
export function formatTypeTestReport(report: TypeTestReport, options: TypeTestFormatOptions = {}): string {
  const out: string[] = [];
  const own = report.fixtures.filter((f) => !f.selftest);
  const count = (kind: string): number => own.filter((f) => f.kind === kind).length;
  const selftests = report.fixtures.length - own.length;
  out.push(
    `type tests: ${count("must-compile")} must-compile and ${count("must-not-compile")} must-not-compile fixtures` +
      (selftests > 0 ? `, ${selftests} harness self-test fixtures` : "") +
      `; TypeScript ${report.compilers.map((c) => `${c.version} (${c.id})`).join(", ")}; ${report.configurations.length} configurations`,
  );
  if (report.skipped.length > 0) out.push(`skipped ${report.skipped.length} isolated fixtures`);
  for (const f of report.failures) {
    out.push(failureLine(report, f));
    if (options.verbose === true) out.push(indent(f.detail));
  }
  for (const c of report.configurations) {
    for (const problem of c.problems) {
      const [first = "", ...rest] = problem.split("\n");
      out.push(`${c.id}: the program itself: ${first}`);
      if (options.verbose === true && rest.length > 0) out.push(rest.join("\n"));
    }
  }
  const width = Math.max(...report.configurations.map((c) => `TypeScript ${c.version}, ${c.label}`.length));
  for (const c of report.configurations) {
    out.push(`${`TypeScript ${c.version}, ${c.label}`.padEnd(width)}  ${c.passed} passed, ${c.failed} failed  (${c.seconds.toFixed(1)}s)`);
  }
  out.push(`${report.passed} passed, ${report.failed} failed`);
  return out.join("\n");
}
