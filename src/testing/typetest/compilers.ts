/// <reference types="node" />
/**
 * Finding the TypeScript compilers a project has installed: every package
 * under its `node_modules` whose `package.json` says `"name": "typescript"`,
 * 5.4 or later, under any folder name (`typescript`, and npm aliases such as
 * `typescript54` or `@old/typescript`).
 *
 * Each is driven through its own `tsc` command line with `node`, never
 * through a JavaScript API: TypeScript 7 (the native compiler) ships none.
 *
 * Kernel: none; what CI does when it builds a module with several compilers.
 *
 * # Invariants
 * - One install per minor version (the highest patch found), sorted from
 *   oldest to newest; each has a unique `id`, a compiler key that names it
 *   (`ts54`, `ts6`, `ts7`; `ts60`, `ts61` when two 6.x are installed).
 * - A folder given by the user that is not TypeScript ≥ 5.4 is `EINVAL`,
 *   never skipped: a typo must not silently shrink the matrix.
 *
 * @module
 */

import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, fail } from "../../internal/error.js";
import { OLDEST } from "./compiler-key.js";

/**
 * One TypeScript the runner drives.
 *
 * @example
 * ```ts
 * import { findTypeScripts } from "boundscope/testing";
 * import type { TypeScriptInstall } from "boundscope/testing";
 *
 * const installs: readonly TypeScriptInstall[] = findTypeScripts();
 * const names = installs.map((ts) => `${ts.id} ${ts.version}`); // ["ts54 5.4.5", "ts6 6.0.3", "ts7 7.0.2"]
 * ```
 */
export interface TypeScriptInstall {
  /** The compiler key naming it in markers and configuration ids: `ts54`, `ts6`, `ts7`. */
  readonly id: string;
  /** Its `package.json` version, e.g. `"5.4.5"`. */
  readonly version: string;
  /** The major version: 7 for 7.0.2. */
  readonly major: number;
  /** The minor version: 4 for 5.4.5. */
  readonly minor: number;
  /** The package folder (absolute). */
  readonly dir: string;
  /** Its `tsc` command-line script (absolute), run with `node`. */
  readonly tsc: string;
}

type Found = Omit<TypeScriptInstall, "id"> & { readonly patch: number };

/**
 * The package in folder `dir` as a compiler, or a string saying why it is
 * not one (not TypeScript, too old, no `tsc`).
 */
function inspect(dir: string): Found | string {
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  } catch {
    return `${dir} holds no readable package.json`;
  }
  // package.json is any JSON: every field is checked before use.
  const fields = typeof manifest === "object" && manifest !== null ? (manifest as Record<string, unknown>) : {};
  if (fields["name"] !== "typescript") return `${dir} is not TypeScript (its package.json name is ${describe(fields["name"])})`;
  const version = typeof fields["version"] === "string" ? fields["version"] : "";
  const numbers = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (numbers === null) return `${dir}: TypeScript with an unreadable version ${describe(fields["version"])}`;
  const [major, minor, patch] = [Number(numbers[1]), Number(numbers[2]), Number(numbers[3])];
  if (major < OLDEST.major || (major === OLDEST.major && minor < OLDEST.minor)) {
    return `${dir}: TypeScript ${version} is older than ${OLDEST.major}.${OLDEST.minor}, the oldest the runner drives`;
  }
  const bin = fields["bin"];
  const relative = typeof bin === "string" ? bin : typeof bin === "object" && bin !== null ? (bin as Record<string, unknown>)["tsc"] : undefined;
  const tsc = join(dir, typeof relative === "string" ? relative : "bin/tsc");
  if (!existsSync(tsc)) return `${dir}: TypeScript ${version} has no tsc at ${tsc}`;
  return { version, major, minor, patch, dir, tsc };
}

/** The package folders directly under `nodeModules`, scoped ones (`@scope/name`) included. */
function packagesIn(nodeModules: string): string[] {
  const dirs: string[] = [];
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir).filter((name) => !name.startsWith("."));
    } catch {
      return [];
    }
  };
  for (const name of list(nodeModules)) {
    if (name.startsWith("@")) for (const inner of list(join(nodeModules, name))) dirs.push(join(nodeModules, name, inner));
    else dirs.push(join(nodeModules, name));
  }
  return dirs;
}

/** Ids for installs sorted oldest first: `ts5<minor>` for 5.x, `ts<major>` above, with the minor too when two share a major. */
function named(found: readonly Found[]): TypeScriptInstall[] {
  return found.map(({ patch: _patch, ...install }) => {
    const shared = found.filter((other) => other.major === install.major).length > 1;
    const id = install.major === 5 || shared ? `ts${install.major}${install.minor}` : `ts${install.major}`;
    return { id, ...install };
  });
}

/** One per minor version, the highest patch; oldest first. */
function pick(found: readonly Found[]): Found[] {
  const byMinor = new Map<string, Found>();
  for (const f of found) {
    const key = `${f.major}.${f.minor}`;
    const held = byMinor.get(key);
    if (held === undefined || f.patch > held.patch) byMinor.set(key, f);
  }
  return [...byMinor.values()].sort((a, b) => a.major - b.major || a.minor - b.minor);
}

/**
 * Every TypeScript 5.4 or later installed for the project at `cwd` (default:
 * the current directory): the packages in `cwd/node_modules` named
 * `typescript` in their `package.json`, whatever their folder is called
 * (npm aliases such as `"typescript54": "npm:typescript@5.4.5"`, scoped
 * folders too). When `cwd/node_modules` has none, the nearest ancestor's
 * `node_modules` that has one (a workspace root). One per minor version.
 *
 * @example
 * ```ts
 * import { findTypeScripts } from "boundscope/testing";
 *
 * // With typescript@7, "typescript6": "npm:typescript@6.0.3" and
 * // "typescript54": "npm:typescript@5.4.5" in devDependencies:
 * const ids = findTypeScripts().map((ts) => ts.id); // ["ts54", "ts6", "ts7"]
 * ```
 */
export function findTypeScripts(cwd?: string): readonly TypeScriptInstall[] {
  // A JavaScript caller can pass anything: a non-string would resolve to a surprise folder.
  if (cwd !== undefined && typeof cwd !== "string") throw fail("EINVAL", `findTypeScripts(cwd): cwd is a folder path, got ${describe(cwd)}`);
  for (let dir = resolve(cwd ?? process.cwd()); ; dir = dirname(dir)) {
    const seen = new Set<string>();
    const found: Found[] = [];
    for (const pkg of packagesIn(join(dir, "node_modules"))) {
      let real: string;
      try {
        real = realpathSync(pkg);
      } catch {
        continue; // a dangling link
      }
      if (seen.has(real)) continue;
      seen.add(real);
      const install = inspect(pkg);
      if (typeof install !== "string") found.push(install);
    }
    if (found.length > 0) return named(pick(found));
    if (dirname(dir) === dir) return [];
  }
}

/**
 * The compilers in folders `dirs` (each a TypeScript package folder), as
 * given by `--typescript`. A folder that is not TypeScript 5.4 or later is
 * `EINVAL`: a typo must not shrink the matrix without a word.
 *
 * @example
 * ```ts
 * import { loadTypeScripts } from "boundscope/testing";
 *
 * const [ts7] = loadTypeScripts(["node_modules/typescript"]);
 * ```
 */
export function loadTypeScripts(dirs: readonly string[], cwd?: string): readonly TypeScriptInstall[] {
  // The array and its items come from a command line or a JavaScript caller: check both.
  if (!Array.isArray(dirs) || dirs.some((d) => typeof d !== "string")) throw fail("EINVAL", `loadTypeScripts(dirs): dirs is an array of folder paths, got ${describe(dirs)}`);
  const found = dirs.map((dir) => {
    const install = inspect(resolve(cwd ?? process.cwd(), dir));
    if (typeof install === "string") throw fail("EINVAL", `--typescript ${dir}: ${install}`);
    return install;
  });
  return named(pick(found));
}
