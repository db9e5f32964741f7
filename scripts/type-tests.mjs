// Compile-time tests: what must compile and what must not, checked with
// TypeScript 5.4, 6 and 7, each strict and again with strictFunctionTypes off.
//
// Every fixture in types-tests/must-compile and types-tests/must-not-compile
// is compiled in one program per configuration, against the emitted
// declarations (dist/index.d.ts, as users get them), through the tsc command
// line with `--pretty false`. A fixture marked `// @isolated -- reason` (a
// module or global augmentation, which would reach every other fixture of a
// shared program) gets a program of its own. The output is parsed and held against the
// `// @expect-error` markers in the fixtures; see types-tests/README.md.
//
//   node scripts/type-tests.mjs             fixtures and harness self-test
//   node scripts/type-tests.mjs --selftest  only the harness self-test
//   node scripts/type-tests.mjs --help      every option (USAGE below)
//
// Exit status 1 when any check fails. The last line is `N passed, M failed`.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseCommandLine, usageError } from "./lib/args.mjs";
import { collect } from "./lib/child.mjs";
import { distState } from "./lib/dist.mjs";
import { root } from "./lib/paths.mjs";
import { parallelism, pool } from "./lib/pool.mjs";

const testsDir = join(root, "types-tests");

const COMPILERS = {
  // The oldest TypeScript the package supports (`NoInfer`, `in out` on type
  // aliases, `const` type parameters and `esnext.disposable` all work there).
  ts54: { bin: "node_modules/typescript54/bin/tsc", pkg: "node_modules/typescript54/package.json" },
  ts6: { bin: "node_modules/typescript6/bin/tsc", pkg: "node_modules/typescript6/package.json" },
  ts7: { bin: "node_modules/typescript/bin/tsc", pkg: "node_modules/typescript/package.json" },
};

const CONFIGS = [
  { id: "ts54-strict", compiler: "ts54", label: "strict", options: {} },
  { id: "ts6-strict", compiler: "ts6", label: "strict", options: {} },
  { id: "ts7-strict", compiler: "ts7", label: "strict", options: {} },
  { id: "ts54-loose-fn", compiler: "ts54", label: "strict, strictFunctionTypes: false", options: { strictFunctionTypes: false } },
  { id: "ts6-loose-fn", compiler: "ts6", label: "strict, strictFunctionTypes: false", options: { strictFunctionTypes: false } },
  { id: "ts7-loose-fn", compiler: "ts7", label: "strict, strictFunctionTypes: false", options: { strictFunctionTypes: false } },
];

// What a consumer project looks like: Node, ESM, strict, `using` available.
const BASE_OPTIONS = {
  target: "es2022",
  module: "nodenext",
  moduleResolution: "nodenext",
  lib: ["es2022", "esnext.disposable"],
  types: ["node"],
  strict: true,
  noEmit: true,
  // Check dist/*.d.ts too, under every configuration.
  skipLibCheck: false,
};

const SUITES = [
  { name: "fixtures", dir: testsDir, selftest: false },
  { name: "selftest", dir: join(testsDir, "harness-selftest"), selftest: true },
];
const KINDS = ["must-compile", "must-not-compile"];

// Ways a fixture fails. The self-test fixtures name the ones they must cause.
const FAILURE_KINDS = new Set([
  "missing-error", // an expected error was not reported on its line
  "wrong-code", // an error on the line, but with another code
  "wrong-message", // the right code, but the regex does not match its message chain
  "unexpected-error", // an error no marker expects
  "no-expectations", // a must-not-compile fixture without markers
  "no-header", // a must-not-compile fixture without its `// Blocks:` line
  "malformed-marker", // a marker that does not parse, or sits above no code
  "marker-in-must-compile", // must-compile fixtures take no markers
  "ts-directive", // @ts-expect-error and friends would hide errors from the harness
]);

const MARKER = "@expect-error";
const ISOLATED = /^\s*\/\/\s*@isolated\b(.*)$/;
const COMPILER_IDS = Object.keys(COMPILERS);

// ---------------------------------------------------------------------------
// Fixtures and markers

function listFixtures(suite) {
  const fixtures = [];
  for (const kind of KINDS) {
    const dir = join(suite.dir, kind);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      if (!name.endsWith(".ts") || name.endsWith(".d.ts")) continue;
      fixtures.push(loadFixture(join(dir, name), kind, suite));
    }
  }
  return fixtures;
}

function loadFixture(file, kind, suite) {
  const lines = readFileSync(file, "utf8").split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  const fixture = {
    file,
    name: relative(testsDir, file),
    kind,
    selftest: suite.selftest,
    expectations: [],
    isolated: false, // compiled in a program of its own (see ISOLATED_OPTIONS)
    problems: [], // failures found by reading the file; they hold in every configuration
    mustReport: [], // self-test only: the failures the harness must report
  };
  const problem = (failure, line, detail) => fixture.problems.push({ kind: failure, line, detail });

  let pending = [];
  lines.forEach((text, index) => {
    const line = index + 1;
    if (/@ts-(expect-error|ignore|nocheck)\b/.test(text)) {
      problem("ts-directive", line, "TypeScript directives hide errors from this harness; use a `// @expect-error` marker");
    }
    if (suite.selftest) {
      const self = /^\s*\/\/\s*@harness-must-report\s+(.*)$/.exec(text);
      if (self) {
        for (const item of self[1].trim().split(/\s+/)) {
          const m = new RegExp(`^([a-z-]+)(?::(\\d+))?(?:@(${COMPILER_IDS.join("|")}))?$`).exec(item);
          if (!m || !FAILURE_KINDS.has(m[1])) throw new Error(`${fixture.name}:${line}: bad @harness-must-report item "${item}"`);
          fixture.mustReport.push({ kind: m[1], line: m[2] === undefined ? undefined : Number(m[2]), compiler: m[3] });
        }
        return;
      }
    }
    const isolated = ISOLATED.exec(text);
    if (isolated) {
      if (/^\s+--\s+\S/.test(isolated[1])) fixture.isolated = true;
      else problem("malformed-marker", line, 'an isolation directive says why: "// @isolated -- <reason>"');
      return;
    }
    if (!text.includes(MARKER)) {
      if (pending.length > 0) {
        if (text.trim() === "" || /^\s*(\/\/|\/\*|\*)/.test(text)) {
          for (const p of pending) problem("malformed-marker", p.markerLine, "a marker must sit directly above the line that fails, not above a blank or comment line");
        } else {
          for (const p of pending) fixture.expectations.push({ ...p, line });
        }
        pending = [];
      }
      return;
    }
    const parsed = parseMarker(text);
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
    if (!/^\/\/ Blocks: \S/.test(lines[0] ?? "")) {
      problem("no-header", 1, 'a must-not-compile fixture opens with "// Blocks: <the escape it blocks>"');
    }
    if (fixture.expectations.length === 0 && !fixture.problems.some((p) => p.kind === "malformed-marker")) {
      problem("no-expectations", undefined, "a must-not-compile fixture needs at least one `// @expect-error` marker");
    }
  }
  return fixture;
}

/**
 * `// @expect-error TS2345 ts7=TS2741 ts54=none /regex/flags -- reason`
 * An override names another code for one compiler, or `none`: that compiler
 * reports nothing on the line (any error it does report there is unexpected).
 * Returns the expectation, or a string saying what is wrong with the marker.
 */
function parseMarker(text) {
  const head = /^(\s*)\/\/\s*@expect-error(\s|$)/.exec(text);
  if (!head) return "a marker is a line of its own: `// @expect-error TSxxxx /regex/ -- reason`";
  let rest = text.slice(head[0].length);
  const codes = {};
  for (;;) {
    rest = rest.replace(/^\s+/, "");
    const code = new RegExp(`^(?:(${COMPILER_IDS.join("|")})=)?(?:TS(\\d+)|(none))(?=\\s|$)`).exec(rest);
    if (!code) break;
    const key = code[1] ?? "default";
    if (key in codes) return `the code for ${key === "default" ? "all compilers" : key} is given twice`;
    if (key !== "default" && !("default" in codes)) return "give the code for all compilers first, then the overrides (ts54=TSxxxx, ts6=TSxxxx, ts7=none)";
    if (key === "default" && code[3] !== undefined) return "`none` is only an override (ts54=none): the code for all compilers is a TSxxxx";
    codes[key] = code[3] ?? Number(code[2]);
    rest = rest.slice(code[0].length);
  }
  if (!("default" in codes)) return "expected an error code such as TS2345 after @expect-error";
  if (COMPILER_IDS.every((id) => codes[id] === "none")) {
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
  const flags = /^[a-z]*/.exec(rest.slice(i + 1))[0];
  if (/[^imsu]/.test(flags)) return `regex flags may be i, m, s, u; got "${flags}"`;
  let regex;
  try {
    regex = new RegExp(source, flags);
  } catch (err) {
    return `the regex does not compile: ${err.message}`;
  }
  const reason = /^\s+--\s+(\S.*)$/.exec(rest.slice(i + 1 + flags.length));
  if (!reason) return 'expected " -- reason" after the regex';
  return { codes, regex, reason: reason[1].trim() };
}

// ---------------------------------------------------------------------------
// Compiling

function version(compiler) {
  return JSON.parse(readFileSync(join(root, COMPILERS[compiler].pkg), "utf8")).version;
}

/**
 * An isolated fixture's program: skipLibCheck, because a duplicate an
 * augmentation declares is reported on the library's side too (which no
 * marker can sit on; the shared program checks dist/*.d.ts under every
 * configuration anyway), and no @types/node, which isolated fixtures do not
 * use and which would triple each program's time.
 */
const ISOLATED_OPTIONS = { skipLibCheck: true, types: [] };

/**
 * `code` is where src/ and dist/ are: the package itself, or a --root copy.
 * `program` names the program: "shared", or the isolated fixture's name.
 */
function writeConfig(run, config, program, files, against, code) {
  const isolated = program !== "shared";
  const dir = join(code, ".tmp", "type-tests", run, config.id, ...(isolated ? ["isolated", program.replace(/[\\/]/g, "__")] : []));
  mkdirSync(dir, { recursive: true });
  const compilerOptions = { ...BASE_OPTIONS, ...config.options, ...(isolated ? ISOLATED_OPTIONS : {}) };
  if (against === "src") compilerOptions.paths = { boundscope: [join(code, "src", "index.ts")] };
  // The package's own dist/ is reached by self-reference, as users reach it;
  // a copy's dist/ only through a path mapping.
  else if (code !== root) compilerOptions.paths = { boundscope: [join(code, "dist", "index.d.ts")] };
  const path = join(dir, "tsconfig.json");
  writeFileSync(path, JSON.stringify({ compilerOptions, files }, null, 2) + "\n");
  return path;
}

/** Compiles one program; resolves with tsc's status, signal, stdout, stderr and seconds. */
function runTsc(compiler, project) {
  return collect(process.execPath, [COMPILERS[compiler].bin, "-p", project, "--pretty", "false"], { cwd: root });
}

/** `file(line,col): error TSxxxx: message` plus indented continuation lines. */
function parseDiagnostics(stdout) {
  const diagnostics = [];
  const unparsed = [];
  for (const text of stdout.split(/\r?\n/)) {
    if (text.trim() === "") continue;
    const located = /^(.+)\((\d+),(\d+)\): (error|warning) TS(\d+): (.*)$/.exec(text);
    const global = /^(error|warning) TS(\d+): (.*)$/.exec(text);
    if (located) {
      diagnostics.push({
        file: resolve(root, located[1]),
        line: Number(located[2]),
        column: Number(located[3]),
        code: Number(located[5]),
        chain: [located[6]],
      });
    } else if (global) {
      diagnostics.push({ file: undefined, line: 0, column: 0, code: Number(global[2]), chain: [global[3]] });
    } else if (/^\s/.test(text) && diagnostics.length > 0) {
      diagnostics.at(-1).chain.push(text.trim());
    } else {
      unparsed.push(text);
    }
  }
  for (const d of diagnostics) d.message = d.chain.join("\n");
  return { diagnostics, unparsed };
}

// ---------------------------------------------------------------------------
// Judging

function judge(fixture, compiler, diagnostics) {
  const failures = fixture.problems.map((p) => ({ ...p }));
  const unused = new Set(diagnostics);
  const byLine = new Map();
  for (const e of fixture.expectations) byLine.set(e.line, [...(byLine.get(e.line) ?? []), e]);

  for (const [line, expected] of byLine) {
    const onLine = diagnostics.filter((d) => d.line === line);
    const open = [];
    for (const e of expected) {
      const code = e.codes[compiler] ?? e.codes.default;
      if (code === "none") continue; // this compiler reports nothing here
      const hit = onLine.find((d) => unused.has(d) && d.code === code && e.regex.test(d.message));
      if (hit) unused.delete(hit);
      else open.push({ e, code });
    }
    for (const { e, code } of open) {
      const want = `expected TS${code} ${e.regex} (${e.reason})`;
      const sameCode = onLine.find((d) => unused.has(d) && d.code === code);
      const other = onLine.find((d) => unused.has(d));
      if (sameCode) {
        unused.delete(sameCode);
        failures.push({ kind: "wrong-message", line, detail: `${want}: the regex does not match the message\n${indent(sameCode.message)}` });
      } else if (other) {
        unused.delete(other);
        failures.push({ kind: "wrong-code", line, detail: `${want}, got TS${other.code}\n${indent(other.message)}` });
      } else {
        failures.push({ kind: "missing-error", line, detail: `${want}: no error on this line (it compiles)` });
      }
    }
  }
  for (const d of unused) {
    failures.push({ kind: "unexpected-error", line: d.line, detail: `unexpected TS${d.code}\n${indent(d.message)}` });
  }
  return failures.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

/** A self-test fixture passes when the harness reports exactly the failures it names. */
function judgeSelftest(fixture, compiler, failures) {
  const key = (f) => `${f.kind}${f.line === undefined ? "" : `:${f.line}`}`;
  if (fixture.mustReport.length === 0) {
    return [{ kind: "selftest", detail: "a self-test fixture names the failures it must cause with `// @harness-must-report kind:line`" }];
  }
  const wanted = fixture.mustReport.filter((r) => r.compiler === undefined || r.compiler === compiler).map(key).sort();
  const got = failures.map(key).sort();
  if (JSON.stringify(wanted) === JSON.stringify(got)) return [];
  const missed = wanted.filter((w) => !got.includes(w));
  const extra = got.filter((g) => !wanted.includes(g));
  const lines = [];
  if (missed.length > 0) lines.push(`the harness did not report: ${missed.join(", ")}`);
  if (extra.length > 0) lines.push(`the harness also reported: ${extra.join(", ")}`);
  for (const f of failures) lines.push(indent(`${key(f)}: ${f.detail}`));
  return [{ kind: "selftest", detail: lines.join("\n") }];
}

function indent(text, pad = "    ") {
  return text
    .split("\n")
    .map((l) => pad + l)
    .join("\n");
}

// ---------------------------------------------------------------------------
// Main

const DIST_PROBLEMS = {
  missing: "dist/index.js or dist/index.d.ts does not exist: run `npm run build` first (or pass --against=src).",
  stale: "dist/ is older than src/: run `npm run build` first (or pass --against=src), or these tests check stale declarations.",
};

const USAGE = `usage: node scripts/type-tests.mjs [--selftest] [--against dist|src] [--root DIR] [--configs ID,ID]

  --selftest          only the harness self-test
  --against dist|src  what "boundscope" is: dist/index.d.ts (default, needs a
                      current build) or src/index.ts (no build needed)
  --root DIR          take src/ and dist/ from DIR, a copy of the package (as
                      made by scripts/mutation.mjs); the fixtures stay these
  --messages FILE     also write, as JSON, the error each must-not-compile
                      marker expects, as each compiler reported it (read by
                      scripts/error-share.mjs)
  --configs ID,ID     only these configurations, of ${CONFIGS.map((c) => c.id).join(", ")}`;

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
  const configIds = values.configs?.split(",") ?? CONFIGS.map((c) => c.id);
  const configs = CONFIGS.filter((c) => configIds.includes(c.id));
  if (!["dist", "src"].includes(against)) usageError(USAGE, `--against takes dist or src, got ${JSON.stringify(against)}`);
  const unknownConfigs = configIds.filter((id) => !CONFIGS.some((c) => c.id === id));
  if (unknownConfigs.length > 0) usageError(USAGE, `no configuration named ${unknownConfigs.join(", ")}`);
  if (!existsSync(join(code, "src"))) usageError(USAGE, `${join(code, "src")} does not exist`);
  if (against === "dist") {
    const state = distState(code);
    if (state) {
      console.error(DIST_PROBLEMS[state]);
      console.log("0 passed, 1 failed");
      return 1;
    }
  }

  const suites = SUITES.filter((s) => !onlySelftest || s.selftest);
  const listed = suites.flatMap(listFixtures);
  // An augmentation merges into declarations: against src/ it would merge
  // into the library's own source (and report there), which is not what users
  // get. Isolated fixtures run against dist/ only.
  const fixtures = against === "src" ? listed.filter((f) => !f.isolated) : listed;
  if (fixtures.length < listed.length) console.log(`skipping the ${listed.length - fixtures.length} isolated fixtures: they run against dist/ only`);
  const regular = fixtures.filter((f) => !f.selftest);
  const selftests = fixtures.filter((f) => f.selftest);
  const count = (kind) => regular.filter((f) => f.kind === kind).length;
  console.log(
    `type tests against ${relative(root, join(code, against === "dist" ? "dist/index.d.ts" : "src/index.ts"))}: ` +
      (onlySelftest ? "" : `${count("must-compile")} must-compile and ${count("must-not-compile")} must-not-compile fixtures, `) +
      `${selftests.length} harness self-test fixtures, ${fixtures.filter((f) => f.isolated).length} of them isolated, ${configs.length} configurations`,
  );
  if (fixtures.length === 0) {
    console.log("0 passed, 1 failed");
    return 1;
  }

  // The shared program, and one for each isolated fixture.
  const programs = [
    { name: "shared", files: fixtures.filter((f) => !f.isolated).map((f) => f.file) },
    ...fixtures.filter((f) => f.isolated).map((f) => ({ name: f.name, files: [f.file] })),
  ].filter((p) => p.files.length > 0);
  // One directory per kind of run, so a --selftest run beside a full one
  // does not swap the file list under it.
  const run = `${onlySelftest ? "selftest" : "all"}-against-${against}`;
  const started = performance.now();
  const jobs = configs.flatMap((config) => programs.map((program) => ({ config, program })));
  const results = await pool(
    jobs.map(({ config, program }) => () => runTsc(config.compiler, writeConfig(run, config, program.name, program.files, against, code))),
    parallelism,
  );
  const runs = configs.map((config) => jobs.map((job, i) => ({ ...job, result: results[i] })).filter((job) => job.config === config));

  let passed = 0;
  let failed = 0;
  const reports = new Map(); // fixture name -> Map(rendered failure -> [config ids])
  /** With --messages: each must-not-compile marker's error, per configuration. */
  const messages = values.messages === undefined ? undefined : [];
  const summaries = [];
  configs.forEach((config, i) => {
    const title = `TypeScript ${version(config.compiler)}, ${config.label}`;
    const byFile = new Map(fixtures.map((f) => [f.file, []]));
    const broken = [];
    // Anything that is not a fixture's own diagnostic fails the configuration:
    // errors in dist/*.d.ts, option errors, output we cannot read, a crash.
    for (const { program, result } of runs[i]) {
      const where = program.name === "shared" ? "" : ` (the isolated program of ${program.name})`;
      const { diagnostics, unparsed } = parseDiagnostics(result.stdout);
      for (const d of diagnostics) {
        // A fixture's diagnostics count only in the program that compiles it.
        if (program.files.includes(d.file)) byFile.get(d.file).push(d);
        else broken.push(`TS${d.code} ${d.file ? `in ${relative(root, d.file)}(${d.line},${d.column})` : "(global)"}${where}\n${indent(d.message)}`);
      }
      if (![0, 1, 2].includes(result.status)) {
        broken.push(`tsc exited with ${result.signal ?? result.status}${where}${result.stderr ? `:\n${indent(result.stderr.trim())}` : ""}`);
      }
      for (const text of unparsed) broken.push(`unreadable compiler output${where}: ${text}`);
    }

    let ok = 0;
    let bad = 0;
    for (const fixture of fixtures) {
      if (messages !== undefined && fixture.kind === "must-not-compile" && !fixture.selftest) {
        for (const e of fixture.expectations) {
          const d = (byFile.get(fixture.file) ?? []).find((x) => x.line === e.line);
          messages.push({ fixture: fixture.name, line: e.line, config: config.id, reason: e.reason, code: d?.code, chain: d?.chain ?? [] });
        }
      }
      let failures = judge(fixture, config.compiler, byFile.get(fixture.file));
      if (fixture.selftest) failures = judgeSelftest(fixture, config.compiler, failures);
      if (failures.length === 0) {
        ok++;
        continue;
      }
      bad++;
      const byText = reports.get(fixture.name) ?? new Map();
      for (const f of failures) {
        const text = `${f.line === undefined ? "" : `line ${f.line}: `}${f.kind}: ${f.detail}`;
        byText.set(text, [...(byText.get(text) ?? []), config.id]);
      }
      reports.set(fixture.name, byText);
    }

    if (broken.length > 0) bad++;

    passed += ok;
    failed += bad;
    // CPU seconds of the configuration's programs (they may run side by side).
    const seconds = runs[i].reduce((sum, { result }) => sum + result.seconds, 0);
    summaries.push({ title, config, ok, bad, seconds, broken });
  });

  for (const [name, byText] of reports) {
    console.log(`\nFAIL ${name}`);
    for (const [text, ids] of byText) {
      const where = ids.length === configs.length ? "all configurations" : ids.join(", ");
      console.log(indent(`[${where}] ${text}`, "  "));
    }
  }
  for (const s of summaries) {
    if (s.broken.length === 0) continue;
    console.log(`\nFAIL the ${s.config.id} program itself`);
    for (const text of s.broken) console.log(indent(text, "  "));
  }

  console.log("");
  const width = Math.max(...summaries.map((s) => s.title.length));
  for (const s of summaries) {
    console.log(`${s.title.padEnd(width)}  ${String(s.ok).padStart(3)} passed, ${s.bad} failed  (${s.seconds.toFixed(1)}s)`);
  }
  const selfFailed = [...reports.keys()].some((name) => name.startsWith("harness-selftest"));
  if (selftests.length > 0) {
    console.log(`harness self-test: ${selfFailed ? "FAILED, the harness does not catch what it must" : `${selftests.length} broken fixtures, each reported for its reason`}`);
  }
  console.log(`wall time ${((performance.now() - started) / 1000).toFixed(1)}s`);
  if (messages !== undefined) writeFileSync(resolve(values.messages), JSON.stringify(messages, null, 1) + "\n");
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
