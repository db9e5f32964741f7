// Every export of src/index.ts and src/testing/index.ts has a doc comment with an example.
//
// TypeDoc (typedoc.json) builds the API model with its own validation, its
// warnings treated as errors: an export without a doc comment fails here as
// "does not have any documentation", as does a public signature naming a
// type the docs cannot show. Then the model is walked: each export's comment
// needs a summary and an `@example` with a code block.
//
//   node scripts/check-docs.mjs
//
// Exit status 1 on any failure; the HTML docs are `npm run docs`.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseCommandLine } from "./lib/args.mjs";
import { root } from "./lib/paths.mjs";

parseCommandLine({ usage: "usage: node scripts/check-docs.mjs\n\nChecks that every export of src/index.ts and src/testing/index.ts has a doc comment with an @example. No options." });
const model = join(root, ".tmp", "docs", "api.json");
rmSync(model, { force: true });

const typedoc = spawnSync(
  process.execPath,
  [
    "--import",
    "./scripts/typedoc-typescript6.mjs",
    "node_modules/typedoc/dist/cli.js",
    "--json",
    model,
    "--treatWarningsAsErrors",
    "--logLevel",
    "Warn",
  ],
  { cwd: root, stdio: "inherit" },
);
if (typedoc.status !== 0) {
  console.log(`TypeDoc validation failed (exit ${typedoc.status}): see its messages above.`);
  process.exit(1);
}

const project = JSON.parse(readFileSync(model, "utf8"));
const problems = [];
// With two entry points (boundscope, boundscope/testing) TypeDoc makes one module of each (kind 2).
const entries = (project.children ?? []).flatMap((child) => (child.kind === 2 ? (child.children ?? []) : [child]));
for (const entry of entries) {
  // A function's comment sits on its signatures; everything else carries its own.
  const comments = [entry.comment, ...(entry.signatures ?? []).map((signature) => signature.comment)].filter(Boolean);
  const summary = comments.some((comment) => comment.summary.some((part) => part.text.trim() !== ""));
  const example = comments.some((comment) =>
    (comment.blockTags ?? []).some((tag) => tag.tag === "@example" && tag.content.some((part) => part.kind === "code" && /^```/.test(part.text))),
  );
  if (!summary) problems.push(`${entry.name}: no doc comment`);
  else if (!example) problems.push(`${entry.name}: no @example with a code block`);
}
const exports = entries.length;
if (exports === 0) problems.push("no exports found in src/index.ts");
for (const problem of problems) console.log(`  ${problem}`);
console.log(`${exports} exports, ${exports - problems.length} documented with an example, ${problems.length} not`);
process.exit(problems.length > 0 ? 1 : 0);
