// Where the compile-time cost comes from: TypeScript 6 --generateTrace on N
// and 2N synthetic drivers, and the types each extra driver creates, by the
// file that declares them (types.json), for boundscope and the control.
// `node scripts/bench/trace.mjs [N]` (default 50). Not part of `npm run bench`.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { parseCommandLine, wholeNumber } from "../lib/args.mjs";
import { root } from "../lib/paths.mjs";
import { COMPILERS, generate, VARIANTS } from "./compile.mjs";

const USAGE = `usage: node scripts/bench/trace.mjs [N]

Where the compile-time cost comes from: TypeScript 6 --generateTrace on N and 2N
synthetic drivers, the types per extra driver by declaring file.
  N   drivers (default 50)`;
const { positionals } = parseCommandLine({ usage: USAGE, positionals: 1 });
const n = wholeNumber(USAGE, "N", positionals[0] ?? "50");
mkdirSync(join(root, ".tmp/bench"), { recursive: true });
const work = mkdtempSync(join(root, ".tmp/bench/trace-"));

/** Types created, by declaring file, for `count` drivers of `variant`. */
function typesByFile(count, variant) {
  const dir = join(work, `drivers-${count}`);
  const out = join(dir, `trace-${variant}`);
  execFileSync(process.execPath, [COMPILERS["TS 6"], "-p", join(dir, `tsconfig.${variant}.json`), "--generateTrace", out], { stdio: "ignore" });
  const types = JSON.parse(readFileSync(join(out, "types.json"), "utf8"));
  const byFile = new Map();
  const bySymbol = new Map();
  for (const type of types) {
    const file = type.firstDeclaration?.path ? basename(type.firstDeclaration.path) : "(anonymous)";
    // Every driver file declares the same things: fold them into one row.
    const key = /^driver\d+\.ts$/.test(file) ? "driverN.ts (the drivers' own)" : file;
    byFile.set(key, (byFile.get(key) ?? 0) + 1);
    if (!key.startsWith("driverN") && type.symbolName !== undefined) {
      const name = `${type.symbolName} (${file})`;
      bySymbol.set(name, (bySymbol.get(name) ?? 0) + 1);
    }
  }
  return { total: types.length, byFile, bySymbol };
}

try {
  for (const count of [n, 2 * n]) generate(join(work, `drivers-${count}`), count);
  for (const variant of Object.keys(VARIANTS)) {
    const small = typesByFile(n, variant);
    const large = typesByFile(2 * n, variant);
    console.log(`\n${variant}: ${((large.total - small.total) / n).toFixed(1)} types per driver, by declaring file:`);
    const rows = [...large.byFile]
      .map(([file, count]) => [file, (count - (small.byFile.get(file) ?? 0)) / n])
      .filter(([, perDriver]) => perDriver > 0)
      .sort((a, b) => b[1] - a[1]);
    for (const [file, perDriver] of rows) console.log(`  ${perDriver.toFixed(1).padStart(6)}  ${file}`);
    console.log("  library types instantiated per driver, by name:");
    const symbols = [...large.bySymbol]
      .map(([name, count]) => [name, (count - (small.bySymbol.get(name) ?? 0)) / n])
      .filter(([, perDriver]) => perDriver > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12);
    for (const [name, perDriver] of symbols) console.log(`  ${perDriver.toFixed(1).padStart(6)}  ${name}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
