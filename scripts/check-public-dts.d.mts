// Types of scripts/check-public-dts.mjs, for test/public-dts.test.ts.

/** A member name internal to the core; with `exports`, only on those exports. */
export interface Denied {
  name: string;
  exports?: string[];
  why: string;
}

export declare const DENY: readonly Denied[];

/** The public surface of the package whose entry is `entry` (a .d.ts): sorted lines, and what in it is internal. */
export declare function checkPublicDts(entry: string, options?: { deny?: readonly Denied[] }): { lines: string[]; problems: string[] };

/** Lines only in `expected` ("- line") and only in `actual` ("+ line"). */
export declare function diffLines(expected: readonly string[], actual: readonly string[]): string[];

export declare function readSnapshot(file: string): string[];
export declare function writeSnapshot(file: string, lines: readonly string[], entry?: string): void;
