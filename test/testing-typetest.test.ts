/**
 * The type-test runner (`boundscope/testing`, `boundscope-typetest`): it
 * finds every TypeScript ≥ 5.4 a project installed, reads markers strictly,
 * and fails a fixture for each reason (a missing error, a wrong code, a wrong
 * message, a marker on the wrong line, an unmarked error), and its shipped
 * self-test passes. Pure parts are tested on strings; the end-to-end runs use
 * TypeScript 7 (and 6 where two compilers are needed) on tiny fixtures.
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findTypeScripts, formatTypeTestReport, loadTypeScripts, runTypeTests, runTypeTestSelftest } from "boundscope/testing";
import type { TypeTestFailure, TypeTestReport } from "boundscope/testing";
import { parseCompilerKey } from "../src/testing/typetest/compiler-key.js";
import type { KeyedCompiler } from "../src/testing/typetest/compiler-key.js";
import { codeFor, parseMarker, readFixture } from "../src/testing/typetest/fixture.js";
import type { Fixture } from "../src/testing/typetest/fixture.js";
import { judge, judgeSelftest, parseDiagnostics } from "../src/testing/typetest/judge.js";
import type { Diagnostic } from "../src/testing/typetest/judge.js";
import { expectCode, expectReject } from "./helpers.js";

const root = resolve(import.meta.dirname, "..");
const TS7 = join(root, "node_modules", "typescript");
const TS6 = join(root, "node_modules", "typescript6");
const ts54: KeyedCompiler = { id: "ts54", major: 5, minor: 4 };
const ts6: KeyedCompiler = { id: "ts6", major: 6, minor: 0 };
const ts7: KeyedCompiler = { id: "ts7", major: 7, minor: 0 };
const ALL = [ts54, ts6, ts7];

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "boundscope-typetest-test-"));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Writes `files` (path -> text) under a fresh folder of the scratch space; returns the folder. */
function tree(name: string, files: Record<string, string>): string {
  const dir = join(scratch, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const fakeTs = (version: string, name = "typescript"): Record<string, string> => ({
  "package.json": JSON.stringify({ name, version, bin: { tsc: "./bin/tsc" } }),
  "bin/tsc": "// not a compiler\n",
});

/** `fakeTs` under `node_modules/<folder>`. */
const installed = (folder: string, version: string, name?: string): Record<string, string> =>
  Object.fromEntries(Object.entries(fakeTs(version, name)).map(([path, text]) => [`node_modules/${folder}/${path}`, text]));

describe("finding compilers", () => {
  it("finds every package named typescript, 5.4 or later, under any folder, one per minor version, oldest first", () => {
    const project = tree("discover", {
      ...installed("typescript", "7.0.2"),
      ...installed("typescript54", "5.4.5"),
      ...installed("@old/ts59", "5.9.3"),
      ...installed("typescript53", "5.3.3"),
      ...installed("not-typescript", "9.9.9", "typescript-eslint"),
      ...installed("ts60a", "6.0.1"),
      ...installed("ts60b", "6.0.3"),
      ...installed("ts61", "6.1.0-beta"),
      "node_modules/broken/package.json": "{ not json",
    });
    const found = findTypeScripts(project);
    expect(found.map((ts) => `${ts.id} ${ts.version}`)).toEqual(["ts54 5.4.5", "ts59 5.9.3", "ts60 6.0.3", "ts61 6.1.0-beta", "ts7 7.0.2"]);
    expect(found[0]?.tsc).toBe(join(project, "node_modules", "typescript54", "bin", "tsc"));
  });

  it("looks in an ancestor's node_modules when the project has none (a workspace root)", () => {
    const workspace = tree("workspace", { ...installed("typescript", "7.0.2"), "packages/app/package.json": "{}" });
    expect(findTypeScripts(join(workspace, "packages", "app")).map((ts) => ts.id)).toEqual(["ts7"]);
  });

  it("finds this repository's TypeScript 5.4, 6 and 7", () => {
    expect(findTypeScripts(root).map((ts) => `${ts.id} ${ts.major}.${ts.minor}`)).toEqual(["ts54 5.4", "ts6 6.0", "ts7 7.0"]);
  });

  it("refuses a folder given by hand that is not TypeScript 5.4 or later", () => {
    const project = tree("given", { ...installed("old", "5.3.3"), ...installed("eslint", "9.0.0", "eslint") });
    expect(expectCode(() => loadTypeScripts(["node_modules/old"], project), "EINVAL").message).toMatch(/older than 5\.4/);
    expect(expectCode(() => loadTypeScripts(["node_modules/eslint"], project), "EINVAL").message).toMatch(/not TypeScript/);
    expect(expectCode(() => loadTypeScripts(["node_modules/nowhere"], project), "EINVAL").message).toMatch(/no readable package\.json/);
  });
});

describe("markers", () => {
  const marker = (text: string, compilers = ALL) => parseMarker(text, compilers);

  it("reads the code, the overrides, the regex and the reason", () => {
    const parsed = marker("  // @expect-error TS2345 ts7=TS2739 ts54=none /a\\/b [/] c/i -- the reason ");
    if (typeof parsed === "string") throw new Error(parsed);
    expect(parsed.code).toBe(2345);
    expect(parsed.regex.source).toBe("a\\/b [/] c");
    expect(parsed.regex.flags).toBe("i");
    expect(parsed.reason).toBe("the reason");
    const e = { ...parsed, line: 2, markerLine: 1 };
    expect([codeFor(e, ts54), codeFor(e, ts6), codeFor(e, ts7)]).toEqual(["none", 2345, 2739]);
  });

  it("lets a minor key win over a major key", () => {
    const parsed = marker("// @expect-error TS1 ts5=TS2 ts54=TS3 /x/ -- r");
    if (typeof parsed === "string") throw new Error(parsed);
    const e = { ...parsed, line: 2, markerLine: 1 };
    expect([codeFor(e, ts54), codeFor(e, { id: "ts59", major: 5, minor: 9 }), codeFor(e, ts7)]).toEqual([3, 2, 1]);
  });

  it.each([
    ["// @expect-error /x/ -- no code", /expected an error code/],
    ["// @expect-error TS2345 /x -- open", /not closed/],
    ["// @expect-error TS2345 /x/", /-- reason/],
    ["// @expect-error TS2345 /x/g -- stateful", /flags may be/],
    ["// @expect-error TS2345 /(x/ -- bad", /does not compile/],
    ["// @expect-error TS2345 // -- empty", /regex is empty/],
    ["// @expect-error TS2345 ts53=TS1 /x/ -- too old", /older than 5\.4/],
    ["// @expect-error none /x/ -- none for all", /only an override/],
    ["// @expect-error ts7=TS1 TS2 /x/ -- override first", /code for all compilers first/],
    ["// @expect-error TS1 TS2 /x/ -- twice", /given twice/],
    ["// @expect-error TS1 ts7=TS2 ts7=TS3 /x/ -- twice", /ts7 is given twice/],
    ["// @expect-error TS1 ts54=none ts6=none ts7=none /x/ -- nothing", /none` for every compiler/],
    ["foo(); // @expect-error TS1 /x/ -- trailing", /line of its own/],
  ])("refuses %s", (text, why) => {
    expect(marker(text)).toMatch(why);
  });

  it("finds, per line, the problems of a file that hold under every compiler", () => {
    const text = [
      "// Blocks: nothing", // 1
      "// @expect-error TS1 /x/ -- above a blank", // 2
      "", // 3
      "// @expect-error TS1 /x/ -- stacked", // 4
      "// @expect-error TS2 /y/ -- stacked", // 5
      "bad();", // 6
      "// @ts-ignore", // 7
      "// @isolated", // 8
      "// @expect-error TS1 /x/ -- at the end", // 9
    ].join("\n");
    const fixture = readFixture("f.ts", text, "must-not-compile", { selftest: false, header: "Blocks", compilers: ALL });
    expect(fixture.expectations.map((e) => `${e.code}@${e.line}`)).toEqual(["1@6", "2@6"]);
    expect(fixture.problems.map((p) => `${p.kind}:${p.line}`)).toEqual(["malformed-marker:2", "ts-directive:7", "malformed-marker:8", "malformed-marker:9"]);
    expect(fixture.isolated).toBe(false);
  });

  it("asks a must-not-compile fixture for its header and a marker, and a must-compile fixture for none", () => {
    const bare = readFixture("f.ts", "export {};\n", "must-not-compile", { selftest: false, header: "Blocks", compilers: ALL });
    expect(bare.problems.map((p) => p.kind)).toEqual(["no-header", "no-expectations"]);
    const marked = readFixture("g.ts", "// @expect-error TS1 /x/ -- r\nx();\n", "must-compile", { selftest: false, header: undefined, compilers: ALL });
    expect(marked.problems.map((p) => `${p.kind}:${p.line}`)).toEqual(["marker-in-must-compile:1"]);
    const isolated = readFixture("h.ts", "// @isolated -- declares a global\nexport {};\n", "must-compile", { selftest: false, header: undefined, compilers: ALL });
    expect(isolated.isolated).toBe(true);
  });

  it("refuses a self-test directive it cannot read, since a typo there would prove nothing", () => {
    expectCode(() => readFixture("s.ts", "// @harness-must-report wrong-cod:3\n", "must-compile", { selftest: true, header: undefined, compilers: ALL }), "EINVAL");
    const ok = readFixture("s.ts", "// @harness-must-report wrong-code:3@ts7 no-expectations\n", "must-compile", { selftest: true, header: undefined, compilers: ALL });
    expect(ok.mustReport.map((r) => `${r.kind}:${r.line}@${r.compiler?.text}`)).toEqual(["wrong-code:3@ts7", "no-expectations:undefined@undefined"]);
  });

  it("reads compiler keys from 5.4 on", () => {
    expect(parseCompilerKey("ts54")).toEqual({ text: "ts54", major: 5, minor: 4 });
    expect(parseCompilerKey("ts7")).toEqual({ text: "ts7", major: 7, minor: undefined });
    expect(parseCompilerKey("ts4")).toMatch(/older/);
    expect(parseCompilerKey("typescript7")).toMatch(/not a compiler key/);
  });
});

describe("judging", () => {
  const fixtureOf = (lines: string[]): Fixture => readFixture("f.ts", lines.join("\n"), "must-not-compile", { selftest: false, header: undefined, compilers: ALL });
  const error = (line: number, code: number, ...chain: string[]): Diagnostic => ({ file: "f.ts", line, column: 1, code, chain });
  const kinds = (fixture: Fixture, diagnostics: Diagnostic[], compiler = ts7) => judge(fixture, compiler, diagnostics).map((f) => `${f.kind}:${f.line}`);
  const marked = fixtureOf(["// @expect-error TS2322 ts54=TS2345 /'string' is not assignable/ -- a string", "const n: number = s;", "const fine = 1;"]);

  it("passes the right code with a matching message on the marked line, and nothing else", () => {
    expect(kinds(marked, [error(2, 2322, "Type 'string' is not assignable to type 'number'.")])).toEqual([]);
    expect(kinds(marked, [error(2, 2345, "Type 'string' is not assignable to type 'number'.")], ts54)).toEqual([]);
  });

  it("fails each way a fixture can be wrong", () => {
    expect(kinds(marked, [])).toEqual(["missing-error:2"]);
    expect(kinds(marked, [error(2, 2304, "Cannot find name 's'.")])).toEqual(["wrong-code:2"]);
    expect(kinds(marked, [error(2, 2322, "Type 'boolean' is not assignable to type 'number'.")])).toEqual(["wrong-message:2"]);
    expect(kinds(marked, [error(3, 2322, "Type 'string' is not assignable to type 'number'.")])).toEqual(["wrong-line:2"]);
    expect(kinds(marked, [error(2, 2322, "Type 'string' is not assignable to type 'number'."), error(3, 2304, "Cannot find name 'x'.")])).toEqual(["unexpected-error:3"]);
    // The override names TS2345 for 5.4: TS2322 there is the wrong code.
    expect(kinds(marked, [error(2, 2322, "Type 'string' is not assignable to type 'number'.")], ts54)).toEqual(["wrong-code:2"]);
  });

  it("says what was expected and what came", () => {
    const [failure] = judge(marked, ts7, [error(3, 2322, "Type 'string' is not assignable to type 'number'.")]);
    expect(failure?.expected).toBe("TS2322 /'string' is not assignable/ (a string) on line 2");
    expect(failure?.got).toBe("TS2322: Type 'string' is not assignable to type 'number'. on line 3");
  });

  it("needs one error per stacked marker, and takes `none` to mean nothing on the line", () => {
    const stacked = fixtureOf(["// @expect-error TS2304 /'a'/ -- a", "// @expect-error TS2304 /'b'/ -- b", "f(a, b);"]);
    expect(kinds(stacked, [error(3, 2304, "Cannot find name 'a'.")])).toEqual(["missing-error:3"]);
    expect(kinds(stacked, [error(3, 2304, "Cannot find name 'b'."), error(3, 2304, "Cannot find name 'a'.")])).toEqual([]);
    const none = fixtureOf(["// @expect-error TS2322 ts6=none /x/ -- not under 6", "bad();"]);
    expect(kinds(none, [], ts6)).toEqual([]);
    expect(kinds(none, [error(2, 2322, "x")], ts6)).toEqual(["unexpected-error:2"]);
  });

  it("holds a self-test fixture to exactly the failures it names, for the compilers it names", () => {
    const selftest = readFixture("s.ts", "// @harness-must-report wrong-code:3@ts7\n// @expect-error TS2345 /x/ -- wrong\nbad();\n", "must-not-compile", {
      selftest: true,
      header: undefined,
      compilers: ALL,
    });
    const wrong = judge(selftest, ts7, [error(3, 2322, "x")]);
    expect(judgeSelftest(selftest, ts7, wrong)).toEqual([]);
    expect(judgeSelftest(selftest, ts6, wrong).map((f) => f.detail)).toEqual([expect.stringMatching(/^the runner also reported: wrong-code:3/)]);
    expect(judgeSelftest(selftest, ts7, []).map((f) => f.detail)).toEqual([expect.stringMatching(/^the runner did not report: wrong-code:3/)]);
  });

  it("reads tsc's --pretty false output: located and global errors, their chains, and what it cannot read", () => {
    const out = [
      "a/b.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.",
      "  The chain goes on.",
      "error TS5023: Unknown compiler option 'x'.",
      "something else",
    ].join("\n");
    const { diagnostics, unparsed } = parseDiagnostics(out);
    expect(diagnostics).toEqual([
      { file: "a/b.ts", line: 3, column: 7, code: 2322, chain: ["Type 'string' is not assignable to type 'number'.", "The chain goes on."] },
      { file: undefined, line: 0, column: 0, code: 5023, chain: ["Unknown compiler option 'x'."] },
    ]);
    expect(unparsed).toEqual(["something else"]);
  });
});

describe("running fixtures under real compilers", () => {
  const STRING = "/Type 'string' is not assignable to type 'number'/";
  const fixtures = {
    "package.json": JSON.stringify({ name: "consumer", type: "module" }),
    "type-tests/must-compile/fine.ts": "export const n: number = 1;\n",
    "type-tests/must-compile/broken.ts": 'export const n: number = "x";\n',
    "type-tests/must-not-compile/refused.ts": `// @expect-error TS2322 ${STRING} -- a string\nexport const n: number = "x";\n`,
    "type-tests/must-not-compile/missing.ts": `// @expect-error TS2322 ${STRING} -- claims it fails\nexport const n: number = 1;\n`,
    "type-tests/must-not-compile/wrong-code.ts": `// @expect-error TS2345 ${STRING} -- not that code\nexport const n: number = "x";\n`,
    "type-tests/must-not-compile/wrong-message.ts": `// @expect-error TS2322 /'boolean'/ -- not that reason\nexport const n: number = "x";\n`,
    "type-tests/must-not-compile/wrong-line.ts": `// @expect-error TS2322 ${STRING} -- too high\nexport const fine = 1;\nexport const n: number = "x";\n`,
  };
  let report: TypeTestReport;
  let project: string;
  beforeAll(async () => {
    project = tree("run", fixtures);
    report = await runTypeTests({ cwd: project, typescript: [TS7], strictOnly: true });
  });
  const failureOf = (name: string): TypeTestFailure | undefined => report.failures.find((f) => f.file.endsWith(name));

  it("passes the good fixtures and fails each broken one for its reason, at its line", () => {
    expect(report.compilers.map((c) => c.id)).toEqual(["ts7"]);
    expect(report.configurations.map((c) => c.id)).toEqual(["ts7-strict"]);
    expect([report.passed, report.failed, report.ok]).toEqual([2, 5, false]);
    expect(report.failures.map((f) => `${f.file.slice(project.length + 1)}:${f.line} ${f.kind}`).sort()).toEqual([
      "type-tests/must-compile/broken.ts:1 unexpected-error",
      "type-tests/must-not-compile/missing.ts:2 missing-error",
      "type-tests/must-not-compile/wrong-code.ts:2 wrong-code",
      "type-tests/must-not-compile/wrong-line.ts:2 wrong-line",
      "type-tests/must-not-compile/wrong-message.ts:2 wrong-message",
    ]);
    expect(failureOf("wrong-code.ts")?.got).toMatch(/^TS2322: Type 'string' is not assignable/);
  });

  it("prints one line per failure with file:line, expected and got, and closes with the counts", () => {
    const lines = formatTypeTestReport(report).split("\n");
    expect(lines).toContain(
      "type-tests/must-not-compile/wrong-code.ts:2: wrong-code: expected TS2345 /Type 'string' is not assignable to type 'number'/ (not that code), got TS2322: Type 'string' is not assignable to type 'number'. [all configurations]",
    );
    expect(lines.filter((l) => /^type-tests\/.+:\d+: /.test(l))).toHaveLength(5);
    expect(lines.at(-1)).toBe("2 passed, 5 failed");
  });

  it("reports each marker's error as the compiler worded it", () => {
    const refused = report.markers.find((m) => m.file.endsWith("refused.ts"));
    expect(refused).toMatchObject({ line: 2, configuration: "ts7-strict", code: 2322, reason: "a string" });
  });

  it("extends the project's own tsconfig, overriding what cannot go with a file list and noEmit", async () => {
    const own = tree("own-tsconfig", {
      "package.json": JSON.stringify({ name: "own", type: "module" }),
      "tsconfig.json": JSON.stringify({
        compilerOptions: { target: "es2022", module: "nodenext", rootDir: "src", outDir: "dist", composite: true, emitDeclarationOnly: true, strict: false, types: [] },
        include: ["src"],
      }),
      "src/index.ts": "export const answer: number = 42;\n",
      "tests/must-compile/uses.ts": 'import { answer } from "../../src/index.js";\nexport const n: number = answer;\n',
      // Not strict in the project, strict here: the implicit any must be refused.
      "tests/must-not-compile/strict.ts": "// @expect-error TS7006 /implicitly has an 'any' type/ -- strict is forced\nexport const f = (x) => x;\n",
    });
    const result = await runTypeTests({ cwd: own, dir: "tests", tsconfig: "tsconfig.json", typescript: [TS7], strictOnly: true });
    expect(result.configurations[0]?.problems).toEqual([]);
    expect([result.passed, result.failed]).toEqual([2, 0]);
  });

  it("runs each compiler strict and with strictFunctionTypes off, and only the configurations asked for", async () => {
    const variance = tree("variance", {
      "package.json": JSON.stringify({ name: "variance", type: "module" }),
      "type-tests/must-not-compile/contravariance.ts":
        "// @expect-error TS2322 /not assignable/ -- a handler of numbers is no handler of unknowns\nexport const h: (x: unknown) => void = (x: number) => void x;\n",
    });
    const result = await runTypeTests({ cwd: variance, typescript: [TS7] });
    expect(result.configurations.map((c) => `${c.id} ${c.passed}/${c.failed}`)).toEqual(["ts7-strict 1/0", "ts7-loose-fn 0/1"]);
    expect(result.failures.map((f) => `${f.kind} ${f.configurations.join()}`)).toEqual(["missing-error ts7-loose-fn"]);
    const only = await runTypeTests({ cwd: variance, typescript: [TS7], configurations: ["ts7-strict"] });
    expect(only.ok).toBe(true);
  });

  it("refuses a setup it cannot run: no fixture folder, an unknown configuration, no TypeScript", async () => {
    await expectReject(runTypeTests({ cwd: project, dir: "nowhere", typescript: [TS7] }), "EINVAL");
    await expectReject(runTypeTests({ cwd: project, typescript: [TS7], configurations: ["ts8-strict"] }), "EINVAL");
    const empty = tree("no-ts", { "package.json": "{}", "type-tests/must-compile/a.ts": "export {};\n" });
    // The scratch space is under the OS temp folder, where no ancestor installs TypeScript.
    if (findTypeScripts(empty).length === 0) await expectReject(runTypeTests({ cwd: empty }), "EINVAL");
    await expectReject(runTypeTests({ cwd: project, typescript: [TS7], concurrency: 0 }), "EINVAL");
  });
});

describe("the shipped self-test", () => {
  it("catches every broken fixture for its reason and passes the good ones, under two compilers", async () => {
    const report = await runTypeTestSelftest({ typescript: [TS6, TS7], strictOnly: true });
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    const selftests = report.fixtures.filter((f) => f.selftest).length;
    expect(selftests).toBeGreaterThanOrEqual(13);
    expect(report.passed).toBe(report.fixtures.length * 2);
  });
});
