/// <reference types="node" />
/**
 * The runner's self-test, shipped inside the package: fixtures broken on
 * purpose, written from the strings below into a temporary folder and run
 * under the project's own compilers. Each names the failure the runner must
 * report for it (`// @harness-must-report kind:line`); two good fixtures
 * must pass. A runner that let a missing error, a wrong code, an unmarked
 * error, a misplaced marker or a wrong message through would fail here.
 *
 * Kernel: none; a test of the test harness, as KUnit tests its own
 * assertion macros.
 *
 * # Invariants
 * - The fixtures use nothing but the language (no library, no `@types`), so
 *   they mean the same under every TypeScript from 5.4.
 * - The temporary folder is removed, whatever happens.
 *
 * @module
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, fail } from "../../internal/error.js";
import { findTypeScripts, loadTypeScripts } from "./compilers.js";
import type { TypeScriptInstall } from "./compilers.js";
import { runTypeTests } from "./run.js";
import type { TypeTestOptions, TypeTestReport } from "./run.js";

/**
 * What {@link runTypeTestSelftest} takes from {@link TypeTestOptions}: which
 * compilers and configurations, and how many at once.
 *
 * @example
 * ```ts
 * import type { TypeTestSelftestOptions } from "boundscope/testing";
 *
 * const quick: TypeTestSelftestOptions = { strictOnly: true };
 * ```
 */
export type TypeTestSelftestOptions = Pick<TypeTestOptions, "cwd" | "typescript" | "strictOnly" | "configurations" | "concurrency">;

const STRING_FOR_NUMBER = "/Type 'string' is not assignable to type 'number'/";

/** Fixtures that must pass, as ordinary fixtures. */
const GOOD: Readonly<Record<string, string>> = {
  "fixtures/must-compile/good.ts": `// Self-test: a must-compile fixture that compiles passes.
export const n: number = 1;
`,
  "fixtures/must-not-compile/good.ts": `// Self-test: each marked line fails as its marker says; two markers stacked
// above one line expect two errors there.
// @expect-error TS2322 ${STRING_FOR_NUMBER} -- a string for a number
export const n: number = "x";
// @expect-error TS2304 /Cannot find name 'nowhere'/ -- an unknown name
// @expect-error TS2304 /Cannot find name 'nor'/ -- another unknown name
export const m = [nowhere, nor];
`,
};

/** Fixtures broken on purpose, each naming what the runner must report. */
const BROKEN: Readonly<Record<string, string>> = {
  "selftest/must-compile/unexpected-error.ts": `// Self-test: an error in a must-compile fixture is unexpected.
// @harness-must-report unexpected-error:3
export const n: number = "x";
`,
  "selftest/must-compile/marker-in-must-compile.ts": `// Self-test: markers belong in must-not-compile fixtures.
// @harness-must-report marker-in-must-compile:3
// @expect-error TS2322 /string/ -- does not belong here
export const n: number = 1;
`,
  "selftest/must-compile/isolated-global.ts": `// Self-test: an isolated fixture declares a global that no other fixture
// sees (see must-not-compile/isolation-holds.ts); its own errors count.
// @isolated -- declares a global
// @harness-must-report unexpected-error:9
declare global {
  var typetestIsolationProbe: number;
}
export const seen: number = typetestIsolationProbe;
export const wrong: string = typetestIsolationProbe;
`,
  "selftest/must-not-compile/missing-error.ts": `// Self-test: the marked line compiles.
// @harness-must-report missing-error:4
// @expect-error TS2322 ${STRING_FOR_NUMBER} -- claims this line fails
export const n: number = 1;
`,
  "selftest/must-not-compile/wrong-code.ts": `// Self-test: the marked line fails with TS2322, not the TS2345 it names.
// @harness-must-report wrong-code:4
// @expect-error TS2345 ${STRING_FOR_NUMBER} -- the wrong code on purpose
export const n: number = "x";
`,
  "selftest/must-not-compile/wrong-message.ts": `// Self-test: the right code, for another reason than the regex names.
// @harness-must-report wrong-message:4
// @expect-error TS2322 /Type 'boolean' is not assignable/ -- claims a boolean is refused
export const n: number = "x";
`,
  "selftest/must-not-compile/wrong-line.ts": `// Self-test: the marker sits one line too high.
// @harness-must-report wrong-line:4
// @expect-error TS2322 ${STRING_FOR_NUMBER} -- one line too high
export const fine = 1;
export const n: number = "x";
`,
  "selftest/must-not-compile/unexpected-error.ts": `// Self-test: the marked error is there, and so is one nothing expects.
// @harness-must-report unexpected-error:6
// @expect-error TS2322 ${STRING_FOR_NUMBER} -- a string for a number
export const n: number = "x";

export const m = nowhere;
`,
  "selftest/must-not-compile/malformed-markers.ts": `// Self-test: markers that do not parse, or sit above no code line.
// @harness-must-report malformed-marker:3 malformed-marker:5 malformed-marker:7 malformed-marker:9
// @expect-error /string/ -- no code
export const a: number = 1;
// @expect-error TS2322 /string/
export const b: number = 1;
// @expect-error TS2322 ts53=TS2345 /string/ -- a compiler older than 5.4
export const c: number = 1;
// @expect-error TS2322 /string/ -- above a blank line

export const d: number = 1;
`,
  "selftest/must-not-compile/ts-directive.ts": `// Self-test: a TypeScript directive hides an error from the runner.
// @harness-must-report ts-directive:6
// @expect-error TS2322 ${STRING_FOR_NUMBER} -- a string for a number
export const n: number = "x";
// A second error, hidden:
// @ts-expect-error
export const m: number = "y";
`,
  "selftest/must-not-compile/no-expectations.ts": `// Self-test: a must-not-compile fixture without a marker proves nothing.
// @harness-must-report no-expectations
export const n = 1;
`,
  "selftest/must-not-compile/isolation-holds.ts": `// Self-test: the isolated fixture's global is not seen here, so the line
// fails with TS2304 (no such name), not the TS2322 it would get if shared.
// @harness-must-report wrong-code:5
// @expect-error TS2322 /./ -- the isolated fixture's global, were it shared
export const seen: string = typetestIsolationProbe;
`,
};

/** Fixtures about per-compiler overrides, for the compilers of the run: one override wrong, one `none`. */
function overrideFixtures(compilers: readonly TypeScriptInstall[]): Record<string, string> {
  const first = compilers[0];
  const last = compilers.at(-1);
  if (first === undefined || last === undefined) return {};
  const fixtures: Record<string, string> = {
    "selftest/must-not-compile/override-code.ts": `// Self-test: an override applies to its compiler only: ${last.id} is told
// TS2345, which is wrong there; every other compiler gets the right TS2322.
// @harness-must-report wrong-code:5@${last.id}
// @expect-error TS2322 ${last.id}=TS2345 ${STRING_FOR_NUMBER} -- wrong for ${last.id} only
export const n: number = "x";
`,
  };
  // With one compiler, none for it is none for every compiler: a malformed marker, not this test.
  if (compilers.length > 1) {
    fixtures["selftest/must-not-compile/override-none.ts"] = `// Self-test: ${first.id}=none says ${first.id} reports nothing on the line,
// so the error it does report there is unexpected; the others match.
// @harness-must-report unexpected-error:5@${first.id}
// @expect-error TS2322 ${first.id}=none ${STRING_FOR_NUMBER} -- said to compile under ${first.id}
export const n: number = "x";
`;
  }
  return fixtures;
}

/**
 * Proves the runner on the project's own compilers: writes fixtures broken
 * on purpose (a missing error, a wrong code, an unmarked error, a marker on
 * the wrong line, a wrong message regex, malformed markers, a directive, an
 * override, isolation) and two good ones into a temporary folder, runs them,
 * and removes the folder. The report is `ok` when the runner reported
 * exactly the failure each broken fixture names and none for the good ones.
 *
 * @example
 * ```ts
 * import { runTypeTestSelftest } from "boundscope/testing";
 *
 * const report = await runTypeTestSelftest({ strictOnly: true });
 * if (!report.ok) throw new Error("the type-test runner does not catch what it must");
 * ```
 */
export async function runTypeTestSelftest(options: TypeTestSelftestOptions = {}): Promise<TypeTestReport> {
  // A JavaScript caller may pass anything here.
  if (typeof options !== "object" || options === null) throw fail("EINVAL", `runTypeTestSelftest(options): options is an object, got ${describe(options)}`);
  const compilers = options.typescript === undefined ? findTypeScripts(options.cwd) : loadTypeScripts(options.typescript, options.cwd);
  if (compilers.length === 0) throw fail("EINVAL", "no TypeScript 5.4 or later installed: nothing to test the runner with");
  const dir = mkdtempSync(join(tmpdir(), "boundscope-typetest-selftest-"));
  try {
    for (const [name, text] of Object.entries({ ...GOOD, ...BROKEN, ...overrideFixtures(compilers) })) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    return await runTypeTests({
      ...(options.strictOnly === undefined ? {} : { strictOnly: options.strictOnly }),
      ...(options.configurations === undefined ? {} : { configurations: options.configurations }),
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      cwd: dir,
      dir: "fixtures",
      selftestDir: "selftest",
      typescript: compilers.map((c) => c.dir),
      compilerOptions: { target: "es2022", module: "esnext", moduleResolution: "bundler", lib: ["es2022"], types: [], strict: true, skipLibCheck: true },
      workDir: "work",
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
