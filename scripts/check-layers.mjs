// `node scripts/check-layers.mjs`: dependency-cruiser on src/ with
// .dependency-cruiser.cjs (no import cycles, type-only imports included;
// imports point down the layers only; no orphans, nothing unresolvable, no
// packages or built-ins). Prints every violation and a one-line summary;
// exits 1 on any violation.
//
// test/layers.test.ts imports cruiseLayers() to cruise fixture trees that
// break each rule with this same configuration.
import "./depcruise-typescript6.mjs"; // before dependency-cruiser loads: see there
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseCommandLine } from "./lib/args.mjs";
import { root } from "./lib/paths.mjs";

export const configFile = join(root, ".dependency-cruiser.cjs");

/** Every file under `dir`, as paths relative to `base`. */
function filesUnder(base, dir) {
  return readdirSync(join(base, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(base, join(entry.parentPath ?? entry.path, entry.name)).split("\\").join("/"));
}

/**
 * Cruises `baseDir`/src with the project's configuration; `baseDir` is the
 * repository by default, a fixture tree in the tests. Resolves to the
 * violations (rule name, from, to; for a cycle, its path) and the number of
 * modules cruised. Throws if dependency-cruiser could not read TypeScript, or
 * skipped a source file: then it would find no violation in files it never saw.
 */
export async function cruiseLayers({ baseDir = root } = {}) {
  const [{ cruise, getAvailableTranspilers }, { default: extractDepcruiseOptions }, { default: extractTSConfig }] =
    await Promise.all([
      import("dependency-cruiser"),
      import("dependency-cruiser/config-utl/extract-depcruise-options"),
      import("dependency-cruiser/config-utl/extract-ts-config"),
    ]);
  const typescript = getAvailableTranspilers().find((t) => t.name === "typescript");
  if (!typescript?.available) {
    throw new Error(`dependency-cruiser cannot load a TypeScript it supports (${typescript?.version}); see scripts/depcruise-typescript6.mjs`);
  }

  const options = await extractDepcruiseOptions(configFile);
  const tsConfigFile = resolve(baseDir, options.tsConfig?.fileName ?? "tsconfig.json");
  const hasTsConfig = existsSync(tsConfigFile);
  if (hasTsConfig) options.tsConfig = { fileName: tsConfigFile };
  else delete options.tsConfig;
  options.baseDir = baseDir;
  options.outputType = "json";

  const tsConfig = hasTsConfig ? extractTSConfig(tsConfigFile) : undefined;
  // Without a baseUrl in tsconfig.json (there is none: TypeScript 6 deprecates
  // it), dependency-cruiser resolves `paths` from the working directory, not
  // from tsconfig.json's. A baseUrl here makes it read them from tsconfig.json's.
  if (tsConfig) tsConfig.options.baseUrl ??= dirname(tsConfigFile);
  const { output } = await cruise(["src"], options, {}, tsConfig ? { tsConfig } : {});
  const result = typeof output === "string" ? JSON.parse(output) : output;

  const sources = filesUnder(baseDir, "src").filter((file) => /\.(ts|mts|cts|js|mjs|cjs)$/.test(file));
  const cruised = new Set(result.modules.map((m) => m.source));
  const skipped = sources.filter((file) => !cruised.has(file));
  if (skipped.length > 0) throw new Error(`dependency-cruiser skipped ${skipped.length} source file(s): ${skipped.join(", ")}`);

  const violations = result.summary.violations.map((v) => ({
    rule: v.rule.name,
    from: v.from,
    to: v.to,
    ...(v.cycle ? { cycle: v.cycle.map((step) => step.name ?? step) } : {}),
  }));
  return { violations, modules: result.summary.totalCruised, dependencies: result.summary.totalDependenciesCruised };
}

/** One violation as one line: `rule: from -> to` (a cycle shown whole). */
export function formatViolation(v) {
  return v.cycle ? `${v.rule}: ${v.from} -> ${v.cycle.join(" -> ")}` : `${v.rule}: ${v.from} -> ${v.to}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  parseCommandLine({
    usage:
      "usage: node scripts/check-layers.mjs\n\n" +
      "Runs dependency-cruiser on src/ with .dependency-cruiser.cjs: no import cycles (type-only imports included),\n" +
      "imports point down the layers only. Prints each violation and a summary line; exit 1 on any. No options.",
  });
  const { violations, modules, dependencies } = await cruiseLayers();
  for (const v of violations) console.log(`  ${formatViolation(v)}`);
  const byRule = new Map();
  for (const v of violations) byRule.set(v.rule, (byRule.get(v.rule) ?? 0) + 1);
  const rules = [...byRule].map(([rule, n]) => `${rule} ${n}`).join(", ");
  console.log(
    `layers: ${modules} modules, ${dependencies} imports (type-only included): ` +
      (violations.length === 0 ? "no violations" : `${violations.length} violation(s) (${rules})`),
  );
  process.exit(violations.length === 0 ? 0 : 1);
}
