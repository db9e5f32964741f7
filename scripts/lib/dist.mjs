// Whether dist/ is a build of the src/ beside it.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { root } from "./paths.mjs";

/** The newest modification time (ms) of any file under `dir`, walking every subfolder; 0 for none. */
export function newestMtime(dir) {
  return readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
    const path = join(dir, entry.name);
    return Math.max(max, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }, 0);
}

/**
 * Whether `code`/dist/ (by default this package's) is a current build of
 * `code`/src/: "missing" when dist/index.js or dist/index.d.ts is not there,
 * "stale" when any file anywhere under src/ is newer than either of them,
 * undefined when the build is current.
 */
export function distState(code = root) {
  let built = Infinity;
  for (const file of ["dist/index.js", "dist/index.d.ts"]) {
    try {
      built = Math.min(built, statSync(join(code, file)).mtimeMs);
    } catch (error) {
      if (error.code === "ENOENT") return "missing";
      throw error;
    }
  }
  return newestMtime(join(code, "src")) > built ? "stale" : undefined;
}
