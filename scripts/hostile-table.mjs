// `node scripts/hostile-table.mjs [--full]`: prints the hostile-input table of
// test/hostile-table.ts as markdown, for the README. By default one line per
// entry point and result, the inputs tried listed together; with --full, one
// line per input, which is one line per test in test/hostile.test.ts.
import { parseCommandLine } from "./lib/args.mjs";
import { importBundled } from "./lib/esbuild.mjs";

const { values } = parseCommandLine({
  usage: `usage: node scripts/hostile-table.mjs [--full]

Prints the hostile-input table of test/hostile-table.ts as markdown.
  --full   one line per input (one per test in test/hostile.test.ts), not per entry point and result`,
  options: { full: { type: "boolean" } },
});
// The table's rows assert with vitest's expect when they run; printing them runs none.
const { markdown, TABLE, ENTRY_POINTS } = await importBundled({
  entry: "test/hostile-table.ts",
  outfile: ".tmp/hostile/hostile-table.mjs",
  external: ["vitest"],
});
console.log(markdown(values.full === true));
console.log(`\n${TABLE.length} inputs over ${ENTRY_POINTS.length} entry points, each one test in test/hostile.test.ts.`);
