// Packs boundscope as npm would publish it, into .tmp/pack/boundscope.tgz, and
// checks what the tarball holds: package.json, README.md, LICENSE and dist/
// (JavaScript and .d.ts, the .d.ts with their doc comments); no sources, no
// tests, no source maps. publint, attw and the consumer test run on this file.
//
//   node scripts/pack.mjs               build (prepack), pack and check
//   node scripts/pack.mjs --no-build    pack the dist/ that is there
//
// Exit status 1 when the tarball holds anything else or misses a part.
import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCommandLine } from "./lib/args.mjs";
import { root } from "./lib/paths.mjs";

export const tarball = join(root, ".tmp", "pack", "boundscope.tgz");

/** Runs `npm pack` into .tmp/pack/ and returns the file list npm reports. */
export function pack({ build = true } = {}) {
  const dir = dirname(tarball);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const args = ["pack", "--json", "--pack-destination", dir, ...(build ? [] : ["--ignore-scripts"])];
  // prepack's build logs to stdout, ahead of the JSON: keep only the JSON.
  const out = execFileSync("npm", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const [info] = JSON.parse(out.slice(out.indexOf("[")));
  renameSync(join(dir, info.filename), tarball);
  return info.files.map((file) => file.path);
}

/** What is wrong with a tarball holding `files`; empty when nothing is. */
export function problems(files) {
  const found = [];
  const allowed = /^(package\.json|README\.md|LICENSE|dist\/.+\.(js|d\.ts))$/;
  for (const file of files) {
    if (!allowed.test(file)) found.push(`${file}: not part of the package (only dist/**/*.js, dist/**/*.d.ts, README.md, LICENSE)`);
    else if (/\.test\.|\/test\//.test(file)) found.push(`${file}: a test in the package`);
  }
  for (const needed of ["package.json", "README.md", "LICENSE", "dist/index.js", "dist/index.d.ts"]) {
    if (!files.includes(needed)) found.push(`${needed}: missing from the package`);
  }
  for (const js of files.filter((file) => file.endsWith(".js"))) {
    if (!files.includes(js.replace(/\.js$/, ".d.ts"))) found.push(`${js}: no .d.ts beside it`);
  }
  return found;
}

// Run directly (not imported by consumer-test.mjs): parse the command line, pack, check.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseCommandLine({
    usage: `usage: node scripts/pack.mjs [--no-build]

Packs boundscope into .tmp/pack/boundscope.tgz and checks what it holds.
  --no-build   pack the dist/ that is there (no prepack build)`,
    options: { "no-build": { type: "boolean" } },
  });
  const files = pack({ build: values["no-build"] !== true });
  const found = problems(files);
  // The doc comments must survive into the declarations (no removeComments).
  const dma = "dist/driver/dma.d.ts";
  if (!files.includes(dma)) found.push(`${dma}: missing from the package (allocCoherent is declared there)`);
  else {
    const text = execFileSync("tar", ["-xOzf", tarball, `package/${dma}`], { encoding: "utf8" });
    if (!/\/\*\*[\s\S]*?@example[\s\S]*?\*\/\s*export declare (?:function|const) allocCoherent/.test(text)) {
      found.push(`${dma}: allocCoherent has lost its doc comment`);
    }
  }
  console.log(`${tarball}: ${files.length} files`);
  for (const problem of found) console.log(`  ${problem}`);
  process.exit(found.length > 0 ? 1 : 0);
}
