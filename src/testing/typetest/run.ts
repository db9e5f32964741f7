/// <reference types="node" />
/**
 * The type-test runner: must-compile and must-not-compile fixtures, compiled
 * by every TypeScript the project has installed (5.4 to 7), each `strict`
 * and again with `strictFunctionTypes: false`, and judged against their
 * `// @expect-error` markers (see `fixture.ts`, `judge.ts`).
 *
 * One program per configuration holds every fixture; a fixture marked
 * `// @isolated -- reason` (a `declare global` or a module augmentation,
 * which would reach the others) gets a program of its own. Each program is a
 * generated `tsconfig.json`, compiled with `node <tsc> -p … --pretty false`.
 *
 * Kernel: none; CI building one module with every supported compiler, and
 * `tsd`, which cannot: it bundles one TypeScript, and TypeScript 7 has no
 * JavaScript API to bundle.
 *
 * # Invariants
 * - Every fixture is judged under every configuration: `passed + failed`
 *   counts fixture × configuration checks, plus one failed check for each
 *   configuration whose program is broken (an error outside the fixtures, an
 *   option error, a compiler crash, output the runner cannot read).
 * - A fixture's errors count only in the program that compiles it.
 * - Whatever the base options, each configuration forces `noEmit`, `strict`,
 *   `strictFunctionTypes` (on, or off for the `-loose-fn` configurations)
 *   and `moduleDetection: "force"`, so that fixtures never share top-level
 *   names in the shared program.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, parse, relative, resolve } from "node:path";
import { describe, fail } from "../../internal/error.js";
import { findTypeScripts, loadTypeScripts } from "./compilers.js";
import type { TypeScriptInstall } from "./compilers.js";
import { readFixture } from "./fixture.js";
import type { Fixture, FixtureKind, TypeTestFailureKind } from "./fixture.js";
import { indent, judge, judgeSelftest, messageOf, parseDiagnostics } from "./judge.js";
import type { Diagnostic, Judged } from "./judge.js";

/**
 * What {@link runTypeTests} compiles, with what, and how.
 *
 * @example
 * ```ts
 * import type { TypeTestOptions } from "boundscope/testing";
 *
 * const options: TypeTestOptions = {
 *   dir: "type-tests",            // type-tests/must-compile, type-tests/must-not-compile
 *   tsconfig: "tsconfig.json",    // your compiler options as the base
 *   configurations: ["ts7-strict"],
 * };
 * ```
 */
export interface TypeTestOptions {
  /** The project: where `node_modules` is searched and what paths are relative to. Default: the current directory. */
  readonly cwd?: string;
  /**
   * The folder holding `must-compile/` and `must-not-compile/`. Default
   * `"type-tests"`. `null`: no fixtures of your own (only `selftestDir`'s).
   */
  readonly dir?: string | null;
  /**
   * A folder of harness self-test fixtures (`must-compile/`,
   * `must-not-compile/`), compiled in the same programs: each is broken on
   * purpose and names the failures the runner must report for it with
   * `// @harness-must-report kind:line`. It passes when exactly those are.
   */
  readonly selftestDir?: string;
  /** TypeScript package folders to drive. Default: every TypeScript ≥ 5.4 in `node_modules` ({@link findTypeScripts}). */
  readonly typescript?: readonly string[];
  /**
   * A `tsconfig.json` whose options are the base (the generated configs
   * `extend` it; its `files` and `include` are dropped). Default: Node ESM,
   * `strict`, `target`/`lib` ES2022 with `esnext.disposable`,
   * `skipLibCheck`, and `types: ["node"]` when `@types/node` is installed
   * (else none).
   */
  readonly tsconfig?: string;
  /** Compiler options over the base (paths in `paths`, `baseUrl` and `typeRoots` are relative to `cwd`). */
  readonly compilerOptions?: Readonly<Record<string, unknown>>;
  /** Options over those for the program of an `@isolated` fixture. Default `{ skipLibCheck: true }`. */
  readonly isolatedCompilerOptions?: Readonly<Record<string, unknown>>;
  /** Only `strict`; no `strictFunctionTypes: false` configurations. */
  readonly strictOnly?: boolean;
  /** Only these configurations, by id (`ts7-strict`, `ts54-loose-fn`, …). */
  readonly configurations?: readonly string[];
  /** When set (e.g. `"Blocks"`), each must-not-compile fixture opens with `// Blocks: <what it refuses>`. */
  readonly header?: string;
  /** Leave `@isolated` fixtures out (listed in the report's `skipped`). */
  readonly skipIsolated?: boolean;
  /** Compilers run at once. Default: the cores, at most 4. */
  readonly concurrency?: number;
  /** Where the generated configs go, kept. Default: a fresh folder under `node_modules/.cache/boundscope-typetest`, removed after. */
  readonly workDir?: string;
}

/**
 * One configuration: a compiler and a strictness.
 *
 * @example
 * ```ts
 * import type { TypeTestConfiguration } from "boundscope/testing";
 *
 * const slowest = (all: readonly TypeTestConfiguration[]) => [...all].sort((a, b) => b.seconds - a.seconds)[0];
 * ```
 */
export interface TypeTestConfiguration {
  /** `ts7-strict`, `ts7-loose-fn`. */
  readonly id: string;
  /** The compiler's id (`ts7`). */
  readonly compiler: string;
  /** The compiler's version (`7.0.2`). */
  readonly version: string;
  /** `strict`, or `strict, strictFunctionTypes: false`. */
  readonly label: string;
  /** Fixtures that passed under this configuration. */
  readonly passed: number;
  /** Fixtures that failed, plus one if the program itself is broken. */
  readonly failed: number;
  /** Compiler seconds, summed over this configuration's programs. */
  readonly seconds: number;
  /** What broke the program outside any fixture: errors in libraries or options, a crash, unreadable output. */
  readonly problems: readonly string[];
}

/**
 * One fixture the runner found.
 *
 * @example
 * ```ts
 * import type { TypeTestFixture } from "boundscope/testing";
 *
 * const refusals = (all: readonly TypeTestFixture[]) => all.filter((f) => f.kind === "must-not-compile").length;
 * ```
 */
export interface TypeTestFixture {
  /** Absolute path. */
  readonly file: string;
  /** Which folder it is in, so which way it must go. */
  readonly kind: FixtureKind;
  /** Compiled in a program of its own (`// @isolated -- reason`). */
  readonly isolated: boolean;
  /** A harness self-test fixture. */
  readonly selftest: boolean;
  /** Its `// @expect-error` markers that parsed. */
  readonly markers: number;
}

/**
 * One failure of one fixture, under the configurations named.
 *
 * @example
 * ```ts
 * import type { TypeTestFailure } from "boundscope/testing";
 *
 * const line = (f: TypeTestFailure) => `${f.file}:${f.line ?? 1}: ${f.kind}: expected ${f.expected}, got ${f.got}`;
 * ```
 */
export interface TypeTestFailure {
  /** The fixture (absolute path). */
  readonly file: string;
  /** The line, or undefined for the whole file (`no-expectations`). */
  readonly line: number | undefined;
  readonly kind: TypeTestFailureKind;
  /** What the marker wants (`TS2345 /regex/ (reason)`, `no error`), when there is a marker or an error to compare. */
  readonly expected: string | undefined;
  /** What the compiler reported (`TS2322: Type 'string' is not …`, `no error`). */
  readonly got: string | undefined;
  /** The whole story, with the message chain on indented lines. */
  readonly detail: string;
  /** The ids of the configurations it fails under. */
  readonly configurations: readonly string[];
}

/**
 * The error a must-not-compile marker expects, as one configuration reported it.
 *
 * @example
 * ```ts
 * import type { TypeTestMarkerResult } from "boundscope/testing";
 *
 * const firstLines = (all: readonly TypeTestMarkerResult[]) => all.map((m) => m.chain[0] ?? "(nothing)");
 * ```
 */
export interface TypeTestMarkerResult {
  readonly file: string;
  /** The line the marker expects to fail. */
  readonly line: number;
  readonly configuration: string;
  readonly reason: string;
  /** The code of the first error reported on the line; undefined when none was. */
  readonly code: number | undefined;
  /** That error's message chain; empty when none was. */
  readonly chain: readonly string[];
}

/**
 * What {@link runTypeTests} found.
 *
 * @example
 * ```ts
 * import { runTypeTests } from "boundscope/testing";
 *
 * const report = await runTypeTests({ dir: "type-tests" });
 * if (!report.ok) throw new Error(`${report.failed} type-test checks failed`);
 * ```
 */
export interface TypeTestReport {
  /** No check failed. */
  readonly ok: boolean;
  /** Fixture × configuration checks that passed. */
  readonly passed: number;
  /** Checks that failed, one more per broken program. */
  readonly failed: number;
  /** The project folder paths are shown relative to. */
  readonly cwd: string;
  readonly compilers: readonly TypeScriptInstall[];
  readonly configurations: readonly TypeTestConfiguration[];
  readonly fixtures: readonly TypeTestFixture[];
  /** Each failure once, with the configurations it fails under. */
  readonly failures: readonly TypeTestFailure[];
  /** Each must-not-compile marker's error, per configuration (self-test fixtures excluded). */
  readonly markers: readonly TypeTestMarkerResult[];
  /** `@isolated` fixtures left out by `skipIsolated`. */
  readonly skipped: readonly string[];
  /** Wall time of the whole run. */
  readonly elapsedMs: number;
}

// ---------------------------------------------------------------------------
// Configurations

interface Configuration {
  readonly id: string;
  readonly compiler: TypeScriptInstall;
  readonly label: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/** Each compiler strict, then (unless strictOnly) each with strictFunctionTypes off: the scope brand must hold under both. */
function configurationsOf(compilers: readonly TypeScriptInstall[], strictOnly: boolean): Configuration[] {
  const strict = compilers.map((compiler) => ({ id: `${compiler.id}-strict`, compiler, label: "strict", options: { strictFunctionTypes: true } }));
  const loose = compilers.map((compiler) => ({
    id: `${compiler.id}-loose-fn`,
    compiler,
    label: "strict, strictFunctionTypes: false",
    options: { strictFunctionTypes: false },
  }));
  return strictOnly ? strict : [...strict, ...loose];
}

/** Whether `@types/node` is installed for the project at `cwd` (or an ancestor, as TypeScript looks). */
function hasNodeTypes(cwd: string): boolean {
  for (let dir = cwd; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "node_modules", "@types", "node", "package.json"))) return true;
    if (dirname(dir) === dir) return false;
  }
}

/** What a Node ESM project compiles with, when the user names no tsconfig. */
function defaultBase(cwd: string): Record<string, unknown> {
  return {
    target: "es2022",
    module: "nodenext",
    moduleResolution: "nodenext",
    lib: ["es2022", "esnext.disposable"],
    types: hasNodeTypes(cwd) ? ["node"] : [],
    strict: true,
    skipLibCheck: true,
  };
}

/** The user's options with their paths made absolute: the generated config lives elsewhere. */
function absolutePaths(options: Readonly<Record<string, unknown>>, cwd: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...options };
  const abs = (p: unknown): unknown => (typeof p === "string" ? resolve(cwd, p) : p);
  if (typeof out["baseUrl"] === "string") out["baseUrl"] = abs(out["baseUrl"]);
  if (Array.isArray(out["typeRoots"])) out["typeRoots"] = out["typeRoots"].map(abs);
  const paths = out["paths"];
  if (typeof paths === "object" && paths !== null && !Array.isArray(paths)) {
    out["paths"] = Object.fromEntries(Object.entries(paths).map(([k, v]) => [k, Array.isArray(v) ? v.map(abs) : v]));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Fixtures

const KINDS: readonly FixtureKind[] = ["must-compile", "must-not-compile"];

function listFixtures(dir: string, selftest: boolean, header: string | undefined, compilers: readonly TypeScriptInstall[]): Fixture[] {
  const fixtures: Fixture[] = [];
  for (const kind of KINDS) {
    const folder = join(dir, kind);
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder).sort()) {
      if (!name.endsWith(".ts") || name.endsWith(".d.ts")) continue;
      const file = join(folder, name);
      fixtures.push(readFixture(file, readFileSync(file, "utf8"), kind, { selftest, header, compilers }));
    }
  }
  return fixtures;
}

// ---------------------------------------------------------------------------
// Compiling

interface Program {
  /** "shared", or the isolated fixture's path relative to cwd. */
  readonly name: string;
  readonly files: readonly string[];
}

interface Compiled {
  readonly status: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/** Runs `node tsc -p project --pretty false` in `cwd`. Never rejects: a spawn failure is a null status with the error in stderr. */
function compile(compiler: TypeScriptInstall, project: string, cwd: string): Promise<Compiled> {
  return new Promise((done) => {
    const started = performance.now();
    const child = spawn(process.execPath, [compiler.tsc, "-p", project, "--pretty", "false"], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => void (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => void (stderr += chunk));
    child.on("error", (error) => done({ status: null, signal: null, stdout, stderr: stderr + String(error), seconds: 0 }));
    child.on("close", (status, signal) => done({ status, signal, stdout, stderr, seconds: (performance.now() - started) / 1000 }));
  });
}

/** Runs `jobs` at most `limit` at a time, in list order; resolves with their results in list order. */
async function pool<T>(jobs: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      // The index is below jobs.length, checked just above.
      results[i] = await (jobs[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

/** Removes `dir` if nothing is in it. */
function rmdirIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // Gone already, or filled in between by a run beside this one: either is fine.
  }
}

// ---------------------------------------------------------------------------
// The run

/** A plain-object check for the option bags: a JavaScript caller may pass anything. */
function optionRecord(name: string, value: unknown): Readonly<Record<string, unknown>> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw fail("EINVAL", `runTypeTests: ${name} is an object of compiler options, got ${describe(value)}`);
  // Checked just above: a non-null, non-array object.
  return value as Record<string, unknown>;
}

function optionString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") throw fail("EINVAL", `runTypeTests: ${name} is a non-empty string, got ${describe(value)}`);
  return value;
}

/**
 * Runs the type tests of the project at `options.cwd`: every fixture in
 * `type-tests/must-compile/` (must compile cleanly) and
 * `type-tests/must-not-compile/` (must fail exactly where its markers say),
 * under every TypeScript ≥ 5.4 in `node_modules`, each `strict` and with
 * `strictFunctionTypes: false`. Resolves with the report; it never throws
 * for a failing fixture. Bad options, no fixture folder, or no TypeScript
 * found is `EINVAL`.
 *
 * A marker sits on the line above the line that must fail:
 *
 * ```ts
 * // @expect-error TS2345 ts7=TS2739 /missing the following properties/ -- a plain Device is not a token
 * allocCoherent(plain, 4096);
 * ```
 *
 * @example
 * ```ts
 * import { formatTypeTestReport, runTypeTests } from "boundscope/testing";
 *
 * const report = await runTypeTests({ dir: "type-tests", strictOnly: true });
 * console.log(formatTypeTestReport(report)); // one line per failure, then "N passed, M failed"
 * ```
 */
export async function runTypeTests(options: TypeTestOptions = {}): Promise<TypeTestReport> {
  // Every option is checked: the CLI and JavaScript callers pass unchecked values.
  if (typeof options !== "object" || options === null) throw fail("EINVAL", `runTypeTests(options): options is an object, got ${describe(options)}`);
  const started = performance.now();
  const cwd = resolve(optionString("cwd", options.cwd) ?? process.cwd());
  const dirOption = options.dir === null ? null : (optionString("dir", options.dir) ?? "type-tests");
  const selftestOption = optionString("selftestDir", options.selftestDir);
  const tsconfigOption = optionString("tsconfig", options.tsconfig);
  const header = optionString("header", options.header);
  const compilerOptions = optionRecord("compilerOptions", options.compilerOptions) ?? {};
  const isolatedOptions = optionRecord("isolatedCompilerOptions", options.isolatedCompilerOptions) ?? { skipLibCheck: true };
  const concurrency = options.concurrency ?? Math.max(1, Math.min(4, availableParallelism()));
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw fail("EINVAL", `runTypeTests: concurrency is a whole number above 0, got ${describe(concurrency)}`);

  const compilers = options.typescript === undefined ? findTypeScripts(cwd) : loadTypeScripts(options.typescript, cwd);
  if (compilers.length === 0) {
    throw fail("EINVAL", `no TypeScript 5.4 or later in ${join(cwd, "node_modules")} (nor an ancestor's): install one (e.g. npm i -D typescript "typescript54@npm:typescript@5.4") or name it with --typescript DIR`);
  }
  const all = configurationsOf(compilers, options.strictOnly === true);
  const wanted = options.configurations;
  // From a command line or a JavaScript caller: an array of ids, or nothing.
  if (wanted !== undefined && (!Array.isArray(wanted) || wanted.some((id) => typeof id !== "string"))) {
    throw fail("EINVAL", `runTypeTests: configurations is an array of ids such as "ts7-strict", got ${describe(wanted)}`);
  }
  if (wanted !== undefined) {
    const unknown = wanted.filter((id) => !all.some((c) => c.id === id));
    if (unknown.length > 0) throw fail("EINVAL", `no configuration named ${unknown.join(", ")}; there are ${all.map((c) => c.id).join(", ")}`);
  }
  const configs = wanted === undefined ? all : all.filter((c) => wanted.includes(c.id));

  const dir = dirOption === null ? undefined : resolve(cwd, dirOption);
  if (dir !== undefined && !(existsSync(dir) && statSync(dir).isDirectory())) {
    throw fail("EINVAL", `no fixture folder ${dir}: put fixtures in ${join(dir, "must-compile")} and ${join(dir, "must-not-compile")}, or pass --dir`);
  }
  const tsconfig = tsconfigOption === undefined ? undefined : resolve(cwd, tsconfigOption);
  if (tsconfig !== undefined && !existsSync(tsconfig)) throw fail("EINVAL", `runTypeTests: no tsconfig at ${tsconfig}`);
  const listed = [
    ...(dir === undefined ? [] : listFixtures(dir, false, header, compilers)),
    ...(selftestOption === undefined ? [] : listFixtures(resolve(cwd, selftestOption), true, header, compilers)),
  ];
  // An augmentation merges into whatever declarations it reaches: a caller
  // that maps the package to its sources leaves these out.
  const fixtures = options.skipIsolated === true ? listed.filter((f) => !f.isolated) : listed;
  const skipped = listed.filter((f) => !fixtures.includes(f)).map((f) => f.file);
  if (fixtures.length === 0) {
    throw fail("EINVAL", `no fixtures: add .ts files to ${join(dir ?? "<dir>", "must-compile")} or ${join(dir ?? "<dir>", "must-not-compile")}`);
  }

  const programs: Program[] = [
    { name: "shared", files: fixtures.filter((f) => !f.isolated).map((f) => f.file) },
    ...fixtures.filter((f) => f.isolated).map((f) => ({ name: relative(cwd, f.file), files: [f.file] })),
  ].filter((p) => p.files.length > 0);

  const base = tsconfig === undefined ? defaultBase(cwd) : {};
  const user = absolutePaths(compilerOptions, cwd);
  const isolatedUser = absolutePaths(isolatedOptions, cwd);
  const ownWorkDir = options.workDir === undefined;
  const cacheRoot = join(cwd, "node_modules", ".cache", "boundscope-typetest");
  if (ownWorkDir) mkdirSync(cacheRoot, { recursive: true });
  const workDir = ownWorkDir ? mkdtempSync(join(cacheRoot, "run-")) : resolve(cwd, options.workDir ?? ".");

  try {
    const writeConfig = (config: Configuration, program: Program): string => {
      const isolated = program.name !== "shared";
      const folder = join(workDir, config.id, ...(isolated ? ["isolated", program.name.replace(/[\\/:]/g, "__")] : []));
      mkdirSync(folder, { recursive: true });
      const forced = {
        noEmit: true,
        strict: true,
        moduleDetection: "force",
        ...config.options,
        // What a project's own tsconfig may set that cannot go with noEmit or a file list elsewhere.
        ...(tsconfig === undefined ? {} : { composite: false, incremental: false, emitDeclarationOnly: false, rootDir: parse(cwd).root }),
      };
      const compilerOptions = { ...base, ...user, ...forced, ...(isolated ? isolatedUser : {}) };
      const path = join(folder, "tsconfig.json");
      const json = { ...(tsconfig === undefined ? {} : { extends: tsconfig }), compilerOptions, files: program.files, include: [] };
      writeFileSync(path, JSON.stringify(json, null, 2) + "\n");
      return path;
    };
    const jobs = configs.flatMap((config) => programs.map((program) => ({ config, program })));
    const results = await pool(
      jobs.map(({ config, program }) => () => compile(config.compiler, writeConfig(config, program), cwd)),
      concurrency,
    );

    const perFailure = new Map<string, { failure: Omit<TypeTestFailure, "configurations">; configurations: string[] }>();
    const markers: TypeTestMarkerResult[] = [];
    const configurations: TypeTestConfiguration[] = configs.map((config) => {
      const byFile = new Map<string, Diagnostic[]>(fixtures.map((f) => [f.file, []]));
      const problems: string[] = [];
      let seconds = 0;
      jobs.forEach((job, i) => {
        const result = results[i];
        if (job.config !== config || result === undefined) return;
        seconds += result.seconds;
        const where = job.program.name === "shared" ? "" : ` (the isolated program of ${job.program.name})`;
        const { diagnostics, unparsed } = parseDiagnostics(result.stdout);
        for (const d of diagnostics) {
          const file = d.file === undefined ? undefined : resolve(cwd, d.file);
          // A fixture's errors count only in the program that compiles it.
          if (file !== undefined && job.program.files.includes(file)) byFile.get(file)?.push(d);
          else problems.push(`TS${d.code} ${file === undefined ? "(global)" : `in ${relative(cwd, file)}(${d.line},${d.column})`}${where}\n${indent(messageOf(d))}`);
        }
        // 0: clean; 1 and 2: errors reported (with or without output). Anything else is a crash.
        if (![0, 1, 2].includes(result.status ?? -1)) {
          problems.push(`tsc exited with ${result.signal ?? String(result.status)}${where}${result.stderr.trim() === "" ? "" : `:\n${indent(result.stderr.trim())}`}`);
        }
        for (const text of unparsed) problems.push(`unreadable compiler output${where}: ${text}`);
      });

      let passed = 0;
      let failed = 0;
      for (const fixture of fixtures) {
        const diagnostics = byFile.get(fixture.file) ?? [];
        if (fixture.kind === "must-not-compile" && !fixture.selftest) {
          for (const e of fixture.expectations) {
            const d = diagnostics.find((x) => x.line === e.line);
            markers.push({ file: fixture.file, line: e.line, configuration: config.id, reason: e.reason, code: d?.code, chain: d?.chain ?? [] });
          }
        }
        let failures: Judged[] = judge(fixture, config.compiler, diagnostics);
        if (fixture.selftest) failures = judgeSelftest(fixture, config.compiler, failures);
        if (failures.length === 0) {
          passed++;
          continue;
        }
        failed++;
        for (const f of failures) {
          const key = `${fixture.file}\0${f.line ?? ""}\0${f.kind}\0${f.detail}`;
          const entry = perFailure.get(key) ?? { failure: { file: fixture.file, ...f }, configurations: [] };
          entry.configurations.push(config.id);
          perFailure.set(key, entry);
        }
      }
      if (problems.length > 0) failed++;
      return { id: config.id, compiler: config.compiler.id, version: config.compiler.version, label: config.label, passed, failed, seconds, problems };
    });

    const passed = configurations.reduce((sum, c) => sum + c.passed, 0);
    const failed = configurations.reduce((sum, c) => sum + c.failed, 0);
    return {
      ok: failed === 0,
      passed,
      failed,
      cwd,
      compilers,
      configurations,
      fixtures: fixtures.map((f) => ({ file: f.file, kind: f.kind, isolated: f.isolated, selftest: f.selftest, markers: f.expectations.length })),
      failures: [...perFailure.values()]
        .map(({ failure, configurations }) => ({ ...failure, configurations }))
        .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : (a.line ?? 0) - (b.line ?? 0))),
      markers,
      skipped,
      elapsedMs: performance.now() - started,
    };
  } finally {
    if (ownWorkDir) {
      rmSync(workDir, { recursive: true, force: true });
      // Left in place when another run is using it.
      rmdirIfEmpty(cacheRoot);
    }
  }
}
