// `node scripts/hostile-table.mjs [--full]`: prints the hostile-input table of
// test/hostile-table.ts as markdown, for the README. By default one line per
// entry point and result, the inputs tried listed together; with --full, one
// line per input, which is one line per test in test/hostile.test.ts.
import { build } from "esbuild";
import { mkdirSync } from "node:fs";

const outdir = new URL("../.tmp/hostile/", import.meta.url);
mkdirSync(outdir, { recursive: true });
const outfile = new URL("hostile-table.mjs", outdir).pathname;
await build({
  entryPoints: [new URL("../test/hostile-table.ts", import.meta.url).pathname],
  outfile,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // The table's rows assert with vitest's expect when they run; printing them runs none.
  external: ["vitest"],
  logLevel: "warning",
});
const { markdown, TABLE, ENTRY_POINTS } = await import(outfile);
console.log(markdown(process.argv.includes("--full")));
console.log(`\n${TABLE.length} inputs over ${ENTRY_POINTS.length} entry points, each one test in test/hostile.test.ts.`);
