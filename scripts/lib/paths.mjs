// Where things are, for every script.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, as an absolute path without a trailing slash. */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
