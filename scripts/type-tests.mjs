// Compile-time tests: what must compile and what must not, checked with
// TypeScript 5.4, 6 and 7, each strict and again with strictFunctionTypes off.
//
// The engine is the package's own type-test runner, as built
// (dist/testing/typetest/run.js, the one behind `npx boundscope-typetest`;
// with --root, the copy's build of it, so a mutation run needs nothing of
// ours built):
// this script gives it our fixtures and options and prints its report. Every
// fixture in types-tests/must-compile and types-tests/must-not-compile, and
// the harness self-test fixtures in types-tests/harness-selftest, is compiled
// in one program per configuration, against the emitted declarations
// (dist/index.d.ts, as users get them). A fixture marked `// @isolated --
// reason` gets a program of its own. See types-tests/README.md.
//
//   node scripts/type-tests.mjs             fixtures and harness self-test
//   node scripts/type-tests.mjs --selftest  only the harness self-test
//   node scripts/type-tests.mjs --help      every option (USAGE below)
//
// Exit status 1 when any check fails. The output is read by scripts/test.mjs
// (the last line, `N passed, M failed`) and scripts/mutation.mjs (`FAIL
// <fixture>`, then `  [configurations] line N: kind: …` lines).

import { existsSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseCommandLine, usageError } from "./lib/args.mjs";
import { distState } from "./lib/dist.mjs";
import { root } from "./lib/paths.mjs";
import { parallelism } from "./lib/pool.mjs";

const testsDir = join(root, "types-tests");
/** The runner built into `code`/dist (a --root copy builds its own), else ours. */
const runnerIn = (code) => [code, root].map((dir) => join(dir, "dist", "testing", "typetest", "run.js")).find((path) => existsSync(path));

// The oldest TypeScript the package supports (`NoInfer`, `in out` on type
// aliases, `const` type parameters and `esnext.disposable` all work there),
// 6 and 7. Named, not discovered, so that another TypeScript installed for a
// tool cannot change what the suite runs. Their ids: ts54, ts6, ts7.
const TYPESCRIPTS = ["node_modules/typescript54", "node_modules/typescript6", "node_modules/typescript"];
const CONFIG_IDS = ["ts54-strict", "ts6-strict", "ts7-strict", "ts54-loose-fn", "ts6-loose-fn", "ts7-loose-fn"];

// What a consumer project looks like: Node, ESM, strict, `using` available.
const BASE_OPTIONS = {
  target: "es2022",
  module: "nodenext",
  moduleResolution: "nodenext",
  lib: ["es2022", "esnext.disposable"],
  types: ["node"],
  strict: true,
  // Check dist/*.d.ts too, under every configuration.
  skipLibCheck: false,
};

/**
 * An isolated fixture's program: skipLibCheck, because a duplicate an
 * augmentation declares is reported on the library's side too (which no
 * marker can sit on; the shared program checks dist/*.d.ts under every
 * configuration anyway), and no @types/node, which isolated fixtures do not
 * use and which would triple each program's time.
 */
const ISOLATED_OPTIONS = { skipLibCheck: true, types: [] };

const DIST_PROBLEMS = {
  missing: "dist/index.js or dist/index.d.ts does not exist: run `npm run build` first (or pass --against=src).",
  stale: "dist/ is older than src/: run `npm run build` first (or pass --against=src), or these tests check stale declarations.",
};

const USAGE = `usage: node scripts/type-tests.mjs [--selftest] [--against dist|src] [--root DIR] [--configs ID,ID]

  --selftest          only the harness self-test
  --against dist|src  what "boundscope" is: dist/index.d.ts (default, needs a
                      current build) or src/index.ts (the runner itself is
                      always dist/testing/typetest: build once)
  --root DIR          take src/ and dist/ from DIR, a copy of the package (as
                      made by scripts/mutation.mjs); the fixtures stay these
  --messages FILE     also write, as JSON, the error each must-not-compile
                      marker expects, as each compiler reported it (read by
                      scripts/error-share.mjs)
  --configs ID,ID     only these configurations, of ${CONFIG_IDS.join(", ")}`;

const indent = (text, pad = "    ") =>
  text
    .split("\n")
    .map((l) => pad + l)
    .join("\n");

async function main() {
  const { values } = parseCommandLine({
    usage: USAGE,
    options: {
      selftest: { type: "boolean" },
      against: { type: "string", default: "dist" },
      root: { type: "string" },
      configs: { type: "string" },
      messages: { type: "string" },
    },
  });
  const onlySelftest = values.selftest === true;
  const against = values.against;
  const code = resolve(values.root ?? root);
  const configIds = values.configs?.split(",") ?? CONFIG_IDS;
  if (!["dist", "src"].includes(against)) usageError(USAGE, `--against takes dist or src, got ${JSON.stringify(against)}`);
  const unknownConfigs = configIds.filter((id) => !CONFIG_IDS.includes(id));
  if (unknownConfigs.length > 0) usageError(USAGE, `no configuration named ${unknownConfigs.join(", ")}`);
  if (!existsSync(join(code, "src"))) usageError(USAGE, `${join(code, "src")} does not exist`);
  const runner = runnerIn(code);
  if (runner === undefined) {
    console.error("dist/testing/typetest/run.js does not exist: run `npm run build` first (the type-test runner is part of the package).");
    console.log("0 passed, 1 failed");
    return 1;
  }
  if (against === "dist") {
    const state = distState(code);
    if (state) {
      console.error(DIST_PROBLEMS[state]);
      console.log("0 passed, 1 failed");
      return 1;
    }
  }

  const compilerOptions = { ...BASE_OPTIONS };
  if (against === "src") compilerOptions.paths = { boundscope: [join(code, "src", "index.ts")] };
  // The package's own dist/ is reached by self-reference, as users reach it;
  // a copy's dist/ only through a path mapping.
  else if (code !== root) compilerOptions.paths = { boundscope: [join(code, "dist", "index.d.ts")] };

  const { runTypeTests } = await import(pathToFileURL(runner).href);
  // One work folder per kind of run, so a --selftest run beside a full one
  // does not swap the file list under it.
  const run = `${onlySelftest ? "selftest" : "all"}-against-${against}`;
  let report;
  try {
    report = await runTypeTests({
      cwd: root,
      dir: onlySelftest ? null : "types-tests",
      selftestDir: "types-tests/harness-selftest",
      typescript: TYPESCRIPTS,
      configurations: configIds,
      compilerOptions,
      isolatedCompilerOptions: ISOLATED_OPTIONS,
      header: "Blocks",
      // An augmentation merges into declarations: against src/ it would merge
      // into the library's own source (and report there), which is not what
      // users get. Isolated fixtures run against dist/ only.
      skipIsolated: against === "src",
      concurrency: parallelism,
      workDir: join(code, ".tmp", "type-tests", run),
    });
  } catch (error) {
    // The runner refuses a bad setup (no fixtures, a compiler missing) with a BoundscopeError.
    if (error?.name !== "BoundscopeError") throw error;
    console.error(error.message);
    console.log("0 passed, 1 failed");
    return 1;
  }

  const nameOf = (file) => relative(testsDir, file);
  const own = report.fixtures.filter((f) => !f.selftest);
  const selftests = report.fixtures.filter((f) => f.selftest);
  const count = (kind) => own.filter((f) => f.kind === kind).length;
  if (report.skipped.length > 0) console.log(`skipping the ${report.skipped.length} isolated fixtures: they run against dist/ only`);
  console.log(
    `type tests against ${relative(root, join(code, against === "dist" ? "dist/index.d.ts" : "src/index.ts"))}: ` +
      (onlySelftest ? "" : `${count("must-compile")} must-compile and ${count("must-not-compile")} must-not-compile fixtures, `) +
      `${selftests.length} harness self-test fixtures, ${report.fixtures.filter((f) => f.isolated).length} of them isolated, ${report.configurations.length} configurations`,
  );

  // `FAIL <fixture>` and under it `  [where] line N: kind: detail`, fixture by fixture.
  for (const fixture of report.fixtures) {
    const failures = report.failures.filter((f) => f.file === fixture.file);
    if (failures.length === 0) continue;
    console.log(`\nFAIL ${nameOf(fixture.file)}`);
    for (const f of failures) {
      const where = f.configurations.length === report.configurations.length ? "all configurations" : f.configurations.join(", ");
      console.log(indent(`[${where}] ${f.line === undefined ? "" : `line ${f.line}: `}${f.kind}: ${f.detail}`, "  "));
    }
  }
  for (const c of report.configurations) {
    if (c.problems.length === 0) continue;
    console.log(`\nFAIL the ${c.id} program itself`);
    for (const text of c.problems) console.log(indent(text, "  "));
  }

  console.log("");
  const title = (c) => `TypeScript ${c.version}, ${c.label}`;
  const width = Math.max(...report.configurations.map((c) => title(c).length));
  for (const c of report.configurations) {
    console.log(`${title(c).padEnd(width)}  ${String(c.passed).padStart(3)} passed, ${c.failed} failed  (${c.seconds.toFixed(1)}s)`);
  }
  if (selftests.length > 0) {
    const selfFailed = report.failures.some((f) => f.kind === "selftest" || selftests.some((s) => s.file === f.file));
    console.log(`harness self-test: ${selfFailed ? "FAILED, the harness does not catch what it must" : `${selftests.length} broken fixtures, each reported for its reason`}`);
  }
  console.log(`wall time ${(report.elapsedMs / 1000).toFixed(1)}s`);
  if (values.messages !== undefined) {
    const messages = report.markers.map((m) => ({ fixture: nameOf(m.file), line: m.line, config: m.configuration, reason: m.reason, code: m.code, chain: m.chain }));
    writeFileSync(resolve(values.messages), JSON.stringify(messages, null, 1) + "\n");
  }
  console.log(`${report.passed} passed, ${report.failed} failed`);
  return report.ok ? 0 : 1;
}

process.exitCode = await main();
