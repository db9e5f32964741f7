/**
 * Compiler keys: the short names a fixture uses for one TypeScript, in a
 * marker's override (`ts7=TS2739`, `ts54=none`) and a self-test's `@ts6`.
 *
 * `ts<major>` names every release of that major version (`ts6`, `ts7`, and
 * `ts5` for every 5.x from 5.4); `ts<major><minor>` names one minor release
 * (`ts54`, `ts60`). Where both name a compiler, the minor key wins.
 *
 * Not a kernel concept: the kernel builds with one compiler at a time. This
 * is what `tsd` cannot do (it bundles one TypeScript).
 *
 * # Invariants
 * - Only TypeScript 5.4 and later can be named: the runner drives nothing
 *   older, so an older key (`ts53`, `ts4`) is a typo, never a no-op.
 * - A compiler's id (`TypeScriptInstall.id`) is itself a key naming it.
 *
 * @module
 */

/** A compiler key parsed: `ts54` is major 5, minor 4; `ts7` is major 7, any minor. */
export interface CompilerKey {
  readonly text: string;
  readonly major: number;
  readonly minor: number | undefined;
}

/** The oldest TypeScript the runner drives: `NoInfer`, `const` type parameters, `--pretty false` output as today. */
export const OLDEST = { major: 5, minor: 4 } as const;

/**
 * Parses `ts7`, `ts54`, `ts60`: one digit of major version, then the minor
 * version if any. Returns a string saying what is wrong for anything else.
 */
export function parseCompilerKey(text: string): CompilerKey | string {
  const match = /^ts(\d)(\d*)$/.exec(text);
  if (match === null) return `"${text}" is not a compiler key (ts54, ts6, ts7, …)`;
  const major = Number(match[1]);
  const minor = match[2] === "" || match[2] === undefined ? undefined : Number(match[2]);
  if (major < OLDEST.major || (major === OLDEST.major && minor !== undefined && minor < OLDEST.minor)) {
    return `"${text}" names a TypeScript older than ${OLDEST.major}.${OLDEST.minor}, which the runner does not drive`;
  }
  return { text, major, minor };
}

/** How closely `key` names the compiler of version `major.minor`: 2 for its minor key, 1 for its major key, 0 for another compiler. */
export function keyMatch(key: CompilerKey, major: number, minor: number): 0 | 1 | 2 {
  if (key.major !== major) return 0;
  if (key.minor === undefined) return 1;
  return key.minor === minor ? 2 : 0;
}

/** A compiler as fixtures see it: its version numbers, to match keys against. */
export interface KeyedCompiler {
  readonly id: string;
  readonly major: number;
  readonly minor: number;
}

/**
 * The value `table` gives `compiler`: the entry under the most specific key
 * that names it, else `fallback`.
 */
export function pickFor<Value>(table: ReadonlyMap<CompilerKey, Value>, compiler: KeyedCompiler, fallback: Value): Value {
  let best: Value = fallback;
  let bestMatch = 0;
  for (const [key, value] of table) {
    const match = keyMatch(key, compiler.major, compiler.minor);
    if (match > bestMatch) {
      best = value;
      bestMatch = match;
    }
  }
  return best;
}
