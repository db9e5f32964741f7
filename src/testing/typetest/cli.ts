#!/usr/bin/env node
/// <reference types="node" />
/**
 * `boundscope-typetest`: the type-test runner's command line, installed with
 * the package (`npx boundscope-typetest`).
 *
 *     npx boundscope-typetest                  type-tests/ under every TypeScript ≥ 5.4 installed
 *     npx boundscope-typetest --selftest       prove the runner on broken fixtures
 *     npx boundscope-typetest --list           the compilers it found
 *
 * Kernel: none; a `make check` target for a module's types.
 *
 * # Invariants
 * - Exit status 0 when every check passed, 1 when one failed, 2 for a bad
 *   command line or setup (no fixtures, no TypeScript): CI can tell a
 *   failing fixture from a broken job.
 * - The last line of a run is `N passed, M failed`.
 *
 * @module
 */

import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { BoundscopeError } from "../../internal/error.js";
import { findTypeScripts, loadTypeScripts } from "./compilers.js";
import { formatTypeTestReport } from "./format.js";
import { runTypeTests } from "./run.js";
import type { TypeTestOptions, TypeTestReport } from "./run.js";
import { runTypeTestSelftest } from "./selftest.js";

const USAGE = `usage: boundscope-typetest [options]

Compiles the fixtures in DIR/must-compile (each must compile) and
DIR/must-not-compile (each must fail exactly where its markers say) under
every TypeScript 5.4 or later in node_modules, each strict and again with
strictFunctionTypes: false. A marker sits on the line above the line that
must fail:

  // @expect-error TS2345 ts7=TS2739 /regex on the message/ -- reason

  --dir DIR           the fixtures folder (default: type-tests)
  --typescript DIR    a TypeScript package folder to drive; repeatable
                      (default: every package in node_modules named
                      "typescript", whatever its folder: typescript54, ...)
  --tsconfig FILE     take the base compiler options from this tsconfig
                      (default: Node ESM, strict, ES2022)
  --strict-only       no strictFunctionTypes: false configurations
  --configs ID,ID     only these configurations (ts7-strict, ts54-loose-fn, ...)
  --header WORD       each must-not-compile fixture opens with "// WORD: ..."
  --skip-isolated     leave out fixtures marked // @isolated -- reason
  --concurrency N     compilers run at once (default: cores, at most 4)
  --json FILE         also write the report as JSON
  --verbose           the whole message chain under each failure
  --selftest          prove the runner instead: broken fixtures, each
                      caught for its reason, under the same compilers
  --list              print the compilers found and exit
  -h, --help          this text

Exit status: 0 all passed, 1 a check failed, 2 a bad command line or setup.`;

/** Stops on a bad command line or setup: the message, then a hint, status 2. */
function stop(message: string): never {
  console.error(`boundscope-typetest: ${message}\n(boundscope-typetest --help for the options)`);
  process.exit(2);
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      strict: true,
      allowPositionals: false,
      options: {
        dir: { type: "string" },
        typescript: { type: "string", multiple: true },
        tsconfig: { type: "string" },
        "strict-only": { type: "boolean" },
        configs: { type: "string" },
        header: { type: "string" },
        "skip-isolated": { type: "boolean" },
        concurrency: { type: "string" },
        json: { type: "string" },
        verbose: { type: "boolean" },
        selftest: { type: "boolean" },
        list: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    stop(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && !(Number.isSafeInteger(concurrency) && concurrency > 0)) stop(`--concurrency takes a whole number above 0, got "${values.concurrency}"`);
  const options: TypeTestOptions = {
    ...(values.dir === undefined ? {} : { dir: values.dir }),
    ...(values.typescript === undefined ? {} : { typescript: values.typescript }),
    ...(values.tsconfig === undefined ? {} : { tsconfig: values.tsconfig }),
    ...(values["strict-only"] === true ? { strictOnly: true } : {}),
    ...(values.configs === undefined ? {} : { configurations: values.configs.split(",").filter((id) => id !== "") }),
    ...(values.header === undefined ? {} : { header: values.header }),
    ...(values["skip-isolated"] === true ? { skipIsolated: true } : {}),
    ...(concurrency === undefined ? {} : { concurrency }),
  };

  let report: TypeTestReport;
  try {
    if (values.list === true) {
      const compilers = options.typescript === undefined ? findTypeScripts() : loadTypeScripts(options.typescript);
      for (const c of compilers) console.log(`${c.id.padEnd(5)} TypeScript ${c.version}  ${c.dir}`);
      if (compilers.length === 0) console.log("no TypeScript 5.4 or later found in node_modules");
      return compilers.length === 0 ? 2 : 0;
    }
    report = values.selftest === true ? await runTypeTestSelftest(options) : await runTypeTests(options);
  } catch (error) {
    // Bad options and setup are BoundscopeErrors; anything else is a bug in the runner: let it show its stack.
    if (error instanceof BoundscopeError) stop(error.message);
    throw error;
  }
  if (values.json !== undefined) writeFileSync(values.json, JSON.stringify(report, null, 1) + "\n");
  if (values.selftest === true) {
    console.log(`harness self-test: ${report.fixtures.length} fixtures written from the package, each broken one must be caught for its reason`);
  }
  console.log(formatTypeTestReport(report, { verbose: values.verbose === true }));
  return report.ok ? 0 : 1;
}

process.exitCode = await main();
