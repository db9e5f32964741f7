// Every @example in src/ and every TypeScript block of README.md type-checks,
// under TypeScript 6 and 7.
//
// Each ```ts (or ```typescript) block inside an `@example` tag of a doc
// comment in src/**/*.ts, and each such block of README.md, is written as a
// module of its own, verbatim, to .tmp/examples/<run>/, named after where it
// is: src__driver__dma.ts__L42.ts is the block whose fence opens on line 42
// of src/driver/dma.ts. All of them are compiled as one program per compiler
// (strict, as tsconfig.json), with "boundscope" mapped to src/index.ts, and
// each error is reported at the line of the source it comes from.
//
// The one shared context they get: every public export of boundscope as a
// global under its own name (aliases generated from the export lists of
// src/index.ts), and the few ambient names in scripts/examples-preamble.ts
// (machine, dev, Scope).
// These are globals rather than lines pasted above each snippet, so a snippet
// that imports from "boundscope" or makes its own `machine` or `dev` shadows
// them instead of clashing. Anything else a snippet uses, it declares.
//
// A README block that shows an error on purpose carries, on the line right
// above its fence, `<!-- example: does-not-compile TS2345 -->`: it must fail,
// with that code and no other.
//
//   node scripts/check-examples.mjs                src and README
//   node scripts/check-examples.mjs --only src     only the @example blocks
//   node scripts/check-examples.mjs --only README  only README.md
//
// Prints `file:line: TSxxxx message` for each error, then one summary line;
// exit status 1 on any failure.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { parseCommandLine, usageError } from "./lib/args.mjs";
import { collect } from "./lib/child.mjs";
import { root } from "./lib/paths.mjs";

const USAGE = `usage: node scripts/check-examples.mjs [--only src|README]

Type-checks every \`\`\`ts block of an @example in src/ and of README.md, under
TypeScript 6 and 7.

  --only src          only the @example blocks of src/**/*.ts
  --only README       only README.md`;
const srcDir = join(root, "src");
const readme = join(root, "README.md");
const preamble = join(root, "scripts", "examples-preamble.ts");

const COMPILERS = [
  { id: "ts6", name: "TypeScript 6", bin: "node_modules/typescript6/bin/tsc" },
  { id: "ts7", name: "TypeScript 7", bin: "node_modules/typescript/bin/tsc" },
];

// As tsconfig.json, and each snippet a module of its own (top-level await,
// its own `const machine`) whether or not it imports anything. Declaration
// files are not checked here (tsconfig.json's type-check does that): it
// halves TypeScript 6's time, and the snippets are all .ts.
const COMPILER_OPTIONS = {
  target: "es2022",
  module: "nodenext",
  moduleResolution: "nodenext",
  moduleDetection: "force",
  lib: ["es2022", "esnext.disposable"],
  types: ["node"],
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  noImplicitOverride: true,
  isolatedModules: true,
  verbatimModuleSyntax: true,
  skipLibCheck: true,
  noEmit: true,
  paths: { boundscope: [join(srcDir, "index.ts")], "boundscope/testing": [join(srcDir, "testing", "index.ts")] },
};

const LANGUAGES = new Set(["ts", "typescript"]);
const OUTSIDE_SHOWN = 10;
const MARKER = /^<!--\s*example:\s*(.*?)\s*-->$/;

// ---------------------------------------------------------------------------
// Finding the snippets

/** Every .ts file under dir, in a stable order. */
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return walk(path);
      return entry.isFile() && entry.name.endsWith(".ts") ? [path] : [];
    });
}

/**
 * The ```ts blocks of `@example` tags in the doc comments of one file. A
 * snippet is { source, line (of its opening fence), code: string[] }.
 */
function srcSnippets(file, problems) {
  const source = relative(root, file).split(sep).join("/");
  const lines = readFileSync(file, "utf8").split(/\r?\n/);
  const snippets = [];
  let inDoc = false;
  let tag;
  let fence; // { line, lang, code } while inside a fenced block
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (!inDoc) {
      const open = /^\s*\/\*\*(?!\/)/.exec(raw);
      if (!open) return;
      inDoc = true;
      tag = undefined;
      raw = raw.slice(open[0].length);
    }
    const end = raw.indexOf("*/");
    const body = end === -1 ? raw : raw.slice(0, end);
    // The doc comment's leading ` * `, and not a space more: code keeps its indentation.
    const text = body.replace(/^\s*\* ?/, "");
    if (fence) {
      if (/^\s*```\s*$/.test(text)) {
        if (fence.lang !== undefined) snippets.push({ source, line: fence.line, code: fence.code });
        fence = undefined;
      } else if (fence.lang !== undefined) {
        fence.code.push(text);
      }
    } else {
      const opening = /^\s*```\s*([\w-]*)/.exec(text);
      if (opening) {
        const lang = LANGUAGES.has(opening[1]) && tag === "@example" ? opening[1] : undefined;
        fence = { line, lang, code: [] };
      } else {
        const name = /^\s*(@\w+)/.exec(text);
        if (name) tag = name[1];
      }
    }
    if (end !== -1) {
      if (fence) problems.push(`${source}:${fence.line}: a code block not closed before the end of its doc comment`);
      inDoc = false;
      fence = undefined;
    }
  });
  return snippets;
}

/** The ```ts and ```typescript blocks of README.md, with their markers. */
function readmeSnippets(problems) {
  const source = "README.md";
  const lines = readFileSync(readme, "utf8").split(/\r?\n/);
  const snippets = [];
  let fence;
  lines.forEach((text, index) => {
    const line = index + 1;
    if (fence) {
      if (/^\s*```\s*$/.test(text)) {
        if (fence.snippet) snippets.push(fence.snippet);
        fence = undefined;
      } else if (fence.snippet) {
        // A block indented in a list item: its lines lose the fence's indentation.
        fence.snippet.code.push(text.startsWith(fence.indent) ? text.slice(fence.indent.length) : text.trimStart());
      }
      return;
    }
    const opening = /^(\s*)```\s*([\w-]*)/.exec(text);
    const marker = MARKER.exec(text.trim());
    if (marker) {
      const next = /^\s*```\s*([\w-]*)/.exec(lines[index + 1] ?? "");
      if (!next || !LANGUAGES.has(next[1])) {
        problems.push(`${source}:${line}: an example marker belongs on the line right above a \`\`\`ts fence`);
      }
    }
    if (!opening) return;
    let snippet;
    if (LANGUAGES.has(opening[2])) {
      snippet = { source, line, code: [], expect: undefined };
      const above = MARKER.exec((lines[index - 1] ?? "").trim());
      if (above) {
        const expect = /^does-not-compile\s+TS(\d+)$/.exec(above[1]);
        if (expect) snippet.expect = Number(expect[1]);
        else problems.push(`${source}:${line - 1}: unknown example marker "${above[1]}" (the only one is \`does-not-compile TSxxxx\`)`);
      }
    }
    fence = { indent: opening[1], snippet };
  });
  if (fence) problems.push(`${source}: a code block is not closed`);
  return snippets;
}

// ---------------------------------------------------------------------------
// The shared context

/**
 * Every public export of src/index.ts as a global alias,
 * `export import Name = boundscope.Name`, which carries the value, the type
 * and its type parameters alike. An alias of a type-only export draws TS1379
 * ("cannot reference a declaration that was exported using 'export type'")
 * and resolves all the same (used as a value, it is still an error), so that
 * one code is expected in this one generated file.
 */
function exportsModule() {
  const main = exportsOf("index.ts");
  const testing = exportsOf("testing/index.ts");
  const source = [
    "// Generated by scripts/check-examples.mjs: every public export of boundscope",
    "// (src/index.ts) and of boundscope/testing (src/testing/index.ts) as a global under its own name.",
    'import * as boundscope from "boundscope";',
    'import * as testing from "boundscope/testing";',
    "declare global {",
    ...[...main.names].map((name) => `  export import ${name} = boundscope.${name};`),
    ...[...testing.names].filter((name) => !main.names.has(name)).map((name) => `  export import ${name} = testing.${name};`),
    "}",
    "",
  ].join("\n");
  return { source, count: main.names.size + testing.names.size, problems: [...main.problems, ...testing.problems] };
}

/** The names `src/<file>` exports, read from its export statements, and what could not be read. */
function exportsOf(file) {
  const index = join(srcDir, file);
  if (!existsSync(index)) return { names: new Set(), problems: [`src/${file} does not exist`] };
  // Comments blanked out, line breaks kept.
  const text = readFileSync(index, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (c) => c.replace(/[^\n]/g, " "));
  const lineOf = (offset) => text.slice(0, offset).split("\n").length;
  const names = new Set();
  const problems = [];
  const forms = [
    // export { a, b as c } from "…", export type { … }, export { … }
    [
      /\bexport\s+(?:type\s+)?\{([^}]*)\}/g,
      (m) =>
        m[1]
          .split(",")
          .map((item) => item.trim())
          .filter(Boolean)
          .map((item) => {
            const named = /^(?:type\s+)?(\w+)(?:\s+as\s+(\w+))?$/.exec(item);
            return named ? (named[2] ?? named[1]) : item;
          }),
    ],
    // export class X, export const x, export type X = …, …
    [/\bexport\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:class|function\*?|interface|type|(?:const\s+)?enum|namespace|const|let|var)\s+(\w+)/g, (m) => [m[1]]],
    // export * as ns from "…"
    [/\bexport\s+\*\s+as\s+(\w+)/g, (m) => [m[1]]],
  ];
  for (const [re, read] of forms) {
    for (const m of text.matchAll(re)) {
      for (const name of read(m)) {
        if (/^\w+$/.test(name)) names.add(name);
        else problems.push(`src/${file}:${lineOf(m.index)}: cannot read the export "${name}"`);
      }
    }
  }
  for (const m of text.matchAll(/\bexport\s+(?:\*\s+from|default)\b/g)) {
    problems.push(`src/${file}:${lineOf(m.index)}: \`${m[0]}\` does not name what it exports; scripts/check-examples.mjs cannot make globals of it`);
  }
  if (names.size === 0) problems.push(`src/${file}: no exports found`);
  return { names, problems };
}

// ---------------------------------------------------------------------------
// Compiling

function runTsc(compiler, project) {
  return collect(process.execPath, [compiler.bin, "-p", project, "--pretty", "false"], { cwd: root });
}

/**
 * One program of the shared files and the snippets. tsc reports no type
 * errors at all while any file has a syntax error, so when a run reports
 * only syntax errors (TS1xxx), the snippets that have them are set aside
 * and the rest compiled again: a fragment does not hide the others' errors.
 */
async function compile(compiler, outDir, apiFile, shared, snippets) {
  const result = { diagnostics: [], unparsed: [], exits: [] };
  let rest = snippets;
  for (let pass = 1; ; pass++) {
    const project = join(outDir, `tsconfig.${compiler.id}${pass === 1 ? "" : `.${pass}`}.json`);
    const files = [...shared, ...rest.map((s) => s.file)];
    writeFileSync(project, JSON.stringify({ compilerOptions: COMPILER_OPTIONS, files }, null, 2) + "\n");
    const run = await runTsc(compiler, project);
    const parsed = parseDiagnostics(run.stdout);
    const diagnostics = parsed.diagnostics.filter((d) => !(d.file === apiFile && d.code === 1379));
    const unparsed = parsed.unparsed;
    result.diagnostics.push(...diagnostics);
    result.unparsed.push(...unparsed);
    result.exits.push(run);
    const failing = new Set(diagnostics.map((d) => d.file));
    const syntaxOnly = diagnostics.length > 0 && diagnostics.every((d) => d.code < 2000);
    const next = rest.filter((s) => !failing.has(s.file));
    if (!syntaxOnly || next.length === rest.length || next.length === 0 || pass === 3) return result;
    rest = next;
  }
}

/** `file(line,col): error TSxxxx: message`, continuation lines indented. */
function parseDiagnostics(stdout) {
  const diagnostics = [];
  const unparsed = [];
  for (const text of stdout.split(/\r?\n/)) {
    if (text.trim() === "") continue;
    const located = /^(.+)\((\d+),(\d+)\): error TS(\d+): (.*)$/.exec(text);
    const global = /^error TS(\d+): (.*)$/.exec(text);
    if (located) {
      diagnostics.push({ file: resolve(root, located[1]), line: Number(located[2]), code: Number(located[4]), message: located[5] });
    } else if (global) {
      diagnostics.push({ file: undefined, line: 0, code: Number(global[1]), message: global[2] });
    } else if (!/^\s/.test(text) || diagnostics.length === 0) {
      unparsed.push(text);
    }
  }
  return { diagnostics, unparsed };
}

// ---------------------------------------------------------------------------
// Main

async function main() {
  const { only } = parseCommandLine({ usage: USAGE, options: { only: { type: "string" } } }).values;
  if (only !== undefined && only !== "src" && only !== "README") usageError(USAGE, `--only takes src or README, got ${JSON.stringify(only)}`);
  const started = performance.now();

  const problems = [];
  const snippets = [];
  if (only !== "README") {
    if (!existsSync(srcDir)) problems.push("src/ does not exist");
    else for (const file of walk(srcDir)) snippets.push(...srcSnippets(file, problems));
  }
  const fromSrc = snippets.length;
  if (only !== "src") snippets.push(...readmeSnippets(problems));
  const fromReadme = snippets.length - fromSrc;
  if (snippets.length === 0) problems.push("no ```ts code blocks found: nothing to check");

  // One directory per kind of run, so an --only run beside a full one does not
  // pull the files from under it.
  const outDir = join(root, ".tmp", "examples", only ?? "all");
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const byFile = new Map();
  for (const [index, snippet] of snippets.entries()) {
    snippet.index = index;
    snippet.file = join(outDir, `${snippet.source.replaceAll("/", "__")}__L${snippet.line}.ts`);
    writeFileSync(snippet.file, snippet.code.join("\n") + "\n");
    byFile.set(snippet.file, snippet);
  }
  const api = exportsModule();
  if (api.problems.length > 0) {
    // Without the exports every snippet would fail for nothing of its own.
    for (const problem of [...problems, ...api.problems]) console.log(problem);
    console.log(`examples: ${snippets.length} snippets (${fromSrc} from src, ${fromReadme} from README), not compiled: src/index.ts does not say what the snippets may use`);
    return 1;
  }
  const apiFile = join(outDir, "boundscope-globals.ts");
  writeFileSync(apiFile, api.source);

  const runs = await Promise.all(COMPILERS.map((compiler) => compile(compiler, outDir, apiFile, [apiFile, preamble], snippets)));

  // Each error once, in the order of the sources, tagged with the compiler
  // when only one reports it.
  const reported = new Map(); // text -> { order, names: Set of compiler names }
  const status = [];
  let failed = problems.length > 0;
  COMPILERS.forEach((compiler, i) => {
    const { diagnostics, unparsed, exits } = runs[i];
    const failing = new Set();
    const report = (text, order = -1) => {
      const entry = reported.get(text) ?? { order, names: new Set() };
      reported.set(text, entry);
      entry.names.add(compiler.name);
    };
    const own = new Map(snippets.map((s) => [s, []]));
    // Errors outside the snippets (in src/, the preamble, the options) fail
    // the run; the first few say why.
    const outside = diagnostics.filter((d) => !byFile.has(d.file));
    for (const d of outside.slice(0, OUTSIDE_SHOWN)) {
      const where = d.file === undefined ? "tsc" : `${relative(root, d.file).split(sep).join("/")}:${d.line}`;
      report(`${where}: TS${d.code} ${d.message}`);
    }
    if (outside.length > OUTSIDE_SHOWN) report(`… and ${outside.length - OUTSIDE_SHOWN} more errors outside the snippets`);
    let broken = outside.length > 0;
    for (const d of diagnostics) if (byFile.has(d.file)) own.get(byFile.get(d.file)).push(d);
    for (const [snippet, found] of own) {
      const at = (d) => `${snippet.source}:${snippet.line + d.line}`;
      const order = (d) => snippet.index * 1e6 + d.line;
      if (snippet.expect === undefined) {
        for (const d of found) report(`${at(d)}: TS${d.code} ${d.message}`, order(d));
        if (found.length > 0) failing.add(snippet);
      } else {
        const other = found.filter((d) => d.code !== snippet.expect);
        for (const d of other) report(`${at(d)}: TS${d.code} ${d.message} (marked does-not-compile TS${snippet.expect})`, order(d));
        if (found.length === 0) report(`${snippet.source}:${snippet.line}: compiles, but is marked does-not-compile TS${snippet.expect}`, order({ line: 0 }));
        if (found.length === 0 || other.length > 0) failing.add(snippet);
      }
    }
    for (const run of exits) {
      if ([0, 1, 2].includes(run.status)) continue;
      broken = true;
      report(`tsc exited with ${run.signal ?? run.status}${run.stderr.trim() ? `: ${run.stderr.trim()}` : ""}`);
    }
    for (const text of unparsed) {
      broken = true;
      report(`unreadable compiler output: ${text}`);
    }
    if (failing.size > 0 || broken) failed = true;
    status.push(`${compiler.name} ${failing.size === 0 && !broken ? "ok" : `${failing.size} failed${broken ? " (and the errors outside the snippets above)" : ""}`}`);
  });

  for (const problem of problems) console.log(problem);
  const sorted = [...reported].sort(([, a], [, b]) => a.order - b.order);
  for (const [text, { names }] of sorted) {
    console.log(names.size === COMPILERS.length ? text : `${text} [${[...names].join(", ")} only]`);
  }
  console.log(`examples: ${snippets.length} snippets (${fromSrc} from src, ${fromReadme} from README), ${status.join(", ")}`);
  console.log(`(${api.count} exports as globals; both compilers in ${((performance.now() - started) / 1000).toFixed(1)}s)`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
