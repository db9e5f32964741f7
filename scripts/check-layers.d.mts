// Types of scripts/check-layers.mjs, for test/layers.test.ts.

/** One rule broken by one import; for a cycle, the modules around it. */
export interface Violation {
  rule: string;
  from: string;
  to: string;
  cycle?: string[];
}

/** The path of .dependency-cruiser.cjs. */
export declare const configFile: string;

/** Cruises `baseDir`/src (the repository's by default) with .dependency-cruiser.cjs. */
export declare function cruiseLayers(options?: { baseDir?: string }): Promise<{
  violations: Violation[];
  modules: number;
  dependencies: number;
}>;

/** One violation as one line. */
export declare function formatViolation(violation: Violation): string;
