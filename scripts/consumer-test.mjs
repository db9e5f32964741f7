// A real consumer: installs the packed boundscope into a fresh project outside
// this repository and uses it as a user would, with none of our dev setup.
//
//   node scripts/consumer-test.mjs [tarball] [--keep]
//
// Without a tarball it packs one (scripts/pack.mjs, with the prepack build).
// The project, under the OS temp directory, depends on boundscope only. There
// scripts/consumer/driver.ts and scripts/consumer/testing.ts (which imports
// "boundscope/testing") must compile and scripts/consumer/misuse.ts must
// fail exactly where its markers say, under each compiler (TypeScript 5.4, 6
// and 7, taken from our devDependencies by absolute path) and each module
// resolution (nodenext, node16, bundler), with skipLibCheck off so our .d.ts
// are checked too. Then both, compiled by TypeScript 7, run under node.
// Last the type-test CLI: with our three compilers linked into the project's
// node_modules (as npm aliases would install them), `npx boundscope-typetest`
// finds them and checks driver.ts (must compile) and misuse.ts (must not), a
// broken fixture makes it exit 1, and its --selftest passes.
// --keep leaves the project in place for a look. Exit status 1 on any failure.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseCommandLine } from "./lib/args.mjs";
import { collect } from "./lib/child.mjs";
import { root } from "./lib/paths.mjs";
import { pack, tarball as packedTarball } from "./pack.mjs";

const {
  values: { keep },
  positionals: [given],
} = parseCommandLine({
  usage: `usage: node scripts/consumer-test.mjs [TARBALL] [--keep]

Installs the packed boundscope into a fresh project and compiles and runs it.
  TARBALL   the package to install (default: pack one, with the prepack build)
  --keep    leave the project in place for a look`,
  options: { keep: { type: "boolean" } },
  positionals: 1,
});
const fixtures = join(root, "scripts", "consumer");

// `dir` is also the folder each is linked under in the project, for the CLI.
const COMPILERS = [
  { id: "ts54", dir: "typescript54" },
  { id: "ts6", dir: "typescript6" },
  { id: "ts7", dir: "typescript" },
];
for (const compiler of COMPILERS) {
  compiler.tsc = join(root, "node_modules", compiler.dir, "bin", "tsc");
  compiler.version = JSON.parse(readFileSync(join(root, "node_modules", compiler.dir, "package.json"), "utf8")).version;
}

const STRICT = { strict: true, skipLibCheck: false, noEmit: true, types: [] };
const RESOLUTIONS = {
  // What `tsc --init` and a careful Node user write, with the stricter flags.
  nodenext: {
    ...STRICT,
    target: "es2022",
    module: "nodenext",
    moduleResolution: "nodenext",
    lib: ["es2022", "esnext.disposable"],
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    verbatimModuleSyntax: true,
  },
  node16: { ...STRICT, target: "es2022", module: "node16", moduleResolution: "node16", lib: ["es2022", "esnext.disposable"] },
  // A bundler user on the newest target: the default lib has Symbol.dispose.
  bundler: { ...STRICT, target: "esnext", module: "esnext", moduleResolution: "bundler" },
};

/** Runs a command in `cwd`; resolves with its exit status and output (stdout and stderr). */
const run = (command, commandArgs, cwd) => collect(command, commandArgs, { cwd });

/** The `// @expect-error` markers of a fixture: which error each line must get. */
function markers(file) {
  const expected = [];
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((text, index) => {
      const match = /^\s*\/\/ @expect-error (TS\d+)((?: ts\w+=TS\d+)*) \/(.+)\/ -- (.+)$/.exec(text);
      if (!match) return;
      const overrides = Object.fromEntries([...match[2].matchAll(/(ts\w+)=(TS\d+)/g)].map((m) => [m[1], m[2]]));
      expected.push({ line: index + 2, code: match[1], overrides, pattern: new RegExp(match[3]), reason: match[4] });
    });
  return expected;
}

/** tsc `--pretty false` output as errors: file, line, code and message chain. */
function diagnostics(output) {
  const errors = [];
  for (const text of output.split("\n")) {
    const match = /^(.+?)\((\d+),\d+\): error (TS\d+): (.*)$/.exec(text);
    if (match) errors.push({ file: match[1], line: Number(match[2]), code: match[3], message: match[4] });
    else if (/^\s/.test(text) && errors.length > 0) errors.at(-1).message += `\n${text.trim()}`;
    else if (/error TS\d+/.test(text)) errors.push({ file: "", line: 0, code: "", message: text });
  }
  return errors;
}

/** Checks one compiler × resolution run against the misuse markers. */
function judge(compiler, result, expected) {
  const problems = [];
  const errors = diagnostics(result.output);
  for (const mark of expected) {
    const code = mark.overrides[compiler.id] ?? mark.code;
    const here = errors.filter((error) => error.file === "src/misuse.ts" && error.line === mark.line);
    if (here.length === 0) problems.push(`misuse.ts:${mark.line}: compiles, but must fail ${code} (${mark.reason})`);
    else if (!here.some((error) => error.code === code)) problems.push(`misuse.ts:${mark.line}: ${here.map((e) => e.code).join(", ")}, expected ${code}`);
    else if (!here.some((error) => error.code === code && mark.pattern.test(error.message))) {
      problems.push(`misuse.ts:${mark.line}: ${code}, but the message does not match ${mark.pattern}: ${here[0].message}`);
    }
  }
  for (const error of errors) {
    if (!expected.some((mark) => error.file === "src/misuse.ts" && error.line === mark.line)) {
      problems.push(`unexpected: ${error.file}(${error.line}): ${error.code} ${error.message}`);
    }
  }
  if (result.status !== 0 && errors.length === 0) problems.push(`tsc exited ${result.status}: ${result.output.trim()}`);
  return problems;
}

/** Runs `npx boundscope-typetest ARGS` in the project; resolves with its status and output. */
const typetest = (project, args) => run("npx", ["--offline", "boundscope-typetest", ...args], project);

/**
 * The type-test CLI as a user runs it: the compilers in the project's
 * node_modules (linked from ours, each under its alias folder), fixtures in
 * type-tests/. Returns how many checks failed.
 */
async function typeTestCli(project) {
  let failed = 0;
  const check = (ok, label, result) => {
    console.log(`${ok ? "ok  " : "FAIL"} ${label}`);
    if (!ok) {
      console.log(result.output.trim().replace(/^/gm, "       "));
      failed++;
    }
  };
  for (const compiler of COMPILERS) symlinkSync(join(root, "node_modules", compiler.dir), join(project, "node_modules", compiler.dir), "dir");
  mkdirSync(join(project, "type-tests", "must-compile"), { recursive: true });
  mkdirSync(join(project, "type-tests", "must-not-compile"), { recursive: true });
  copyFileSync(join(fixtures, "driver.ts"), join(project, "type-tests", "must-compile", "driver.ts"));
  copyFileSync(join(fixtures, "misuse.ts"), join(project, "type-tests", "must-not-compile", "misuse.ts"));
  // A marker above a line that compiles: the CLI must say where, and exit 1.
  mkdirSync(join(project, "broken-type-tests", "must-not-compile"), { recursive: true });
  writeFileSync(
    join(project, "broken-type-tests", "must-not-compile", "compiles.ts"),
    'import { Machine } from "boundscope";\n// @expect-error TS2345 /Device/ -- claims this fails\nexport const machine = new Machine();\n',
  );

  const list = await typetest(project, ["--list"]);
  const ids = list.output.split("\n").map((line) => line.split(" ")[0]).filter(Boolean);
  check(list.status === 0 && ids.join() === "ts54,ts6,ts7", `boundscope-typetest --list finds TypeScript ${COMPILERS.map((c) => c.version).join(", ")} in node_modules`, list);

  const checks = COMPILERS.length * 2 * 2; // compilers × strictness × fixtures
  const good = await typetest(project, []);
  check(
    good.status === 0 && new RegExp(`^${checks} passed, 0 failed$`, "m").test(good.output),
    `npx boundscope-typetest: driver.ts compiles and misuse.ts fails where marked, under ${COMPILERS.length * 2} configurations`,
    good,
  );

  const broken = await typetest(project, ["--dir", "broken-type-tests", "--typescript", "node_modules/typescript", "--strict-only"]);
  check(
    broken.status === 1 && /^broken-type-tests\/must-not-compile\/compiles\.ts:3: missing-error: /m.test(broken.output) && /^0 passed, 1 failed$/m.test(broken.output),
    "npx boundscope-typetest: a marker above a compiling line fails at file:line, exit 1",
    broken,
  );

  const selftest = await typetest(project, ["--selftest"]);
  check(selftest.status === 0 && /^\d+ passed, 0 failed$/m.test(selftest.output), "npx boundscope-typetest --selftest: the runner catches each broken fixture", selftest);
  return failed;
}

const started = Date.now();
let source = given === undefined ? undefined : resolve(given);
if (source === undefined) {
  pack();
  source = packedTarball;
}
const project = mkdtempSync(join(tmpdir(), "boundscope-consumer-"));
let failures = 0;
try {
  copyFileSync(source, join(project, "boundscope.tgz"));
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "boundscope-consumer", private: true, type: "module", dependencies: { boundscope: "file:boundscope.tgz" } }, null, 2),
  );
  // boundscope has no runtime dependencies, so nothing is fetched.
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--offline"], { cwd: project, stdio: ["ignore", "ignore", "pipe"] });
  const installed = readdirSync(join(project, "node_modules")).filter((name) => !name.startsWith("."));
  if (installed.join() !== "boundscope") {
    console.log(`FAIL install: node_modules holds ${installed.join(", ")}; boundscope alone was expected`);
    failures++;
  }

  mkdirSync(join(project, "src"));
  for (const file of ["driver.ts", "misuse.ts", "testing.ts"]) copyFileSync(join(fixtures, file), join(project, "src", file));
  for (const [name, options] of Object.entries(RESOLUTIONS)) {
    writeFileSync(
      join(project, `tsconfig.${name}.json`),
      JSON.stringify({ compilerOptions: options, files: ["src/driver.ts", "src/misuse.ts", "src/testing.ts"] }, null, 2),
    );
  }
  writeFileSync(
    join(project, "tsconfig.emit.json"),
    JSON.stringify({ compilerOptions: { ...RESOLUTIONS.nodenext, noEmit: false, outDir: "out", rootDir: "src" }, files: ["src/driver.ts", "src/testing.ts"] }, null, 2),
  );

  const expected = markers(join(fixtures, "misuse.ts"));
  const matrix = COMPILERS.flatMap((compiler) => Object.keys(RESOLUTIONS).map((resolution) => ({ compiler, resolution })));
  const results = await Promise.all(
    matrix.map(({ compiler, resolution }) => run(process.execPath, [compiler.tsc, "-p", `tsconfig.${resolution}.json`, "--pretty", "false"], project)),
  );
  matrix.forEach(({ compiler, resolution }, index) => {
    const problems = judge(compiler, results[index], expected);
    const label = `TypeScript ${compiler.version}, ${resolution}`;
    console.log(problems.length === 0 ? `ok   ${label}: the driver and boundscope/testing compile, ${expected.length} misuses are refused` : `FAIL ${label}`);
    for (const problem of problems) console.log(`       ${problem}`);
    if (problems.length > 0) failures++;
  });

  const ts7 = COMPILERS.find((compiler) => compiler.id === "ts7");
  const emit = await run(process.execPath, [ts7.tsc, "-p", "tsconfig.emit.json", "--pretty", "false"], project);
  const driver = emit.status === 0 ? await run(process.execPath, ["out/driver.js"], project) : emit;
  const ran = driver.status === 0 && driver.output.trim() === "consumer driver ok";
  console.log(`${ran ? "ok  " : "FAIL"} node ${process.version}: the driver runs (compiled by TypeScript ${ts7.version})`);
  if (!ran) {
    console.log(driver.output.replace(/^/gm, "       "));
    failures++;
  }
  const testing = emit.status === 0 ? await run(process.execPath, ["out/testing.js"], project) : emit;
  const testingRan = testing.status === 0 && testing.output.trim() === "consumer testing ok";
  console.log(`${testingRan ? "ok  " : "FAIL"} node ${process.version}: boundscope/testing loads and checks a machine (compiled by TypeScript ${ts7.version})`);
  if (!testingRan) {
    console.log(testing.output.replace(/^/gm, "       "));
    failures++;
  }

  failures += await typeTestCli(project);
} finally {
  if (keep) console.log(`kept ${project}`);
  else rmSync(project, { recursive: true, force: true });
}
console.log(`consumer test: ${failures === 0 ? "passed" : `${failures} failed`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(failures === 0 ? 0 : 1);
