// `npm test`: every check, in order, and one closing line "N passed, M failed"
// that counts vitest tests, type-test checks and the whole-program checks
// (type-checks of src and examples under each compiler, tsd).
//
//   node scripts/test.mjs
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { parseCommandLine } from "./lib/args.mjs";

parseCommandLine({ usage: "usage: node scripts/test.mjs\n\nRuns every check (build, type-checks, unit, type and mutation tests, package, docs). No options." });

const node = process.execPath;
const tsc7 = "node_modules/typescript/bin/tsc";
const tsc6 = "node_modules/typescript6/bin/tsc";
mkdirSync(".tmp", { recursive: true });

let passed = 0;
let failed = 0;
const failures = [];

/** Runs one command with its output shown; returns its exit status and output. */
function run(title, command, args) {
  console.log(`\n== ${title}`);
  const result = spawnSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  process.stdout.write(result.stdout ?? "");
  return { ok: result.status === 0, stdout: result.stdout ?? "" };
}

/** A check that passes or fails as a whole. */
function check(title, command, args) {
  const { ok } = run(title, command, args);
  if (ok) passed++;
  else {
    failed++;
    failures.push(title);
  }
  return ok;
}

check("layers: no import cycles (type imports included), imports point down only (dependency-cruiser)", node, ["scripts/check-layers.mjs"]);
if (!check("build (dist/)", node, ["scripts/build.mjs"])) {
  console.log(`\n${passed} passed, ${failed} failed`);
  process.exit(1);
}
check("the published .d.ts holds only the public API", node, ["scripts/check-public-dts.mjs"]);
check("type-check src and test (TypeScript 7)", node, [tsc7, "-p", "tsconfig.json"]);
check("type-check src and test (TypeScript 6)", node, [tsc6, "-p", "tsconfig.json"]);
check("type-check examples (TypeScript 7)", node, [tsc7, "-p", "examples/tsconfig.json"]);
check("type-check examples (TypeScript 6)", node, [tsc6, "-p", "examples/tsconfig.json"]);

const report = ".tmp/vitest.json";
const unit = run("unit tests (vitest)", node, [
  "node_modules/vitest/vitest.mjs",
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${report}`,
]);
try {
  const json = JSON.parse(readFileSync(report, "utf8"));
  passed += json.numPassedTests;
  failed += json.numFailedTests;
  if (!unit.ok || json.numFailedTests > 0 || json.numTotalTests === 0) {
    failures.push("unit tests");
    if (json.numFailedTests === 0) failed++;
  }
} catch {
  failed++;
  failures.push("unit tests (no report)");
}

const types = run("type tests (TypeScript 5.4, 6 and 7)", node, ["scripts/type-tests.mjs"]);
const counts = /^(\d+) passed, (\d+) failed$/m.exec(types.stdout);
if (counts) {
  passed += Number(counts[1]);
  failed += Number(counts[2]);
}
if (!types.ok || !counts) {
  failures.push("type tests");
  if (!counts || Number(counts[2]) === 0) failed++;
}

check("tsd on dist/index.d.ts (TypeScript 5.9)", node, ["node_modules/tsd/dist/cli.js"]);

// Each killed mutant passes a check, each survivor fails one.
const mutation = run("mutation testing: weakened types and guards must fail the tests", node, ["scripts/mutation.mjs"]);
const kills = /^killed (\d+)\/(\d+) overall$/m.exec(mutation.stdout);
if (kills) {
  passed += Number(kills[1]);
  failed += Number(kills[2]) - Number(kills[1]);
}
if (!mutation.ok || !kills) {
  failures.push("mutation testing");
  if (!kills || kills[1] === kills[2]) failed++;
}

// The package as published: packed once from the dist/ built above, then
// linted and installed from that one tarball.
const tarball = ".tmp/pack/boundscope.tgz";
if (check("package contents (npm pack)", node, ["scripts/pack.mjs", "--no-build"])) {
  check("publint on the tarball", node, ["node_modules/publint/src/cli.js", "run", tarball, "--strict"]);
  // boundscope is ESM only, on purpose. attw's one finding is that a CommonJS
  // require() gets ESM (CJSResolvesToESM): true, and what ESM-only means, so
  // that rule alone is ignored. Not `--profile esm-only`, which would stop
  // checking the node10 and node16-from-CJS resolutions for anything else.
  check("attw on the tarball (ESM only)", node, [
    "node_modules/@arethetypeswrong/cli/dist/index.js",
    tarball,
    "--ignore-rules",
    "cjs-resolves-to-esm",
  ]);
  check("consumer project: TypeScript 5.4, 6, 7 x nodenext, node16, bundler; node", node, ["scripts/consumer-test.mjs", tarball]);
}
check("API docs: every export documented, with an example (TypeDoc)", node, ["scripts/check-docs.mjs"]);
check("every @example and README code block type-checks (TypeScript 6 and 7)", node, ["scripts/check-examples.mjs"]);

if (failures.length > 0) console.log(`\nfailed: ${failures.join("; ")}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
