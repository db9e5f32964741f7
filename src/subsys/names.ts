/**
 * Names of what drivers register: `eth0`, `disk1`. A driver asks for a name
 * or a pattern with `%d`; the subsystem gives the first free one, as
 * `dev_alloc_name` does.
 *
 * # Invariants
 * - A name given is unique among those `taken`, and valid.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";

/**
 * The name for a new interface or disk: `requested`, with `%d` replaced by
 * the first free number. `EBUSY` if taken, `EINVAL` if empty or malformed.
 */
export function pickName(requested: string, taken: ReadonlyMap<string, unknown>, operation: string, what: string): string {
  // Covers names from JavaScript or user input: a name is short, printable, and has at most one %d.
  if (!/^[A-Za-z0-9_.-]*(%d)?[A-Za-z0-9_.-]*$/.test(requested) || requested.length === 0 || requested.length > 15) {
    throw fail("EINVAL", `${operation}: ${describe(requested)} is not a valid ${what} name: 1 to 15 letters, digits, '.', '_' or '-', with at most one %d.`);
  }
  if (!requested.includes("%d")) {
    if (taken.has(requested)) throw fail("EBUSY", `${operation}: the ${what} name "${requested}" is taken. Unregister the other first, or ask for "${requested}%d".`);
    return requested;
  }
  for (let n = 0; ; n++) {
    const name = requested.replace("%d", String(n));
    if (!taken.has(name)) return name;
  }
}
