// Running TypeScript from the repository under plain node: bundled by esbuild.
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { root } from "./paths.mjs";

/**
 * Bundles `entry` (a path from the repository root) with esbuild, as ESM for
 * Node 20, into `outfile` (from the root, e.g. .tmp/fuzz/lifecycle.mjs) and
 * imports it; the `external` packages stay imports, resolved by Node. With
 * `sourcemap`, the bundle carries an inline source map and stack traces name
 * the source lines. Returns the module.
 */
export async function importBundled({ entry, outfile, external = [], sourcemap = false }) {
  const out = join(root, outfile);
  mkdirSync(dirname(out), { recursive: true });
  await build({
    entryPoints: [join(root, entry)],
    outfile: out,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external,
    ...(sourcemap ? { sourcemap: "inline" } : {}),
    logLevel: "warning",
  });
  if (sourcemap) process.setSourceMapsEnabled(true);
  return import(pathToFileURL(out).href);
}
